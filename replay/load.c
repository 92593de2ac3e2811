/* Loading a trace for replay (see load.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/load.h"
#include "vmm/vm.h"

bool load_is_ctl(uint32_t t)
{
	return t == TEV_PAUSE_REQUEST || t == TEV_RESUME_REQUEST;
}

bool load_is_timing(uint32_t t)
{
	return t == TEV_KICK || t == TEV_SIGNAL_SENT || t == TEV_VM_START;
}

/* The one rule of which stream an event is in.  @cut: events after the
 * first VM_STOP are the VCPUs' way out, not replayed. */
static uint32_t classes_of(const struct replay *rp, const struct trace_event *ev,
			   bool cut)
{
	bool input = ev->type == TEV_VM_IOCTL || ev->type == TEV_IRQFD_SIGNAL;

	if (rp->raw) {
		if (ev->type == TEV_MEM_REGION || ev->type == TEV_MEM_DATA ||
		    (input && ev->seq < rp->start_seq))
			return CLS_MEMORY;
		if (input)
			return ev->seq < rp->stop_seq ? CLS_INPUT : 0;
		if (ev->type == TEV_VCPU_IOCTL)
			return ev->vcpu < rp->nr_vcpus ? CLS_IOCTL : 0;
	}
	if (cut && ev->seq > rp->stop_seq)
		return 0;
	if (ev->type == TEV_VM_END || ev->type == TEV_LOST ||
	    load_is_timing(ev->type))
		return 0;
	if (ev->type == TEV_SCHED_SWITCH)
		return CLS_SCHED;
	if (ev->vcpu >= rp->nr_vcpus)
		return 0;
	return load_is_ctl(ev->type) ? CLS_CTL : CLS_OWN;
}

static uint32_t classify(void *arg, const struct trace_event *ev)
{
	const struct replay *rp = arg;

	return classes_of(rp, ev, rp->cut_at_stop);
}

/* --- the scan ------------------------------------------------------------ */

struct scan {
	struct replay *rp;
	struct vcpu_counts *all, *before;  /* per VCPU; before: VM_STOP */
	uint64_t actions_all, actions_before;
	char *err;                  /* why the scan stopped (it returns 1) */
	size_t errlen;
};

/* Plugin traces: a recorded setting replay would hand to KVM must be one
 * the recorder logs, of its exact size. */
static int check_setting(const struct trace_event *ev, const uint8_t *payload,
			 char *err, size_t errlen)
{
	bool vcpu = ev->type == TEV_VCPU_IOCTL;

	if (ev->type != TEV_VM_IOCTL && !vcpu)
		return 0;
	if (vcpu ? vcpu_setting_valid(ev->a0, payload, ev->payload_len) :
		   vm_setting_valid(ev->a0, payload, ev->payload_len))
		return 0;
	if (!ev->payload_len && ev->a2 > TRACE_MAX_PAYLOAD)
		snprintf(err, errlen, "event seq %llu: the plugin made a setting "
			 "(ioctl %#llx) of %llu bytes, too large to record "
			 "(at most %u): this trace cannot be replayed",
			 (unsigned long long)ev->seq, (unsigned long long)ev->a0,
			 (unsigned long long)ev->a2, TRACE_MAX_PAYLOAD);
	else
		snprintf(err, errlen, "event seq %llu: %s with ioctl %#llx and "
			 "%u bytes is not a setting vcprr records: the trace is "
			 "corrupt", (unsigned long long)ev->seq,
			 trace_event_name(ev->type), (unsigned long long)ev->a0,
			 ev->payload_len);
	return -1;
}

static void count(struct scan *s, const struct trace_event *ev)
{
	struct replay *rp = s->rp;
	uint32_t cls = classes_of(rp, ev, false);
	bool before = rp->stop_seq == UINT64_MAX;

	for (int b = 0; b < 2; b++) {
		struct vcpu_counts *n;

		if (b && !before)
			break;
		if (cls & CLS_CTL)
			*(b ? &s->actions_before : &s->actions_all) += 1;
		if (!(cls & (CLS_OWN | CLS_CTL)))
			continue;
		n = &(b ? s->before : s->all)[ev->vcpu];
		if (cls & CLS_OWN)
			n->own++;
		else
			n->ctl++;
		n->resumes += ev->type == TEV_RESUME_REQUEST;
		if (ev->type == TEV_PAUSE_TAKEN && (cls & CLS_OWN))
			n->last_taken = ev->seq + 1;
	}
}

