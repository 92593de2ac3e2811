/* vcprr bench analyze: what watching every instruction costs, and how
 * long vcprr analyze takes on the demo's failing trace.
 *
 * The trace is made as `make demo` makes it: vcprr explore lost-update.elf
 * --runs 30 --seed 1 --pauses 0.01, its first failure, minimized.  Its
 * schedule is then run REPEAT times plain and REPEAT times watched (the
 * observer decoding each instruction into the access log, then the race
 * detector over the log), alternately, the median of each taken:
 * steps_per_s_plain and steps_per_s_logged, on the same trace, and their
 * ratio (target: at most 1.5).  analyze_s is vcprr analyze on the trace,
 * end to end (target: under 2 s). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/analyze-names.h"
#include "tools/analyze-run.h"
#include "tools/analyze.h"
#include "tools/bench-util.h"
#include "tools/cli.h"
#include "tools/minimize.h"

#define REPEAT 9

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The demo's failing trace, made by this very binary, into dir. */
static int demo_trace(const char *dir, char *trace, size_t len)
{
	char exe[PATH_MAX], cmd[4 * PATH_MAX], guest[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f;

	if (n <= 0)
		return -1;
	exe[n] = 0;
	snprintf(guest, sizeof(guest), "%s", bench_guest_path("lost-update"));
	snprintf(cmd, sizeof(cmd), "'%s' explore '%s' --runs 30 --seed 1 "
		 "--pauses 0.01 -o '%s/explore' >/dev/null 2>&1; '%s' minimize "
		 "\"$(ls '%s'/explore/fail-*.trace | head -n 1)\" -o "
		 "'%s/lost-update.trace' >/dev/null 2>&1 && echo ok",
		 exe, guest, dir, exe, dir, dir);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (!fgets(cmd, sizeof(cmd), f) || strncmp(cmd, "ok", 2)) {
		pclose(f);
		return -1;
	}
	pclose(f);
	snprintf(trace, len, "%s/lost-update.trace", dir);
	return 0;
}

/* One run of the schedule: seconds, and its steps. */
static int timed_run(const struct explore_config *cfg, const char *dir,
		     bool watch, uint64_t *steps, double *s)
{
	struct analyze_run ar;
	struct explore_result r;
	char err[512];
	uint64_t t0;
	int ret = -1;

	if (watch && analyze_run_init(&ar, 0))
		return -1;
	t0 = bench_now_ns();
	if (analyze_watch_run(cfg, cfg->sched.seed, dir, watch ? &ar : NULL, &r,
			      err, sizeof(err))) {
		fprintf(stderr, "vcprr bench analyze: %s\n", err);
		goto out;
	}
	if (watch) {
		struct hb_config hc = { .nr_vcpus = cfg->nr_vcpus };
		struct hb *hb = access_log_races(ar.log, &hc);

		if (!hb)
			goto out;
		hb_free(hb);
	}
	*s = (bench_now_ns() - t0) / 1e9;
	*steps = r.stats.steps;
	ret = 0;
out:
	if (watch)
		analyze_run_fini(&ar);
	return ret;
}

static int steps_per_s(const char *trace, const char *dir,
		       struct bench_report *rep)
{
	struct minimize_opts mo = { 0 };
	struct recorded_schedule rec = { 0 };
	struct sched_plan plan;
	double plain[REPEAT], logged[REPEAT];
	uint64_t steps = 0;
	char err[1024];
	int ret = -1;

	if (schedule_load(trace, &mo, &rec, err, sizeof(err))) {
		fprintf(stderr, "vcprr bench analyze: %s\n", err);
		goto out;
	}
	plan = (struct sched_plan){ rec.dec, rec.ndec, rec.inj, rec.ninj };
	rec.cfg.sched.policy = VM_POLICY_PLAN;
	rec.cfg.sched.plan = &plan;
	for (int i = 0; i < REPEAT; i++)
		if (timed_run(&rec.cfg, dir, false, &steps, &plain[i]) ||
		    timed_run(&rec.cfg, dir, true, &steps, &logged[i]))
			goto out;
	qsort(plain, REPEAT, sizeof(plain[0]), cmp_double);
	qsort(logged, REPEAT, sizeof(logged[0]), cmp_double);
	bench_report_add(rep, "steps", (double)steps);
	bench_report_add(rep, "steps_per_s_plain", steps / plain[REPEAT / 2]);
	bench_report_add(rep, "steps_per_s_logged", steps / logged[REPEAT / 2]);
	bench_report_add(rep, "logged_over_plain",
			 logged[REPEAT / 2] / plain[REPEAT / 2]);
	bench_report_add(rep, "logged_at_most_1_5x",
			 logged[REPEAT / 2] <= 1.5 * plain[REPEAT / 2]);
	ret = 0;
out:
	schedule_free(&rec);
	return ret;
}

int bench_analyze_main(int argc, char **argv)
{
	struct bench_report rep = { .json = bench_want_json(argc, argv) };
	struct analyze_opts o = { 0 };
	struct analyze_result res;
	char dir[ANALYZE_SCRATCH_MAX], trace[ANALYZE_SCRATCH_MAX + 32];
	char err[2048];
	uint64_t t0;
	int ret = EXIT_VMM_ERROR;

	if (analyze_scratch_make(dir, sizeof(dir), err, sizeof(err))) {
		fprintf(stderr, "vcprr bench analyze: %s\n", err);
		return EXIT_VMM_ERROR;
	}
	if (demo_trace(dir, trace, sizeof(trace))) {
		fprintf(stderr, "vcprr bench analyze: explore and minimize did not "
			"make the demo's failing trace\n");
		goto out;
	}
	if (steps_per_s(trace, dir, &rep))
		goto out;
	t0 = bench_now_ns();
	if (analyze_trace(trace, &o, &res, err, sizeof(err))) {
		fprintf(stderr, "vcprr bench analyze: %s\n", err);
		goto out;
	}
	bench_report_add(&rep, "analyze_s", (bench_now_ns() - t0) / 1e9);
	bench_report_add(&rep, "analyze_runs", res.runs);
	bench_report_add(&rep, "analyze_races", (double)res.nraces);
	bench_report_add(&rep, "analyze_decisive",
			 res.nwindows && res.windows[0].decisive);
	analyze_result_free(&res);
	bench_report_print(&rep);
	ret = 0;
out:
	/* explore's and minimize's files, then the folder */
	snprintf(err, sizeof(err), "rm -rf '%s'", dir);
	if (system(err))
		fprintf(stderr, "vcprr bench analyze: cannot remove %s\n", dir);
	return ret;
}
