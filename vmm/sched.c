/* Serial and step scheduling: a token passed between VCPU threads at VM
 * exits, chosen by a seeded policy or, in a replay, by the trace. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/sched-plan.h"
#include "vmm/vtrace.h"

#define DEFAULT_PCT_STEPS   10000
#define MAX_QUEUED          4096
#define DEFAULT_MAX_HOLD    256

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
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int current;               /* token holder, -1: none */
	int running;               /* VCPU inside KVM_RUN, -1: none */
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
	pthread_t watchdog;
	bool watchdog_started;
	bool watchdog_quit;        /* sched_destroy() asks it to leave now */
	pthread_cond_t watchdog_cond;
	bool applying;             /* an apply is in progress (lock dropped) */
	int applier;               /* the VCPU thread applying, -1: other */
	int last;                  /* the last VCPU that held the token */
	uint64_t *own;             /* each VCPU's scheduling points */
	bool *gone;                /* returned from main (seen at its point) */
	struct sched_stats stats;
	/* exploration */
	struct prng inject_rng;    /* its own stream: pauses do not shift the
				      policy's choices */
	struct held_pause *held;   /* oldest first */
	unsigned nheld;
	struct plan_index *plan;
	bool over_budget;
	bool yielded;              /* the point being decided is a yield */
};

const char *sched_mode_name(enum vm_sched_mode m)
{
	static const char *const names[] = { "parallel", "serial", "step" };

	return (unsigned)m < 3 ? names[m] : "?";
}

int sched_mode_parse(const char *s)
{
	for (int m = 0; m < 3; m++)
		if (!strcmp(s, sched_mode_name(m)))
			return m;
	return -1;
}

