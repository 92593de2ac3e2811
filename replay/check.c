/* Checking the replayed run's events against the recording (see check.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "replay/check.h"
#include "replay/load.h"
#include "traces/event-format.h"
#include "vmm/vm.h"

#define REPORT_TEXT 80  /* bytes of a text payload shown in a report */

int check_fmt_event(char *buf, size_t len, const struct trace_event *ev,
		    const uint8_t *pl)
{
	const char *name = trace_event_name(ev->type);
	int n;

	if (name)
		n = snprintf(buf, len, "%s vcpu=%d", name, (int)ev->vcpu);
	else
		n = snprintf(buf, len, "type%u vcpu=%d", ev->type, (int)ev->vcpu);
	if (n < 0 || (size_t)n >= len)
		return n;
	n += (int)tev_fields_text(buf + n, len - n, ev, pl, REPORT_TEXT);
	if ((size_t)n < len)
		n += snprintf(buf + n, len - n, " exit=%llu rip=%#llx",
			      (unsigned long long)ev->exit_seq,
			      (unsigned long long)ev->rip);
	if (ev->digest && (size_t)n < len)
		n += snprintf(buf + n, len - n, " digest=0x%016llx",
			      (unsigned long long)ev->digest);
	return n;
}

/* What a VCPU has left: nothing it can replay once its own events are
 * replayed, and in serial and step mode the requests and resumes aimed at
 * it (a parallel replay publishes only those of the pauses it lands); in
 * a plugin trace the resumes (an IO stop's answer is one). */
static bool vcpu_done(const struct replay *rp, struct replay_vcpu *vs)
{
	if (atomic_load(&vs->own_left))
		return false;
	if (rp->raw)
		return !atomic_load(&vs->resumes_left);
	return rp->parallel || !atomic_load(&vs->ctl_left);
}

static void mark_done(struct replay *rp, struct replay_vcpu *vs)
{
	if (vcpu_done(rp, vs) && !atomic_exchange(&vs->at_end, true))
		atomic_fetch_add(&rp->at_end, 1);
}

/* For the watch thread: the VCPU's next expected event, and how long the
 * recording took from the one just matched (@from_ns) to it. */
static void publish_next(struct replay_vcpu *vs, uint64_t from_ns)
{
	const struct trace_event *n = stream_peek(&vs->own);

	atomic_store(&vs->gap_ns, n && n->time_ns > from_ns ?
		     n->time_ns - from_ns : 0);
	atomic_store(&vs->next_seq, n ? n->seq : UINT64_MAX);
}

void check_init(struct replay *rp)
{
	for (unsigned i = 0; i < rp->nr_vcpus; i++) {
		publish_next(&rp->vcpus[i], rp->start_ns);
		mark_done(rp, &rp->vcpus[i]);
	}
}

bool check_all_ended(const struct replay *rp)
{
	return atomic_load(&rp->at_end) == rp->nr_vcpus;
}

bool check_vcpu_ended(void *arg, unsigned vcpu)
{
	struct replay *rp = arg;

	return rp->prefix_only && !rp->raw && atomic_load(&rp->vcpus[vcpu].at_end);
}

/* The run ends once the recorded events are all replayed: with the
 * recording's end (plugin traces), or as a prefix.  The VMM stops it. */
static enum vm_replay_verdict replay_done(struct vm_replay_check *c, int reason,
					  int code, const char *why)
{
	c->end_reason = reason;
	c->end_code = code;
	snprintf(c->why, sizeof(c->why), "%s", why);
	return VM_REPLAY_DONE;
}

static enum vm_replay_verdict matched(struct replay *rp, struct replay_vcpu *vs,
				      bool ctl, const struct trace_event *ev,
				      struct vm_replay_check *c)
{
	struct context_ring *ring = &vs->ctx[ctl];

