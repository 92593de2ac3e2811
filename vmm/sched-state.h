/* The serial/step scheduler's state, for snapshots (vmm/snapshot.c):
 * everything its next decisions depend on.  The step count, the token
 * holder and the last one, the runnable set, the policy's seed and PRNG
 * state, PCT's priorities, change points, clock and yields, the queued
 * controller actions, the injected pauses held and their PRNG, each VCPU's
 * own count of points and whether it returned from main, a plan's cursors,
 * the counters of vm_sched_stats(), and whether the run went over its
 * step budget.  Not its lock or its watchdog thread, which are the VM's
 * for its whole life. */
#ifndef VCPRR_VMM_SCHED_STATE_H
#define VCPRR_VMM_SCHED_STATE_H

#include <stddef.h>

struct vm;
struct sched_state;

/* A copy of the VM's scheduler state (the VM has one: serial or step),
 * taken while no VCPU thread runs.  NULL when out of memory. */
struct sched_state *sched_state_save(struct vm *vm);

/* Puts the state back into the VM's scheduler (made for the same VCPUs).
 * The watchdog thread of an ended run is joined first.  A plan (cfg.plan)
 * must still be alive.  0 or -ENOMEM (then nothing changed). */
int sched_state_load(struct vm *vm, const struct sched_state *st);

void sched_state_free(struct sched_state *st);
size_t sched_state_bytes(const struct sched_state *st);

#endif
