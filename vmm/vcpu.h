/* VCPU threads: creation, the KVM_RUN loop and exit dispatch. */
#ifndef VCPRR_VMM_VCPU_H
#define VCPRR_VMM_VCPU_H

#include "vmm/vm-state.h"

/* The VCPU's state and, but in raw mode (KVM VCPUs at vm_start), its KVM
 * VCPU.  0, or -1 with a message. */
int vcpu_init(struct vm *vm, struct vcpu *v, unsigned id, char *err,
	      size_t errlen);
/* The KVM side of a VCPU: the fd, kvm_run, CPUID and initial registers. */
int vcpu_create_kvm(struct vm *vm, struct vcpu *v, char *err, size_t errlen);
/* VCPU threads outlive a run: each runs one run per call of
 * vcpu_threads_start() and then parks.  Called by the VM's owner thread.
 * Starts a run on every VCPU thread (creating the threads missing):
 * 0, or -errno with *started the number of threads that run. */
int vcpu_threads_start(struct vm *vm, unsigned *started);
/* The same from a VM restored to a snapshot taken mid-run (snapshot.h):
 * no start event, straight into the run loop; a VCPU that had finished
 * stays so (its thread parks again at once). */
int vcpu_threads_resume(struct vm *vm, unsigned *started);
/* Waits until no thread runs (every one has parked after its run). */
void vcpu_threads_wait_parked(struct vm *vm);
/* Waits for the threads to park, then ends and joins them. */
void vcpu_threads_end(struct vm *vm);
void vcpu_free(struct vcpu *v);

#endif
