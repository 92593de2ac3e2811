/* check-then-act: lazy initialisation that checks a flag, builds a table,
 * then sets the flag.  Two VCPUs that both see the flag unset both build
 * the table (one overwrites what the other may already be using); VCPU 0
 * checks at the end that it was built once.
 *
 * VCPU i first does setup work proportional to i, so the VCPUs reach the
 * check at different times: the bug needs the first one to be preempted
 * (or paused) between its check and its act, with no VM exit in between
 * (--preempt step finds it).
 *
 * check-then-act-fixed builds this with FIXED: the first VCPU claims the
 * initialisation with a compare-and-swap and publishes the table when it
 * is built; the others wait for it.  It never fails. */
#include "vcprr_guest.h"

#ifndef FIXED
#define FIXED 0
#endif

#define ENTRIES     16
#define SETUP_LOOPS 40

enum { UNSET, BUILDING, READY };

static u32 state;
static u64 table[ENTRIES];
static u32 builds;
static u32 finished;

static void setup(int vcpu)
{
	volatile u64 work = 0;

	for (int i = 0; i < vcpu * SETUP_LOOPS; i++)
		work += i;
}

static void build_table(void)
{
	atomic_add(&builds, 1);
	for (int i = 0; i < ENTRIES; i++)
		*(volatile u64 *)&table[i] = (u64)i * 0x1111;
}

static void get_table(void)
{
#if FIXED
	if (atomic_cas(&state, UNSET, BUILDING)) {
		build_table();
		atomic_store(&state, READY);
		return;
	}
	while (atomic_load(&state) != READY)
		vcprr_yield();
#else
	if (*(volatile u32 *)&state == UNSET) {
		build_table();
		*(volatile u32 *)&state = READY;
	}
#endif
}

int main(int vcpu)
{
	u32 n = (u32)vcprr_nr_vcpus();

	setup(vcpu);
	get_table();
	assert(*(volatile u64 *)&table[ENTRIES - 1] == (ENTRIES - 1) * 0x1111);
	atomic_add(&finished, 1);
	if (vcpu != 0)
		return 0;
	while (atomic_load(&finished) != n)
		vcprr_yield();
	assert(atomic_load(&builds) == 1);  /* built once */
	return 0;
}
