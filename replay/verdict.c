/* Judging a replayed run against the recording (see verdict.h). */
#include <stdio.h>
#include <string.h>

#include "replay/check.h"
#include "replay/verdict.h"

/* Leftover recorded events of a VCPU after the run: the first one. */
static bool leftover(struct replay *rp, char *why, size_t len)
{
	for (unsigned i = 0; i < rp->nr_vcpus; i++) {
		const struct stream_cursor *s = &rp->vcpus[i].own;
		char e[512];

		if (!stream_peek(s))
			continue;
		check_fmt_event(e, sizeof(e), &s->ev, s->pl);
		snprintf(why, len, "the run ended before vcpu %u's event #%llu "
			 "(trace seq %llu): %s", i, (unsigned long long)s->pos,
			 (unsigned long long)s->ev.seq, e);
		return true;
	}
	return false;
}

/* How the replayed run ended, on one line: "ends as recorded:
 * guest-assert: ...". */
static void describe_end(const struct vm_result *res, struct replay_result *r)
{
	int n = (int)strcspn(res->diag, "\n");

	if (res->reason == TEND_GUEST_EXIT)
		snprintf(r->end, sizeof(r->end), "ends as recorded: guest-exit, "
			 "code %d", res->exit_code);
	else
		snprintf(r->end, sizeof(r->end), "ends as recorded: %s%s%.*s",
			 trace_end_reason_name(res->reason), n ? ": " : "", n,
			 res->diag);
}

/* A recording cut short replays up to where it stopped: how it really
 * ended, for the verdict. */
static void describe_cut(const struct replay *rp, struct replay_result *r)
{
	const struct run_desc *d = &rp->desc;
	uint64_t code = rp->end.a1;
	char limit[96] = "";

	if (d->max_trace)
		snprintf(limit, sizeof(limit), "; it was recorded with "
			 "--max-trace %llu bytes", (unsigned long long)d->max_trace);
	if (rp->truncated)
		snprintf(r->end, sizeof(r->end), "ends where the trace does, "
			 "%s%s", rp->cut, limit);
	else if (rp->end.a0 == TEND_SIGNAL)
		snprintf(r->end, sizeof(r->end), "ends where the recording was "
			 "stopped: by signal %llu (%s)", (unsigned long long)code,
			 code < 65 ? strsignal((int)code) : "?");
	else if (d->timeout_ns && rp->stop_ns - rp->start_ns >= d->timeout_ns)
		snprintf(r->end, sizeof(r->end), "ends where the recording was "
			 "stopped: by --timeout after %llu ms",
			 (unsigned long long)d->timeout_ns / 1000000);
	else
		snprintf(r->end, sizeof(r->end), "ends where the recording was "
			 "stopped from outside the guest (%s, code %lld)",
			 trace_end_reason_name((uint32_t)rp->end.a0),
			 (long long)code);
}

bool verdict_empty(const struct replay *rp, struct replay_result *r)
{
	if (rp->has_run || (rp->loaded && rp->raw))
		return false;
	r->status = REPLAY_EMPTY;
	if (!rp->loaded)
		snprintf(r->message, sizeof(r->message), "the trace holds no "
			 "events: it was cut right after its header, nothing to "
			 "replay");
	else
		snprintf(r->message, sizeof(r->message), "the recorded run never "
			 "started (it ended as %s, code %lld, before its VM ran): "
			 "nothing to replay",
			 trace_end_reason_name((uint32_t)rp->end.a0),
			 (long long)rp->end.a1);
	return true;
}

/* The VMM itself found the divergence (a pause it could not land), or
 * the checker did (the VM's account adds registers when it stopped the
 * run); or the VMM gave up landing a pause (it cannot tell: the trace
 * could not be replayed). */
static bool judge_divergence(struct replay *rp, const struct vm_result *res,
			     struct replay_result *r)
{
	bool vmm = strstr(res->diag, "replay diverged") != NULL;

	if (strstr(res->diag, "replay gave up")) {
		r->status = REPLAY_ERROR;
		snprintf(r->message, sizeof(r->message), "%s", res->diag);
		return true;
	}
	if (!atomic_load(&rp->diverged) && !vmm)
		return false;
	r->status = REPLAY_DIVERGED;
	snprintf(r->message, sizeof(r->message), "%s",
		 vmm ? res->diag : rp->message);
	return true;
}

static void judge_prefix(struct replay *rp, struct replay_result *r)
{
	r->status = REPLAY_SAME;
	if (!atomic_load(&rp->prefix_done) &&
	    leftover(rp, r->message, sizeof(r->message)))
		r->status = REPLAY_DIVERGED;
}

void verdict_judge(struct replay *rp, const struct vm_result *res,
		   uint64_t digest, struct replay_result *r)
{
	if (rp->prefix_only)
		describe_cut(rp, r);
	else
		describe_end(res, r);
	if (stream_error(rp->ts)) {
		r->status = REPLAY_ERROR;
		snprintf(r->message, sizeof(r->message), "%s", stream_error(rp->ts));
		return;
	}
	if (judge_divergence(rp, res, r))
		return;
	if (rp->prefix_only && !rp->end_recorded)
		return judge_prefix(rp, r);
	/* (Recorded whole, every VCPU's way out is replayed too.) */
	if (!(rp->parallel && rp->ended_by_stop && !rp->end_recorded) &&
	    leftover(rp, r->message, sizeof(r->message))) {
		r->status = REPLAY_DIVERGED;
		return;
	}
	if ((uint64_t)res->reason != rp->end.a0 ||
	    (uint64_t)(int64_t)res->exit_code != rp->end.a1) {
		r->status = REPLAY_DIVERGED;
		snprintf(r->message, sizeof(r->message), "the run ended as %s with "
			 "code %d; the recording ended as %s with code %lld%s%s",
			 trace_end_reason_name(res->reason), res->exit_code,
			 trace_end_reason_name((uint32_t)rp->end.a0),
			 (long long)rp->end.a1, res->diag[0] ? ": " : "", res->diag);
		return;
	}
	/* (Not after a stopped parallel run: where the stop caught the other
	 * VCPUs is timing, and so is their memory.) */
	if (rp->end.a2 && digest != rp->end.a2 &&
	    !(rp->parallel && rp->ended_by_stop)) {
		r->status = REPLAY_DIVERGED;
		snprintf(r->message, sizeof(r->message), "every event matched but "
			 "the final guest memory differs (digest %016llx, recorded "
			 "%016llx)%s", (unsigned long long)digest,
			 (unsigned long long)rp->end.a2,
			 !rp->parallel ? "" :
			 ": in a parallel trace, VCPUs racing on memory do this");
		return;
	}
	r->status = REPLAY_SAME;
}
