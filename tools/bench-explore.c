/* vcprr bench explore: how many runs vcprr explore needs to find the
 * lost-update race, PCT against random scheduling, with either preemption
 * mode, and PCT on lost-update-yield (every VCPU yields once first: a
 * yield must not blind PCT); its runs per second; and how small minimize
 * makes the failing schedules.
 *
 * An explore session started at seed S runs seeds S, S+1, ...; its runs to
 * failure are the distance to the first failing seed.  So one sequence of
 * runs serves every session: SESSIONS starting seeds, SPACING apart, each
 * looked at for at most CAP runs.
 *
 * A step-mode run is one KVM_RUN per instruction: its floor is its steps
 * times the bare single step of this host (measured in the same run, on
 * the caller's thread, with nothing of vcprr around it), so the report
 * says how far runs_per_s_step is from what the host allows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/bench-floor.h"
#include "tools/bench-util.h"
#include "tools/cli.h"
#include "tools/explore.h"
#include "tools/minimize.h"
#include "vmm/vm.h"

#define SESSIONS     20
#define SPACING      5
#define CAP          40
#define SEQUENCE     ((SESSIONS - 1) * SPACING + CAP)
#define MINIMIZED    5      /* failures minimized */
#define FIRST_SEED   1000
#define OVERHEAD_RUNS 200
#define BLOCK        10     /* runs on each side in turn */
#define FLOOR_STEPS  5000
#define FLOOR_SAMPLES 6

