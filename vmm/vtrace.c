/* Emitting the VMM's events into the trace and to a replay's check. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/step-observer.h"
#include "vmm/vtrace.h"

int vtrace_init(struct vm *vm, char *err, size_t errlen)
{
	if (!vm->cfg.trace)
		return 0;
	pthread_mutex_init(&vm->ctl_trace_lock, NULL);
	vm->ctl_producer = trace_producer_new(vm->cfg.trace);
	for (unsigned i = 0; vm->ctl_producer && i < vm->nr_vcpus; i++) {
		vm->vcpus[i].producer = trace_producer_new(vm->cfg.trace);
		if (!vm->vcpus[i].producer)
			break;
	}
	if (!vm->ctl_producer || !vm->vcpus[vm->nr_vcpus - 1].producer) {
		snprintf(err, errlen, "cannot create trace producers");
		return -1;
	}
	return 0;
}

/* A trace that can no longer be written (disk full, size limit) ends the
 * run: nothing after it could be recorded, and every completed frame
 * before it stays readable.  Lossy drops and a closing writer do not. */
static int check_write(struct vm *vm, int r)
{
	const char *why;
	char msg[320];

	if (__builtin_expect(r >= 0, 1) || r == -ENOBUFS || r == -EPIPE ||
	    atomic_load(&vm->stopping))
		return 0;
	why = trace_writer_error(vm->cfg.trace);
	snprintf(msg, sizeof(msg), "recording stopped: %s",
		 why ? why : strerror(-r));
	vm_defer_stop(vm, TEND_VMM_ERROR, 1, -1, msg);
	return -1;
}

/* Replay: the event against the recording.  A VCPU's own difference is
 * its fault (with its registers); in a parallel trace the usual cause is
 * said too: other VCPUs' speed is not recorded, so a path that depends on
 * what they write can differ. */
static int check(struct vm *vm, int vcpu, const struct trace_event *ev,
		 const void *payload)
{
	const struct vm_replay_hooks *h = vm->replay;
	bool parallel = !vm->sched && vm->nr_vcpus > 1;
	struct vm_replay_check c = { .why = "" };
	char why[sizeof(c.why) + 320];

	switch (h->event(h->arg, ev, payload, &c)) {
	case VM_REPLAY_MATCH:
		return 0;
	case VM_REPLAY_DONE:
		vm_defer_stop(vm, c.end_reason, c.end_code, -1, c.why);
		return -1;
	default:
		break;
	}
	snprintf(why, sizeof(why), "replay diverged: %s%s", c.why,
		 vcpu < 0 || !parallel ? "" :
		 "\n  If this VCPU's path depends on what other VCPUs write (a "
		 "poll or yield loop, a shared counter or flag), that is a "
		 "cross-VCPU dependency: a parallel trace does not record how "
		 "fast each VCPU ran; --sched serial or step records such runs "
		 "exactly.");
	vm_defer_stop(vm, TEND_GUEST_FAULT, 1, vcpu, why);
	return -1;
}

void vtrace_read_input(struct vcpu *v, uint32_t type, uint64_t addr,
		       uint64_t sizedir, uint8_t *data, uint32_t size)
{
	const struct vm_replay_hooks *h = v->vm->replay;
	uint64_t val = 0;

	if (!h)
		return;
	memcpy(&val, data, size <= 8 ? size : 8);
	h->read_input(h->arg, v->id, type, addr, sizedir, &val);
	memcpy(data, &val, size <= 8 ? size : 8);
}

/* The VCPU's RIP as KVM last reported it: free with sync regs, else
 * unknown.  0 before its first VM exit: whether a kick had made KVM_RUN
 * report the registers by then is timing, which a replay cannot repeat. */
static uint64_t vcpu_rip(const struct vcpu *v)
{
	return v->regs_synced && v->exit_seq ? v->run->s.regs.regs.rip : 0;
}

/* A VCPU's own event: its producer (its thread only), then the check. */
static int vcpu_event(struct vcpu *v, struct trace_event *ev, const void *payload)
{
	int r = 0;

	if (v->vm->step_watch)
		step_observe_event(v->vm, ev);
	if (v->producer)
		r = check_write(v->vm, trace_emit(v->producer, ev, payload));
	if (!r && v->vm->replay && !v->replay_diverged)
		r = check(v->vm, (int)v->id, ev, payload);
	return r;
}

int vtrace_vcpu_emit(struct vcpu *v, uint32_t type, uint64_t a0, uint64_t a1,
		     uint64_t a2, uint64_t a3, const void *payload, uint32_t len)
{
	struct trace_event ev = {
		.type = type, .vcpu = v->id, .exit_seq = v->exit_seq,
		.rip = vcpu_rip(v), .a0 = a0, .a1 = a1, .a2 = a2, .a3 = a3,
		.payload_len = len < TRACE_MAX_PAYLOAD ? len : TRACE_MAX_PAYLOAD,
	};

	if (!vtrace_on(v->vm))
		return 0;
	return vcpu_event(v, &ev, payload ? payload : "");
}

static int emit_at(struct vcpu *v, uint32_t type,
		   const struct vcpu_position *pos, uint64_t a0, uint64_t a1)
{
	struct trace_event ev = {
		.type = type, .vcpu = v->id, .exit_seq = pos->exit_seq,
		.rip = pos->rip, .digest = pos->digest, .a0 = a0, .a1 = a1,
	};

	if (!vtrace_on(v->vm))
		return 0;
	return vcpu_event(v, &ev, "");
}

int vtrace_pause_taken(struct vcpu *v, const struct vcpu_event *e)
{
	return emit_at(v, TEV_PAUSE_TAKEN, &e->pos, e->data, e->req_seq);
}

int vtrace_vcpu_emit_at(struct vcpu *v, uint32_t type,
			const struct vcpu_position *pos, uint64_t a0)
{
	return emit_at(v, type, pos, a0, 0);
}

int vtrace_ctl_emit(struct vm *vm, uint32_t vcpu, uint32_t type, uint64_t a0,
		    uint64_t a1, uint64_t a2, uint64_t a3, const void *payload,
		    uint32_t len)
{
	struct trace_event ev = {
		.type = type, .vcpu = vcpu, .a0 = a0, .a1 = a1, .a2 = a2, .a3 = a3,
		.payload_len = len < TRACE_MAX_PAYLOAD ? len : TRACE_MAX_PAYLOAD,
	};
	int r = 0;

	if (!vtrace_on(vm))
		return 0;
	payload = payload ? payload : "";
	if (vm->step_watch)
		step_observe_event(vm, &ev);
	if (vm->ctl_producer) {
		pthread_mutex_lock(&vm->ctl_trace_lock);
		r = trace_emit(vm->ctl_producer, &ev, payload);
		pthread_mutex_unlock(&vm->ctl_trace_lock);
		r = check_write(vm, r);
	}
	if (!r && vm->replay)
		r = check(vm, -1, &ev, payload);
	return r;
}
