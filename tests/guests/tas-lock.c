/* tas-lock: a spinlock whose acquire tests the lock and then sets it in two
 * steps.  Two VCPUs that both see it free both enter: the critical section
 * checks that it is alone.  The window is between one load and one store,
 * with no VM exit in it: --preempt step finds it.  The critical section
 * yields (as if it waited for a device), which gives the other VCPU its
 * chance to run.
 *
 * xchg-lock builds this with FIXED: an atomic exchange, never fails. */
#include "vcprr_guest.h"

#ifndef FIXED
#define FIXED 0
#endif

#define ROUNDS 6

static u32 lock;
static u32 inside;
static u64 count;
static u32 finished;

static void acquire(void)
{
#if FIXED
	while (atomic_xchg(&lock, 1))
		while (atomic_load(&lock))
			vcprr_yield();
#else
	while (*(volatile u32 *)&lock)
		vcprr_yield();
	*(volatile u32 *)&lock = 1;
#endif
}

static void release(void)
{
	atomic_store(&lock, 0);
}

int main(int vcpu)
{
	u32 n = (u32)vcprr_nr_vcpus();

	for (int i = 0; i < ROUNDS; i++) {
		acquire();
		assert(atomic_add(&inside, 1) == 1);  /* alone in here */
		count++;
		vcprr_yield();
		atomic_add(&inside, -1);
		release();
	}
	atomic_add(&finished, 1);
	if (vcpu != 0)
		return 0;
	while (atomic_load(&finished) != n)
		vcprr_yield();
	assert(count == (u64)n * ROUNDS);
	return 0;
}
