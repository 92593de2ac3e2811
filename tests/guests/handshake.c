/* handshake: VCPU 0 sends MESSAGES to VCPU 1 through one slot.  To send,
 * it marks the slot BUSY, logs, writes the message and marks it READY; the
 * receiver takes it and marks the slot EMPTY.
 *
 * The receiver treats a sender that stays BUSY for PATIENCE of its polls
 * as dead (a lease): a sender paused between its two steps breaks the
 * protocol even though nothing is wrong with it.  Under any fair schedule
 * the sender finishes quickly; a pause injected at the log (a VM exit, so
 * --preempt exit finds it too) is what breaks it.
 *
 * handshake-fixed builds this with FIXED: the sender writes the message
 * first and publishes it in one step, and the receiver waits without a
 * deadline.  It never fails. */
#include "vcprr_guest.h"

#ifndef FIXED
#define FIXED 0
#endif

#define MESSAGES 8
#define PATIENCE 8

enum { EMPTY, BUSY, READY };

static u32 slot;
static u64 message;

static void send(u64 m)
{
	while (atomic_load(&slot) != EMPTY)
		vcprr_yield();
#if FIXED
	atomic_store(&message, m);
	atomic_store(&slot, READY);
#else
	atomic_store(&slot, BUSY);
	vcprr_log("sending");
	atomic_store(&message, m);
	atomic_store(&slot, READY);
#endif
}

static u64 receive(void)
{
	u64 m;
	int polls = 0;

	while (atomic_load(&slot) != READY) {
		if (!FIXED && atomic_load(&slot) == BUSY)
			assert(++polls <= PATIENCE);  /* the sender died mid-message */
		vcprr_yield();
	}
	m = atomic_load(&message);
	atomic_store(&slot, EMPTY);
	return m;
}

int main(int vcpu)
{
	if (vcprr_nr_vcpus() < 2) {
		printf("handshake needs 2 VCPUs\n");
		return 2;
	}
	for (u64 i = 1; i <= MESSAGES; i++) {
		if (vcpu == 0)
			send(i * 0x1111);
		else if (vcpu == 1)
			assert(receive() == i * 0x1111);
	}
	return 0;
}
