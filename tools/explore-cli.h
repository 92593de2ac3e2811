/* vcprr explore's command: its options, the results workers send, and the
 * tally the report is made from (builtin-explore.c runs, explore-report.c
 * shows). */
#ifndef VCPRR_TOOLS_EXPLORE_CLI_H
#define VCPRR_TOOLS_EXPLORE_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "tools/explore.h"
#include "tools/explore-races.h"

struct explore_opts {
	struct explore_config cfg;
	unsigned runs, jobs;
	uint64_t seed;
	double pause_rate;
	const char *policy_arg, *dir;
	bool json, budget_set, force;
	bool fancy;                 /* progress bar on a terminal */
	bool created_dir;           /* removed again if it stays empty */
	/* the calibration run's failure ("" when it passed): a failure that
	 * needs no preemption does not depend on the schedule */
	char calibration_sig[EXPLORE_SIG_MAX];
	struct explore_races *races;  /* --races: their tally; else NULL */
};

/* One result from a worker; written to a pipe whole (< PIPE_BUF). */
struct run_record {
	uint32_t index;
	int32_t error;              /* the guest could not be run */
	struct explore_result res;
	char text[512];             /* error message, or the kept trace */
	struct run_races races;     /* --races */
};

struct signature {
	char text[EXPLORE_SIG_MAX];
	unsigned count;
	struct run_record first;
};

struct tally {
	struct run_record *failures;  /* by arrival; sorted at the end */
	unsigned nfail, done;
	struct signature *sigs;
	unsigned nsigs;
	double run_seconds;
	char error[512];
	bool errored;
	int stopped_by;             /* the signal that interrupted, or 0 */
};

/* explore-report.c */
void explore_progress(const struct explore_opts *o, const struct tally *t,
		      double t0);
void explore_add_result(const struct explore_opts *o, struct tally *t,
			const struct run_record *rec);
void explore_calibration_note(const struct explore_opts *o);
void explore_summary(const struct explore_opts *o, struct tally *t,
		     double wall);

#endif
