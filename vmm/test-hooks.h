/* Test-only synchronisation points: the tests force interleavings by
 * blocking a VCPU thread at one of them while they act.  Not installed.
 * The hook runs on the VCPU thread and may block; AWAIT runs on the thread
 * that is about to wait for the VCPU (a controller, the scheduler), with no
 * lock held, and only reports. */
#ifndef VCPRR_VMM_TEST_HOOKS_H
#define VCPRR_VMM_TEST_HOOKS_H

struct vm;

enum vcpu_hook_point {
	VCPU_HOOK_BEFORE_RUN,    /* flags checked, about to enter KVM_RUN */
	VCPU_HOOK_AFTER_RUN,     /* KVM_RUN returned, before any check */
	VCPU_HOOK_IN_PIO,        /* handling a PIO exit, before the device */
	VCPU_HOOK_STOPPED,       /* reported stopped, before waiting to resume */
	VCPU_HOOK_RESUMED,       /* resumed, before the next pause check */
	VCPU_HOOK_POINT_DONE,    /* serial/step: after a scheduling point,
				    before the next pause check */
	VCPU_HOOK_AWAIT,         /* a controller or the scheduler is about to
				    wait for this VCPU to stop */
	VCPU_HOOK_PARKED,        /* serial/step: its thread waits for its
				    turn; from now on the thread at a
				    scheduling point may take it over */
	VCPU_HOOK_RUN_OVER,      /* its thread's run is over (the VCPU counted
				    finished), before the thread parks until
				    the next vm_start() */
	VCPU_HOOK_COUNT
};

typedef void (*vm_test_hook_fn)(struct vm *vm, unsigned vcpu,
				enum vcpu_hook_point p, void *arg);

/* Before vm_start(). */
void vm_set_test_hook(struct vm *vm, vm_test_hook_fn fn, void *arg);

struct kvm_run;

/* The floor a benchmark compares against: VCPU id's fd and kvm_run, for
 * a bare KVM_RUN loop on the caller's thread.  Only on a VM that was not
 * started (its threads would race for the VCPU).  0, or -EINVAL / -EBUSY. */
int vm_test_vcpu_fd(struct vm *vm, unsigned id, int *fd, struct kvm_run **run);

/* Serial and step: every switch is handed to the next VCPU's thread, never
 * run on the thread at the scheduling point (the design vcprr bench sched
 * compares with).  Before vm_start(). */
void vm_test_sched_handoff(struct vm *vm);

#endif
