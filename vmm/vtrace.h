/* The VMM's events: into the run's trace writer (vm_config.trace), one
 * producer per VCPU thread and one, under ctl_trace_lock, shared by
 * controller threads; and to a replay's check (vm_replay_hooks.event).
 * With neither, each call is one predictable branch.
 *
 * A sink never ends the run itself: its callers may hold locks.  When the
 * trace can no longer be written, or a replay finds a difference or its
 * end, the emit returns -1 and the reason waits (vm_defer_stop) until the
 * caller, holding no lock, calls vm_stop_pending() (end.h). */
#ifndef VCPRR_VMM_VTRACE_H
#define VCPRR_VMM_VTRACE_H

#include "traces/trace.h"
#include "vmm/vm-state.h"

int vtrace_init(struct vm *vm, char *err, size_t errlen);

/* 0, or -1 with a stop pending. */
int vtrace_vcpu_emit(struct vcpu *v, uint32_t type, uint64_t a0, uint64_t a1,
		     uint64_t a2, uint64_t a3, const void *payload, uint32_t len);
int vtrace_ctl_emit(struct vm *vm, uint32_t vcpu, uint32_t type, uint64_t a0,
		    uint64_t a1, uint64_t a2, uint64_t a3, const void *payload,
		    uint32_t len);
/* PAUSE_TAKEN with the VCPU's position and register digest. */
int vtrace_pause_taken(struct vcpu *v, const struct vcpu_event *ev);
/* A VCPU's own event at a position it gives (RIP and digest included). */
int vtrace_vcpu_emit_at(struct vcpu *v, uint32_t type,
			const struct vcpu_position *pos, uint64_t a0);

/* Events are wanted when recording, when a replay checks them, and when a
 * step observer watches the run (vcprr analyze, explore --races: the
 * pause and resume edges reach it without a recording). */
static inline bool vtrace_on(const struct vm *vm)
{
	return __builtin_expect(vm->cfg.trace != NULL || vm->replay != NULL ||
				vm->step_watch != NULL, 0);
}

/* Replay: the value a read returns is the recorded one. */
void vtrace_read_input(struct vcpu *v, uint32_t type, uint64_t addr,
		       uint64_t sizedir, uint8_t *data, uint32_t size);

#endif
