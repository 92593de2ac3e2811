/* The monotonic clock, in nanoseconds, and deadlines on it. */
#ifndef VCPRR_VMM_CLOCK_H
#define VCPRR_VMM_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* CLOCK_MONOTONIC time `ms` from now, for condition variables set to it. */
static inline struct timespec mono_deadline(int ms)
{
	uint64_t t = mono_ns() + (uint64_t)(ms < 0 ? 0 : ms) * 1000000;

	return (struct timespec){ (time_t)(t / 1000000000), (long)(t % 1000000000) };
}

#endif
