/* Schedulers for deterministic execution.
 *
 * parallel: VCPUs run truly concurrently (no scheduler).
 * serial:   one VCPU runs at a time; the token passes only at scheduling
 *           points (every VM exit), so execution is a function of the
 *           guest, the seed and the recorded inputs.
 * step:     serial, with every VCPU single-stepped: a scheduling point
 *           after every instruction.
 * Policies choose the next VCPU at each point: round-robin, random, or PCT
 * (probabilistic concurrency testing) with depth D, all seeded.
 *
 * Controller actions (pause requests, resumes) are queued and applied at the
 * next scheduling point, or at once when no VCPU can run; each is logged
 * with the step at which it was applied, so a replay applies it at the same
 * step.  A replay replaces the policy and the queue with the trace
 * (struct sched_source). */
#ifndef VCPRR_VMM_SCHED_H
#define VCPRR_VMM_SCHED_H

#include <stdbool.h>
#include <stdint.h>

enum vm_sched_mode { VM_SCHED_PARALLEL = 0, VM_SCHED_SERIAL, VM_SCHED_STEP };
enum vm_sched_policy { VM_POLICY_RR = 0, VM_POLICY_RANDOM, VM_POLICY_PCT };

#define SCHED_PCT_MAX_DEPTH 64

struct sched_config {
	enum vm_sched_mode mode;
	enum vm_sched_policy policy;
	unsigned pct_depth;      /* D: D-1 priority change points */
	uint64_t pct_steps;      /* expected run length in steps (0: 10000) */
	uint64_t seed;
	uint64_t watchdog_ns;    /* no VM exit for this long: fault (0: 2 s) */
};

/* Where an action was applied (PAUSE_REQUEST/RESUME_REQUEST a3), and which
 * decision a switch was (SCHED_SWITCH a2): several can share a step. */
enum sched_where { SCHED_AT_POINT = 0, SCHED_AT_IDLE = 1, SCHED_AT_BLOCK = 2 };

struct vm;
struct vcpu;
struct sched;

/* A replay's stand-in for the policy and the controller. */
struct sched_source {
	/* Applies the recorded actions of (step, where), in order.  False
	 * when one must wait (a resume whose VCPU has not stopped yet): the
	 * decision that follows waits too. */
	bool (*apply_actions)(void *arg, struct vm *vm, uint64_t step,
			      enum sched_where where);
	/* The next recorded switch if it was decision `where` at `step`: the
	 * VCPU switched to, or -1 for nobody; -2 when there is none. */
	int (*switch_at)(void *arg, uint64_t step, enum sched_where where);
	void *arg;
};

const char *sched_mode_name(enum vm_sched_mode m);
/* "parallel", "serial", "step" -> mode; -1 if unknown. */
int sched_mode_parse(const char *s);
/* "rr", "random", "pct:D" -> policy and depth; -1 if malformed. */
int sched_policy_parse(const char *s, enum vm_sched_policy *p, unsigned *depth);

#endif
