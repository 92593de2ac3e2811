/* What vcprr explore shows: progress while the runs go, then the summary
 * of what ran, as text or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/explore-cli.h"
#include "traces/clock.h"
#include "vmm/vm.h"

/* On a terminal a bar that redraws itself; otherwise a plain line about
 * every tenth of the runs. */
void explore_progress(const struct explore_opts *o, const struct tally *t,
		      double t0)
{
	double el = mono_s() - t0, rate = el > 0 ? t->done / el : 0;
	unsigned width = 30, fill = o->todo ? (unsigned)((uint64_t)t->done *
							  width / o->todo) : width;
	char bar[64];

	if (o->json)
		return;
	if (!o->fancy) {
		unsigned step = o->todo >= 10 ? o->todo / 10 : 1;
		if (t->done % step && t->done != o->todo)
			return;
		fprintf(stderr, "explore: %u/%u runs, %u failed, %.1f runs/s\n",
			t->done, o->todo, t->nfail, rate);
		return;
	}
	memset(bar, '#', fill);
	memset(bar + fill, '.', width - fill);
	bar[width] = 0;
	fprintf(stderr, "\r[%s] %u/%u runs  %u failed  %.1f runs/s  ETA %.0fs \033[K",
		bar, t->done, o->todo, t->nfail, rate,
		rate > 0 ? (o->todo - t->done) / rate : 0.0);
}

/* Counts a result; failures are grouped by signature, each group shown by
 * its run of the lowest index, whatever order the results came in. */
void explore_tally_add(struct tally *t, const struct run_record *rec)
{
	struct signature *s = NULL;

	t->done++;
	t->run_seconds += rec->res.seconds;
	if (rec->error) {
		if (!t->errored)
			snprintf(t->error, sizeof(t->error), "%s", rec->text);
		t->errored = true;
		return;
	}
	if (!rec->res.failed)
		return;
	t->failures[t->nfail++] = *rec;
	for (unsigned i = 0; i < t->nsigs; i++)
		if (!strcmp(t->sigs[i].text, rec->res.signature))
			s = &t->sigs[i];
	if (!s) {
		s = &t->sigs[t->nsigs++];
		snprintf(s->text, sizeof(s->text), "%s", rec->res.signature);
		s->first = *rec;
	} else if (rec->index < s->first.index) {
		s->first = *rec;
	}
	s->count++;
}

void explore_add_result(const struct explore_opts *o, struct tally *t,
			const struct run_record *rec)
{
	explore_tally_add(t, rec);
	if (o->races && !rec->error)
		explore_races_add(o->races, &rec->races, rec->res.failed,
				  rec->index);
	if (rec->error || !rec->res.failed)
		return;
	/* A log gets a line per failure; a terminal shows them in the
	 * summary, under the bar. */
	if (!o->fancy && !o->json)
		fprintf(stderr, "run %u (seed %llu): %s\n", rec->index,
			(unsigned long long)rec->res.seed, rec->res.signature);
}

static bool schedule_independent(const struct explore_opts *o,
				 const char *signature)
{
	return o->calibration_sig[0] && !strcmp(o->calibration_sig, signature);
}

void explore_calibration_note(const struct explore_opts *o)
{
	if (o->calibration_sig[0] && !o->json)
		fprintf(stderr, "explore: the calibration run (no preemption, no "
			"pauses) already fails: %s\nexplore: that failure does "
			"not depend on the schedule; the runs look for others\n",
			o->calibration_sig);
}

/* The folder a kept trace is in (the summary's commands write there):
 * o->dir for explore, the merged or the shard's folder for --merge. */
static int trace_dir(const struct explore_opts *o, const char *trace,
		     const char **dir)
{
	const char *slash = strrchr(trace, '/');

	if (trace[0] == '(' || !slash) {
		*dir = o->dir;
		return (int)strlen(o->dir);
	}
	*dir = trace;
	return (int)(slash - trace);
}

