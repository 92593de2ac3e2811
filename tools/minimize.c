/* Minimizing a failing run's schedule.
 *
 * The trace's SCHED_SWITCH and injected PAUSE_REQUEST/RESUME_REQUEST events
 * are turned into a plan keyed by each VCPU's own count of scheduling
 * points: a VCPU's points are the steps taken while it held the token, so
 * they follow from the switches alone.  The plan is run once as recorded
 * (it must fail the same way: that checks the translation), then entries
 * are dropped a chunk at a time — halves, then quarters, down to single
 * entries — keeping each drop after which the run still fails with the
 * same signature and no more preemptions or injected pauses.  A dropped
 * decision falls back to "the running VCPU goes on", a dropped injection
 * to no pause. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/minimize.h"
#include "traces/clock.h"
#include "traces/trace.h"
#include "vmm/guest-id.h"
#include "vmm/run-desc.h"
#include "vmm/vm.h"

#define DEFAULT_MAX_RUNS 500
#define NEVER            (UINT64_MAX / 4)  /* a pause never resumed */


/* --- reading the trace --------------------------------------------------- */

/* Room for one more element in a growing array. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t want;
	void *p;

	if (n < *cap)
		return 0;
	want = *cap ? *cap * 2 : 32;
	p = realloc(*arr, want * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = want;
	return 0;
}

static int push_decision(struct recorded_schedule *rec, size_t *cap,
			 struct sched_decision d)
{
	if (grow((void **)&rec->dec, cap, rec->ndec, sizeof(d)))
		return -1;
	rec->dec[rec->ndec++] = d;
	return 0;
}

static int push_injection(struct recorded_schedule *rec, size_t *cap,
			  struct sched_injection in)
{
	if (grow((void **)&rec->inj, cap, rec->ninj, sizeof(in)))
		return -1;
	rec->inj[rec->ninj++] = in;
	return 0;
}

/* Follows the token through the trace: who holds it, since which step, and
 * how many points each VCPU has made. */
struct token {
	unsigned n;
	int cur, last;
	uint64_t *own, *since;
	size_t *pending;            /* per target: injection index + 1, or 0 */
	uint64_t *pending_step;
	size_t cap_dec, cap_inj;
};

static uint64_t own_now(const struct token *t, int v, uint64_t step)
{
	return t->own[v] + (step - t->since[v]);
}

static int on_switch(struct recorded_schedule *rec, struct token *t,
		     const struct trace_event *ev)
{
	int prev = (int)(int64_t)ev->a0;
	int to = ev->vcpu == TRACE_VCPU_NONE ? -1 : (int)ev->vcpu;
	uint64_t step = ev->a1;
	uint32_t where = (uint32_t)ev->a2;
	int key;

	if (prev >= (int)t->n || to >= (int)t->n)
		return 0;  /* not ours to judge: the baseline run checks */
	if (prev >= 0) {
		t->own[prev] = own_now(t, prev, step);
		t->since[prev] = step;
		t->last = prev;
	}
	key = where == SCHED_AT_IDLE ? t->last : prev;
	t->cur = to;
	if (to < 0)
		return 0;
	t->since[to] = step;
	return push_decision(rec, &t->cap_dec, (struct sched_decision){
		.vcpu = key < 0 ? SCHED_NOBODY : (uint32_t)key, .where = where,
		.to = (uint32_t)to, .own_step = key < 0 ? 0 : t->own[key] });
}

static int on_pause(struct recorded_schedule *rec, struct token *t,
		    const struct trace_event *ev)
{
	if (ev->a3 != SCHED_AT_POINT || t->cur < 0 || ev->vcpu >= t->n)
		return 0;  /* a controller's pause, not an injected one */
	if (push_injection(rec, &t->cap_inj, (struct sched_injection){
		.vcpu = (uint32_t)t->cur, .target = ev->vcpu,
		.own_step = own_now(t, t->cur, ev->a2), .data = ev->a0,
		.hold = NEVER }))
		return -1;
	t->pending[ev->vcpu] = rec->ninj;
	t->pending_step[ev->vcpu] = ev->a2;
	return 0;
}

static void on_resume(struct recorded_schedule *rec, struct token *t,
		      const struct trace_event *ev)
{
	size_t i;

	if (ev->vcpu >= t->n || !(i = t->pending[ev->vcpu]))
		return;
	/* A resume at idle came before any point of its step could end the
	 * hold: one more, so that the replayed hold does not end earlier. */
	rec->inj[i - 1].hold = ev->a2 - t->pending_step[ev->vcpu] +
			       (ev->a3 == SCHED_AT_IDLE);
	t->pending[ev->vcpu] = 0;
}

