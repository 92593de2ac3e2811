/* Exploring schedules: one seeded run of a guest under a serial or step
 * scheduler, with injected pauses, judged as passed or failed.  Shared by
 * vcprr explore, vcprr minimize and vcprr bench explore.
 *
 * A run fails on a guest assertion, a non-zero exit, a fault, or a hang
 * (the step budget, the no-exit watchdog, all VCPUs halted, the wall-clock
 * timeout).  Its signature names the failure without what varies from run
 * to run (the VCPU that hit it), so that runs failing the same way group. */
#ifndef VCPRR_TOOLS_EXPLORE_H
#define VCPRR_TOOLS_EXPLORE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/sched.h"
#include "vmm/vm.h"

struct vm_step_observer;

#define EXPLORE_SIG_MAX 256

struct explore_config {
	const char *guest;
	unsigned nr_vcpus;
	uint64_t mem_size;
	struct vm_guest_input input;   /* --arg ..., --data */
	struct sched_config sched;  /* mode serial or step; seed set per run */
	uint64_t timeout_ns;        /* wall clock per run (0: 30 s) */
	bool fresh_vm;              /* a new VM for every run, as with
				       VCPRR_FRESH_VM=1 (see explore_run) */
	/* Step mode: shown every instruction (vmm/step-observer.h); NULL. */
	const struct vm_step_observer *observer;
};

struct explore_result {
	uint64_t seed;
	bool failed;
	int reason;                 /* enum trace_end_reason */
	int exit_code;
	char signature[EXPLORE_SIG_MAX];  /* "" when it passed */
	struct sched_stats stats;
	double seconds;
};

/* A run's trace.  It is written unnamed and appears under `path`, whole,
 * only when kept: a run that is not kept, or is killed, leaves nothing. */
struct explore_trace {
	const char *path;
	bool replace;        /* may replace an existing file at path */
	/* Called once the run has ended: keep the trace?  NULL: keep. */
	bool (*keep)(const struct explore_result *res, void *arg);
	void *arg;
	/* A kept trace returns with SIGINT and SIGTERM still blocked (the
	 * caller reports it, then unblocks them): a stop cannot come between
	 * keeping a trace and telling about it. */
	bool hold_stops;
	/* results */
	bool kept;
	char problem[512];   /* why a trace to keep could not be kept */
};

/* Runs the guest once with `seed`, recording to `trace` when it is not
 * NULL.  Returns 0, or -1 with a message in err when the guest could not be
 * run at all (bad ELF, no /dev/kvm): that is no verdict on the guest.
 * Uses KVM and liburcu: call it in the process that will keep using them
 * (not before a fork).
 *
 * The process keeps one VM from run to run: built for the first run of a
 * guest (path and file identity), VCPU count, memory, argument and
 * preemption mode, and reset to a snapshot of its start before each next
 * run, which gives the same run as a new VM (same events, same memory).
 * cfg->fresh_vm, or VCPRR_FRESH_VM set to anything but 0, builds and tears
 * down a VM per run instead.  Not thread-safe. */
int explore_run(const struct explore_config *cfg, uint64_t seed,
		struct explore_trace *trace, struct explore_result *res,
		char *err, size_t errlen);

/* Destroys the VM explore_run() keeps (a later run builds a new one). */
void explore_release(void);

/* The signature of a run's end: "" for a pass. */
void explore_signature(int reason, int exit_code, const char *diag,
		       char *out, size_t len);

#endif
