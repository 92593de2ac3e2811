/* vcprr analyze: the failing schedule shrunk, its decisive decisions
 * found, and its smallest form run once more with every instruction
 * watched (see analyze.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/analyze-explain.h"
#include "tools/analyze-names.h"
#include "tools/analyze-run.h"
#include "tools/analyze.h"
#include "traces/trace.h"
#include "traces/clock.h"
#include "vmm/run-desc.h"

#define DEFAULT_MAX_RUNS 200

static bool never_keep(const struct explore_result *r, void *arg)
{
	(void)r;
	(void)arg;
	return false;
}

/* A scratch folder for the shrunk trace and the observed run's recording
 * (recorded so that the VMM shows its events; never kept). */
int analyze_scratch_make(char *dir, size_t len, char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");

	if ((size_t)snprintf(dir, len, "%s/vcprr-analyze.XXXXXX",
			     tmp && *tmp ? tmp : "/tmp") >= len) {
		snprintf(err, errlen, "TMPDIR is too long a path");
		return -1;
	}
	if (mkdtemp(dir))
		return 0;
	snprintf(err, errlen, "cannot make a scratch folder %s: %s", dir,
		 strerror(errno));
	return -1;
}

void analyze_scratch_remove(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/shrunk.trace", dir);
	unlink(path);
	rmdir(dir);
}

/* The pair of source locations of a race, in either order. */
static bool same_sites(const struct symtab *st, const struct hb_race *a,
		       const struct hb_race *b)
{
	uint64_t a1 = analyze_site((void *)st, a->first.rip);
	uint64_t a2 = analyze_site((void *)st, a->second.rip);
	uint64_t b1 = analyze_site((void *)st, b->first.rip);
	uint64_t b2 = analyze_site((void *)st, b->second.rip);

	return (a1 == b1 && a2 == b2) || (a1 == b2 && a2 == b1);
}

/* Adds the races of hb not known yet.  0, or -1 when out of memory. */
static int add_races(struct analyze_result *res, const struct hb *hb)
{
	size_t n;
	const struct hb_race *r = hb_races(hb, &n);

	res->shadow_full |= hb_full(hb);
	for (size_t i = 0; i < n; i++) {
		bool known = false;
		void *p;

		for (size_t j = 0; j < res->nraces && !known; j++)
			known = same_sites(res->st, &res->races[j], &r[i]);
		if (known)
			continue;
		p = realloc(res->races, (res->nraces + 1) * sizeof(*r));
		if (!p)
			return -1;
		res->races = p;
		res->races[res->nraces++] = r[i];
	}
	return 0;
}

/* The races of a watched run.  0, or -1 when out of memory. */
static int run_races(struct analyze_result *res, const struct analyze_run *ar)
{
	struct hb_config hc = { .nr_vcpus = res->nr_vcpus, .site = analyze_site,
				.site_arg = res->st };
	struct hb *hb = access_log_races(ar->log, &hc);
	int ret;

	if (!hb)
		return -1;
	ret = add_races(res, hb);
	hb_free(hb);
	return ret;
}

/* The races of the watched run, and what no decoder could read. */
static int find_races(struct analyze_result *res, const struct analyze_run *ar,
		      char *err, size_t errlen)
{
	size_t n;
	const struct alog_entry *e = access_log_entries(ar->log, &n);

	for (size_t i = 0; i < n; i++) {
		if (e[i].kind != ALOG_UNDECODABLE)
			continue;
		if (!res->undecodable++)
			res->undecodable_rip = e[i].rip;
	}
	res->log_full = access_log_full(ar->log);
	res->steps = ar->steps;
	if (run_races(res, ar)) {
		snprintf(err, errlen, "out of memory for the race detector");
		return -1;
	}
	res->nraces_run = res->nraces;
	return 0;
}

static void load_symbols(struct analyze_result *res, const char *guest)
{
	char msg[512];

	snprintf(res->guest, sizeof(res->guest), "%s", guest);
	res->st = symtab_load(guest, msg, sizeof(msg));
}

/* The watched run's trace vanishes, or is kept at keep (replaced). */
static int watch_run(const struct explore_config *cfg, uint64_t seed,
		     const char *dir, const char *keep, struct analyze_run *ar,
		     struct explore_result *r, char *err, size_t errlen)
{
	struct explore_config c = *cfg;
	char path[PATH_MAX];
	struct explore_trace t = { .path = path, .keep = never_keep };
	int ret;