static void on_assert(struct recorded_schedule *rec, const struct trace_event *ev,
		      const uint8_t *payload)
{
	char file[256] = "?", expr[256] = "?";

	if (payload && ev->payload_len) {
		size_t fl = strnlen((const char *)payload, ev->payload_len);
		snprintf(file, sizeof(file), "%.*s", (int)fl, payload);
		if (fl + 1 < ev->payload_len)
			snprintf(expr, sizeof(expr), "%.*s",
				 (int)strnlen((const char *)payload + fl + 1,
					      ev->payload_len - fl - 1),
				 payload + fl + 1);
	}
	snprintf(rec->assert_sig, sizeof(rec->assert_sig),
		 "guest assertion failed: %s at %s:%llu", expr, file,
		 (unsigned long long)ev->a0);
}

static int read_events(struct trace_reader *r, struct recorded_schedule *rec,
		       struct token *t, const char *path, char *err,
		       size_t errlen)
{
	struct trace_event ev;
	const uint8_t *payload;
	int rc;

	while ((rc = trace_reader_next(r, &ev, &payload)) == 1) {
		int bad = 0;
		switch (ev.type) {
		case TEV_SCHED_SWITCH:
			bad = on_switch(rec, t, &ev);
			break;
		case TEV_PAUSE_REQUEST:
			bad = on_pause(rec, t, &ev);
			break;
		case TEV_RESUME_REQUEST:
			on_resume(rec, t, &ev);
			break;
		case TEV_GUEST_ASSERT:
			if (!rec->assert_sig[0])
				on_assert(rec, &ev, payload);
			break;
		case TEV_VM_END:
			rec->end_reason = (int)ev.a0;
			rec->end_code = (int)ev.a1;
			break;
		}
		if (bad) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, trace_reader_error(r));
		return -1;
	}
	return 0;
}

int schedule_load(const char *path, const struct minimize_opts *o,
		  struct recorded_schedule *rec, char *err, size_t errlen)
{
	struct trace_reader *r = trace_reader_open(path, err, errlen);
	struct guest_lookup l = { o->guest, o->guest_dir, o->force };
	struct token t = { 0 };
	struct run_desc d;
	char msg[1024];
	int ret = -1;

	if (!r)
		return -1;
	if (run_desc_decode(trace_reader_header(r), &d, msg, sizeof(msg))) {
		snprintf(err, errlen, "%s: %s", path, msg);
		goto out;
	}
	if (d.sched.mode == VM_SCHED_PARALLEL) {
		snprintf(err, errlen, "%s: a %s trace has no schedule to shrink: "
			 "minimize needs a serial or step trace (vcprr explore "
			 "records those)", path, d.kind == RUN_KIND_GUEST ?
			 "parallel" : "plugin");
		goto out;
	}
	if (guest_id_find(&d.guest, path, &l, rec->guest, sizeof(rec->guest),
			  err, errlen) < 0)
		goto out;
	/* The recorded run, shrunk to a plan by the caller. */
	rec->cfg.guest = rec->guest;
	rec->cfg.nr_vcpus = d.nr_vcpus;
	rec->cfg.mem_size = d.mem_size;
	rec->cfg.input = d.input;
	rec->cfg.sched = d.sched;
	rec->cfg.timeout_ns = d.timeout_ns;
	rec->end_reason = -1;
	t.n = d.nr_vcpus;
	t.cur = t.last = -1;
	t.own = calloc(t.n, sizeof(*t.own));
	t.since = calloc(t.n, sizeof(*t.since));
	t.pending = calloc(t.n, sizeof(*t.pending));
	t.pending_step = calloc(t.n, sizeof(*t.pending_step));
	if (!t.own || !t.since || !t.pending || !t.pending_step) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ret = read_events(r, rec, &t, path, err, errlen);
out:
	free(t.own);
	free(t.since);
	free(t.pending);
	free(t.pending_step);
	trace_reader_close(r);
	return ret;
}

void schedule_free(struct recorded_schedule *rec)
{
	free(rec->dec);
	free(rec->inj);
	rec->dec = NULL;
	rec->inj = NULL;
	rec->ndec = rec->ninj = 0;
}

/* --- shrinking ------------------------------------------------------------ */

struct shrink {
	const struct recorded_schedule *rec;
	struct explore_config cfg;
	bool *on;                  /* decisions first, then injections */
	size_t n;
	struct sched_decision *dec;
	struct sched_injection *inj;
	struct sched_plan plan;
	const char *target;        /* the signature to keep */
	struct explore_result best;
	struct schedule_size best_size;
	const char *out;
	bool replace;              /* OUT may be replaced: --force, or ours */
	bool best_in_out;          /* OUT holds the best run already */
	unsigned runs, max_runs;
	bool progress, stopped;
	bool (*interrupted)(void);
};

