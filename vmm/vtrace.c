/* Emitting the VMM's events into the trace. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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
static void check_emit(struct vm *vm, int r)
{
	const char *why;
	char msg[320];

	if (__builtin_expect(r >= 0, 1) || r == -ENOBUFS || r == -EPIPE ||
	    vm_stopping(vm))
		return;
	why = trace_writer_error(vm->cfg.trace);
	snprintf(msg, sizeof(msg), "recording stopped: %s",
		 why ? why : strerror(-r));
	vm_stop(vm, TEND_VMM_ERROR, 1, msg);
}

/* Replay: checks the event; the first difference stops the run.  In a
 * parallel trace the usual cause is said too: other VCPUs' speed is not
 * recorded, so a path that depends on what they write can differ. */
static void check_vcpu(struct vcpu *v, const struct trace_event *ev,
		       const void *payload)
{
	const struct vm_replay_hooks *h = v->vm->cfg.replay;
	bool parallel = !v->vm->sched && v->vm->nr_vcpus > 1;
	char why[2048];

	if (!h || v->replay_diverged || !h->event(h->arg, ev, payload, why, sizeof(why)))
		return;
	vcpu_fault(v, "replay diverged: %s%s", why, !parallel ? "" :
		   "\n  If this VCPU's path depends on what other VCPUs write (a "
		   "poll or yield loop, a shared counter or flag), that is a "
		   "cross-VCPU dependency: a parallel trace does not record how "
		   "fast each VCPU ran; --sched serial or step records such runs "
		   "exactly.");
}

void vtrace_read_input(struct vcpu *v, uint32_t type, uint64_t addr,
		       uint64_t sizedir, uint8_t *data, uint32_t size)
{
	const struct vm_replay_hooks *h = v->vm->cfg.replay;
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

void vtrace_vcpu_emit(struct vcpu *v, uint32_t type, uint64_t a0, uint64_t a1,
		      uint64_t a2, uint64_t a3, const void *payload, uint32_t len)
{
	struct trace_event ev = {
		.type = type, .vcpu = v->id, .exit_seq = v->exit_seq,
		.rip = vcpu_rip(v), .a0 = a0, .a1 = a1, .a2 = a2, .a3 = a3,
		.payload_len = len < TRACE_MAX_PAYLOAD ? len : TRACE_MAX_PAYLOAD,
	};

	if (!vtrace_on(v->vm))
		return;
	if (v->producer)
		check_emit(v->vm, trace_emit(v->producer, &ev, payload ? payload : ""));
	check_vcpu(v, &ev, payload ? payload : "");
}

void vtrace_pause_taken(struct vcpu *v, const struct vcpu_event *e)
{
	struct trace_event ev = {
		.type = TEV_PAUSE_TAKEN, .vcpu = v->id, .exit_seq = e->pos.exit_seq,
		.rip = e->pos.rip, .digest = e->pos.digest, .a0 = e->data,
		.a1 = e->req_seq,
	};

	if (!vtrace_on(v->vm))
		return;
	if (v->producer)
		check_emit(v->vm, trace_emit(v->producer, &ev, ""));
	check_vcpu(v, &ev, "");
}

void vtrace_ctl_emit(struct vm *vm, uint32_t vcpu, uint32_t type, uint64_t a0,
		     uint64_t a1, uint64_t a2, uint64_t a3, const void *payload,
		     uint32_t len)
{
	struct trace_event ev = {
		.type = type, .vcpu = vcpu, .a0 = a0, .a1 = a1, .a2 = a2, .a3 = a3,
		.payload_len = len < TRACE_MAX_PAYLOAD ? len : TRACE_MAX_PAYLOAD,
	};

	if (!vtrace_on(vm))
		return;
	if (vm->ctl_producer) {
		int r;

		pthread_mutex_lock(&vm->ctl_trace_lock);
		r = trace_emit(vm->ctl_producer, &ev, payload ? payload : "");
		pthread_mutex_unlock(&vm->ctl_trace_lock);
		check_emit(vm, r);  /* (vm_stop emits too: not under the lock) */
	}
	if (vm->cfg.replay) {
		char why[2048];
		const struct vm_replay_hooks *h = vm->cfg.replay;
		if (h->event(h->arg, &ev, payload ? payload : "", why, sizeof(why)))
			vm_stop(vm, TEND_GUEST_FAULT, 1, why);
	}
}
