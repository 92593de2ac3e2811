/* explore --merge: one shard's summary as read from its folder
 * (explore-summary.c), checked and joined by explore-merge.c. */
#ifndef VCPRR_TOOLS_EXPLORE_MERGE_H
#define VCPRR_TOOLS_EXPLORE_MERGE_H

#include "tools/explore-cli.h"

#define PATH_MAX_LEN 4096

struct explore_shard {
	const char *dir;
	char path[PATH_MAX_LEN + 16];   /* DIR/explore.json */
	struct explore_opts o;
	char guest[PATH_MAX_LEN], policy[64], data[PATH_MAX_LEN];
	unsigned done, failures;
	int stopped_by;
	double seconds, run_seconds;
	struct run_record *recs;
	unsigned nrec, cap;
	struct explore_races *races;    /* explore --races: the shard's */
	uint32_t seen;                  /* required keys read */
};

/* Reads s->dir's summary into @s (s->dir set, the rest zero); the kept
 * traces' paths in s->recs[].text are in @out when given, else in s->dir.
 * 0, or -1 after saying why.  The caller frees s->recs and s->races. */
int explore_summary_read(struct explore_shard *s, const char *out);

/* "vcprr explore: --merge: ..." on stderr; returns -1. */
int merge_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
