/* Watching a running replay (see watch.h). */
#include <stdio.h>

#include "replay/check.h"
#include "replay/watch.h"
#include "traces/clock.h"
#include "traces/event-format.h"
#include "vmm/vm.h"

#define TICK_MS     100
#define REPORT_NS   1000000000ull  /* progress reports */
#define LATE_TICK_NS (2000000000ull)  /* a tick this late: we were stopped */
#define WAITING_MAX 16             /* VCPUs listed in a report */

/* Anything that shows the replay goes on: an event matched, a breakpoint
 * visit of a pause being landed. */
static uint64_t activity(struct replay *rp)
{
	return atomic_load(&rp->checked) + atomic_load(&rp->visits);
}

/* How long the replay may go without activity: a multiple of the longest
 * recorded time from a VCPU's last matched event to its next one. */
static uint64_t stall_limit(struct replay *rp, unsigned *vcpu, uint64_t *gap)
{
	uint64_t limit = REPLAY_STALL_FLOOR_NS;

	*gap = 0;
	*vcpu = 0;
	for (unsigned i = 0; i < rp->nr_vcpus; i++) {
		struct replay_vcpu *vs = &rp->vcpus[i];
		uint64_t g = atomic_load(&vs->gap_ns);

		if (atomic_load(&vs->next_seq) == UINT64_MAX || g <= *gap)
			continue;
		*gap = g;
		*vcpu = i;
	}
	if (*gap > limit / REPLAY_STALL_FACTOR)
		limit = *gap > UINT64_MAX / REPLAY_STALL_FACTOR ? UINT64_MAX :
			*gap * REPLAY_STALL_FACTOR;
	return limit;
}

/* Appends event @seq of the trace to @buf: "\n  WHAT: EVENT". */
static int add_event(struct replay *rp, char *buf, size_t len, int n,
		     const char *what, uint64_t seq)
{
	static uint8_t pl[TRACE_MAX_PAYLOAD];
	struct trace_event ev;
	char e[512];

	if (n < 0 || (size_t)n >= len || seq == UINT64_MAX)
		return n;
	if (stream_read_seq(rp->ts, seq, &ev, pl, sizeof(pl)))
		snprintf(e, sizeof(e), "trace seq %llu", (unsigned long long)seq);
	else
		check_fmt_event(e, sizeof(e), &ev, pl);
	return n + snprintf(buf + n, len - n, "\n  %s: %s", what, e);
}

/* Where the replay stands: each VCPU's next expected event (and the pause
 * it is landing), and in serial and step mode the next recorded action
 * and switch. */
static void describe_waiting(struct replay *rp, char *buf, size_t len, int n)
{
	unsigned listed = 0, more = 0;
	char what[32];

	for (unsigned i = 0; i < rp->nr_vcpus; i++) {
		struct replay_vcpu *vs = &rp->vcpus[i];
		uint64_t rip = atomic_load(&vs->land_rip);

		if (atomic_load(&vs->next_seq) == UINT64_MAX)
			continue;
		if (listed++ == WAITING_MAX) {
			more++;
			continue;
		}
		snprintf(what, sizeof(what), "vcpu %u", i);
		n = add_event(rp, buf, len, n, what, atomic_load(&vs->next_seq));
		if (rip && n >= 0 && (size_t)n < len)
			n += snprintf(buf + n, len - n, "\n    (landing its pause "
				      "at rip %#llx: %llu visits without the "
				      "recorded registers)", (unsigned long long)rip,
				      (unsigned long long)atomic_load(&vs->visits));
	}
	if (more && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, "\n  ... and %u more VCPUs", more);
	if (!listed && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, "\n  no VCPU: each replayed its "
			      "recorded events");
	if (rp->parallel)
		return;
	n = add_event(rp, buf, len, n, "next action", atomic_load(&rp->next_action));
	add_event(rp, buf, len, n, "next switch", atomic_load(&rp->next_switch));
}

static void report(struct replay *rp, const struct replay_opts *o,
		   uint64_t elapsed, uint64_t idle, uint64_t stall)
{
	struct replay_progress p = {
		.checked = atomic_load(&rp->checked), .total = rp->to_check,
		.elapsed_ns = elapsed, .idle_ns = idle, .stall_ns = stall,
	};

	for (unsigned i = 0; i < rp->nr_vcpus; i++) {
		uint64_t rip = atomic_load(&rp->vcpus[i].land_rip);
		uint64_t visits = atomic_load(&rp->vcpus[i].visits);

		if (!rip)
			continue;
		if (!p.landing++ || visits > p.land_visits) {
			p.land_vcpu = i;
			p.land_rip = rip;
			p.land_visits = visits;
		}
	}
	o->progress(o->progress_arg, &p);
}

/* Every VCPU replayed what it can of a recording cut short (or of a
 * plugin's run): the replay ends here, if no event has ended it.  A run
 * stopped from outside, its end recorded, is stopped the same way once
 * every VCPU waits where that stop caught it. */
static void end_replayed(struct replay *rp)
{
	if (rp->end_recorded) {
		if (rp->prefix_only && !vm_stopping(rp->vm) &&
		    check_all_await_stop(rp))
			vm_stop(rp->vm, (int)rp->stop_reason,
				(int)(int64_t)rp->stop_code,
				"stopped where the recording was");
		return;
	}
	if (rp->raw && !atomic_exchange(&rp->raw_done, true))
		vm_stop(rp->vm, (int)rp->end.a0, (int)(int64_t)rp->end.a1,
			"every recorded event was replayed");
	else if (!rp->raw && rp->prefix_only &&
		 !atomic_exchange(&rp->prefix_done, true))
		vm_stop(rp->vm, TEND_SIGNAL, 0, "end of the recorded events");
}

enum watch_end watch_run(struct replay *rp, const struct replay_opts *o,
			 char *why, size_t len)
{
	uint64_t start = mono_ns(), tick = start, busy = start, shown = start;
	uint64_t seen = activity(rp), gap;
	unsigned vcpu;
	char d1[32], d2[32];

	while (vm_wait(rp->vm, TICK_MS)) {
		uint64_t now = mono_ns(), stall = stall_limit(rp, &vcpu, &gap);

		/* A late tick: this process was stopped (^Z) or the machine
		 * slept.  That time is nobody's stall. */
		if (now - tick > LATE_TICK_NS || activity(rp) != seen) {
			seen = activity(rp);
			busy = now;
		}
		tick = now;
		if (check_all_ended(rp) || rp->end_recorded)
			end_replayed(rp);
		if (o->timeout_ns && now - start >= o->timeout_ns) {
			describe_waiting(rp, why, len, snprintf(why, len,
				"replay timed out after %llu ms (--timeout); "
				"waiting for:", (unsigned long long)
				(o->timeout_ns / 1000000)));
			return WATCH_TIMEOUT;
		}
		if (now - busy >= stall) {
			describe_waiting(rp, why, len, snprintf(why, len,
				"replay stuck: nothing happened for %s, where the "
				"recording took %s from vcpu %u's last event to "
				"its next; waiting for:",
				fmt_dur(d1, sizeof(d1), now - busy),
				fmt_dur(d2, sizeof(d2), gap), vcpu));
			return WATCH_STUCK;
		}
		if (o->progress && now - shown >= REPORT_NS) {
			report(rp, o, now - start, now - busy, stall);
			shown = now;
		}
	}
	return WATCH_ENDED;
}
