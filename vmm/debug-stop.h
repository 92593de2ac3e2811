/* A debugger's stop point in step mode, and what a debugger reads of a
 * stopped VM.
 *
 * Under --sched step one VCPU runs at a time, one instruction per KVM_RUN.
 * The stop function runs on the VCPU thread that holds the scheduler's
 * token, just before that VCPU enters the guest: every other VCPU waits for
 * the token meanwhile, so when it blocks the whole VM is still, between two
 * instructions.  The readers below may then be called from any thread (the
 * same holds before vm_start). */
#ifndef VCPRR_VMM_DEBUG_STOP_H
#define VCPRR_VMM_DEBUG_STOP_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;

/* Runs on VCPU @vcpu's thread before each KVM_RUN; may block. */
typedef void (*vm_debug_stop_fn)(struct vm *vm, unsigned vcpu, void *arg);

/* Installs the stop function, before vm_start().  -EINVAL unless the VM
 * runs under the step scheduler. */
int vm_set_debug_stop(struct vm *vm, vm_debug_stop_fn fn, void *arg);

/* The run loop's call (vcpu.c), before each KVM_RUN, when a stop is set. */
void debug_stop_before_run(struct vcpu *v);

/* A VCPU as a debugger shows it. */
struct vm_debug_vcpu {
	bool finished;       /* its main returned, or the run ended */
	bool halted;         /* executed HLT */
	bool paused;         /* stopped by a pause request: */
	uint64_t pause_seq, pause_data;
	int exit_code;       /* main's return value, once finished */
	uint64_t exit_seq;   /* its position clock */
};

/* @vcpu's KVM_RUNs that a kick ended before its guest ran (timing, not
 * the guest's).  Any thread, any time (an atomic counter); 0 for no such
 * VCPU. */
uint64_t vm_debug_vcpu_kicked_runs(struct vm *vm, unsigned vcpu);

/* The readers: only while the VM is still (see above).  0 or -errno. */
int vm_debug_vcpu_state(struct vm *vm, unsigned vcpu, struct vm_debug_vcpu *st);
/* Any of regs, sregs, fpu may be NULL. */
int vm_debug_get_regs(struct vm *vm, unsigned vcpu, struct kvm_regs *regs,
		      struct kvm_sregs *sregs, struct kvm_fpu *fpu);
/* A guest-virtual address through @vcpu's page tables (KVM_TRANSLATE):
 * -EFAULT when unmapped. */
int vm_debug_translate(struct vm *vm, unsigned vcpu, uint64_t gva,
		       uint64_t *gpa);
/* DR6 of @vcpu's last exit when it was KVM_EXIT_DEBUG (a single step, with
 * the data breakpoints it hit in bits 0-3); false otherwise. */
bool vm_debug_last_dr6(struct vm *vm, unsigned vcpu, uint64_t *dr6);
/* Data breakpoints in the host-owned debug registers of @vcpu (invisible
 * to the guest), single-stepping kept: DR0-3 = @addr, DR7 = @dr7 (0: none).
 * On @vcpu's own thread, from its stop function.  0 or -errno. */
int vm_debug_set_watch(struct vm *vm, unsigned vcpu, const uint64_t addr[4],
		       uint64_t dr7);

#endif
