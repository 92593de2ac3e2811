/* The VMM's side of recording: every VCPU, controller and device event goes
 * to the run's trace writer (vm_config.trace), one producer per VCPU thread
 * and one, under a lock, shared by controller threads.  With no writer each
 * call is one predictable branch. */
#ifndef VCPRR_VMM_VTRACE_H
#define VCPRR_VMM_VTRACE_H

#include "traces/trace.h"
#include "vmm/vm_priv.h"

int vtrace_init(struct vm *vm, char *err, size_t errlen);

void vtrace_vcpu_emit(struct vcpu *v, uint32_t type, uint64_t a0, uint64_t a1,
		      uint64_t a2, uint64_t a3, const void *payload, uint32_t len);
void vtrace_ctl_emit(struct vm *vm, uint32_t vcpu, uint32_t type, uint64_t a0,
		     uint64_t a1, uint64_t a2, uint64_t a3, const void *payload,
		     uint32_t len);
/* PAUSE_TAKEN with the VCPU's position and register digest. */
void vtrace_pause_taken(struct vcpu *v, const struct vcpu_event *ev);

/* Events are wanted when recording, and when a replay checks them. */
static inline bool vtrace_on(const struct vm *vm)
{
	return __builtin_expect(vm->cfg.trace != NULL || vm->cfg.replay != NULL, 0);
}

/* Replay: the value a read returns is the recorded one. */
void vtrace_read_input(struct vcpu *v, uint32_t type, uint64_t addr,
		       uint64_t sizedir, uint8_t *data, uint32_t size);

#define VTRACE_VCPU(v, type, a0, a1, a2) \
	do { if (vtrace_on((v)->vm)) \
		vtrace_vcpu_emit(v, type, a0, a1, a2, 0, NULL, 0); } while (0)

#endif
