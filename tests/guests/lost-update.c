/* lost-update: every VCPU adds UPDATES to a shared total with a plain
 * read-modify-write (no lock, no atomic, no hypercall in the loop); VCPU 0
 * then checks the total.
 *
 * VCPU i first does setup work proportional to i, so the VCPUs reach the
 * total at different times.  A fair random interleaving keeps them in step
 * and almost never overlaps their updates; the bug needs one VCPU to be
 * preempted in the middle of an update and to stay off while another does
 * its own — a schedule with one well-placed preemption, which is what PCT
 * draws.  It needs a scheduling point inside the loop: --preempt step.
 *
 * lost-update-fixed builds this with FIXED: atomic adds, never fails. */
#include "vcprr_guest.h"

#ifndef FIXED
#define FIXED 0
#endif

#define UPDATES     40
#define SETUP_LOOPS 60   /* per VCPU id: VCPU 1 does 60, VCPU 2 120 ... */

static u64 total;
static u32 finished;

static void setup(int vcpu)
{
	volatile u64 work = 0;

	for (int i = 0; i < vcpu * SETUP_LOOPS; i++)
		work += i;
}

static void add_updates(void)
{
	for (int i = 0; i < UPDATES; i++) {
#if FIXED
		atomic_add(&total, 1);
#else
		u64 t = *(volatile u64 *)&total;
		*(volatile u64 *)&total = t + 1;
#endif
	}
}

int main(int vcpu)
{
	u32 n = (u32)vcprr_nr_vcpus();

	setup(vcpu);
	add_updates();
	atomic_add(&finished, 1);
	if (vcpu != 0)
		return 0;
	while (atomic_load(&finished) != n)
		vcprr_yield();
	assert(atomic_load(&total) == (u64)n * UPDATES);
	return 0;
}
