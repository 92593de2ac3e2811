/* The serial/step scheduler inside vmm/: its state (shared by sched.c,
 * sched-policy.c and sched-inject.c), the serial mode's operations
 * (mode.h) and what the VM and the controller API call.
 *
 * Its lock comes first in the lock order (vm-state.h): actions are applied
 * under it, and they take ctl_locks.  A VCPU stopping leaves the runnable
 * set (the mode's `stopping`) before it takes its own ctl_lock. */
#ifndef VCPRR_VMM_SCHED_INTERNAL_H
#define VCPRR_VMM_SCHED_INTERNAL_H

#include "vmm/mode.h"
#include "vmm/prng.h"
#include "vmm/vm-state.h"

#define MAX_QUEUED 4096

struct sched_action {
	enum { ACT_PAUSE, ACT_RESUME } kind;
	unsigned vcpu;
	uint64_t data;
	uint64_t seq;              /* pause: its request number; resume: the
				      stop it ends (0: an injected one's) */
	bool await_stop;           /* an injected resume: its pause may still
				      be on its way to being taken */
};

/* An injected pause, resumed at step `until` (or when nobody can run). */
struct held_pause {
	unsigned vcpu;
	uint64_t until;
};

struct sched {
	struct vm *vm;
	struct sched_config cfg;
	struct prng rng;
	pthread_mutex_t lock;      /* guards everything below */
	pthread_cond_t cond;       /* a VCPU left the runnable set */
	pthread_cond_t *turn;      /* per thread (vm->threads): its VCPU's
				      turn came, or a pause, or the end */
	bool *parked;              /* per thread: waits for its turn only */
	bool handoff;              /* never take a VCPU over (a bench's
				      other design) */
	int current;               /* token holder, -1: none */
	int running;               /* VCPU inside KVM_RUN, -1: none (atomic:
				      the watchdog reads it) */
	uint64_t step;             /* scheduling points so far */
	bool *runnable;
	int64_t *prio;             /* PCT: higher runs first */
	uint64_t clock;            /* PCT: counts yields and give-ways */
	uint64_t *gave_way;        /* PCT: when each last yielded, blocked or
				      was demoted (clock) */
	uint64_t *yielded_at;      /* PCT: when it yielded, 0: it ran since */
	uint64_t change[SCHED_PCT_MAX_DEPTH];
	unsigned nchange;
	struct sched_action queue[MAX_QUEUED];
	unsigned nqueued;
	bool applying;             /* an apply is in progress (lock dropped) */
	int applier;               /* the VCPU thread applying, -1: other */
	int last;                  /* the last VCPU that held the token */
	uint64_t *own;             /* each VCPU's scheduling points */
	bool *gone;                /* returned from main (seen at its point) */
	struct sched_stats stats;
	/* exploration (sched-inject.c) */
	struct prng inject_rng;    /* its own stream: pauses do not shift the
				      policy's choices */
	struct held_pause *held;   /* oldest first */
	unsigned nheld;
	struct plan_index *plan;
	bool over_budget;
	bool yielded;              /* the point being decided is a yield */
};

extern const struct vm_mode serial_mode;

int sched_create(struct vm *vm, const struct sched_config *c, char *err,
		 size_t errlen);
/* Step 0, and the watchdog armed.  0 or -errno. */
int sched_start(struct vm *vm);
void sched_destroy(struct vm *vm);

/* sched-watchdog.c: the no-exit watchdog, a thread of the VM kept from
 * run to run.  Arm: it watches s's run (made on the first call); 0 or
 * -errno.  Disarm: it has let go of the VM's current run when this
 * returns (the run ended; the next sched_start arms it again).  Free:
 * vm_destroy() ends it.  The VM's owner thread calls them, with no lock
 * held (the watchdog takes its own lock, then the run's sched->lock). */
int sched_watchdog_arm(struct sched *s);
void sched_watchdog_disarm(struct vm *vm);
void sched_watchdog_free(struct vm *vm);

/* With the lock held (from a sched_source's apply_actions): */
/* A pause applied now; the target is stopped when this returns (unless it
 * is the applier, finished, or already stopped). */
void sched_apply_pause(struct vm *vm, unsigned id, uint64_t seq, uint64_t data,
		       uint64_t step, int where);
/* A resume applied now: 0, -EBUSY (not in stop `stop`), -EIO. */
int sched_resume_now(struct vm *vm, unsigned id, uint64_t data, uint64_t stop,
		     uint64_t step, int where);
/* Whether `id` is the VCPU whose thread applies actions now. */
bool sched_is_applier(struct vm *vm, unsigned id);
/* Waits (dropping the lock meanwhile) until `id` has stopped and left
 * the runnable set, finished, or the run ends. */
void sched_await_stop(struct vm *vm, unsigned id);

/* sched-policy.c: the next VCPU to run, -1 for nobody; a replay's
 * impossible recorded decision leaves a stop pending and returns -1. */
void pct_init(struct sched *s, unsigned n);
void pct_point(struct sched *s, unsigned vcpu, bool yielded);
int sched_choose(struct sched *s, enum sched_where where);

/* sched-inject.c: exploration's injected pauses. */
bool queue_action(struct sched *s, struct sched_action a);
void inject_at_point(struct sched *s, unsigned vcpu);
void release_when_idle(struct sched *s);

#endif