	c.sched.mode = VM_SCHED_STEP;
	c.observer = ar ? &ar->obs : NULL;
	snprintf(path, sizeof(path), "%s/watched.trace", dir);
	if (keep)
		t = (struct explore_trace){ .path = keep, .replace = true };
	ret = explore_run(&c, seed, &t, r, err, errlen);
	if (!ret && keep && !t.kept) {
		snprintf(err, errlen, "cannot keep the watched run's trace: %s",
			 t.problem);
		return -1;
	}
	return ret;
}

int analyze_watch_run(const struct explore_config *cfg, uint64_t seed,
		      const char *dir, struct analyze_run *ar,
		      struct explore_result *r, char *err, size_t errlen)
{
	return watch_run(cfg, seed, dir, NULL, ar, r, err, errlen);
}

static int analyze_watched(const struct explore_config *cfg, uint64_t seed,
			   const char *dir, const char *keep,
			   struct analyze_run *ar, struct analyze_result *res,
			   char *err, size_t errlen)
{
	struct explore_result r;

	if (analyze_run_init(ar, 0)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	res->nr_vcpus = cfg->nr_vcpus ? cfg->nr_vcpus : 1;
	if (watch_run(cfg, seed, dir, keep, ar, &r, err, errlen))
		return -1;
	if (ar->out_of_memory) {
		snprintf(err, errlen, "out of memory while watching the run");
		return -1;
	}
	res->failed = r.failed;
	res->last_step = ar->last_step;
	snprintf(res->signature, sizeof(res->signature), "%s", r.signature);
	return find_races(res, ar, err, errlen);
}

int analyze_guest(const struct explore_config *cfg, uint64_t seed,
		  const struct analyze_opts *o, struct analyze_result *res,
		  char *err, size_t errlen)
{
	struct analyze_run ar = { 0 };
	char dir[ANALYZE_SCRATCH_MAX];
	double t0 = mono_s();
	int ret;

	memset(res, 0, sizeof(*res));
	load_symbols(res, cfg->guest);
	if (analyze_scratch_make(dir, sizeof(dir), err, errlen))
		return -1;
	ret = analyze_watched(cfg, seed, dir, o->watched, &ar, res, err,
			      errlen);
	analyze_run_fini(&ar);
	analyze_scratch_remove(dir);
	res->seconds = mono_s() - t0;
	return ret;
}

/* The trace must be a step trace: only there is every instruction a
 * scheduling point of the recorded schedule. */
static int check_mode(const char *path, char *err, size_t errlen)
{
	struct run_desc d;
	char msg[1024];
	struct trace_reader *r = trace_reader_open(path, msg, sizeof(msg));
	int ret = -1;

	if (!r) {
		snprintf(err, errlen, "%s%s%s", strstr(msg, path) ? "" : path,
			 strstr(msg, path) ? "" : ": ", msg);
		return -1;
	}
	if (run_desc_decode(trace_reader_header(r), &d, msg, sizeof(msg))) {
		snprintf(err, errlen, "%s: %s", path, msg);
	} else if (d.kind != RUN_KIND_GUEST) {
		snprintf(err, errlen, "%s: a plugin (raw mode) trace: analyze "
			 "runs vcprr guests only", path);
	} else if (d.sched.mode == VM_SCHED_PARALLEL) {
		snprintf(err, errlen, "%s: a parallel trace has no schedule to "
			 "analyze: analyze needs a step trace (vcprr explore "
			 "GUEST records failing ones; or vcprr record --sched "
			 "step)", path);
	} else if (d.sched.mode == VM_SCHED_SERIAL) {
		snprintf(err, errlen, "%s: recorded in serial mode, where VCPUs "
			 "switch only at VM exits; its schedule cannot be run "
			 "again instruction by instruction.  analyze needs a "
			 "step trace: find the failure with vcprr explore GUEST "
			 "--preempt step, or record with --sched step", path);
	} else {
		ret = 0;
	}
	trace_reader_close(r);
	return ret;
}

static bool in_window(const struct analyze_window *w, size_t entry)
{
	for (size_t i = 0; i < w->nentries; i++)
		if (w->entry[i] == entry)
			return true;
	return false;
}

/* The schedule without window w's entries: does the run still fail?
 * When it passes, it runs once more watched, for its races. */
static int judge(const struct recorded_schedule *rec, struct analyze_window *w,
		 struct sched_decision *dec, struct sched_injection *inj,
		 const char *dir, struct analyze_result *res, char *err,
		 size_t errlen)
{
	struct explore_config cfg = rec->cfg;
	struct analyze_run ar;
	struct sched_plan plan;
	struct explore_result r;
	size_t nd = 0, ni = 0;
	int ret;

	for (size_t i = 0; i < rec->ndec; i++)
		if (!in_window(w, i))
			dec[nd++] = rec->dec[i];
	for (size_t i = 0; i < rec->ninj; i++)
		if (!in_window(w, rec->ndec + i))
			inj[ni++] = rec->inj[i];
	plan = (struct sched_plan){ dec, nd, inj, ni };
	cfg.sched.policy = VM_POLICY_PLAN;
	cfg.sched.plan = &plan;
	res->runs++;
	if (explore_run(&cfg, cfg.sched.seed, NULL, &r, err, errlen))
		return -1;
	w->judged = true;
	w->decisive = !r.failed;
	if (!w->decisive)
		return 0;
	if (analyze_run_init(&ar, 0)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	res->runs++;
	ret = analyze_watch_run(&cfg, cfg.sched.seed, dir, &ar, &r, err, errlen);
	if (!ret && (ar.out_of_memory || run_races(res, &ar))) {
		snprintf(err, errlen, "out of memory for the race detector");
		ret = -1;
	}
	if (!ret)
		analyze_note_passing(res, w, &ar);
	analyze_run_fini(&ar);
	return ret;
}

/* Each preemption and injected pause of the smallest schedule left out in
 * turn: decisive when the run then passes.  Other switches (a VCPU that
 * blocked, yielded or ended) are kept only when decisive. */
static int find_decisive(const struct recorded_schedule *rec,
			 struct analyze_result *res, const struct analyze_opts *o,
			 const char *dir, char *err, size_t errlen)
{
	struct sched_decision *dec = calloc(rec->ndec + 1, sizeof(*dec));
	struct sched_injection *inj = calloc(rec->ninj + 1, sizeof(*inj));
	size_t kept = 0;
	int ret = -1;

	if (!dec || !inj) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < res->nwindows; i++) {
		struct analyze_window *w = &res->windows[i];

		/* Stopped: the windows left are told, not judged. */
		if (!res->interrupted && o->interrupted && o->interrupted())
			res->interrupted = true;
		if (!res->interrupted &&
		    judge(rec, w, dec, inj, dir, res, err, errlen))
			goto out;
		if (w->decisive || w->preemption || w->pause)
			res->windows[kept++] = *w;
	}
	res->nwindows = kept;
	ret = 0;
out:
	free(dec);
	free(inj);
	return ret;
}

/* Shrinks the trace's schedule into dir/shrunk.trace.  1 when the run
 * fails (shrunk), 0 when it does not, -1 on error. */
static int shrink(const char *path, const char *dir, const struct analyze_opts *o,
		  struct analyze_result *res, char *out, size_t outlen,
		  char *err, size_t errlen)
{
	struct minimize_opts mo = { .guest = o->guest, .guest_dir = o->guest_dir,
				    .force = o->force, .replace = true,
				    .interrupted = o->interrupted,
				    .max_runs = o->max_runs ? o->max_runs :
						DEFAULT_MAX_RUNS };
	struct minimize_report rep;
	int st;

	snprintf(out, outlen, "%s/shrunk.trace", dir);
	st = minimize_trace(path, out, &mo, &rep, err, errlen);
	res->runs += rep.runs;
	if (st == MINIMIZE_NO_FAILURE)
		return 0;
	if (st != MINIMIZE_OK)
		return -1;
	res->minimized = true;
	res->interrupted |= rep.interrupted;
	res->before = rep.before;
	res->after = rep.after;
	return 1;
}

static int explain_failure(const char *shrunk, const char *dir,
			   const struct analyze_opts *o,
			   struct analyze_result *res, char *err, size_t errlen)
{
	struct minimize_opts mo = { .guest = res->guest, .force = true };
	struct recorded_schedule rec = { 0 };
	struct analyze_run ar = { 0 };
	struct explore_config cfg;
	struct sched_plan plan;
	int ret = -1;

	if (schedule_load(shrunk, &mo, &rec, err, errlen))
		goto out;
	plan = (struct sched_plan){ rec.dec, rec.ndec, rec.inj, rec.ninj };
	cfg = rec.cfg;
	cfg.sched.policy = VM_POLICY_PLAN;
	cfg.sched.plan = &plan;
	res->runs++;
	if (analyze_watched(&cfg, cfg.sched.seed, dir, o->watched, &ar, res,
			    err, errlen))
		goto out;
	if (!res->failed) {
		snprintf(err, errlen, "the smallest failing schedule passed when "
			 "run again with every instruction watched: a "
			 "nondeterministic guest?");
		goto out;
	}
	if (analyze_windows(res, &ar, rec.ndec)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ret = find_decisive(&rec, res, o, dir, err, errlen);
	if (!ret)
		analyze_tell(res, &ar);
out:
	analyze_run_fini(&ar);
	schedule_free(&rec);
	return ret;
}

/* A trace whose schedule does not fail: its races only. */
static int passing_trace(const char *path, const char *dir,
			 const struct analyze_opts *o,
			 struct analyze_result *res, char *err, size_t errlen)
{
	struct minimize_opts mo = { .guest = res->guest, .force = true };
	struct recorded_schedule rec = { 0 };
	struct analyze_run ar = { 0 };
	struct sched_plan plan;
	int ret = -1;

	if (schedule_load(path, &mo, &rec, err, errlen))
		goto out;
	plan = (struct sched_plan){ rec.dec, rec.ndec, rec.inj, rec.ninj };
	rec.cfg.sched.policy = VM_POLICY_PLAN;
	rec.cfg.sched.plan = &plan;
	res->runs++;
	ret = analyze_watched(&rec.cfg, rec.cfg.sched.seed, dir, o->watched,
			      &ar, res, err, errlen);
out:
	analyze_run_fini(&ar);
	schedule_free(&rec);
	return ret;
}

/* A schedule with at most one preemption or injected pause (and the
 * switch it causes) cannot shrink: whether the run fails (1) or passes
 * (0) as recorded; -1 for a schedule to shrink. */
static int small_schedule(const struct recorded_schedule *rec)
{
	size_t at_points = rec->ninj;
	char sig[EXPLORE_SIG_MAX];

	for (size_t i = 0; i < rec->ndec; i++)
		at_points += rec->dec[i].where == SCHED_AT_POINT;
	if (at_points > 2 || rec->end_reason < 0)
		return -1;
	explore_signature(rec->end_reason, rec->end_code, "", sig, sizeof(sig));
	return sig[0] != 0;
}

int analyze_trace(const char *path, const struct analyze_opts *o,
		  struct analyze_result *res, char *err, size_t errlen)
{
	struct minimize_opts mo = { .guest = o->guest, .guest_dir = o->guest_dir,
				    .force = o->force };
	struct recorded_schedule rec = { 0 };
	char dir[ANALYZE_SCRATCH_MAX], shrunk[PATH_MAX];
	double t0 = mono_s();
	int ret = -1, st, small;

	memset(res, 0, sizeof(*res));
	err[0] = 0;
	if (check_mode(path, err, errlen))
		return -1;
	/* The guest first: its name for the report, its absence an error
	 * before any run. */
	if (schedule_load(path, &mo, &rec, err, errlen)) {
		schedule_free(&rec);
		return -1;
	}
	load_symbols(res, rec.guest);
	small = small_schedule(&rec);
	schedule_free(&rec);
	if (analyze_scratch_make(dir, sizeof(dir), err, errlen))
		return -1;
	if (small >= 0) {
		/* Nothing to shrink: explained (or checked) as it is. */
		snprintf(shrunk, sizeof(shrunk), "%s", path);
		st = small;
	} else {
		st = shrink(path, dir, o, res, shrunk, sizeof(shrunk), err, errlen);
	}
	if (st > 0)
		ret = explain_failure(shrunk, dir, o, res, err, errlen);
	else if (st == 0)
		ret = passing_trace(path, dir, o, res, err, errlen);
	analyze_scratch_remove(dir);
	res->seconds = mono_s() - t0;
	return ret;
}

void analyze_result_free(struct analyze_result *res)
{
	free(res->races);
	symtab_free(res->st);
	free(res->windows);
	memset(res, 0, sizeof(*res));
}
