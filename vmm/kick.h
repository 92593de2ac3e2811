/* Kicks: getting a VCPU thread out of KVM_RUN (or keeping it from entering)
 * with SIGRTMIN, in either kick mode (see kick.c), and re-entering KVM_RUN
 * only to complete a pending PIO/MMIO. */
#ifndef VCPRR_VMM_KICK_H
#define VCPRR_VMM_KICK_H

#include "vmm/vm-state.h"

/* Once per process, before the first VCPU thread starts. */
void kick_install_handler(void);

/* A thread of the VM that outlives a run (VCPU threads, the watchdog):
 * it blocks every signal but the synchronous ones, and the kick when
 * `kicked`, so that a SIGINT or SIGTERM meant for the process never lands
 * on it while the process holds them off.  stack_size 0: the default;
 * name: what ps and gdb show (at most 15 characters).  0 or -errno
 * (pthread_create). */
int kick_thread_create(pthread_t *t, const char *name, size_t stack_size,
		       void *(*fn)(void *), void *arg, bool kicked);

/* On the VCPU thread, before it first checks its flags: its VCPU becomes
 * kickable; 0 or -errno (KVM_SET_SIGNAL_MASK). */
int kick_thread_init(struct vcpu_thread *t);
/* On the VCPU thread, as it leaves with `v`: no signal may reach it any
 * more. */
void kick_thread_exit(struct vcpu *v);

/* Kickers store their flag (stopping, a request) before calling this;
 * the VCPU stores `kickable` before reading the flags (both seq_cst):
 * either the kick is sent or the VCPU sees the flag.  Any thread. */
void vcpu_kick(struct vcpu *v);

/* VCPU thread: after every return from KVM_RUN, clears immediate_exit;
 * after an EINTR one, kick_eat() also dequeues the pending kicks of the
 * signal-mask mode. */
static inline void kick_clear(struct vcpu *v)
{
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}
void kick_eat(struct vcpu *v);

/* VCPU thread: re-enters KVM_RUN so that it finishes the pending PIO/MMIO
 * instruction and returns at once without running the guest (KVM API:
 * immediate_exit or a pending unmasked signal). */
void complete_pending_io(struct vcpu *v);

/* VCPU thread: blocks the kick while it checks `wake` and sleeps in
 * sigsuspend() (which unblocks it atomically): no kick is lost. */
void kick_sleep_until(struct vcpu *v, bool (*wake)(struct vcpu *v));

#endif
