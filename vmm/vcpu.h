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
/* Starts its thread.  0 or -errno. */
int vcpu_spawn(struct vcpu *v);
/* Starts its thread on a VM restored to a snapshot taken mid-run
 * (snapshot.h): no start event, straight into the run loop; a VCPU that
 * had finished gets a thread that leaves at once.  0 or -errno. */
int vcpu_spawn_resumed(struct vcpu *v);
void vcpu_free(struct vcpu *v);

#endif