static int scan_event(void *arg, const struct trace_event *ev,
		      const uint8_t *pl)
{
	struct scan *s = arg;
	struct replay *rp = s->rp;
	bool input = ev->type == TEV_VM_IOCTL || ev->type == TEV_IRQFD_SIGNAL;

	rp->has_run |= ev->type != TEV_VM_END && ev->type != TEV_VM_STOP;
	if (!ev->seq)
		rp->start_ns = ev->time_ns;
	if (ev->type == TEV_VM_START && rp->start_seq == UINT64_MAX) {
		rp->start_seq = ev->seq;
		rp->start_ns = ev->time_ns;
	}
	if (rp->raw && check_setting(ev, pl, s->err, s->errlen))
		return 1;
	if (rp->raw && input && rp->start_seq != UINT64_MAX &&
	    rp->stop_seq == UINT64_MAX && ev->a1 == VM_INPUT_RUNNING &&
	    !rp->unplaced.type)
		rp->unplaced = *ev;
	if (rp->raw && ev->seq > rp->stop_seq && ev->type != TEV_VM_END)
		return 0;  /* the plugin's way out */
	count(s, ev);
	if (ev->type == TEV_VM_STOP && rp->stop_seq == UINT64_MAX) {
		rp->stop_seq = ev->seq;
		rp->stop_ns = ev->time_ns;
		rp->stop_reason = ev->a0;
		rp->stop_code = ev->a1;
	}
	if (ev->type == TEV_VCPU_EXIT && ev->vcpu < rp->nr_vcpus) {
		struct replay_vcpu *vs = &rp->vcpus[ev->vcpu];

		vs->end_pos = (struct vm_replay_pause){ .exit_seq = ev->exit_seq,
			.rip = ev->rip, .digest = ev->digest, .end = true };
		vs->has_end = ev->digest != 0;
	}
	if (ev->type == TEV_LOST) {
		snprintf(s->err, s->errlen, "the trace lost %llu events (recorded "
			 "with --lossy): it cannot be replayed",
			 (unsigned long long)ev->a0);
		return 1;
	}
	if (ev->type == TEV_VM_END) {
		rp->end = *ev;
		rp->has_end = true;
	}
	rp->has_error_event |= ev->type == TEV_VCPU_ERROR;
	rp->has_guest_exit |= ev->type == TEV_GUEST_EXIT &&
			      ev->vcpu < rp->nr_vcpus;
	return 0;
}

int load_scan(struct replay *rp, const char *path, char *err, size_t errlen)
{
	struct scan s = { .rp = rp };
	char msg[1024];
	int r = -1;

	rp->ts = stream_open(path, err, errlen);
	if (!rp->ts)
		return -1;
	if (run_desc_decode(stream_header(rp->ts), &rp->desc, msg, sizeof(msg))) {
		snprintf(err, errlen, "%s: %s", path, msg);
		return -1;
	}
	rp->nr_vcpus = rp->desc.nr_vcpus;
	rp->raw = rp->desc.kind == RUN_KIND_CROSVM_PLUGIN;
	rp->start_seq = rp->stop_seq = UINT64_MAX;
	rp->vcpus = calloc(rp->nr_vcpus, sizeof(*rp->vcpus));
	s.all = calloc(rp->nr_vcpus, sizeof(*s.all));
	s.before = calloc(rp->nr_vcpus, sizeof(*s.before));
	if (!rp->vcpus || !s.all || !s.before) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	s.err = msg;
	s.errlen = sizeof(msg);
	r = stream_scan(rp->ts, rp->nr_vcpus, scan_event, &s, msg, sizeof(msg));
	if (r)  /* the reader's words name no file; ours need none */
		snprintf(err, errlen, r < 0 ? "%s: %s" : "%.0s%s", path, msg);
	if (r)
		goto out;
	rp->loaded = stream_events(rp->ts);
	rp->truncated = stream_truncated(rp->ts) || !rp->has_end;
	snprintf(rp->cut, sizeof(rp->cut), "%s", stream_truncation(rp->ts) ?:
		 "its last event is not VM_END");
	for (unsigned i = 0; i < rp->nr_vcpus; i++)
		rp->vcpus[i].n = s.all[i];
	rp->nactions = s.actions_all;
	rp->counts_before = s.before;
	rp->nactions_before = s.actions_before;
	s.before = NULL;
out:
	free(s.all);
	free(s.before);
	return r ? -1 : 0;
}