/* The plan of the entries that are on (or of all, plus `off` turned off). */
static void build_plan(struct shrink *s, size_t off_from, size_t off_to)
{
	size_t nd = 0, ni = 0;

	for (size_t i = 0; i < s->n; i++) {
		if (!s->on[i] || (i >= off_from && i < off_to))
			continue;
		if (i < s->rec->ndec)
			s->dec[nd++] = s->rec->dec[i];
		else
			s->inj[ni++] = s->rec->inj[i - s->rec->ndec];
	}
	s->plan = (struct sched_plan){ s->dec, nd, s->inj, ni };
}

static void size_of(const struct shrink *s, const struct explore_result *r,
		    struct schedule_size *z)
{
	z->steps = r->stats.steps;
	z->preemptions = r->stats.preemptions;
	z->switches = r->stats.switches;
	z->injected = r->stats.injected;
	z->decisions = s->plan.ndecisions;
	z->injections = s->plan.ninjections;
}

/* The run fails as the trace did (the baseline's test). */
static bool reproduces(const struct explore_result *r, void *arg)
{
	const struct recorded_schedule *rec = ((const struct shrink *)arg)->rec;

	return r->failed &&
	       (rec->end_reason < 0 || r->reason == rec->end_reason) &&
	       (!rec->assert_sig[0] || !strcmp(rec->assert_sig, r->signature));
}

/* The run fails as wanted and is no bigger than the best one. */
static bool smaller(const struct explore_result *r, void *arg)
{
	const struct shrink *s = arg;

	return r->failed && !strcmp(r->signature, s->target) &&
	       r->stats.preemptions <= s->best.stats.preemptions &&
	       r->stats.injected <= s->best.stats.injected;
}

/* Ctrl-C (SIGINT, SIGTERM) ends the search between two runs, and so does
 * the run budget, which keeps room for recording the best run. */
static bool stop_requested(struct shrink *s)
{
	if (!s->stopped && s->interrupted && s->interrupted())
		s->stopped = true;
	return s->stopped || s->runs + 2 > s->max_runs;
}

/* Runs the current plan.  With `keep`, the run is recorded and, if keep
 * accepts it, becomes OUT.  Returns 1 when it fails as wanted (and was
 * kept), 0 when not, -1 on error. */
static int try_plan(struct shrink *s,
		    bool (*keep)(const struct explore_result *, void *),
		    struct explore_result *r, char *err, size_t errlen)
{
	struct explore_trace t = { .path = s->out, .replace = s->replace,
				   .keep = keep, .arg = s };

	s->runs++;
	if (explore_run(&s->cfg, s->cfg.sched.seed, keep ? &t : NULL, r, err,
			errlen))
		return -1;
	if (s->progress)
		fprintf(stderr, "\rminimize: %u runs, %llu preemptions, %llu "
			"injected pauses, %zu entries \033[K", s->runs,
			(unsigned long long)s->best.stats.preemptions,
			(unsigned long long)s->best.stats.injected,
			s->plan.ndecisions + s->plan.ninjections);
	if (!keep)
		return smaller(r, s);
	if (!t.kept && t.problem[0]) {
		snprintf(err, errlen, "%s%s", t.problem, strstr(t.problem,
			 "exists") ? "; use --force to replace it" : "");
		return -1;
	}
	if (!t.kept)
		return 0;
	s->replace = true;
	s->best_in_out = true;
	return 1;
}

static void new_best(struct shrink *s, const struct explore_result *r)
{
	s->best = *r;
	size_of(s, r, &s->best_size);
	s->best_in_out = false;
}

/* One pass over the entries in chunks of `chunk`.  Returns how many
 * chunks were dropped, or -1. */
static int shrink_pass(struct shrink *s, size_t chunk, char *err, size_t errlen)
{
	int dropped = 0;

	for (size_t from = 0; from < s->n; from += chunk) {
		struct explore_result r;
		size_t to = from + chunk < s->n ? from + chunk : s->n, on = 0;
		int ok;

		for (size_t i = from; i < to; i++)
			on += s->on[i];
		if (!on)
			continue;
		if (stop_requested(s))
			return dropped;
		build_plan(s, from, to);
		ok = try_plan(s, NULL, &r, err, errlen);
		if (ok < 0)
			return -1;
		if (!ok)
			continue;
		for (size_t i = from; i < to; i++)
			s->on[i] = false;
		new_best(s, &r);
		dropped++;
	}
	return dropped;
}

