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
 * step (a replay replaces the policy and the queue with the trace). */
#ifndef VCPRR_VMM_SCHED_H
#define VCPRR_VMM_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vm_sched_mode { VM_SCHED_PARALLEL = 0, VM_SCHED_SERIAL, VM_SCHED_STEP };
enum vm_sched_policy { VM_POLICY_RR = 0, VM_POLICY_RANDOM, VM_POLICY_PCT,
		      VM_POLICY_PLAN };

#define SCHED_PCT_MAX_DEPTH 64
#define SCHED_DEFAULT_WATCHDOG_NS 2000000000ull  /* 2 s */

struct sched_plan;

struct sched_config {
	enum vm_sched_mode mode;
	enum vm_sched_policy policy;
	unsigned pct_depth;      /* D: D-1 priority change points */
	uint64_t pct_steps;      /* expected run length in steps (0: 10000) */
	uint64_t seed;
	uint64_t watchdog_ns;    /* no VM exit for this long: fault (0:
				    SCHED_DEFAULT_WATCHDOG_NS) */
	/* Exploration (vcprr explore and minimize): */
	uint32_t pause_ppm;      /* at each point, inject a pause of a random
				    VCPU with this chance per million */
	uint32_t max_hold;       /* it lasts 1..max_hold points (0: 256) */
	uint64_t step_budget;    /* more points than this: a hang (0: none) */
	const struct sched_plan *plan;  /* VM_POLICY_PLAN: the schedule */
};

/* A schedule written down (vcprr minimize).  Decisions and injections are
 * keyed by a VCPU's own count of scheduling points, which does not shift
 * when another VCPU's schedule changes.
 *  - decision: when `vcpu` makes its own_step-th point (where = POINT), or
 *    blocks after it (BLOCK), or was the last to run when nobody can (IDLE;
 *    vcpu = SCHED_NOBODY before anyone ran), switch to `to`.  Elsewhere the
 *    running VCPU keeps running, or the next runnable one round-robin.
 *  - injection: at `vcpu`'s own_step-th point, pause `target` with `data`
 *    and resume it `hold` points later (or when nobody else can run). */
#define SCHED_NOBODY 0xffffffffu

struct sched_decision {
	uint32_t vcpu, where, to;
	uint64_t own_step;
};

struct sched_injection {
	uint32_t vcpu, target;
	uint64_t own_step, data, hold;
};

struct sched_plan {
	const struct sched_decision *decisions;
	size_t ndecisions;
	const struct sched_injection *injections;
	size_t ninjections;
};

/* What the scheduler did in a run (vm_sched_stats). */
struct sched_stats {
	uint64_t steps;          /* scheduling points */
	uint64_t switches;       /* token changes between VCPUs */
	uint64_t preemptions;    /* switches away from a VCPU that could run */
	uint64_t injected;       /* pauses injected (pause_ppm or plan) */
};

/* Where an action was applied (PAUSE_REQUEST/RESUME_REQUEST a3), and which
 * decision a switch was (SCHED_SWITCH a2): several can share a step. */
enum sched_where { SCHED_AT_POINT = 0, SCHED_AT_IDLE = 1, SCHED_AT_BLOCK = 2 };

struct vm;

/* The counters of a serial or step run; -EINVAL in parallel mode. */
int vm_sched_stats(const struct vm *vm, struct sched_stats *st);

const char *sched_mode_name(enum vm_sched_mode m);
/* "parallel", "serial", "step" -> mode; -1 if unknown. */
int sched_mode_parse(const char *s);
/* "rr", "random", "pct:D" -> policy and depth; -1 if malformed. */
int sched_policy_parse(const char *s, enum vm_sched_policy *p, unsigned *depth);

#endif
