/* VM snapshots: the whole guest-visible state of a VM and its run's
 * position, captured and restored in process.  One snapshot serves three
 * users: vcprr explore resets its VM to the snapshot of its initial state
 * between runs instead of building a new VM; a time-travel debugger
 * restores the nearest snapshot and runs forward to go backwards; analysis
 * re-runs windows of a failing schedule.  The property: restoring a
 * snapshot and running on gives the same events and the same guest memory
 * digest as running straight through.
 *
 * A snapshot holds
 *  - guest memory, incrementally: KVM's dirty log (KVM_MEM_LOG_DIRTY_PAGES)
 *    and the pages the VMM writes itself say which pages changed since the
 *    snapshot the memory derives from (the last one taken or restored), so
 *    taking one copies the pages written since, and restoring one writes
 *    back those plus the pages that differ between the two snapshots;
 *    snapshots share every unchanged page (vmm/page-tree.h);
 *  - each VCPU's KVM state (vmm/vcpu-state.h: registers, FPU/XSAVE, XCRs,
 *    debug registers, MSRs, MP state, pending events);
 *  - the devices: each VCPU's console line, the MMIO scratch registers (the
 *    random port and the hypercalls keep no state);
 *  - the run's own state: each VCPU's exit count, console line, pause
 *    request numbers and published request, stop and resume handshake,
 *    halted/done flags, exit code and counters; the scheduler's state
 *    (vmm/sched-state.h); how the run ended, if it did.
 * Not in it: the trace writer and the replay attached to the VM (a restore
 * keeps them as they are: give each run its own with vm_set_run()), output
 * already written to the console, and KVM state no guest here can see
 * (vcpu-state.h).
 *
 * When: the VM must be quiesced, no VCPU thread running: created and not
 * started, or its run ended (vm_wait() returned).  After restoring a
 * snapshot taken before the start, vm_set_run() and vm_start() run the VM
 * again as if it had just been created.  The first snapshot of a VM is
 * taken before its first start (it turns the dirty log on); long-mode VMs
 * only (raw-mode memory is the plugin's).
 *
 * Mid-run (a debugger going backwards): a step-mode VM stopped in a debug
 * stop point (debug-stop.h) can be snapshot too, when it stands still in a
 * state the snapshot expresses: the stopped VCPU holds the token and is
 * about to enter the guest; every other VCPU's thread waits for its turn
 * or has left its run; none is stopped by a pause, halted, owes a stop,
 * has a PIO/MMIO exit KVM has yet to finish (its next KVM_RUN would finish
 * it, with state no ioctl shows) or staged register edits.  Elsewhere
 * vm_snapshot_take_stopped() says why not, and a caller tries a later
 * position.  Threads are not part of a snapshot: to go back, end the run
 * (vm_stop, vm_wait: the VCPU threads park), restore the snapshot, and
 * vm_snapshot_resume() starts the parked threads again, going on from the
 * stop point (no start events; the token holder's thread reaches the stop
 * point first).  Which
 * thread runs which VCPU, and the no-exit watchdog (no step-mode
 * instruction can run long), are not resumed.
 *
 * Ownership and threads: a snapshot belongs to its VM.  vm_snapshot_free()
 * frees one; vm_destroy() frees those left.  All calls come from the thread
 * that owns the VM, never concurrently with each other or with vm_start. */
#ifndef VCPRR_VMM_SNAPSHOT_H
#define VCPRR_VMM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct vm_snapshot;

/* A snapshot of @vm now.  NULL with a message in @err (the VM is running,
 * out of memory, an ioctl KVM refused). */
struct vm_snapshot *vm_snapshot_take(struct vm *vm, char *err, size_t errlen);

/* A snapshot of @vm stopped at @vcpu's debug stop point, called while its
 * stop function blocks (from it, or from any thread then).  NULL with a
 * message when the VM does not stand still as above. */
struct vm_snapshot *vm_snapshot_take_stopped(struct vm *vm, unsigned vcpu,
					     char *err, size_t errlen);

/* Puts @vm back into the state of @s (one of its own).  0, or -1 with a
 * message; after a failure past the checks the VM's state is undefined
 * (destroy it). */
int vm_snapshot_restore(struct vm *vm, const struct vm_snapshot *s,
			char *err, size_t errlen);

/* After restoring a snapshot taken mid-run: starts the VM's (parked) VCPU
 * threads going on from it.  0, or -errno with a message (then the run is stopped). */
int vm_snapshot_resume(struct vm *vm, char *err, size_t errlen);

/* NULL is allowed. */
void vm_snapshot_free(struct vm_snapshot *s);

/* What the VM's snapshots cost. */
struct vm_snapshot_stats {
	uint64_t snapshots;       /* taken and not freed */
	uint64_t bytes;           /* memory they hold: page copies, tree
				     nodes, VCPU and scheduler state */
	uint64_t page_copies;     /* distinct page copies among them */
	uint64_t pages_taken;     /* pages found written by all takes (the
				     first one: every page in use) */
	uint64_t pages_restored;  /* pages written back by all restores */
	uint64_t last_take_pages, last_restore_pages;
};
void vm_snapshot_stats(const struct vm *vm, struct vm_snapshot_stats *st);

/* vm_destroy(): every snapshot of the VM and its dirty tracking. */
void vm_snapshots_free(struct vm *vm);

#endif