	ring->seq[ring->n++ % CONTEXT_EVENTS] = (ctl ? &vs->ctl : &vs->own)->ev.seq;
	atomic_fetch_add(&rp->checked, 1);
	if (ctl) {
		stream_next(&vs->ctl);
		atomic_fetch_sub(&vs->ctl_left, 1);
		if (ev->type == TEV_RESUME_REQUEST)
			atomic_fetch_sub(&vs->resumes_left, 1);
		if (rp->parallel)  /* the requests to publish changed */
			vs->pause_ok = false;
	} else {
		uint64_t t = vs->own.ev.time_ns;

		stream_next(&vs->own);
		atomic_fetch_sub(&vs->own_left, 1);
		if (ev->type == TEV_PAUSE_TAKEN && rp->parallel)
			vs->scout_ok = vs->pause_ok = false;
		publish_next(vs, t);
	}
	mark_done(rp, vs);
	if (!check_all_ended(rp))
		return VM_REPLAY_MATCH;
	if (rp->raw && !atomic_exchange(&rp->raw_done, true))
		return replay_done(c, (int)rp->end.a0, (int)(int64_t)rp->end.a1,
				   "every recorded event was replayed");
	if (rp->prefix_only && !rp->raw && !rp->end_recorded &&
	    !atomic_exchange(&rp->prefix_done, true))
		return replay_done(c, TEND_SIGNAL, 0, "end of the recorded events");
	return VM_REPLAY_MATCH;
}

/* The divergence: expected and actual, and what the stream held before. */
static void describe(struct replay *rp, const struct stream_cursor *s,
		     const struct context_ring *ring, const struct trace_event *got,
		     const void *payload, const char *what, char *why, size_t len)
{
	static __thread uint8_t pl[TRACE_MAX_PAYLOAD];
	const struct trace_event *want = stream_peek(s);
	struct trace_event ev;
	char e[512], a[512];
	uint64_t from = ring->n > CONTEXT_EVENTS ? ring->n - CONTEXT_EVENTS : 0;
	int n;

	if (want)
		check_fmt_event(e, sizeof(e), want, s->pl);
	else
		snprintf(e, sizeof(e), "nothing more (the trace ends here)");
	check_fmt_event(a, sizeof(a), got, payload);
	n = snprintf(why, len, "vcpu %d, %s event #%llu", (int)got->vcpu, what,
		     (unsigned long long)s->pos);
	if (want && n >= 0 && (size_t)n < len)
		n += snprintf(why + n, len - n, " (trace seq %llu)",
			      (unsigned long long)want->seq);
	if (n >= 0 && (size_t)n < len)
		n += snprintf(why + n, len - n, "%s:\n  expected: %s\n  actual:   "
			      "%s\n  last events of vcpu %d in the trace:",
			      want ? "" : " (past its end)", e, a, (int)got->vcpu);
	for (uint64_t i = from; i < ring->n && n >= 0 && (size_t)n < len; i++) {
		uint64_t seq = ring->seq[i % CONTEXT_EVENTS];

		if (stream_read_seq(rp->ts, seq, &ev, pl, sizeof(pl)))
			continue;
		check_fmt_event(e, sizeof(e), &ev, pl);
		n += snprintf(why + n, len - n, "\n    seq %llu: %s",
			      (unsigned long long)seq, e);
	}
}

static enum vm_replay_verdict diverged(struct replay *rp,
				       struct replay_vcpu *vs, bool ctl,
				       const struct trace_event *ev,
				       const void *payload,
				       struct vm_replay_check *c)
{
	describe(rp, ctl ? &vs->ctl : &vs->own, &vs->ctx[ctl], ev, payload,
		 ctl ? "controller" : "its", c->why, sizeof(c->why));
	atomic_store(&rp->diverged, true);
	pthread_mutex_lock(&rp->msg_lock);
	if (!rp->message[0])
		snprintf(rp->message, sizeof(rp->message), "%s", c->why);
	pthread_mutex_unlock(&rp->msg_lock);
	return VM_REPLAY_DIVERGED;
}

/* Events with which a VCPU stops the run. */
static bool stops_run(uint32_t type)
{
	return type == TEV_GUEST_ASSERT || type == TEV_GUEST_EXIT ||
	       type == TEV_VCPU_ERROR;
}

/* Whether every VCPU but @self is where the stop must find it: with the
 * end recorded, waiting for the stop (or gone); else past its events
 * before VM_STOP. */
static bool others_ready_for_stop(struct replay *rp, uint32_t self)
{
	for (unsigned i = 0; i < rp->nr_vcpus; i++) {
		struct replay_vcpu *vs = &rp->vcpus[i];

		if (i == self)
			continue;
		if (rp->end_recorded ? !atomic_load(&vs->awaiting_stop) &&
				       !atomic_load(&vs->at_end) :
				       atomic_load(&vs->next_seq) < rp->stop_seq)
			return false;
	}
	return true;
}

bool check_all_await_stop(struct replay *rp)
{
	return rp->end_recorded && others_ready_for_stop(rp, UINT32_MAX);
}

