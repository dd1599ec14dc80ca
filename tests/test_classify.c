/* test_classify.c — error classes, errno names in both directions, and the enum names. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "redial.h"

TestSuite(classify, .timeout = 30);

/* ---- Classification table --------------------------------------------------------------- */

/* The name is inline, not a pointer: each parameter runs in an exec'd worker with its own
 * address layout, where a pointer copied from the runner would not point at the literal. */
struct class_case {
	int err;
	char name[40]; /* for the failure message */
	enum redial_class cls;
};

ParameterizedTestParameters(classify, every_listed_errno_has_its_class)
{
	static struct class_case cases[] = {
		{ ECONNREFUSED, "ECONNREFUSED", REDIAL_CLASS_TRANSIENT },
		{ ETIMEDOUT, "ETIMEDOUT", REDIAL_CLASS_TRANSIENT },
		{ ECONNRESET, "ECONNRESET", REDIAL_CLASS_TRANSIENT },
		{ ENETUNREACH, "ENETUNREACH", REDIAL_CLASS_TRANSIENT },
		{ EHOSTUNREACH, "EHOSTUNREACH", REDIAL_CLASS_TRANSIENT },
		{ ECONNABORTED, "ECONNABORTED", REDIAL_CLASS_TRANSIENT },
		{ EPIPE, "EPIPE", REDIAL_CLASS_TRANSIENT },
		{ EAGAIN, "EAGAIN", REDIAL_CLASS_TRANSIENT },
		{ EWOULDBLOCK, "EWOULDBLOCK", REDIAL_CLASS_TRANSIENT },
		{ EINTR, "EINTR", REDIAL_CLASS_TRANSIENT },
		{ EHOSTDOWN, "EHOSTDOWN", REDIAL_CLASS_TRANSIENT },
		{ ENETDOWN, "ENETDOWN", REDIAL_CLASS_TRANSIENT },
		{ ENETRESET, "ENETRESET", REDIAL_CLASS_TRANSIENT },
		{ EPROTO, "EPROTO", REDIAL_CLASS_TRANSIENT },
		{ ECANCELED, "ECANCELED", REDIAL_CLASS_TRANSIENT },
		{ EALREADY, "EALREADY", REDIAL_CLASS_TRANSIENT },
		{ EINPROGRESS, "EINPROGRESS", REDIAL_CLASS_TRANSIENT },

		/* From a connect, the state of the routes and rules (blackhole, prohibit,
		 * netfilter OUTPUT), which change at run time: the address itself was checked
		 * when the endpoint was added. */
		{ EACCES, "EACCES", REDIAL_CLASS_TRANSIENT },
		{ EPERM, "EPERM", REDIAL_CLASS_TRANSIENT },
		{ EINVAL, "EINVAL", REDIAL_CLASS_TRANSIENT },

		{ EAFNOSUPPORT, "EAFNOSUPPORT", REDIAL_CLASS_PERMANENT },
		{ EPROTONOSUPPORT, "EPROTONOSUPPORT", REDIAL_CLASS_PERMANENT },
		{ EDESTADDRREQ, "EDESTADDRREQ", REDIAL_CLASS_PERMANENT },
		{ EISCONN, "EISCONN", REDIAL_CLASS_PERMANENT },
		{ ENOTSOCK, "ENOTSOCK", REDIAL_CLASS_PERMANENT },
		{ EOPNOTSUPP, "EOPNOTSUPP", REDIAL_CLASS_PERMANENT },
		{ ENOTSUP, "ENOTSUP", REDIAL_CLASS_PERMANENT },
		{ EPFNOSUPPORT, "EPFNOSUPPORT", REDIAL_CLASS_PERMANENT },
		{ ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT", REDIAL_CLASS_PERMANENT },

		{ EMFILE, "EMFILE", REDIAL_CLASS_LOCAL },
		{ ENFILE, "ENFILE", REDIAL_CLASS_LOCAL },
		{ ENOBUFS, "ENOBUFS", REDIAL_CLASS_LOCAL },
		{ ENOMEM, "ENOMEM", REDIAL_CLASS_LOCAL },
		{ EADDRNOTAVAIL, "EADDRNOTAVAIL", REDIAL_CLASS_LOCAL },
		{ EADDRINUSE, "EADDRINUSE", REDIAL_CLASS_LOCAL },

		/* Not listed: an unknown error must not make us give up on an endpoint. */
		{ ENOENT, "ENOENT", REDIAL_CLASS_TRANSIENT },
		{ EIO, "EIO", REDIAL_CLASS_TRANSIENT },
		{ ENOTCONN, "ENOTCONN", REDIAL_CLASS_TRANSIENT },
		{ EHWPOISON, "EHWPOISON", REDIAL_CLASS_TRANSIENT },
		{ 0, "0", REDIAL_CLASS_TRANSIENT },
		{ -ECONNREFUSED, "-ECONNREFUSED", REDIAL_CLASS_TRANSIENT },
		{ -EACCES, "-EACCES (not a positive errno)", REDIAL_CLASS_TRANSIENT },
		{ 134, "134", REDIAL_CLASS_TRANSIENT },
		{ 4095, "4095", REDIAL_CLASS_TRANSIENT },
		{ INT_MAX, "INT_MAX", REDIAL_CLASS_TRANSIENT },
		{ INT_MIN, "INT_MIN", REDIAL_CLASS_TRANSIENT },
	};
	return cr_make_param_array(struct class_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct class_case *c, classify, every_listed_errno_has_its_class)
{
	enum redial_class got = redial_classify(c->err);
	cr_assert_eq(got, c->cls, "%s (%d): class %s, want %s", c->name, c->err,
		     redial_class_name(got), redial_class_name(c->cls));
}

Test(classify, every_linux_errno_gets_one_of_the_three_classes)
{
	int permanent = 0, local = 0;
	for (int e = 1; e <= 133; e++) {
		enum redial_class c = redial_classify(e);
		cr_assert(c == REDIAL_CLASS_TRANSIENT || c == REDIAL_CLASS_PERMANENT ||
				  c == REDIAL_CLASS_LOCAL,
			  "errno %d: class %d", e, (int)c);
		permanent += c == REDIAL_CLASS_PERMANENT;
		local += c == REDIAL_CLASS_LOCAL;
	}
	/* Exactly the listed ones, no more: 8 permanent (ENOTSUP is EOPNOTSUPP), 6 local. */
	cr_assert_eq(permanent, 8);
	cr_assert_eq(local, 6);
}

Test(classify, class_names_cover_every_class_and_unknown)
{
	cr_assert_str_eq(redial_class_name(REDIAL_CLASS_TRANSIENT), "transient");
	cr_assert_str_eq(redial_class_name(REDIAL_CLASS_PERMANENT), "permanent");
	cr_assert_str_eq(redial_class_name(REDIAL_CLASS_LOCAL), "local");
	cr_assert_str_eq(redial_class_name(REDIAL_CLASS_NONE), "none");
	cr_assert_str_eq(redial_class_name((enum redial_class)4), "unknown");
	cr_assert_str_eq(redial_class_name((enum redial_class)-1), "unknown");
}

/* ---- errno names ------------------------------------------------------------------------ */

Test(classify, errno_name_matches_glibc_for_every_value_up_to_ehwpoison)
{
	/* glibc's strerrorname_np is an independent table of the same names. */
	int named = 0;
	for (int e = 1; e <= 140; e++) {
		const char *want = strerrorname_np(e);
		const char *got = redial_errno_name(e);
		if (!want) {
			cr_assert_null(got, "errno %d: \"%s\", glibc has no name", e, got);
			continue;
		}
		cr_assert_not_null(got, "errno %d (%s) has no name", e, want);
		cr_assert_str_eq(got, want, "errno %d", e);
		named++;
	}
	/* 1..133 on x86-64 and arm64, minus the two holes 41 and 58. */
	cr_assert_eq(named, 131);
}

Test(classify, errno_name_and_from_name_round_trip_1_to_133)
{
	for (int e = 1; e <= 133; e++) {
		const char *name = redial_errno_name(e);
		if (!name) {
			cr_assert(e == 41 || e == 58, "errno %d has no name", e);
			continue;
		}
		cr_assert_eq(redial_errno_from_name(name), e, "%s", name);
	}
}

Test(classify, errno_name_returns_primary_names_for_aliases)
{
	cr_assert_str_eq(redial_errno_name(EWOULDBLOCK), "EAGAIN");
	cr_assert_str_eq(redial_errno_name(EDEADLOCK), "EDEADLK");
	cr_assert_str_eq(redial_errno_name(ENOTSUP), "EOPNOTSUPP");
	cr_assert_str_eq(redial_errno_name(ECONNREFUSED), "ECONNREFUSED");
	cr_assert_str_eq(redial_errno_name(EPERM), "EPERM");
	cr_assert_str_eq(redial_errno_name(E2BIG), "E2BIG");
	cr_assert_str_eq(redial_errno_name(EHWPOISON), "EHWPOISON");
}

Test(classify, errno_name_is_null_for_zero_negative_and_unknown)
{
	const int bad[] = { 0, -1, -ECONNREFUSED, 41, 58, 134, 512, 4095, INT_MAX, INT_MIN };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_null(redial_errno_name(bad[i]), "errno %d has a name", bad[i]);
}

Test(classify, errno_from_name_accepts_aliases)
{
	cr_assert_eq(redial_errno_from_name("EWOULDBLOCK"), EAGAIN);
	cr_assert_eq(redial_errno_from_name("EDEADLOCK"), EDEADLK);
	cr_assert_eq(redial_errno_from_name("ENOTSUP"), EOPNOTSUPP);
	cr_assert_eq(redial_errno_from_name("EAGAIN"), EAGAIN);
	cr_assert_eq(redial_errno_from_name("EINVAL"), EINVAL);
	cr_assert_eq(redial_errno_from_name("E2BIG"), E2BIG);
	cr_assert_eq(redial_errno_from_name("EHWPOISON"), EHWPOISON);
}

Test(classify, errno_from_name_rejects_null_and_near_misses)
{
	const char *bad[] = { "",       "E",          "econnrefused", "ECONNREFUSE",
			      "ECONNREFUSEDX", " EPERM", "EPERM ",      "111",
			      "ERESTARTSYS", "EOK",    "EPERM\n",     "XEPERM" };
	cr_assert_eq(redial_errno_from_name(NULL), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(redial_errno_from_name(bad[i]), -EINVAL, "\"%s\" accepted", bad[i]);
}

/* ---- enum names ------------------------------------------------------------------------- */

Test(classify, state_names_match_the_header)
{
	static const char *const want[REDIAL_STATE_COUNT] = {
		"idle", "connecting", "connected", "backoff", "failed", "cancelled", "queued",
	};
	for (int s = 0; s < REDIAL_STATE_COUNT; s++)
		cr_assert_str_eq(redial_state_name((enum redial_state)s), want[s], "state %d", s);
	cr_assert_str_eq(redial_state_name((enum redial_state)REDIAL_STATE_COUNT), "unknown");
	cr_assert_str_eq(redial_state_name((enum redial_state)-1), "unknown");
}

Test(classify, gave_up_reason_names_match_the_header)
{
	cr_assert_str_eq(redial_gave_up_reason_name(REDIAL_GAVE_UP_NONE), "none");
	cr_assert_str_eq(redial_gave_up_reason_name(REDIAL_GAVE_UP_PERMANENT), "permanent");
	cr_assert_str_eq(redial_gave_up_reason_name(REDIAL_GAVE_UP_MAX_ATTEMPTS), "max_attempts");
	cr_assert_str_eq(redial_gave_up_reason_name(REDIAL_GAVE_UP_MAX_ELAPSED), "max_elapsed");
	cr_assert_str_eq(redial_gave_up_reason_name((enum redial_gave_up_reason)4), "unknown");
	cr_assert_str_eq(redial_gave_up_reason_name((enum redial_gave_up_reason)-1), "unknown");
}

Test(classify, event_names_match_the_header)
{
	cr_assert_str_eq(redial_event_name(REDIAL_EV_CONNECTED), "connected");
	cr_assert_str_eq(redial_event_name(REDIAL_EV_DISCONNECTED), "disconnected");
	cr_assert_str_eq(redial_event_name(REDIAL_EV_ATTEMPT_FAILED), "attempt_failed");
	cr_assert_str_eq(redial_event_name(REDIAL_EV_ALERT), "alert");
	cr_assert_str_eq(redial_event_name(REDIAL_EV_GAVE_UP), "gave_up");
	cr_assert_str_eq(redial_event_name(REDIAL_EV_CANCELLED), "cancelled");
	cr_assert_str_eq(redial_event_name((enum redial_event_type)0), "unknown");
	cr_assert_str_eq(redial_event_name((enum redial_event_type)7), "unknown");
}
