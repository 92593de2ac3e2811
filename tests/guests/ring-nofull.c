/* ring-nofull: VCPU 0 sends MESSAGES numbered messages to VCPU 1 through a
 * single-producer single-consumer ring of SLOTS slots.  The producer
 * forgets to check that the ring is full: it relies on the consumer
 * keeping up, which it does under any fair schedule (the producer yields
 * after each message, as if it waited for a device).  A consumer paused or
 * preempted for as long as the producer needs to go round the ring finds a
 * message overwritten: the sequence it receives skips a number.
 *
 * ring-nofull-fixed builds this with FIXED: the producer waits while the
 * ring is full.  It never fails. */
#include "vcprr_guest.h"

#ifndef FIXED
#define FIXED 0
#endif

#define SLOTS    4
#define MESSAGES 24

static u64 slot[SLOTS];
static u32 head;  /* written by the producer only */
static u32 tail;  /* written by the consumer only */

static void produce(u64 m)
{
	u32 h = atomic_load(&head);

#if FIXED
	while (h - atomic_load(&tail) == SLOTS)
		vcprr_yield();
#endif
	*(volatile u64 *)&slot[h % SLOTS] = m;
	atomic_store(&head, h + 1);
}

static u64 consume(void)
{
	u32 t = atomic_load(&tail);
	u64 m;

	while (atomic_load(&head) == t)
		vcprr_yield();
	m = *(volatile u64 *)&slot[t % SLOTS];
	atomic_store(&tail, t + 1);
	return m;
}

int main(int vcpu)
{
	if (vcprr_nr_vcpus() < 2) {
		printf("ring-nofull needs 2 VCPUs\n");
		return 2;
	}
	for (u64 i = 1; i <= MESSAGES; i++) {
		if (vcpu == 0) {
			produce(i);
			vcprr_yield();
		} else if (vcpu == 1) {
			assert(consume() == i);  /* none lost, none twice */
		}
	}
	return 0;
}