/* Parallel, a run a VCPU stopped: the stop comes where it came in the
 * recording, after every event the recording has before VM_STOP (and,
 * with the end recorded, once every other VCPU waits where the stop
 * caught it).  The recorded stopper (of vcprr_exit: the one whose code
 * the stop has) waits for the others; a VCPU that would stop the run too
 * (a second assertion), when the recording has it caught by the first
 * one's stop, waits for that stop.  (Once the run is stopping, or a
 * replay diverged, nobody waits.)  Otherwise how much of the recording is
 * checked, and which stop ends the run, is timing. */
static void await_stop_turn(struct replay *rp, const struct trace_event *ev,
			    const struct trace_event *want)
{
	bool stopper = want && want->type == ev->type &&
		       want->seq < rp->stop_seq &&
		       (ev->type != TEV_GUEST_EXIT || want->a0 == rp->stop_code);
	const struct timespec nap = { 0, 100000 };

	atomic_store(&rp->vcpus[ev->vcpu].awaiting_stop, true);
	while (!vm_stopping(rp->vm) && !atomic_load(&rp->diverged) &&
	       !(stopper && others_ready_for_stop(rp, ev->vcpu)))
		nanosleep(&nap, NULL);
}

/* Older traces' VCPU_EXIT has no digest: a replay's is not compared. */
static const struct trace_event *as_recorded(const struct trace_event *want,
					     const struct trace_event *ev,
					     struct trace_event *tmp)
{
	if (!want || want->type != TEV_VCPU_EXIT || ev->type != TEV_VCPU_EXIT ||
	    want->digest)
		return ev;
	*tmp = *ev;
	tmp->digest = 0;
	return tmp;
}

enum vm_replay_verdict check_event(void *arg, const struct trace_event *ev,
				   const void *payload,
				   struct vm_replay_check *c)
{
	struct replay *rp = arg;
	struct replay_vcpu *vs;
	const struct trace_event *want;
	struct trace_event tmp;
	bool ctl;

	if (atomic_load(&rp->diverged) || atomic_load(&rp->prefix_done) ||
	    load_is_timing(ev->type) || ev->type == TEV_SCHED_SWITCH ||
	    ev->vcpu >= rp->nr_vcpus)
		return VM_REPLAY_MATCH;
	vs = &rp->vcpus[ev->vcpu];
	ctl = load_is_ctl(ev->type);
	want = stream_peek(ctl ? &vs->ctl : &vs->own);
	if (!want && stream_error(rp->ts))
		return replay_done(c, TEND_VMM_ERROR, 1, stream_error(rp->ts));
	/* parallel, in traces that do not log where the stop caught each
	 * VCPU: once a run is being stopped (a fault, an exit), the other
	 * VCPUs' last events depend on when the stop reaches them; the end
	 * itself is compared afterwards.  So does how far a VCPU got before
	 * it: one whose next recorded event is its way out (after VM_STOP)
	 * may run on here until the replay's stop comes.  Past a cut, a VCPU
	 * waits for the others (check_vcpu_ended).  With the end recorded,
	 * every event is checked: each VCPU waits for the stop where it was
	 * caught (land-hooks.c). */
	if (rp->parallel && rp->stop_seq != UINT64_MAX && stops_run(ev->type) &&
	    (rp->end_recorded || (rp->ended_by_stop && !rp->prefix_only)))
		await_stop_turn(rp, ev, want);
	if (rp->parallel && !rp->end_recorded &&
	    (rp->ended_by_stop || rp->prefix_only) &&
	    (!want || vm_stopping(rp->vm) || want->seq > rp->stop_seq))
		return VM_REPLAY_MATCH;
	ev = as_recorded(want, ev, &tmp);
	if (!want && rp->prefix_only && !rp->end_recorded) {
		/* The recording stops here: so does the replay. */
		atomic_store(&rp->prefix_done, true);
		return replay_done(c, TEND_SIGNAL, 0, "end of the recorded events");
	}
	if (want && trace_event_same(want, (ctl ? &vs->ctl : &vs->own)->pl, ev,
				     payload))
		return matched(rp, vs, ctl, ev, c);
	return diverged(rp, vs, ctl, ev, payload, c);
}

void check_read_input(void *arg, unsigned vcpu, uint32_t type, uint64_t addr,
		      uint64_t access, uint64_t *val)
{
	struct replay *rp = arg;
	const struct trace_event *w = stream_peek(&rp->vcpus[vcpu].own);

	/* A mismatch is reported by the check of the event itself. */
	if (w && w->type == type && w->a0 == addr && w->a1 == access)
		*val = w->a2;
}
