/* Locks between VCPUs, built on C11 atomics: a spinlock, a ticket lock, a
 * barrier and once-initialisation.  All are plain structs with static
 * initialisers, need no allocation, and may be used from any VCPU.
 *
 * Every wait yields (vcprr_spin_wait): the serial scheduler switches VCPUs
 * only at VM exits, so a VCPU that spun without one while the holder is
 * off the CPU would spin forever (the watchdog would end the run as a
 * hang); under PCT a yield also lets the holder go first.  Included by
 * vcprr_guest.h. */
#ifndef VCPRR_SYNC_H
#define VCPRR_SYNC_H

#include "vcprr_guest.h"

/* One turn of a wait loop: a spin hint, then a scheduling point. */
static inline void vcprr_spin_wait(void)
{
	__asm__ volatile("pause" ::: "memory");
	vcprr_yield();
}

/* Test-and-test-and-set spinlock. */
typedef struct { atomic_uint locked; } vcprr_spinlock_t;
#define VCPRR_SPINLOCK_INIT { 0 }

static inline bool vcprr_spin_trylock(vcprr_spinlock_t *l)
{
	return !atomic_exchange_explicit(&l->locked, 1, memory_order_acquire);
}

static inline void vcprr_spin_lock(vcprr_spinlock_t *l)
{
	while (!vcprr_spin_trylock(l))
		while (atomic_load_explicit(&l->locked, memory_order_relaxed))
			vcprr_spin_wait();
}

static inline void vcprr_spin_unlock(vcprr_spinlock_t *l)
{
	atomic_store_explicit(&l->locked, 0, memory_order_release);
}

/* Ticket lock: first come, first served. */
typedef struct { atomic_uint next, owner; } vcprr_ticketlock_t;
#define VCPRR_TICKETLOCK_INIT { 0, 0 }

static inline void vcprr_ticket_lock(vcprr_ticketlock_t *l)
{
	unsigned me = atomic_fetch_add_explicit(&l->next, 1, memory_order_relaxed);

	while (atomic_load_explicit(&l->owner, memory_order_acquire) != me)
		vcprr_spin_wait();
}

static inline void vcprr_ticket_unlock(vcprr_ticketlock_t *l)
{
	unsigned owner = atomic_load_explicit(&l->owner, memory_order_relaxed);

	atomic_store_explicit(&l->owner, owner + 1, memory_order_release);
}

/* Barrier for @n VCPUs (0: all of the VM's), reusable: each round ends
 * when the n-th VCPU arrives. */
typedef struct { unsigned n; atomic_uint arrived, round; } vcprr_barrier_t;
#define VCPRR_BARRIER_INIT(n) { (n), 0, 0 }

/* Returns true in exactly one VCPU of each round (the last to arrive). */
static inline bool vcprr_barrier_wait(vcprr_barrier_t *b)
{
	unsigned n = b->n ? b->n : (unsigned)vcprr_boot_info()->nr_vcpus;
	unsigned round = atomic_load_explicit(&b->round, memory_order_acquire);

	if (atomic_fetch_add_explicit(&b->arrived, 1, memory_order_acq_rel) + 1 == n) {
		atomic_store_explicit(&b->arrived, 0, memory_order_relaxed);
		atomic_store_explicit(&b->round, round + 1, memory_order_release);
		return true;
	}
	while (atomic_load_explicit(&b->round, memory_order_acquire) == round)
		vcprr_spin_wait();
	return false;
}

/* Runs @fn once, whichever VCPUs call it; every caller returns after it
 * has finished. */
typedef struct { atomic_uint state; } vcprr_once_t;
#define VCPRR_ONCE_INIT { 0 }

static inline void vcprr_once(vcprr_once_t *o, void (*fn)(void))
{
	unsigned expected = 0;

	if (atomic_load_explicit(&o->state, memory_order_acquire) == 2)
		return;
	if (atomic_compare_exchange_strong_explicit(&o->state, &expected, 1,
						    memory_order_acquire,
						    memory_order_acquire)) {
		fn();
		atomic_store_explicit(&o->state, 2, memory_order_release);
		return;
	}
	while (atomic_load_explicit(&o->state, memory_order_acquire) != 2)
		vcprr_spin_wait();
}

#endif