static void rerun_command(const struct explore_opts *o, uint64_t seed,
			  const char *trace, FILE *f)
{
	const char *dir;
	int dlen = trace_dir(o, trace, &dir);

	fprintf(f, "vcprr explore %s --runs 1 --seed %llu --policy %s --preempt %s "
		"--pauses %g --vcpus %u", o->cfg.guest, (unsigned long long)seed,
		o->policy_arg, o->cfg.sched.mode == VM_SCHED_STEP ? "step" : "exit",
		o->pause_rate, o->cfg.nr_vcpus);
	if (o->cfg.sched.max_hold)
		fprintf(f, " --max-hold %u", o->cfg.sched.max_hold);
	for (unsigned i = 0; i < o->cfg.input.argc; i++)
		fprintf(f, " --arg %llu", (unsigned long long)o->cfg.input.argv[i]);
	if (o->data_path)
		fprintf(f, " --data %s", o->data_path);
	if (o->cfg.mem_size != VM_DEFAULT_MEM)
		fprintf(f, " --mem %lluK", (unsigned long long)o->cfg.mem_size >> 10);
	if (o->budget_set)
		fprintf(f, " --budget %llu", (unsigned long long)o->cfg.sched.step_budget);
	/* a folder of its own: the run's trace is in o->dir already */
	fprintf(f, " -o %.*s/rerun-%llu\n", dlen, dir, (unsigned long long)seed);
}

