/* clock.h — the engine's clock: CLOCK_MONOTONIC in nanoseconds, and the kernel's timespec
 * of such a time. */
#ifndef RD_CLOCK_H
#define RD_CLOCK_H

#include <linux/time_types.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t rd_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline struct __kernel_timespec rd_ts(uint64_t ns)
{
	struct __kernel_timespec ts = {
		.tv_sec = (long long)(ns / 1000000000ull),
		.tv_nsec = (long long)(ns % 1000000000ull),
	};
	return ts;
}

#endif
