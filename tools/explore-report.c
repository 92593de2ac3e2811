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
	unsigned width = 30, fill = (unsigned)((uint64_t)t->done * width / o->runs);
	char bar[64];

	if (o->json)
		return;
	if (!o->fancy) {
		unsigned step = o->runs >= 10 ? o->runs / 10 : 1;
		if (t->done % step && t->done != o->runs)
			return;
		fprintf(stderr, "explore: %u/%u runs, %u failed, %.1f runs/s\n",
			t->done, o->runs, t->nfail, rate);
		return;
	}
	memset(bar, '#', fill);
	memset(bar + fill, '.', width - fill);
	bar[width] = 0;
	fprintf(stderr, "\r[%s] %u/%u runs  %u failed  %.1f runs/s  ETA %.0fs \033[K",
		bar, t->done, o->runs, t->nfail, rate,
		rate > 0 ? (o->runs - t->done) / rate : 0.0);
}

void explore_add_result(const struct explore_opts *o, struct tally *t,
			const struct run_record *rec)
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
	if (o->races)
		explore_races_add(o->races, &rec->races, rec->res.failed);
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

static void rerun_command(const struct explore_opts *o, uint64_t seed, FILE *f)
{
	fprintf(f, "vcprr explore %s --runs 1 --seed %llu --policy %s --preempt %s "
		"--pauses %g --vcpus %u", o->cfg.guest, (unsigned long long)seed,
		o->policy_arg, o->cfg.sched.mode == VM_SCHED_STEP ? "step" : "exit",
		o->pause_rate, o->cfg.nr_vcpus);
	if (o->cfg.sched.max_hold)
		fprintf(f, " --max-hold %u", o->cfg.sched.max_hold);
	if (o->cfg.guest_arg)
		fprintf(f, " --arg %llu", (unsigned long long)o->cfg.guest_arg);
	if (o->cfg.mem_size != VM_DEFAULT_MEM)
		fprintf(f, " --mem %lluK", (unsigned long long)o->cfg.mem_size >> 10);
	if (o->budget_set)
		fprintf(f, " --budget %llu", (unsigned long long)o->cfg.sched.step_budget);
	/* a folder of its own: the run's trace is in o->dir already */
	fprintf(f, " -o %s/rerun-%llu\n", o->dir, (unsigned long long)seed);
}

static void summary_text(const struct explore_opts *o, const struct tally *t,
			 double wall)
{
	if (t->stopped_by)
		printf("explore: interrupted (%s) after %u of %u runs\n",
		       strsignal(t->stopped_by), t->done, o->runs);
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
			printf("     replay:   vcprr replay %s\n", s->first.text);
			printf("     minimize: vcprr minimize %s -o %s/min-%llu.trace\n",
			       s->first.text, o->dir, (unsigned long long)r->seed);
		} else {
			printf("     trace:    %s\n", s->first.text);
		}
		printf("     rerun:    ");
		rerun_command(o, r->seed, stdout);
	}
	if (o->races)
		explore_races_print(stdout, o->races, t->done);
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void summary_json(const struct explore_opts *o, const struct tally *t,
			 double wall)
{
	printf("{\"guest\": ");
	json_string(o->cfg.guest);
	printf(", \"seed\": %llu, \"runs\": %u, \"failures\": %u, \"signatures\": %u, "
	       "\"seconds\": %.3f, \"runs_per_s\": %.2f, \"calibration_steps\": %llu, "
	       "\"interrupted\": %s, \"calibration_failure\": ",
	       (unsigned long long)o->seed, t->done, t->nfail, t->nsigs, wall,
	       wall > 0 ? t->done / wall : 0.0,
	       (unsigned long long)o->cfg.sched.pct_steps,
	       t->stopped_by ? "true" : "false");
	if (o->calibration_sig[0])
		json_string(o->calibration_sig);
	else
		printf("null");
	printf(", \"failed_runs\": [");
	for (unsigned i = 0; i < t->nfail; i++) {
		const struct run_record *r = &t->failures[i];
		printf("%s{\"run\": %u, \"seed\": %llu, \"steps\": %llu, "
		       "\"preemptions\": %llu, \"injected\": %llu, "
		       "\"schedule_dependent\": %s, \"signature\": ",
		       i ? ", " : "", r->index, (unsigned long long)r->res.seed,
		       (unsigned long long)r->res.stats.steps,
		       (unsigned long long)r->res.stats.preemptions,
		       (unsigned long long)r->res.stats.injected,
		       schedule_independent(o, r->res.signature) ? "false" : "true");
		json_string(r->res.signature);
		printf(", \"trace\": ");
		json_string(r->text);
		printf("}");
	}
	printf("]");
	if (o->races) {
		printf(", \"races\": ");
		fflush(stdout);
		explore_races_json(stdout, o->races);
	}
	printf("}\n");
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
		summary_json(o, t, wall);
	else
		summary_text(o, t, wall);
}
