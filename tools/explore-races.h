/* vcprr explore --races: every run watched instruction by instruction
 * (step mode, analyze-run.h), its data races found by the happens-before
 * detector (race-hb.h, as vcprr analyze does), and the summary's count of
 * each race, once per pair of source lines, with the runs it was seen in.
 *
 * A worker runs explore_races_run() and sends its run_races in the run's
 * record (explore-cli.h, one pipe write); the parent adds them up in a
 * struct explore_races.  Neither is thread-safe. */
#ifndef VCPRR_TOOLS_EXPLORE_RACES_H
#define VCPRR_TOOLS_EXPLORE_RACES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tools/explore.h"
#include "tools/symbols.h"

#define RUN_RACES_MAX 12

/* A race as a worker sends it: the byte both touched and both sides. */
struct run_race {
	uint64_t addr;
	uint64_t rip[2];
	uint8_t rw[2];       /* HB_READ / HB_WRITE */
	bool atomic[2];
};

/* The races of one run, each pair of source lines once. */
struct run_races {
	uint32_t n;
	bool more;           /* it had more than RUN_RACES_MAX */
	bool partial;        /* the log or the shadow memory filled up */
	struct run_race r[RUN_RACES_MAX];
};

struct race_seen;

/* The summary's tally, and the guest's symbols (st: NULL when it has
 * none) that name the lines, loaded before the workers fork. */
struct explore_races {
	struct symtab *st;
	struct race_seen *seen;
	size_t n, cap;
	unsigned runs_more;  /* runs that had more races than were sent */
	unsigned partial;    /* runs not watched to the end */
};

/* NULL when out of memory. */
struct explore_races *explore_races_new(void);
/* Loads the guest's symbols (none: races named by address). */
void explore_races_symbols(struct explore_races *er, const char *guest);
void explore_races_free(struct explore_races *er);

/* Runs cfg (step mode) with seed as explore_run() does (same verdict in
 * res), watched, and fills out.  0, or -1 with a message in err. */
int explore_races_run(const struct explore_config *cfg, uint64_t seed,
		      const struct symtab *st, struct explore_result *res,
		      struct run_races *out, char *err, size_t errlen);

/* Counts run @run's races (failed: whether the run failed). */
void explore_races_add(struct explore_races *er, const struct run_races *rr,
		       bool failed, uint32_t run);
/* Adds the tally of other runs (another shard's, explore --merge). */
void explore_races_join(struct explore_races *er,
			const struct explore_races *other);
/* The races seen, in the order of the runs that first showed them (this
 * sorts the tally), as text for the summary, or as a JSON array: @saved,
 * the summary file's form, adds what explore_races_read() needs to join
 * the tallies of shards (each pair's lines, the runs' notes) after the
 * array, as keys of the enclosing object. */
void explore_races_print(FILE *f, struct explore_races *er, unsigned runs);
void explore_races_json(FILE *f, struct explore_races *er, bool saved);

struct json_lex;
/* The races array of a saved summary (untrusted) into an empty tally,
 * each race checked (seen in 1 to @runs runs, the first of them below
 * @planned): 0, or -1 with l->err set.  And a number key of the summary:
 * true when it is one of the notes after the array (its value kept). */
int explore_races_read(struct explore_races *er, struct json_lex *l,
		       unsigned runs, unsigned planned);
bool explore_races_read_note(struct explore_races *er, const char *key,
			     uint64_t v);

#endif