static void summary_text(const struct explore_opts *o, const struct tally *t,
			 double wall)
{
	if (o->shard.n)
		printf("explore: shard %u/%u: the runs i with i %% %u == %u of %u "
		       "(vcprr explore --merge joins the shards' folders)\n",
		       o->shard.k, o->shard.n, o->shard.n, o->shard.k - 1,
		       o->runs);
	if (t->stopped_by)
		printf("explore: interrupted (%s) after %u of %u runs\n",
		       strsignal(t->stopped_by), t->done, o->todo);
	printf("explore: %u runs in %.1f s (%.1f runs/s), %u failed, %u "
	       "signature%s\n", t->done, wall, wall > 0 ? t->done / wall : 0.0,
	       t->nfail, t->nsigs, t->nsigs == 1 ? "" : "s");
	for (unsigned i = 0; i < t->nsigs; i++) {
		const struct signature *s = &t->sigs[i];
		const struct explore_result *r = &s->first.res;

		printf("\n  %u x  %s\n", s->count, s->text);
		if (schedule_independent(o, s->text))
			printf("     does not depend on the schedule: the "
			       "calibration run, without preemption, fails so\n");
		printf("     first: run %u, seed %llu, %llu steps, %llu preemptions, "
		       "%llu injected pauses\n", s->first.index,
		       (unsigned long long)r->seed, (unsigned long long)r->stats.steps,
		       (unsigned long long)r->stats.preemptions,
		       (unsigned long long)r->stats.injected);
		if (strncmp(s->first.text, "(not kept", 9)) {
			const char *dir;
			int dlen = trace_dir(o, s->first.text, &dir);

			printf("     replay:   vcprr replay %s\n", s->first.text);
			printf("     minimize: vcprr minimize %s -o %.*s/min-%llu.trace\n",
			       s->first.text, dlen, dir, (unsigned long long)r->seed);
		} else {
			printf("     trace:    %s\n", s->first.text);
		}
		printf("     rerun:    ");
		rerun_command(o, r->seed, s->first.text, stdout);
	}
	if (o->races)
		explore_races_print(stdout, o->races, t->done);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* What made the runs, for --merge to check that shards belong together. */
static void json_options(FILE *f, const struct explore_opts *o,
			 const struct tally *t)
{
	fprintf(f, ", \"format\": %d, \"planned_runs\": %u, \"shard\": %u, "
		"\"shards\": %u, \"policy\": ", EXPLORE_SUMMARY_FORMAT, o->runs,
		o->shard.n ? o->shard.k : 1, o->shard.n ? o->shard.n : 1);
	json_string(f, o->policy_arg);
	fprintf(f, ", \"preempt\": \"%s\", \"pauses\": %.17g, \"max_hold\": %u, "
		"\"vcpus\": %u, \"mem\": %llu, \"budget\": %llu, "
		"\"budget_set\": %s, \"timeout_ns\": %llu, \"guest_sha256\": \"%s\", "
		"\"stopped_by\": %d, \"run_seconds\": %.6f",
		o->cfg.sched.mode == VM_SCHED_STEP ? "step" : "exit",
		o->pause_rate, o->cfg.sched.max_hold, o->cfg.nr_vcpus,
		(unsigned long long)o->cfg.mem_size,
		(unsigned long long)o->cfg.sched.step_budget,
		o->budget_set ? "true" : "false",
		(unsigned long long)o->cfg.timeout_ns, o->guest_sha256,
		t->stopped_by, t->run_seconds);
	fputs(", \"args\": [", f);
	for (unsigned i = 0; i < o->cfg.input.argc; i++)
		fprintf(f, "%s%llu", i ? ", " : "",
			(unsigned long long)o->cfg.input.argv[i]);
	fprintf(f, "], \"data_sha256\": \"%s\", \"data\": ", o->data_sha256);
	json_string(f, o->data_path ? o->data_path : "");
}

/* A kept trace as a name inside DIR, for the summary file. */
static const char *in_dir(const struct explore_opts *o, const char *trace)
{
	size_t n = strlen(o->dir);

	if (!strncmp(trace, o->dir, n) && trace[n] == '/')
		return trace + n + 1;
	return trace;
}

void explore_json(FILE *f, const struct explore_opts *o,
		  const struct tally *t, double wall, bool saved)
{
	fprintf(f, "{\"guest\": ");
	json_string(f, o->cfg.guest);
	fprintf(f, ", \"seed\": %llu, \"runs\": %u, \"failures\": %u, "
		"\"signatures\": %u, \"seconds\": %.3f, \"runs_per_s\": %.2f, "
		"\"calibration_steps\": %llu, \"interrupted\": %s, "
		"\"calibration_failure\": ",
		(unsigned long long)o->seed, t->done, t->nfail, t->nsigs, wall,
		wall > 0 ? t->done / wall : 0.0,
		(unsigned long long)o->cfg.sched.pct_steps,
		t->stopped_by ? "true" : "false");
	if (o->calibration_sig[0])
		json_string(f, o->calibration_sig);
	else
		fprintf(f, "null");
	if (saved)
		json_options(f, o, t);
	else if (o->shard.n)
		fprintf(f, ", \"shard\": \"%u/%u\"", o->shard.k, o->shard.n);
	fprintf(f, ", \"failed_runs\": [");
	for (unsigned i = 0; i < t->nfail; i++) {
		const struct run_record *r = &t->failures[i];
		fprintf(f, "%s{\"run\": %u, \"seed\": %llu, \"steps\": %llu, "
			"\"preemptions\": %llu, \"injected\": %llu, "
			"\"schedule_dependent\": %s, \"signature\": ",
			i ? ", " : "", r->index, (unsigned long long)r->res.seed,
			(unsigned long long)r->res.stats.steps,
			(unsigned long long)r->res.stats.preemptions,
			(unsigned long long)r->res.stats.injected,
			schedule_independent(o, r->res.signature) ? "false" : "true");
		json_string(f, r->res.signature);
		fprintf(f, ", \"trace\": ");
		json_string(f, saved ? in_dir(o, r->text) : r->text);
		fprintf(f, "}");
	}
	fprintf(f, "]");
	if (o->races) {
		fprintf(f, ", \"races\": ");
		fflush(f);
		explore_races_json(f, o->races, saved);
	}
	fprintf(f, "}\n");
}

static int by_index(const void *a, const void *b)
{
	const struct run_record *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

void explore_summary(const struct explore_opts *o, struct tally *t,
		     double wall)
{
	qsort(t->failures, t->nfail, sizeof(*t->failures), by_index);
	if (o->json)
		explore_json(stdout, o, t, wall, false);
	else
		summary_text(o, t, wall);
}