bool load_end_recorded(const struct replay *rp)
{
	if (rp->desc.sched.mode != VM_SCHED_PARALLEL || rp->raw ||
	    rp->truncated || rp->stop_seq == UINT64_MAX)
		return false;
	for (unsigned i = 0; i < rp->nr_vcpus; i++)
		if (!rp->vcpus[i].has_end)
			return false;
	return true;
}

/* A cursor of class @cls, already at its end when the scan counted none
 * (no need to read the whole trace to learn that). */
static int cursor(struct replay *rp, struct stream_cursor *c, uint32_t cls,
		  uint32_t vcpu, uint64_t n)
{
	if (n)
		return stream_cursor_init(c, rp->ts, cls, vcpu);
	*c = (struct stream_cursor){ .ts = rp->ts, .cls = cls, .vcpu = vcpu,
				     .end = true };
	return 0;
}

int load_streams(struct replay *rp, char *err, size_t errlen)
{
	int r = 0;

	if (rp->cut_at_stop) {
		for (unsigned i = 0; i < rp->nr_vcpus; i++)
			rp->vcpus[i].n = rp->counts_before[i];
		rp->nactions = rp->nactions_before;
	}
	free(rp->counts_before);
	rp->counts_before = NULL;
	stream_set_classes(rp->ts, classify, rp);
	for (unsigned i = 0; i < rp->nr_vcpus; i++) {
		struct replay_vcpu *vs = &rp->vcpus[i];

		r |= cursor(rp, &vs->own, CLS_OWN, i, vs->n.own);
		r |= cursor(rp, &vs->ctl, CLS_CTL, i, vs->n.ctl);
		r |= cursor(rp, &vs->ioctls, CLS_IOCTL, i, rp->raw);
		atomic_store(&vs->own_left, vs->n.own);
		atomic_store(&vs->ctl_left, vs->n.ctl);
		atomic_store(&vs->resumes_left, vs->n.resumes);
		vs->parked = 0;
		rp->to_check += vs->n.own + vs->n.ctl;
	}
	r |= cursor(rp, &rp->sched, CLS_SCHED, STREAM_ANY_VCPU, !rp->parallel);
	r |= cursor(rp, &rp->actions, CLS_CTL, STREAM_ANY_VCPU, rp->nactions);
	atomic_store(&rp->next_switch, rp->sched.end ? UINT64_MAX : rp->sched.ev.seq);
	atomic_store(&rp->next_action, rp->actions.end ? UINT64_MAX :
		     rp->actions.ev.seq);
	r |= cursor(rp, &rp->memory, CLS_MEMORY, STREAM_ANY_VCPU, rp->raw);
	r |= cursor(rp, &rp->inputs, CLS_INPUT, STREAM_ANY_VCPU, rp->raw);
	if (r || stream_error(rp->ts)) {
		snprintf(err, errlen, "%s", stream_error(rp->ts) ?: "out of memory");
		return -1;
	}
	return 0;
}

void load_free(struct replay *rp)
{
	for (unsigned i = 0; rp->vcpus && i < rp->nr_vcpus; i++) {
		struct replay_vcpu *vs = &rp->vcpus[i];

		stream_cursor_free(&vs->own);
		stream_cursor_free(&vs->ctl);
		stream_cursor_free(&vs->ioctls);
		stream_cursor_free(&vs->scout);
		stream_cursor_free(&vs->look);
		free(vs->req);
	}
	free(rp->vcpus);
	free(rp->counts_before);
	stream_cursor_free(&rp->sched);
	stream_cursor_free(&rp->actions);
	stream_cursor_free(&rp->memory);
	stream_cursor_free(&rp->inputs);
	stream_close(rp->ts);
}