int sched_policy_parse(const char *s, enum vm_sched_policy *p, unsigned *depth)
{
	char *end;
	unsigned long d;

	*depth = 0;
	if (!strcmp(s, "rr") || !strcmp(s, "round-robin")) {
		*p = VM_POLICY_RR;
		return 0;
	}
	if (!strcmp(s, "random")) {
		*p = VM_POLICY_RANDOM;
		return 0;
	}
	if (strncmp(s, "pct:", 4))
		return -1;
	d = strtoul(s + 4, &end, 10);
	if (*end || d < 1 || d > SCHED_PCT_MAX_DEPTH)
		return -1;
	*p = VM_POLICY_PCT;
	*depth = (unsigned)d;
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* --- policies ------------------------------------------------------------ */

/* PCT (Burckhardt et al., ASPLOS 2010): distinct random initial priorities
 * d .. d+n-1; at change point i the running VCPU drops to d-1-i, below
 * every initial priority.  The highest runnable VCPU runs.
 *
 * A yield says "run the others before me": the yielder keeps its priority
 * but steps aside until every other runnable VCPU has given way since (by
 * a yield, a block or a change point's demotion).  Lowering its priority
 * below everything, the change points' included, made a change point
 * preempt nobody once every VCPU had polled; lowering it only among the
 * initial priorities let a poller starve a VCPU a change point demoted. */
static void pct_init(struct sched *s, unsigned n)
{
	unsigned d = s->cfg.pct_depth ? s->cfg.pct_depth : 1;
	uint64_t k = s->cfg.pct_steps ? s->cfg.pct_steps : DEFAULT_PCT_STEPS;

	/* Distinct initial priorities d .. d+n-1 in a random order. */
	for (unsigned i = 0; i < n; i++)
		s->prio[i] = d + i;
	for (unsigned i = n - 1; i > 0; i--) {
		unsigned j = prng_below(&s->rng, i + 1);
		int64_t t = s->prio[i];
		s->prio[i] = s->prio[j];
		s->prio[j] = t;
	}
	s->nchange = d - 1;
	for (unsigned i = 0; i < s->nchange; i++)
		s->change[i] = 1 + prng_below(&s->rng, k);
}

/* At a point of `vcpu`: this step's change points, and its yield. */
static void pct_point(struct sched *s, unsigned vcpu, bool yielded)
{
	bool demoted = false;

	for (unsigned i = 0; i < s->nchange; i++)
		if (s->change[i] == s->step) {
			s->prio[vcpu] = (int64_t)(s->cfg.pct_depth - 1 - i);
			demoted = true;
		}
	if (yielded || demoted || !s->runnable[vcpu])
		s->gave_way[vcpu] = ++s->clock;
	s->yielded_at[vcpu] = yielded ? s->clock : 0;
}

static int choose_rr(struct sched *s)
{
	unsigned n = s->vm->nr_vcpus;

	for (unsigned i = 1; i <= n; i++) {
		unsigned c = (unsigned)(s->current + i) % n;
		if (s->runnable[c])
			return (int)c;
	}
	return -1;
}

static int choose_random(struct sched *s)
{
	unsigned n = s->vm->nr_vcpus, count = 0, pick;

	for (unsigned i = 0; i < n; i++)
		count += s->runnable[i];
	if (!count)
		return -1;
	pick = prng_below(&s->rng, count);
	for (unsigned i = 0; i < n; i++)
		if (s->runnable[i] && pick-- == 0)
			return (int)i;
	return -1;
}

/* Whether `vcpu` yielded and some other runnable VCPU has not given way
 * since. */
static bool stepped_aside(const struct sched *s, unsigned vcpu)
{
	if (!s->yielded_at[vcpu])
		return false;
	for (unsigned i = 0; i < s->vm->nr_vcpus; i++)
		if (i != vcpu && s->runnable[i] && s->gave_way[i] < s->yielded_at[vcpu])
			return true;
	return false;
}

static int choose_pct(struct sched *s)
{
	int best = -1, any = -1;

	for (unsigned i = 0; i < s->vm->nr_vcpus; i++) {
		if (!s->runnable[i])
			continue;
		if (any < 0 || s->prio[i] > s->prio[any])
			any = (int)i;
		if (stepped_aside(s, i))
			continue;
		if (best < 0 || s->prio[i] > s->prio[best])
			best = (int)i;
	}
	return best >= 0 ? best : any;
}

/* A written-down schedule: its decision, else keep the running VCPU (unless
 * it yields), else round-robin. */
static int choose_plan(struct sched *s, enum sched_where where)
{
	unsigned n = s->vm->nr_vcpus;
	int key = where == SCHED_AT_IDLE ? s->last : s->current;
	uint32_t vcpu = key < 0 ? SCHED_NOBODY : (uint32_t)key;
	int to = plan_decision(s->plan, vcpu, key < 0 ? 0 : s->own[key], where);

	if (to >= 0 && (unsigned)to < n && s->runnable[to])
		return to;
	if (where == SCHED_AT_POINT && s->current >= 0 && s->runnable[s->current] &&
	    !s->yielded)
		return s->current;
	return choose_rr(s);
}

static bool anyone_runnable(const struct sched *s)
{
	for (unsigned i = 0; i < s->vm->nr_vcpus; i++)
		if (s->runnable[i])
			return true;
	return false;
}

static const char *sched_where_name(enum sched_where w)
{
	return w == SCHED_AT_IDLE ? "idle" : w == SCHED_AT_BLOCK ? "block" :
	       "point";
}

/* Replay: the recorded decision, which a recording only ever made for a
 * VCPU that could run, or for nobody when none could.  Any other means
 * the run differs from the recorded one (or the trace lies), and waiting
 * would wait forever: the replay stops at once and says so. */
static int choose_recorded(struct sched *s, const struct sched_source *src,
			   enum sched_where where)
{
	int next = src->switch_at(src->arg, s->step, where);
	bool stay = s->current >= 0 && s->runnable[s->current];
	char why[256];

	if (next == -2)
		next = stay ? s->current : -1;
	if (next >= 0 ? (unsigned)next < s->vm->nr_vcpus && s->runnable[next] :
	    next == -1 && !anyone_runnable(s))
		return next;
	if (next < 0)
		snprintf(why, sizeof(why), "replay diverged: at step %llu (%s) "
			 "the trace runs no VCPU, but one can run here",
			 (unsigned long long)s->step, sched_where_name(where));
	else
		snprintf(why, sizeof(why), "replay diverged: at step %llu (%s) "
			 "the trace switches to vcpu %d, which %s",
			 (unsigned long long)s->step, sched_where_name(where), next,
			 (unsigned)next < s->vm->nr_vcpus ? "cannot run here" :
			 "does not exist");
	vm_stop(s->vm, TEND_VMM_ERROR, 1, why);
	return -1;
}

static int choose(struct sched *s, enum sched_where where)
{
	const struct sched_source *src = s->vm->cfg.sched_source;

	if (src)
		return choose_recorded(s, src, where);
	switch (s->cfg.policy) {
	case VM_POLICY_RANDOM:
		return choose_random(s);
	case VM_POLICY_PCT:
		return choose_pct(s);
	case VM_POLICY_PLAN:
		return choose_plan(s, where);
	default:
		return choose_rr(s);
	}
}

/* Hands the token to `next` (-1: nobody), logging the switch. */
static void switch_to(struct sched *s, int next, enum sched_where where)
{
	if (next == s->current)
		return;
	vtrace_ctl_emit(s->vm, next < 0 ? TRACE_VCPU_NONE : (uint32_t)next,
			TEV_SCHED_SWITCH, (uint64_t)(int64_t)s->current, s->step,
			where, 0, NULL, 0);
	if (s->current >= 0) {
		s->last = s->current;
		s->stats.switches += next >= 0;
	}
	s->current = next;
	pthread_cond_broadcast(&s->cond);
}

/* --- controller actions ---------------------------------------------------- */

/* With the lock held: is `id` the VCPU whose thread applies actions now? */
bool sched_is_applier(struct vm *vm, unsigned id)
{
	return vm->sched->applier == (int)id;
}

/* A pause applied to a VCPU that is not the applier takes effect on that
 * VCPU's thread; wait until it has stopped (or cannot), so that the run
 * stays a function of the steps.  Called with the lock held; drops it. */
void sched_await_stop(struct vm *vm, unsigned id)
{
	struct sched *s = vm->sched;
	struct vcpu *v = &vm->vcpus[id];

	if ((int)id == s->applier)
		return;  /* it takes the pause itself, right after this point */
	pthread_mutex_unlock(&s->lock);
	vcpu_hook_await(v);
	pthread_mutex_lock(&v->ctl_lock);
	while (!atomic_load(&v->stopped) && !atomic_load(&v->finished) &&
	       !atomic_load(&vm->stopping))
		pthread_cond_wait(&v->ctl_cond, &v->ctl_lock);
	pthread_mutex_unlock(&v->ctl_lock);
	pthread_mutex_lock(&s->lock);
	/* It stops first, then leaves the schedule (sched_block): wait for
	 * that too, or the next decision could still pick it. */
	while (s->runnable[id] && !atomic_load(&v->finished) &&
	       !atomic_load(&vm->stopping))
		pthread_cond_wait(&s->cond, &s->lock);
}

/* Applies the actions due now.  False when the replay must wait. */
static bool apply_queued(struct sched *s, enum sched_where where, int applier)
{
	const struct sched_source *src = s->vm->cfg.sched_source;
	bool done = true;

	if (s->applying)
		return false;
	s->applying = true;
	s->applier = applier;
	if (src) {
		done = src->apply_actions(src->arg, s->vm, s->step, where);
	} else {
		/* Actions may be queued while the lock is dropped: take one at
		 * a time from the front. */
		while (s->nqueued && !atomic_load(&s->vm->stopping)) {
			struct sched_action a = s->queue[0];
			memmove(s->queue, s->queue + 1, --s->nqueued * sizeof(a));
			if (a.kind == ACT_PAUSE) {
				sched_apply_pause(s->vm, a.vcpu, a.seq, a.data,
						  s->step, where);
				continue;
			}
			if (a.await_stop)
				sched_await_stop(s->vm, a.vcpu);
			ctl_resume_now(s->vm, a.vcpu, a.data, a.seq, s->step,
				       where);
		}
		/* The run is ending: what was not applied never will be. */
		if (atomic_load(&s->vm->stopping))
			s->nqueued = 0;
	}
	s->applying = false;
	s->applier = -1;
	return done;
}

/* A pause request applied now; the target is stopped when this returns
 * (unless it is the applier, finished, or already stopped). */
void sched_apply_pause(struct vm *vm, unsigned id, uint64_t seq, uint64_t data,
		       uint64_t step, int where)
{
	struct vcpu *v = &vm->vcpus[id];
	bool was_stopped;

	/* Still on its way to a pause it applied at its own point: it takes
	 * that one first.  Published now, this one would make it coalesce or
	 * not, depending on how fast its thread is. */
	if (!atomic_load(&v->stopped) && vcpu_owes_stop(v))
		sched_await_stop(vm, id);
	if (atomic_load(&vm->stopping))
		return;
	was_stopped = atomic_load(&v->stopped);
	if (ctl_publish(vm, id, seq, data, step, where) < 0)
		return;
	/* It will stop: out of the runnable set now, so that no decision
	 * depends on when its thread gets round to it.  Its resume puts it
	 * back. */
	vm->sched->runnable[id] = false;
	if (!was_stopped)
		sched_await_stop(vm, id);
}

/* --- exploration: injected pauses ------------------------------------------ */

static bool queue_action(struct sched *s, struct sched_action a)
{
	if (s->nqueued == MAX_QUEUED)
		return false;
	s->queue[s->nqueued++] = a;
	return true;
}

static bool is_held(const struct sched *s, unsigned vcpu)
{
	for (unsigned i = 0; i < s->nheld; i++)
		if (s->held[i].vcpu == vcpu)
			return true;
	return false;
}

static void release_held(struct sched *s, unsigned i)
{
	queue_action(s, (struct sched_action){ ACT_RESUME, s->held[i].vcpu, 0,
					       0, true });
	memmove(s->held + i, s->held + i + 1, (--s->nheld - i) * sizeof(*s->held));
}

static void hold_pause(struct sched *s, unsigned target, uint64_t data,
		       uint64_t hold)
{
	struct sched_action a = { ACT_PAUSE, target, data, 0, false };

	if (target >= s->vm->nr_vcpus || s->gone[target] || is_held(s, target) ||
	    s->nqueued == MAX_QUEUED)
		return;
	a.seq = ctl_new_seq(&s->vm->vcpus[target]);
	queue_action(s, a);
	s->held[s->nheld++] = (struct held_pause){ target, s->step + (hold ? hold : 1) };
	s->stats.injected++;
}

/* A random VCPU that can take a pause, or -1. */
static int random_target(struct sched *s)
{
	unsigned n = s->vm->nr_vcpus, count = 0, pick;

	for (unsigned i = 0; i < n; i++)
		count += !s->gone[i] && !is_held(s, i);
	if (!count)
		return -1;
	pick = prng_below(&s->inject_rng, count);
	for (unsigned i = 0; i < n; i++)
		if (!s->gone[i] && !is_held(s, i) && pick-- == 0)
			return (int)i;
	return -1;
}

/* At `vcpu`'s point: resume the pauses whose hold is over, then maybe
 * inject one (the plan's, or a random one at pause_ppm). */
static void inject_at_point(struct sched *s, unsigned vcpu)
{
	const struct sched_injection *inj;

	/* A run that is ending (an assertion) takes no more pauses: whether
	 * a VCPU would still take one is a race with its stop. */
	if (atomic_load(&s->vm->stopping))
		return;
	for (unsigned i = 0; i < s->nheld;)
		if (s->held[i].until <= s->step)
			release_held(s, i);
		else
			i++;
	if (s->plan) {
		while ((inj = plan_injection(s->plan, vcpu, s->own[vcpu])))
			hold_pause(s, inj->target, inj->data, inj->hold);
		return;
	}
	if (s->cfg.pause_ppm &&
	    prng_below(&s->inject_rng, 1000000) < s->cfg.pause_ppm) {
		int t = random_target(s);
		uint32_t max = s->cfg.max_hold ? s->cfg.max_hold : DEFAULT_MAX_HOLD;
		uint64_t data = prng_next(&s->inject_rng);
		if (t >= 0)
			hold_pause(s, (unsigned)t, data,
				   1 + prng_below(&s->inject_rng, max));
	}
}

/* Nobody can run: the oldest injected pause ends now, once its VCPU has
 * stopped (a VCPU paused at its own point stops after it; the stop calls
 * sched_settle). */
static void release_when_idle(struct sched *s)
{
	for (unsigned i = 0; i < s->vm->nr_vcpus; i++)
		if (s->runnable[i])
			return;
	if (s->nheld && atomic_load(&s->vm->vcpus[s->held[0].vcpu].stopped))
		release_held(s, 0);
}

/* With nobody to run, apply what is waiting and pick someone.  Lock held. */
static void settle_idle(struct sched *s, int applier)
{
	if (s->current >= 0 || s->applying || atomic_load(&s->vm->stopping))
		return;
	if (!s->vm->cfg.sched_source)
		release_when_idle(s);
	if (!apply_queued(s, SCHED_AT_IDLE, applier))
		return;
	if (s->current < 0)
		switch_to(s, choose(s, SCHED_AT_IDLE), SCHED_AT_IDLE);
}

/* Queues a controller's action.  A request gets its number now: requests
 * are applied in the order they were queued, so the numbers are those a
 * replay hands out as it applies them.  Once the run is ending nothing is
 * applied any more, so nothing is taken. */
static int64_t submit(struct vm *vm, struct sched_action a)
{
	struct sched *s = vm->sched;
	int64_t r = 0;

	pthread_mutex_lock(&s->lock);
	if (atomic_load(&vm->stopping)) {
		r = -ESHUTDOWN;
	} else if (s->nqueued == MAX_QUEUED) {
		r = -EAGAIN;
	} else {
		if (a.kind == ACT_PAUSE)
			r = (int64_t)(a.seq = ctl_new_seq(&vm->vcpus[a.vcpu]));
		queue_action(s, a);
		settle_idle(s, -1);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int64_t sched_submit_pause(struct vm *vm, unsigned vcpu, uint64_t data)
{
	return submit(vm, (struct sched_action){ ACT_PAUSE, vcpu, data, 0, false });
}

int sched_submit_resume(struct vm *vm, unsigned vcpu, uint64_t data,
			uint64_t stop)
{
	return (int)submit(vm, (struct sched_action){ ACT_RESUME, vcpu, data,
						       stop, false });
}

/* Called with the lock held by ctl_resume_now(): the VCPU may run again,
 * unless a pause published while it was stopped awaits it.  It takes that
 * one at once, and until its thread gets there no decision may count on
 * it (that would depend on how fast the thread wakes). */
void sched_make_runnable(struct vm *vm, unsigned vcpu)
{
	vm->sched->runnable[vcpu] = !vcpu_owes_stop(&vm->vcpus[vcpu]);
	pthread_cond_broadcast(&vm->sched->cond);
}

/* --- the VCPU side -------------------------------------------------------- */

/* Waits for the token, a pause for this VCPU, or the end of the run.
 * True when it holds the token. */
bool sched_wait_turn(struct vcpu *v)
{
	struct sched *s = v->vm->sched;
	uint64_t seq, data;
	bool mine;

	pthread_mutex_lock(&s->lock);
	while (s->current != (int)v->id && !atomic_load(&v->vm->stopping) &&
	       !pause_pending(&v->pause, v->last_taken, &seq, &data))
		pthread_cond_wait(&s->cond, &s->lock);
	/* Once the run is ending nobody enters the guest again: where the
	 * stop finds each VCPU is then a function of the schedule. */
	mine = s->current == (int)v->id && !atomic_load(&v->vm->stopping);
	pthread_mutex_unlock(&s->lock);
	return mine;
}

void sched_enter_guest(struct vcpu *v, bool entering)
{
	struct sched *s = v->vm->sched;

	__atomic_store_n(&s->running, entering ? (int)v->id : -1, __ATOMIC_RELAXED);
}

void sched_point(struct vcpu *v, bool yielded)
{
	struct sched *s = v->vm->sched;
	bool over_budget = false;
	int next;

	pthread_mutex_lock(&s->lock);
	s->step++;
	s->own[v->id]++;
	s->gone[v->id] = v->done;
	/* Before the actions: a pause applied now takes the VCPU out. */
	s->runnable[v->id] = !v->done && !v->halted;
	s->yielded = yielded;
	/* The run is ending (this VCPU's own exit may have stopped it): no
	 * more actions or decisions, which would race with the stop. */
	if (atomic_load(&v->vm->stopping)) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (!v->vm->cfg.sched_source)
		inject_at_point(s, v->id);
	apply_queued(s, SCHED_AT_POINT, (int)v->id);
	if (s->cfg.policy == VM_POLICY_PCT)
		pct_point(s, v->id, yielded);
	next = choose(s, SCHED_AT_POINT);
	/* A switch away from a VCPU that could go on and did not yield. */
	if (next >= 0 && next != (int)v->id && s->runnable[v->id] && !yielded)
		s->stats.preemptions++;
	switch_to(s, next, SCHED_AT_POINT);
	settle_idle(s, (int)v->id);
	if (s->cfg.step_budget && s->step > s->cfg.step_budget && !s->over_budget)
		over_budget = s->over_budget = true;
	pthread_mutex_unlock(&s->lock);
	if (over_budget) {
		char why[160];
		snprintf(why, sizeof(why), "hang: %llu scheduling points without "
			 "an end (the step budget): a livelock, or VCPUs waiting "
			 "for each other forever",
			 (unsigned long long)s->cfg.step_budget);
		vm_stop(v->vm, TEND_GUEST_FAULT, 1, why);
	}
}

/* Applies idle-time actions that had to wait (see sched_source). */
void sched_settle(struct vm *vm)
{
	struct sched *s = vm->sched;

	pthread_mutex_lock(&s->lock);
	settle_idle(s, -1);
	pthread_mutex_unlock(&s->lock);
}

void sched_block(struct vcpu *v)
{
	struct sched *s = v->vm->sched;

	pthread_mutex_lock(&s->lock);
	s->runnable[v->id] = false;
	s->gave_way[v->id] = ++s->clock;
	pthread_cond_broadcast(&s->cond);  /* sched_await_stop() */
	if (s->current == (int)v->id && !atomic_load(&v->vm->stopping))
		switch_to(s, choose(s, SCHED_AT_BLOCK), SCHED_AT_BLOCK);
	settle_idle(s, (int)v->id);
	pthread_mutex_unlock(&s->lock);
}

/* With the scheduler lock held (while it applies actions). */
void sched_wake_all_locked(struct vm *vm)
{
	pthread_cond_broadcast(&vm->sched->cond);
}

void sched_wake_all(struct vm *vm)
{
	struct sched *s = vm->sched;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* --- watchdog --------------------------------------------------------------- */

/* Checks every 20 ms that steps advance while a VCPU is in the guest.  It
 * sleeps on a condition so that the end of a run does not wait for it. */
static void *watchdog_thread(void *arg)
{
	struct sched *s = arg;
	struct vm *vm = s->vm;
	uint64_t limit = s->cfg.watchdog_ns ? s->cfg.watchdog_ns :
			 SCHED_DEFAULT_WATCHDOG_NS;
	uint64_t last_step = ~0ull, since = mono_ns();
	int stuck = -1;

	pthread_mutex_lock(&s->lock);
	while (!s->watchdog_quit && !atomic_load(&vm->stopping) &&
	       atomic_load(&vm->live_vcpus)) {
		int running = __atomic_load_n(&s->running, __ATOMIC_RELAXED);
		uint64_t now = mono_ns(), wake = now + 20000000;
		struct timespec ts = { (time_t)(wake / 1000000000),
				       (long)(wake % 1000000000) };

		if (s->step != last_step || running < 0) {
			last_step = s->step;
			since = now;
		} else if (now - since > limit) {
			stuck = running;
			break;
		}
		pthread_cond_timedwait(&s->watchdog_cond, &s->lock, &ts);
	}
	pthread_mutex_unlock(&s->lock);
	if (stuck >= 0) {
		char why[512];
		snprintf(why, sizeof(why), "hang: vcpu %d ran %llu ms without a VM exit "
			 "under --sched %s: only one VCPU runs at a time, so a "
			 "busy-wait for another VCPU never ends. Call vcprr_yield() in "
			 "busy-wait loops, or use --sched step", stuck,
			 (unsigned long long)(limit / 1000000),
			 sched_mode_name(s->cfg.mode));
		vm_stop(vm, TEND_GUEST_FAULT, 1, why);
	}
	return NULL;
}

/* --- lifecycle ------------------------------------------------------------- */

int sched_create(struct vm *vm, const struct sched_config *c, char *err,
		 size_t errlen)
{
	struct sched *s;

	if (c->mode == VM_SCHED_PARALLEL)
		return 0;
	if (c->policy == VM_POLICY_PLAN && !c->plan) {
		snprintf(err, errlen, "the plan policy needs a plan");
		return -1;
	}
	s = calloc(1, sizeof(*s));
	vm->sched = s;
	if (!s || !(s->runnable = calloc(vm->nr_vcpus, sizeof(bool))) ||
	    !(s->prio = calloc(vm->nr_vcpus, sizeof(int64_t))) ||
	    !(s->gave_way = calloc(vm->nr_vcpus, sizeof(uint64_t))) ||
	    !(s->yielded_at = calloc(vm->nr_vcpus, sizeof(uint64_t))) ||
	    !(s->own = calloc(vm->nr_vcpus, sizeof(uint64_t))) ||
	    !(s->gone = calloc(vm->nr_vcpus, sizeof(bool))) ||
	    !(s->held = calloc(vm->nr_vcpus, sizeof(*s->held))) ||
	    (c->policy == VM_POLICY_PLAN &&
	     !(s->plan = plan_index_new(c->plan, vm->nr_vcpus)))) {
		sched_destroy(vm);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->vm = vm;
	s->cfg = *c;
	s->rng.state = c->seed;
	s->inject_rng.state = c->seed ^ 0x5bd1e9955bd1e995ull;
	s->current = s->running = s->applier = s->last = -1;
	{
		/* Recursive: a stop (vm_stop: a replay's divergence, a trace
		 * write failure) may come from code running under the lock,
		 * and it wakes the VCPUs waiting on s->cond. */
		pthread_mutexattr_t m;
		pthread_mutexattr_init(&m);
		pthread_mutexattr_settype(&m, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&s->lock, &m);
		pthread_mutexattr_destroy(&m);
	}
	pthread_cond_init(&s->cond, NULL);
	{
		pthread_condattr_t a;
		pthread_condattr_init(&a);
		pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
		pthread_cond_init(&s->watchdog_cond, &a);
		pthread_condattr_destroy(&a);
	}
	if (c->policy == VM_POLICY_PCT)
		pct_init(s, vm->nr_vcpus);
	return 0;
}

int sched_start(struct vm *vm)
{
	struct sched *s = vm->sched;
	int r;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		s->runnable[i] = true;
	s->current = -1;
	/* Step 0: the first VCPU to run (round-robin starts with VCPU 0). */
	switch_to(s, !vm->cfg.sched_source && s->cfg.policy == VM_POLICY_RR ?
		  0 : choose(s, SCHED_AT_IDLE), SCHED_AT_IDLE);
	pthread_mutex_unlock(&s->lock);
	r = pthread_create(&s->watchdog, NULL, watchdog_thread, s);
	s->watchdog_started = !r;
	return -r;
}

void sched_destroy(struct vm *vm)
{
	struct sched *s = vm->sched;

	if (!s)
		return;
	if (s->watchdog_started) {
		pthread_mutex_lock(&s->lock);
		s->watchdog_quit = true;
		pthread_cond_signal(&s->watchdog_cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->watchdog, NULL);
	}
	if (s->vm) {  /* fully created */
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->cond);
		pthread_cond_destroy(&s->watchdog_cond);
	}
	plan_index_free(s->plan);
	free(s->runnable);
	free(s->prio);
	free(s->gave_way);
	free(s->yielded_at);
	free(s->own);
	free(s->gone);
	free(s->held);
	free(s);
	vm->sched = NULL;
}

int vm_sched_stats(const struct vm *vm, struct sched_stats *st)
{
	struct sched *s = vm->sched;

	if (!s)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	*st = s->stats;
	st->steps = s->step;
	pthread_mutex_unlock(&s->lock);
	return 0;
}
