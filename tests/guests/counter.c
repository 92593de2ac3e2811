/* counter: every VCPU atomically adds to a shared counter; VCPU 0 waits for
 * the others and checks the total. */
#include "vcprr_guest.h"

#define ITERATIONS 100000

static u64 counter;
static u32 finished;

int main(int vcpu)
{
	int n = vcprr_nr_vcpus();

	for (int i = 0; i < ITERATIONS; i++)
		atomic_add(&counter, 1);
	atomic_add(&finished, 1);
	if (vcpu != 0)
		return 0;
	while (atomic_load(&finished) != (u32)n)
		vcprr_yield();  /* lets the others run under --sched serial */
	printf("counter = %llu (expected %llu)\n", atomic_load(&counter),
	       (u64)n * ITERATIONS);
	vcprr_assert(atomic_load(&counter) == (u64)n * ITERATIONS);
	return 0;
}
