/* A debug target over the replay of a step trace, with reverse execution.
 *
 * A step trace's schedule decides the whole run, so a position in it is
 * one number: the instructions run since the start (live-target.h).  The
 * replay re-runs the recorded schedule under the live target's stop point;
 * going backwards restarts the replay from the trace's start and runs it
 * forward, without showing stops, to the position wanted:
 *   reverse-stepi     the last position before this one where the stepped
 *                     VCPU was about to run;
 *   reverse-continue  a first run to here finds the last breakpoint or
 *                     watched write before it (a write is shown at the
 *                     writing instruction, before it ran, in its VCPU), a
 *                     second run goes there; none: the trace's start.
 * The one checkpoint is the run's start (a new replay of the trace), so a
 * reverse step costs a forward replay to that point.  The end of the trace
 * is a stop gdb can reverse from (replaylog:end), not the end of the
 * session.  Only step traces: a parallel or serial trace is refused with a
 * message. */
#ifndef VCPRR_DEBUG_REPLAY_TARGET_H
#define VCPRR_DEBUG_REPLAY_TARGET_H

#include <stddef.h>

#include "debug/debug-target.h"
#include "replay/replay.h"

struct replay_target;

/* Loads @path (its guest found as @o says) and builds the first run.
 * @points stays the caller's.  NULL with a message in err. */
struct replay_target *replay_target_create(const char *path,
					   const struct replay_opts *o,
					   struct debug_points *points,
					   char *err, size_t errlen);

struct debug_target replay_target_of(struct replay_target *rt);

/* Goes to position @pos from the trace's start (a replay to there), as a
 * stop of the VCPU about to run.  0 or -errno with a message. */
int replay_target_seek(struct replay_target *rt, uint64_t pos, char *err,
		       size_t errlen);
/* The current position: instructions run since the start. */
uint64_t replay_target_position(struct replay_target *rt);

/* The guest image the trace runs. */
const char *replay_target_guest(const struct replay_target *rt);

/* Stops the current run and frees everything. */
void replay_target_destroy(struct replay_target *rt);

#endif
