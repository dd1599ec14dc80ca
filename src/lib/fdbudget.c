/* fdbudget.c — the fd budget: owned fds counted in one place, and whether an attempt fits. */
#include "fdbudget.h"

#include <assert.h>

void rd_fds_opened(struct redial *r)
{
	r->fds_open++;
	assert(r->fds_open <= r->max_fds + r->natt); /* an attempt is counted before its fd */
}

void rd_fds_closed(struct redial *r, uint32_t n)
{
	assert(r->fds_open >= n);
	r->fds_open -= n;
}

bool rd_budget_allows(const struct redial *r, const struct rd_endpoint *ep)
{
	/* Counting an endpoint's own kept socket against it is how a budget full of kept
	 * sockets once stopped every endpoint for good (the kept sockets' owners waited for
	 * budget, and only they could free it). Every attempt in flight may turn into a
	 * connected fd, so they count too. */
	if (rd_ep_spare(ep) != RD_NONE)
		return true;
	return r->att_free != RD_NONE && r->fds_open + r->att_used < r->max_fds;
}