struct series {
	const char *name;           /* report suffix */
	enum vm_sched_policy policy;
	enum vm_sched_mode mode;
	const char *guest;          /* NULL: lost-update */
	bool compare;               /* each run also on a fresh VM */
	bool failed[SEQUENCE];
	unsigned ran;
	uint64_t steps;             /* of the kept VM's runs */
	double cpu_seconds;         /* theirs, the process's CPU time */
	double seconds, fresh_seconds;
	bool differs;               /* a fresh VM's run did not match */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The runs-to-failure median over the sessions; BENCH_NONE when the median
 * session found nothing within CAP runs. */
static double median_runs_to_failure(const struct series *s, unsigned *found)
{
	double v[SESSIONS];

	*found = 0;
	for (unsigned i = 0; i < SESSIONS; i++) {
		v[i] = CAP + 1;
		for (unsigned r = 0; r < CAP; r++)
			if (s->failed[i * SPACING + r]) {
				v[i] = r + 1;
				(*found)++;
				break;
			}
	}
	qsort(v, SESSIONS, sizeof(v[0]), cmp_double);
	/* SESSIONS is even: the mean of the middle two, if both found. */
	if (v[SESSIONS / 2] > CAP)
		return BENCH_NONE;
	return (v[SESSIONS / 2 - 1] + v[SESSIONS / 2]) / 2;
}

/* PCT sized as vcprr explore sizes it: the steps of one run at depth 1. */
static int calibrate(struct explore_config *c, struct explore_result *cal)
{
	char err[512];

	c->sched.pct_depth = 1;
	if (explore_run(c, 0, NULL, cal, err, sizeof(err))) {
		fprintf(stderr, "vcprr bench explore: %s\n", err);
		return -1;
	}
	c->sched.pct_depth = 3;
	c->sched.pct_steps = cal->stats.steps;
	c->sched.step_budget = 50 * cal->stats.steps > 100000 ?
			       50 * cal->stats.steps : 100000;
	return 0;
}

/* The kept VM's runs of seeds [from, to), back to back as explore makes
 * them; their results in r. */
static int kept_runs(struct explore_config *c, struct series *s, unsigned from,
		     unsigned to, struct explore_result *r, char *err,
		     size_t errlen)
{
	uint64_t t0 = bench_now_ns(), c0 = bench_process_cpu_ns();

	c->fresh_vm = false;
	for (unsigned i = from; i < to; i++) {
		if (explore_run(c, FIRST_SEED + i, NULL, &r[i - from], err, errlen))
			return -1;
		s->failed[i] = r[i - from].failed;
		s->steps += r[i - from].stats.steps;
		s->ran++;
	}
	s->seconds += (bench_now_ns() - t0) / 1e9;
	s->cpu_seconds += (bench_process_cpu_ns() - c0) / 1e9;
	return 0;
}

/* The same runs, each on a VM of its own, as before the VM was kept. */
static int fresh_runs(struct explore_config *c, struct series *s, unsigned from,
		      unsigned to, const struct explore_result *r, char *err,
		      size_t errlen)
{
	uint64_t t0 = bench_now_ns();

	c->fresh_vm = true;
	for (unsigned i = from; i < to; i++) {
		const struct explore_result *k = &r[i - from];
		struct explore_result f;

		if (explore_run(c, FIRST_SEED + i, NULL, &f, err, errlen))
			return -1;
		s->differs |= f.failed != k->failed ||
			      strcmp(f.signature, k->signature) ||
			      memcmp(&f.stats, &k->stats, sizeof(f.stats));
	}
	s->fresh_seconds += (bench_now_ns() - t0) / 1e9;
	return 0;
}

/* Blocks of BLOCK seeds, kept VM then VM per run in turn: each side's runs
 * back to back as explore makes them, and both sides on the same machine
 * (drift from other jobs on shared cores hits both alike). */
static int run_series(const struct explore_config *base, struct series *s)
{
	struct explore_config c = *base;
	struct explore_result cal, r[BLOCK];
	char err[512], guest[512];

	c.sched.policy = s->policy;
	c.sched.mode = s->mode;
	if (s->guest) {
		snprintf(guest, sizeof(guest), "%s", bench_guest_path(s->guest));
		c.guest = guest;
		if (calibrate(&c, &cal))
			return -1;
	}
	/* Runs past the last session's window would be looked at by nobody. */
	for (unsigned from = 0; from < SEQUENCE; from += BLOCK) {
		unsigned to = from + BLOCK < SEQUENCE ? from + BLOCK : SEQUENCE;

		if (kept_runs(&c, s, from, to, r, err, sizeof(err)) ||
		    (s->compare && fresh_runs(&c, s, from, to, r, err, sizeof(err))))
			goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "vcprr bench explore: %s\n", err);
	return -1;
}

/* What a run costs beyond the guest's own execution: the median time of an
 * explore run of a guest that returns at once (two VCPUs, serial). */
static double run_overhead_us(bool fresh)
{
	struct explore_config c = {
		.nr_vcpus = 2, .mem_size = VM_DEFAULT_MEM, .fresh_vm = fresh,
		.sched = { .mode = VM_SCHED_SERIAL, .policy = VM_POLICY_RR },
	};
	uint64_t t[OVERHEAD_RUNS];
	char guest[512], err[512];

	snprintf(guest, sizeof(guest), "%s", bench_guest_path("empty"));
	c.guest = guest;
	for (unsigned i = 0; i < OVERHEAD_RUNS; i++) {
		struct explore_result r;
		uint64_t t0 = bench_now_ns();

		if (explore_run(&c, i, NULL, &r, err, sizeof(err)) || r.failed) {
			fprintf(stderr, "vcprr bench explore: %s\n", r.failed ?
				r.signature : err);
			return BENCH_NONE;
		}
		t[i] = bench_now_ns() - t0;
	}
	return bench_percentile(t, OVERHEAD_RUNS, 50) / 1e3;
}

/* Minimizes the first MINIMIZED failures of s; the median preemptions. */
static double minimized_preemptions(const struct explore_config *base,
				    const struct series *s, unsigned *n)
{
	struct explore_config c = *base;
	char trace[] = "/tmp/vcprr-bench-explore-XXXXXX", min[64], err[512];
	double v[MINIMIZED];
	int fd = mkstemp(trace);

	*n = 0;
	if (fd < 0)
		return BENCH_NONE;
	close(fd);
	snprintf(min, sizeof(min), "%s.min", trace);
	c.sched.policy = s->policy;
	c.sched.mode = s->mode;
	for (unsigned i = 0; i < SEQUENCE && *n < MINIMIZED; i++) {
		struct minimize_opts o = { .replace = true };
		struct explore_trace t = { .path = trace, .replace = true };
		struct minimize_report rep;
		struct explore_result r;
		if (!s->failed[i] ||
		    explore_run(&c, FIRST_SEED + i, &t, &r, err, sizeof(err)) ||
		    minimize_trace(trace, min, &o, &rep, err, sizeof(err)) != MINIMIZE_OK)
			continue;
		v[(*n)++] = (double)rep.after.preemptions;
	}
	unlink(trace);
	unlink(min);
	if (!*n)
		return BENCH_NONE;
	qsort(v, *n, sizeof(v[0]), cmp_double);
	return v[*n / 2];
}

/* The kept VM (reset from a snapshot) against a VM per run, side by side:
 * runs per second of the same seeds, their speedup, whether every run gave
 * the same verdict, and the per-run overhead. */
static void report_vm_reuse(struct bench_report *rep, const struct series *s)
{
	double step = (s[0].ran + s[1].ran) / (s[0].seconds + s[1].seconds);
	double exit = (s[2].ran + s[3].ran) / (s[2].seconds + s[3].seconds);
	double step_fresh = (s[0].ran + s[1].ran) /
			    (s[0].fresh_seconds + s[1].fresh_seconds);
	double exit_fresh = (s[2].ran + s[3].ran) /
			    (s[2].fresh_seconds + s[3].fresh_seconds);
	double over = run_overhead_us(false), over_fresh = run_overhead_us(true);

	bench_report_add(rep, "runs_per_s_step_fresh_vm", step_fresh);
	bench_report_add(rep, "runs_per_s_exit_fresh_vm", exit_fresh);
	bench_report_add(rep, "step_speedup_vs_fresh_vm", step / step_fresh);
	bench_report_add(rep, "exit_speedup_vs_fresh_vm", exit / exit_fresh);
	bench_report_add(rep, "fresh_vm_same_results",
			 !(s[0].differs || s[1].differs || s[2].differs ||
			   s[3].differs));
	bench_report_add(rep, "run_overhead_us", over);
	bench_report_add(rep, "run_overhead_us_fresh_vm", over_fresh);
	bench_report_add(rep, "step_speedup_at_least_3", step >= 3 * step_fresh);
	bench_report_add(rep, "exit_speedup_at_least_5", exit >= 5 * exit_fresh);
	bench_report_add(rep, "run_overhead_at_most_1ms", over == over &&
			 over <= 1000);
}

/* One sample of the bare single step (µs, wall and CPU), or -1. */
static int sample_raw_step(struct bench_sample *us, int *n)
{
	if (*n == FLOOR_SAMPLES)
		return 0;
	return bench_bare_exits("pio", 1u << 30, true, FLOOR_STEPS, &us[(*n)++]);
}

/* Step mode against its floor: the same runs' steps at the bare single
 * step (the median of samples taken between the series), by the wall
 * clock and by CPU time (which waiting for a shared core is not in). */
static void report_step_floor(struct bench_report *rep, const struct series *s,
			      const struct bench_sample *raw, int nraw)
{
	unsigned runs = s[0].ran + s[1].ran;
	double steps = (double)(s[0].steps + s[1].steps) / runs;
	double run_us = (s[0].seconds + s[1].seconds) * 1e6 / runs;
	double cpu_us = (s[0].cpu_seconds + s[1].cpu_seconds) * 1e6 / runs;
	double wall[FLOOR_SAMPLES], cpu[FLOOR_SAMPLES], step_us, step_cpu;

	for (int i = 0; i < nraw; i++) {
		wall[i] = raw[i].wall;
		cpu[i] = raw[i].cpu;
	}
	step_us = bench_median(wall, nraw);
	step_cpu = bench_median(cpu, nraw);
	bench_report_add(rep, "raw_step_us", step_us);
	bench_report_add(rep, "raw_step_us_cpu", step_cpu);
	bench_report_add(rep, "steps_per_run_step", steps);
	bench_report_add(rep, "runs_per_s_step_floor", 1e6 / (steps * step_us));
	bench_report_add(rep, "step_run_over_floor", run_us / (steps * step_us));
	bench_report_add(rep, "step_run_overhead_us", run_us - steps * step_us);
	bench_report_add(rep, "step_run_us_cpu", cpu_us);
	bench_report_add(rep, "step_run_over_floor_cpu",
			 cpu_us / (steps * step_cpu));
	bench_report_add(rep, "step_run_overhead_us_cpu",
			 cpu_us - steps * step_cpu);
}

int bench_explore_main(int argc, char **argv)
{
	struct bench_report rep = { .json = bench_want_json(argc, argv) };
	char guest[512];  /* bench_guest_path's buffer is reused */
	struct explore_config cfg = {
		.guest = guest, .nr_vcpus = 2,
		.mem_size = VM_DEFAULT_MEM,
		.sched = { .mode = VM_SCHED_STEP, .policy = VM_POLICY_PCT,
			   .pct_depth = 1 },
	};
	static struct series series[] = {
		{ .name = "pct", .policy = VM_POLICY_PCT, .mode = VM_SCHED_STEP,
		  .compare = true },
		{ .name = "random", .policy = VM_POLICY_RANDOM, .mode = VM_SCHED_STEP,
		  .compare = true },
		{ .name = "pct_exit", .policy = VM_POLICY_PCT, .mode = VM_SCHED_SERIAL,
		  .compare = true },
		{ .name = "random_exit", .policy = VM_POLICY_RANDOM,
		  .mode = VM_SCHED_SERIAL, .compare = true },
		{ .name = "pct_yield", .policy = VM_POLICY_PCT, .mode = VM_SCHED_STEP,
		  .guest = "lost-update-yield" },
	};
	struct explore_result cal;
	struct bench_sample raw[FLOOR_SAMPLES];
	double pct, rnd, mp, yld;
	unsigned found, nmin;
	char name[48];
	int nraw = 0;

	snprintf(guest, sizeof(guest), "%s", bench_guest_path("lost-update"));
	/* Calibration, as vcprr explore does it: PCT depth 1, seed 0. */
	if (calibrate(&cfg, &cal))
		return EXIT_VMM_ERROR;
	bench_report_add(&rep, "calibration_steps", (double)cal.stats.steps);
	for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++) {
		/* the floor between the series, the step ones in particular */
		if (i < 2 && sample_raw_step(raw, &nraw))
			return EXIT_VMM_ERROR;
		if (sample_raw_step(raw, &nraw))
			return EXIT_VMM_ERROR;
		if (run_series(&cfg, &series[i]))
			return EXIT_VMM_ERROR;
		snprintf(name, sizeof(name), "runs_to_failure_median_%s",
			 series[i].name);
		bench_report_add(&rep, name, median_runs_to_failure(&series[i], &found));
		snprintf(name, sizeof(name), "sessions_found_%s", series[i].name);
		bench_report_add(&rep, name, found);
	}
	bench_report_add(&rep, "runs_per_s_step",
			 (series[0].ran + series[1].ran) /
			 (series[0].seconds + series[1].seconds));
	bench_report_add(&rep, "runs_per_s_exit",
			 (series[2].ran + series[3].ran) /
			 (series[2].seconds + series[3].seconds));
	report_vm_reuse(&rep, series);
	report_step_floor(&rep, series, raw, nraw);
	mp = minimized_preemptions(&cfg, &series[0], &nmin);
	bench_report_add(&rep, "minimized_preemptions", mp);
	bench_report_add(&rep, "minimized_failures", nmin);
	pct = median_runs_to_failure(&series[0], &found);
	rnd = median_runs_to_failure(&series[1], &found);
	yld = median_runs_to_failure(&series[4], &found);
	bench_report_add(&rep, "pct_median_at_most_10", pct == pct && pct <= 10);
	/* Not found within CAP counts as CAP + 1. */
	bench_report_add(&rep, "pct_beats_random", pct == pct &&
			 (rnd != rnd || pct < rnd));
	bench_report_add(&rep, "minimized_at_most_3", mp == mp && mp <= 3);
	bench_report_add(&rep, "pct_yield_within_2x", pct == pct && yld == yld &&
			 yld <= 2 * pct);
	bench_report_print(&rep);
	return 0;
}
