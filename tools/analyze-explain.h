/* The story of a failing run's decisive decisions: for each decision of
 * the smallest failing schedule, the window it opened (who ran while the
 * VCPU it switched away from, or paused, was off) told through the
 * racing variable: its access before, the others' accesses inside, its
 * access after. */
#ifndef VCPRR_TOOLS_ANALYZE_EXPLAIN_H
#define VCPRR_TOOLS_ANALYZE_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "tools/analyze-run.h"
#include "tools/analyze.h"

/* Fills res->windows from the watched run of a plan whose first ndec
 * entries are decisions, the rest injections: one window per switch away
 * from a VCPU or injected pause (a pause and the switch it causes, at the
 * same step, are one), with the plan entries that made it.  The caller
 * judges which are decisive.  0, or -1 when out of memory. */
int analyze_windows(struct analyze_result *res, const struct analyze_run *ar,
		    size_t ndec);

/* Notes in w the first writes of its VCPU after the window opened, to
 * distinct variables, in the watched run of the passing schedule without
 * it (which runs as the failing one up to there). */
void analyze_note_passing(struct analyze_result *res, struct analyze_window *w,
			  const struct analyze_run *passing);

/* Tells each window's story (the variable in play, the accesses before,
 * inside and after), with the races known by now. */
void analyze_tell(struct analyze_result *res, const struct analyze_run *ar);

#endif
