/* Per-VCPU pause requests, published with userspace RCU.
 *
 * The controller publishes an immutable `struct pause_req` (per-VCPU request
 * sequence number + user data) per VCPU; the VCPU thread reads the pointer
 * after every return from KVM_RUN.  A newer request replaces an older one that
 * the VCPU has not seen yet: the VCPU takes the latest, and the ones it
 * skipped are coalesced.
 *
 * Flavour: urcu-memb.  Its read side is a per-thread counter update with only
 * compiler barriers (the writer pays with membarrier(2) in synchronize_rcu),
 * and it needs no periodic quiescent states: a VCPU that spins in the guest
 * for minutes or sleeps in a pause is simply outside any read-side section,
 * so grace periods never wait for it.  QSBR would make the read free but
 * would force every VCPU (and every controller thread) to go offline around
 * each KVM_RUN and each blocking wait -- two extra barriers per exit on the
 * hot path and a way to stall reclamation forever if one is forgotten.
 *
 * Reclamation: a superseded request goes on its slot's retired list, and
 * every PAUSE_RETIRE_BATCH-th one the publisher waits for a grace period
 * (synchronize_rcu) and frees the list.  liburcu's call_rcu would free them
 * on a thread of its own, which it creates on first use and, when it
 * cannot (out of memory, a ulimit), aborts the whole process. */
#ifndef VCPRR_VMM_PAUSE_H
#define VCPRR_VMM_PAUSE_H

#define _LGPL_SOURCE
#include <urcu/urcu-memb.h>
#include <urcu/pointer.h>
#include <stdbool.h>
#include <stdint.h>

#define PAUSE_RETIRE_BATCH 1024

struct pause_req {
	uint64_t req_seq;   /* 1, 2, 3 ... per VCPU */
	uint64_t data;
	struct pause_req *next;  /* on the retired list */
};

/* The published slot: one per VCPU. */
struct pause_slot {
	struct pause_req *req;  /* RCU-protected; NULL before the first request */
	struct pause_req *retired;   /* superseded, freed after a grace period */
	unsigned nretired;
};

/* Makes the calling thread an RCU reader/updater (idempotent, unregistered
 * automatically when the thread exits). */
void pause_rcu_thread_init(void);

/* Publishes request `seq` with `data`: 0, or -ENOMEM.  A request older
 * than the one published is dropped (it was overtaken).  Lock-free (but
 * for one publish in PAUSE_RETIRE_BATCH, which waits for a grace period);
 * any number of threads may call it concurrently for one slot, never from
 * inside an RCU read-side section. */
int pause_publish(struct pause_slot *slot, uint64_t seq, uint64_t data);

/* The VCPU-side check: if the latest request is newer than `last_taken`,
 * returns true and its seq and data.  Wait-free, a few nanoseconds. */
static inline bool pause_pending(struct pause_slot *slot, uint64_t last_taken,
				 uint64_t *seq, uint64_t *data)
{
	struct pause_req *r;
	bool pending = false;

	urcu_memb_read_lock();
	/* rcu_dereference(), spelled as an acquire load: the same instruction
	 * on x86, and visible to ThreadSanitizer. */
	r = __atomic_load_n(&slot->req, __ATOMIC_ACQUIRE);
	if (r && r->req_seq > last_taken) {
		*seq = r->req_seq;
		*data = r->data;
		pending = true;
	}
	urcu_memb_read_unlock();
	return pending;
}

/* Frees the slot's request; only when no VCPU can read it any more. */
void pause_slot_free(struct pause_slot *slot);

#endif