/* Halves, quarters ... single entries; then single entries again while a
 * drop makes room for another. */
static int shrink_chunks(struct shrink *s, char *err, size_t errlen)
{
	int r;

	for (size_t chunk = s->n / 2; chunk > 1; chunk /= 2)
		if (shrink_pass(s, chunk, err, errlen) < 0)
			return -1;
	do {
		r = shrink_pass(s, 1, err, errlen);
	} while (r > 0 && !stop_requested(s));
	return r < 0 ? -1 : 0;
}

/* The recorded schedule, run (and recorded to OUT) as it is. */
static int baseline(struct shrink *s, struct minimize_report *rep,
		    const char *path, char *err, size_t errlen)
{
	const struct recorded_schedule *rec = s->rec;
	struct explore_result r;
	int kept;

	build_plan(s, 0, 0);
	kept = try_plan(s, reproduces, &r, err, errlen);
	if (kept < 0)
		return MINIMIZE_ERROR;
	if (!r.failed) {
		snprintf(err, errlen, "%s: %s", path, rec->end_reason < 0 ?
			 "the trace has no end and its schedule does not fail" :
			 "its schedule, run again, does not fail: nothing to "
			 "minimize (does the trace come from a failing run?)");
		return MINIMIZE_NO_FAILURE;
	}
	if (!kept) {
		snprintf(err, errlen, "%s: its schedule, run again, fails otherwise "
			 "(%s) than the trace recorded (%s); was the guest "
			 "rebuilt?", path, r.signature,
			 rec->assert_sig[0] ? rec->assert_sig :
			 trace_end_reason_name((uint32_t)rec->end_reason));
		return MINIMIZE_NO_FAILURE;
	}
	snprintf(rep->signature, sizeof(rep->signature), "%s", r.signature);
	s->target = rep->signature;
	new_best(s, &r);
	s->best_in_out = true;
	rep->before = s->best_size;
	return MINIMIZE_OK;
}

/* The best schedule once more, recorded to OUT. */
static int record_best(struct shrink *s, char *err, size_t errlen)
{
	struct explore_result r;
	int ok;

	if (s->best_in_out)
		return 0;
	build_plan(s, 0, 0);
	ok = try_plan(s, smaller, &r, err, errlen);
	if (ok == 0)
		snprintf(err, errlen, "%s: the smallest schedule did not fail the "
			 "same way when recorded (%s): a nondeterministic run?",
			 s->out, r.signature[0] ? r.signature : "it passed");
	return ok == 1 ? 0 : -1;
}

int minimize_trace(const char *path, const char *out,
		   const struct minimize_opts *o, struct minimize_report *rep,
		   char *err, size_t errlen)
{
	struct recorded_schedule rec = { 0 };
	struct shrink s = { .rec = &rec, .out = out, .replace = o->replace,
			    .progress = o->progress,
			    .interrupted = o->interrupted };
	double t0 = mono_s();
	int status = MINIMIZE_ERROR;

	memset(rep, 0, sizeof(*rep));
	err[0] = 0;
	if (schedule_load(path, o, &rec, err, errlen))
		goto out;
	s.cfg = rec.cfg;
	s.cfg.sched.policy = VM_POLICY_PLAN;
	s.cfg.sched.plan = &s.plan;
	s.n = rec.ndec + rec.ninj;
	s.max_runs = o->max_runs ? o->max_runs : DEFAULT_MAX_RUNS;
	s.on = malloc(s.n + 1);
	s.dec = malloc((rec.ndec + 1) * sizeof(*s.dec));
	s.inj = malloc((rec.ninj + 1) * sizeof(*s.inj));
	if (!s.on || !s.dec || !s.inj) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	memset(s.on, 1, s.n + 1);
	status = baseline(&s, rep, path, err, errlen);
	if (status != MINIMIZE_OK)
		goto out;
	/* From here on OUT holds a failing run: an error or an interrupt
	 * leaves the smallest one recorded. */
	if (shrink_chunks(&s, err, errlen) || record_best(&s, err, errlen))
		status = MINIMIZE_ERROR;
	rep->after = s.best_size;
	rep->interrupted = s.stopped;
	rep->written = true;
out:
	if (s.progress && s.runs)
		fputc('\n', stderr);
	rep->runs = s.runs;
	rep->seconds = mono_s() - t0;
	free(s.on);
	free(s.dec);
	free(s.inj);
	schedule_free(&rec);
	return status;
}
