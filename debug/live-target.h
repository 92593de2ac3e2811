/* A debug target over a live run: a VM under the step scheduler, driven
 * forward only (continue, step, breakpoints, watchpoints).  Each VCPU is a
 * thread.  The VM stops between two instructions in the VMM's debug stop
 * point (vmm/debug-stop.h): breakpoints are checked against each VCPU's
 * rip before it runs (so no guest memory is patched), watchpoints are the
 * host-owned debug registers of every VCPU.  Reverse execution and trace
 * positions need a replay with checkpoints: those operations are NULL. */
#ifndef VCPRR_DEBUG_LIVE_TARGET_H
#define VCPRR_DEBUG_LIVE_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "debug/debug-target.h"

struct vm;
struct live_target;

/* Attaches to @vm (created, not started, under the step scheduler): the
 * first resume starts it.  @points stays the caller's.  NULL with a
 * message in err. */
struct live_target *live_target_create(struct vm *vm,
				       struct debug_points *points, char *err,
				       size_t errlen);

/* The target for gdb_serve(). */
struct debug_target live_target_of(struct live_target *lt);

/* Whether the first resume started the VM (its threads need joining). */
bool live_target_started(struct live_target *lt);

/* Lets a VCPU stopped for the debugger go, for good (the run then goes on
 * without stops until the VM is stopped or ends).  Thread-safe. */
void live_target_release(struct live_target *lt);

/* --- positions, for a replay (debug/replay-target.h) ---------------------
 * A position is the number of instructions run since the start: the stop
 * point's calls, the same in every run of a replay.  The calls below come
 * from the server's thread while the target is stopped. */

/* Attaches to a new run of the same guest (@vm: created, not started;
 * the previous one stopped and joined): per-run state is reset, the
 * positions seen are kept.  0 or -errno. */
int live_target_attach(struct live_target *lt, struct vm *vm);

/* Runs (starting the VM if needed) without showing stops up to position
 * @pos, or until @until (NULL: none; called on the VCPU thread at each
 * position) says so, and stops there: a DEBUG_STOP_STEP of the VCPU about
 * to run.  @scan keeps the last breakpoint or watchpoint stop found on the
 * way before @pos (live_target_last_hit).  Blocks.  0 when stopped, 1 when
 * the run ended first, -EINTR when stopped before by an interrupt (the
 * server's, or @interrupt_fd becoming readable; 0: none), -errno. */
int live_target_run_to(struct live_target *lt, uint64_t pos, bool scan,
		       bool (*until)(void *arg), void *arg, int interrupt_fd);
bool live_target_last_hit(struct live_target *lt, struct debug_stop *s,
			  uint64_t *pos);
/* Replaces the stop the server will be shown. */
void live_target_set_stop(struct live_target *lt, const struct debug_stop *s);
uint64_t live_target_position(struct live_target *lt);
/* The VCPU about to run at @pos, -1 when not yet seen. */
int live_target_vcpu_at(struct live_target *lt, uint64_t pos);

/* Going back (debug/replay-target.h): a live_mark says where a run
 * stands (the position, the VCPU that ran last, its kick counts), taken
 * while the VM is still at a stop point; the caller frees it with free().
 * NULL when out of memory. */
struct live_mark;
struct live_mark *live_target_mark(struct live_target *lt);
uint64_t live_mark_position(const struct live_mark *m);
/* The VM (stopped and joined) was put back to the snapshot taken with
 * @m, or to its start when @m is NULL (then vm_start runs it): the next
 * resume or run_to starts it from there, at @m's position.  Positions
 * seen stay known. */
void live_target_rewind(struct live_target *lt, const struct live_mark *m);
/* Time spent showing stops (blocked until the server resumes), for
 * telling a step's cost from the user's pause.  Thread-safe. */
uint64_t live_target_stopped_ns(struct live_target *lt);
/* @fn runs at each stop point the debugger passes, on the VCPU thread
 * (the VM still: it may take a checkpoint), once the stops there are
 * shown; it returns the next position it wants to be called at.  NULL:
 * none. */
void live_target_set_position_hook(struct live_target *lt,
				   uint64_t (*fn)(void *arg, uint64_t pos,
						  unsigned vcpu),
				   void *arg);

/* Frees, once the VM's VCPU threads are joined (after vm_wait or
 * vm_destroy, with live_target_release before them). */
void live_target_destroy(struct live_target *lt);

#endif
