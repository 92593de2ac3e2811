/* The clocks every layer reads, in nanoseconds: CLOCK_MONOTONIC (trace
 * timestamps, deadlines, durations) and the calling thread's CPU time.
 * Header only, no state: safe from any thread. */
#ifndef VCPRR_TRACES_CLOCK_H
#define VCPRR_TRACES_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mono_ns(void)
{
	return clock_ns_of(CLOCK_MONOTONIC);
}

static inline uint64_t thread_cpu_ns(void)
{
	return clock_ns_of(CLOCK_THREAD_CPUTIME_ID);
}

static inline double mono_s(void)
{
	return mono_ns() / 1e9;
}

/* CLOCK_MONOTONIC time `ms` from now, for condition variables set to it. */
static inline struct timespec mono_deadline(int ms)
{
	uint64_t t = mono_ns() + (uint64_t)(ms < 0 ? 0 : ms) * 1000000;

	return (struct timespec){ (time_t)(t / 1000000000), (long)(t % 1000000000) };
}

#endif
