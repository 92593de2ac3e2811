/* chain-order: three VCPUs pass a value down a chain.  VCPU 0 writes the
 * first link and raises stage 1; VCPU 1 waits for stage 1, writes the
 * second link from the first and raises stage 2; VCPU 2 waits for stage 2
 * and checks the second link.  Waiting VCPUs poll with vcprr_yield().
 *
 * The bug, an order violation: VCPU 1 raises stage 2 before it writes its
 * link (it logs in between, a VM exit, so --preempt exit finds it).  VCPU
 * 2 reads a link that is not there yet only when it runs right then.
 *
 * chain-order-fixed builds this with FIXED: the link is written first,
 * then the stage is raised.  It never fails. */
#include "vcprr_guest.h"

#ifndef FIXED
#define FIXED 0
#endif

#define ROUNDS 4

static u32 stage;
static u64 link1, link2;

static void wait_stage(u32 want)
{
	while (atomic_load(&stage) != want)
		vcprr_yield();
}

static void relay(u64 round)
{
	wait_stage(1);
#if FIXED
	atomic_store(&link2, atomic_load(&link1) + 1);
	vcprr_log("link 2 written");
	atomic_store(&stage, 2);
#else
	atomic_store(&stage, 2);
	vcprr_log("stage 2 raised");
	atomic_store(&link2, atomic_load(&link1) + 1);
#endif
	(void)round;
}

int main(int vcpu)
{
	if (vcprr_nr_vcpus() != 3) {
		printf("chain-order needs 3 VCPUs\n");
		return 2;
	}
	for (u64 r = 1; r <= ROUNDS; r++) {
		if (vcpu == 0) {
			wait_stage(0);
			atomic_store(&link1, r * 100);
			atomic_store(&stage, 1);
		} else if (vcpu == 1) {
			relay(r);
		} else {
			wait_stage(2);
			assert(atomic_load(&link2) == r * 100 + 1);
			atomic_store(&stage, 0);
		}
	}
	return 0;
}
