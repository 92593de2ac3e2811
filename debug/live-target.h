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

/* Frees, once the VM's VCPU threads are joined (after vm_wait or
 * vm_destroy, with live_target_release before them). */
void live_target_destroy(struct live_target *lt);

#endif
