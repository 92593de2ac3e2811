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

/* Automatic checkpoints every @steps steps instead of by their measured
 * cost (0: by cost again), for tests that want many on a short trace. */
void replay_target_checkpoint_every(struct replay_target *rt, uint64_t steps);

/* A hash of the state a checkpoint puts back, as it is now: the replay's
 * cursors and checks (replay_session_state_hash), the position, guest
 * memory, every VCPU's registers and the scheduler's step.  While the
 * target is stopped. */
uint64_t replay_target_state_hash(struct replay_target *rt);

/* What the checkpoints cost so far. */
struct replay_checkpoint_stats {
	uint64_t checkpoints;       /* kept now */
	uint64_t bytes;             /* memory they hold */
	uint64_t written_bytes;     /* guest memory found written by the takes
				       (the first: every page in use) */
	uint64_t takes, take_ns, take_pages;  /* all takes: time, pages copied */
	uint64_t restores, restore_ns;
	uint64_t interval;          /* steps between automatic ones now */
	uint64_t step_ns;           /* a forward step, measured */
	uint64_t thinned;           /* times every other one was dropped */
	uint64_t replayed_ns;       /* spent running to positions */
};
void replay_target_checkpoint_stats(struct replay_target *rt,
				    struct replay_checkpoint_stats *st);

/* Stops the current run and frees everything. */
void replay_target_destroy(struct replay_target *rt);

#endif
