/* order3: an order violation between three VCPUs.  VCPU 0 builds a table
 * and announces it; VCPU 1 waits for the table, says it has started,
 * computes a handler from the table and installs it; VCPU 2 waits until
 * VCPU 1 has started and then calls the handler, assuming VCPU 1 installs
 * it right after starting.  It does under any fair schedule (VCPU 1 has no
 * VM exit between starting and installing); a pause or preemption of VCPU
 * 1 in between lets VCPU 2 use a handler that is not there yet.
 *
 * Needs 3 VCPUs (vcprr explore -n 3).  order3-fixed builds this with
 * FIXED: VCPU 2 waits for the handler itself.  It never fails. */
#include "vcprr_guest.h"

#ifndef FIXED
#define FIXED 0
#endif

#define ENTRIES 32

static u64 table[ENTRIES];
static u32 table_ready;
static u32 started;
static u64 handler;
static u32 handler_ready;

static void build_table(void)
{
	for (int i = 0; i < ENTRIES; i++)
		*(volatile u64 *)&table[i] = (u64)i + 1;
	atomic_store(&table_ready, 1);
}

static void install_handler(void)
{
	u64 h = 0;

	while (!atomic_load(&table_ready))
		vcprr_yield();
	atomic_store(&started, 1);
	for (int i = 0; i < ENTRIES; i++)
		h += *(volatile u64 *)&table[i];
	*(volatile u64 *)&handler = h;
	atomic_store(&handler_ready, 1);
}

static void call_handler(void)
{
	while (!atomic_load(&started))
		vcprr_yield();
#if FIXED
	while (!atomic_load(&handler_ready))
		vcprr_yield();
#endif
	/* the sum of 1..ENTRIES */
	assert(*(volatile u64 *)&handler == ENTRIES * (ENTRIES + 1) / 2);
}

int main(int vcpu)
{
	if (vcprr_nr_vcpus() < 3) {
		printf("order3 needs 3 VCPUs\n");
		return 2;
	}
	if (vcpu == 0)
		build_table();
	else if (vcpu == 1)
		install_handler();
	else if (vcpu == 2)
		call_handler();
	return 0;
}
