/* vcprr analyze: why a step-mode run failed, and the data races in it.
 *
 * analyze_trace() takes a failing serial/step trace's schedule (the
 * minimizer's plan, minimize.h), shrinks it, finds the decisions without
 * which the run passes (each removed in turn), and runs the smallest
 * failing schedule once more in step mode with the observer
 * (analyze-run.h): its access log gives the races (race-hb.h) and what
 * happened in the window each decisive decision opened.
 * analyze_guest() does the observed run alone, for a run that passes.
 *
 * Results own their memory (analyze_result_free).  Not thread-safe. */
#ifndef VCPRR_TOOLS_ANALYZE_H
#define VCPRR_TOOLS_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tools/explore.h"
#include "tools/minimize.h"
#include "tools/race-hb.h"
#include "tools/symbols.h"

struct analyze_opts {
	const char *guest;        /* NULL: the recorded guest */
	const char *guest_dir;
	bool force;
	unsigned max_runs;        /* the minimizer's budget (0: 200) */
	bool (*interrupted)(void);
	/* Where to keep the trace of the run watched instruction by
	 * instruction (the smallest failing schedule, or the passing run),
	 * whose steps the result names; replaced if there.  NULL: none. */
	const char *watched;
};

/* One access of the window's story (found: whether there is one). */
struct analyze_touch {
	bool found;
	unsigned vcpu;
	uint64_t step, rip, addr;
	uint8_t rw;               /* HB_READ / HB_WRITE */
};

/* What another VCPU did while the decision's VCPU was off. */
struct analyze_other {
	unsigned vcpu;
	uint64_t first, last;     /* the steps it ran */
	uint64_t reads, writes;   /* of the variable */
	uint64_t rip;             /* its first access to it (0: none) */
};

#define ANALYZE_MAX_OTHERS 8
#define ANALYZE_MAX_ENTRIES 4
#define ANALYZE_MAX_PASSING 8

/* A decision of the smallest failing schedule, and its window. */
struct analyze_window {
	bool pause;               /* an injected pause; else a switch */
	bool preemption;          /* the VCPU could have gone on */
	bool decisive;            /* without it the run passes */
	bool judged;              /* run without it (not when interrupted) */
	unsigned vcpu;            /* the one switched away from, or paused */
	uint64_t step;            /* where the window opened */
	uint64_t end;             /* its next step (UINT64_MAX: never ran again) */
	bool has_var;
	uint64_t var;             /* the racing variable in play */
	struct analyze_touch before, after;   /* its accesses to var */
	/* Decisive windows: the VCPU's first writes after the window opened,
	 * in the passing schedule without it (the order the failure broke),
	 * and the one that names var, if any (found). */
	struct analyze_touch passing[ANALYZE_MAX_PASSING];
	size_t npassing;
	struct analyze_touch order;
	struct analyze_other others[ANALYZE_MAX_OTHERS];
	size_t nothers;
	/* The plan entries that opened it (an injected pause and the switch
	 * it caused are one window): decisions 0..ndec-1, then injections. */
	size_t entry[ANALYZE_MAX_ENTRIES];
	size_t nentries;
};

struct analyze_result {
	char guest[4096];
	struct symtab *st;        /* NULL when the guest has no symbols */
	unsigned nr_vcpus;
	bool failed;
	char signature[EXPLORE_SIG_MAX];
	uint64_t steps;           /* instructions watched */
	uint64_t last_step;       /* the watched run's last step */
	/* The races of the watched failing run (or of the run, for a passing
	 * one), then those seen only in the passing schedules without a
	 * decisive decision (from nraces_run on): a race whose second access
	 * the failure cut off shows there. */
	struct hb_race *races;
	size_t nraces, nraces_run;
	bool log_full, shadow_full;
	size_t undecodable;       /* instructions no decoder knows */
	uint64_t undecodable_rip; /* the first one */
	/* analyze_trace only: */
	bool minimized;
	unsigned runs;            /* schedules run */
	struct schedule_size before, after;
	struct analyze_window *windows;
	size_t nwindows;
	bool interrupted;         /* stopped early (analyze_opts.interrupted):
				     the shrinking or the judging is partial */
	double seconds;
};

/* 0, or -1 with a message (naming the file) in err. */
int analyze_trace(const char *path, const struct analyze_opts *o,
		  struct analyze_result *res, char *err, size_t errlen);
int analyze_guest(const struct explore_config *cfg, uint64_t seed,
		  const struct analyze_opts *o, struct analyze_result *res,
		  char *err, size_t errlen);
void analyze_result_free(struct analyze_result *res);

/* The pieces, for vcprr bench analyze.  A scratch folder (dir: at least
 * ANALYZE_SCRATCH_MAX bytes) under $TMPDIR, and its removal. */
#define ANALYZE_SCRATCH_MAX 1024
int analyze_scratch_make(char *dir, size_t len, char *err, size_t errlen);
void analyze_scratch_remove(const char *dir);
/* One step-mode run of cfg, its events recorded into a trace in dir that
 * vanishes at the end, watched into ar (analyze-run.h; NULL: not watched,
 * the same run otherwise).  0, or -1 with a message in err. */
struct analyze_run;
int analyze_watch_run(const struct explore_config *cfg, uint64_t seed,
		      const char *dir, struct analyze_run *ar,
		      struct explore_result *r, char *err, size_t errlen);

/* The result as text (races, then the decisive decisions), or as one
 * JSON object. */
void analyze_print(FILE *f, const struct analyze_result *res);
void analyze_print_json(FILE *f, const struct analyze_result *res);
/* One decision's story, as analyze_print tells it. */
void analyze_print_window(FILE *f, const struct symtab *st,
			  const struct analyze_window *w);

#endif
