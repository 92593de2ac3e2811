/* vcprr explore's command: its options, the results workers send, and the
 * tally the report is made from (builtin-explore.c runs, explore-report.c
 * shows). */
#ifndef VCPRR_TOOLS_EXPLORE_CLI_H
#define VCPRR_TOOLS_EXPLORE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tools/cli.h"
#include "tools/explore.h"
#include "tools/explore-races.h"

/* The summary every explore -o DIR leaves, read by explore --merge. */
#define EXPLORE_SUMMARY_FILE "explore.json"
#define EXPLORE_SUMMARY_FORMAT 1

struct explore_opts {
	struct explore_config cfg;
	unsigned runs, jobs;
	uint64_t seed;
	double pause_rate;
	const char *policy_arg, *dir, *junit;
	const char *data_path;      /* --data, for the rerun command */
	char data_sha256[65];       /* hex, "" without --data */
	struct cli_shard shard;     /* --shard K/N; n == 0: every run */
	unsigned todo;              /* the runs this explore makes (its shard's) */
	char guest_sha256[65];      /* hex, for the summary file */
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

/* explore-shard.c: which runs a shard makes, and the files it leaves */
unsigned explore_shard_size(const struct explore_opts *o);
/* The index of the shard's @nth run (from 0). */
uint32_t explore_shard_run(const struct explore_opts *o, unsigned nth);
/* The SHA-256 of the guest into o->guest_sha256 (zero: unreadable). */
void explore_guest_hash(struct explore_opts *o);
/* DIR/explore.json, written whole (replacing an earlier one): 0 or -1
 * (printed). */
int explore_save(const struct explore_opts *o, const struct tally *t,
		 double wall);
/* The JUnit report: a test case per failure signature (a passing one when
 * no run failed, an error when not every run ran).  0 or -1 (printed). */
int explore_junit(const char *cmd, const char *path,
		  const struct explore_opts *o, const struct tally *t,
		  double wall);

/* explore-merge.c: vcprr explore --merge DIR... */
int explore_merge_main(int argc, char **argv);

/* explore-report.c */
void explore_tally_add(struct tally *t, const struct run_record *rec);
/* The summary as JSON on @f; @saved: the summary file's form, with the
 * options that made the runs and trace names relative to DIR. */
void explore_json(FILE *f, const struct explore_opts *o,
		  const struct tally *t, double wall, bool saved);
void explore_progress(const struct explore_opts *o, const struct tally *t,
		      double t0);
void explore_add_result(const struct explore_opts *o, struct tally *t,
			const struct run_record *rec);
void explore_calibration_note(const struct explore_opts *o);
void explore_summary(const struct explore_opts *o, struct tally *t,
		     double wall);

#endif
