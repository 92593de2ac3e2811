/* Serial and step scheduling: a token passed between VCPU threads at VM
 * exits, chosen by a seeded policy (sched-policy.c) or, in a replay, by the
 * trace; controller actions queued and applied at scheduling points.  It
 * calls the handshake (handshake.h) one way: publish a request, resume a
 * stop, wait for one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/clock.h"
#include "vmm/end.h"
#include "vmm/handshake.h"
#include "vmm/kick.h"
#include "vmm/sched-internal.h"
#include "vmm/sched-plan.h"

/* Wakes the thread that runs VCPU `id`, if it waits for its turn. */
static void wake_thread_of(struct sched *s, unsigned id)
{
	struct vcpu_thread *t = atomic_load(&s->vm->vcpus[id].thread);

	if (s->parked[t->idx])
		pthread_cond_signal(&s->turn[t->idx]);
}

/* Hands the token to `next` (-1: nobody), logging the switch, and wakes
 * the thread that runs it (one thread: the others sleep on).  (A sink
 * that fails leaves a stop pending for whoever unlocks.) */
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
	if (next >= 0)
		wake_thread_of(s, next);
	pthread_cond_broadcast(&s->cond);  /* sched_await_stop(), if any */
}

/* At v's point, with `next` chosen: when v can only wait for its next
 * turn and next's thread sleeps waiting for this one, this thread runs
 * next and that one keeps v.  A switch then costs no wake-up (a
 * futex wake and a context switch are more than a PIO exit), and the
 * KVM VCPUs run on one thread as long as nobody stops.  Decisions do not
 * change: only which thread carries them out, which is timing anyway. */
static void take_over(struct sched *s, struct vcpu *v, int next)
{
	struct vcpu_thread *mine, *theirs;
	struct vcpu *n;

	if (s->handoff || next < 0 || next == (int)v->id ||
	    !s->runnable[v->id] || !s->runnable[next] ||
	    atomic_load(&s->vm->stopping))
		return;
	n = &s->vm->vcpus[next];
	theirs = atomic_load(&n->thread);
	if (!s->parked[theirs->idx])
		return;
	mine = atomic_load(&v->thread);
	/* Threads first, then the VCPUs' (seq_cst, see vcpu_kick): this
	 * thread reads the flags of `n` only after this. */
	atomic_store(&theirs->vcpu, v);
	atomic_store(&mine->vcpu, n);
	atomic_store(&v->thread, theirs);
	atomic_store(&n->thread, mine);
}

/* --- controller actions ---------------------------------------------------- */

bool sched_is_applier(struct vm *vm, unsigned id)
{
	return vm->sched->applier == (int)id;
}

/* A pause applied to a VCPU that is not the applier takes effect on that
 * VCPU's thread; wait until it has stopped (or cannot), so that the run
 * stays a function of the steps. */
void sched_await_stop(struct vm *vm, unsigned id)
{
	struct sched *s = vm->sched;
	struct vcpu *v = &vm->vcpus[id];

	if ((int)id == s->applier)
		return;  /* it takes the pause itself, right after this point */
	pthread_mutex_unlock(&s->lock);
	handshake_wait_stop_or_end(v);
	pthread_mutex_lock(&s->lock);
	/* It leaves the schedule as it stops (the mode's `stopping`): wait
	 * for that too, or the next decision could still pick it. */
	while (s->runnable[id] && !atomic_load(&v->finished) &&
	       !atomic_load(&vm->stopping))
		pthread_cond_wait(&s->cond, &s->lock);
}

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
	if (handshake_publish(vm, id, seq, data, step, where) == -ENOMEM)
		return;
	/* Wakes it wherever it waits: for the token, or halted. */
	vcpu_kick(v);
	wake_thread_of(vm->sched, id);
	/* It will stop: out of the runnable set now, so that no decision
	 * depends on when its thread gets round to it.  Its resume puts it
	 * back. */
	vm->sched->runnable[id] = false;
	if (!was_stopped)
		sched_await_stop(vm, id);
}

int sched_resume_now(struct vm *vm, unsigned id, uint64_t data, uint64_t stop,
		     uint64_t step, int where)
{
	int r = handshake_resume_now(vm, id, data, stop, step, where);

	if (r == -EBUSY)
		return r;
	/* It may run again, unless a pause published while it was stopped
	 * awaits it: it takes that one at once, and until its thread gets
	 * there no decision may count on it (that would depend on how fast
	 * the thread wakes). */
	vm->sched->runnable[id] = !vcpu_owes_stop(&vm->vcpus[id]);
	pthread_cond_broadcast(&vm->sched->cond);
	return r;
}

/* Applies the actions due now.  False when the replay must wait. */
static bool apply_queued(struct sched *s, enum sched_where where, int applier)
{
	const struct sched_source *src = s->vm->sched_source;
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
			sched_resume_now(s->vm, a.vcpu, a.data, a.seq, s->step,
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

/* Some VCPU is on its way to a stop it owes (a pause applied at its own
 * point, or a resume into a pause published while it was stopped): its
 * thread has yet to get there.  Its stop settles again (the mode's
 * `stopped`). */
static bool stop_in_transit(struct sched *s)
{
	for (unsigned i = 0; i < s->vm->nr_vcpus; i++) {
		struct vcpu *v = &s->vm->vcpus[i];

		if (!s->gone[i] && !atomic_load(&v->stopped) &&
		    !atomic_load(&v->finished) && vcpu_owes_stop(v))
			return true;
	}
	return false;
}

/* With nobody to run, apply what is waiting and pick someone.  Lock held.
 * Only once no stop is in transit: idle-time actions come at one step
 * from several threads (this point's, the stopping VCPU's, a
 * controller's), and which comes first is timing; the state they find
 * must not be (a request that finds the VCPU before or after its stop is
 * coalesced or taken). */
static void settle_idle(struct sched *s, int applier)
{
	if (s->current >= 0 || s->applying || atomic_load(&s->vm->stopping) ||
	    stop_in_transit(s))
		return;
	if (!s->vm->sched_source)
		release_when_idle(s);
	if (!apply_queued(s, SCHED_AT_IDLE, applier))
		return;
	if (s->current < 0)
		switch_to(s, sched_choose(s, SCHED_AT_IDLE), SCHED_AT_IDLE);
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
			r = (int64_t)(a.seq = handshake_new_seq(&vm->vcpus[a.vcpu]));
		else	/* until it applies, the VCPU shows that stop still:
			 * a controller waiting for a pause must not take it
			 * for a new one */
			atomic_store(&vm->vcpus[a.vcpu].resume_asked, a.seq);
		queue_action(s, a);
		settle_idle(s, -1);
	}
	pthread_mutex_unlock(&s->lock);
	vm_stop_pending(vm, NULL);
	return r;
}

static int64_t submit_pause(struct vm *vm, unsigned vcpu, uint64_t data)
{
	return submit(vm, (struct sched_action){ ACT_PAUSE, vcpu, data, 0, false });
}

static int submit_resume(struct vm *vm, unsigned vcpu, uint64_t data,
			 uint64_t stop)
{
	return (int)submit(vm, (struct sched_action){ ACT_RESUME, vcpu, data,
						       stop, false });
}

/* --- the VCPU side (the serial mode's operations) --------------------------- */

/* Waits for the token, a pause for this VCPU, or the end of the run.
 * True when it holds the token.  Meanwhile the thread at a scheduling
 * point may take its VCPU over and leave it another (take_over): it then
 * waits for that one, and its caller goes on with it. */
static bool wait_turn(struct vcpu *v)
{
	struct sched *s = v->vm->sched;
	struct vcpu_thread *self = atomic_load(&v->thread);
	uint64_t seq, data;
	bool mine;

	pthread_mutex_lock(&s->lock);
	s->parked[self->idx] = true;
	if (__builtin_expect(v->vm->test_hook != NULL, 0)) {
		pthread_mutex_unlock(&s->lock);
		vcpu_hook(v, VCPU_HOOK_PARKED);
		pthread_mutex_lock(&s->lock);
	}
	for (;;) {
		v = thread_vcpu(self);
		if (s->current == (int)v->id || atomic_load(&v->vm->stopping) ||
		    pause_pending(&v->pause, v->last_taken, &seq, &data))
			break;
		pthread_cond_wait(&s->turn[self->idx], &s->lock);
	}
	s->parked[self->idx] = false;
	/* Once the run is ending nobody enters the guest again: where the
	 * stop finds each VCPU is then a function of the schedule. */
	mine = s->current == (int)v->id && !atomic_load(&v->vm->stopping);
	pthread_mutex_unlock(&s->lock);
	return mine;
}

static void in_guest(struct vcpu *v, bool entering)
{
	struct sched *s = v->vm->sched;

	__atomic_store_n(&s->running, entering ? (int)v->id : -1, __ATOMIC_RELAXED);
}

static void point(struct vcpu *v, bool yielded)
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
	if (!v->vm->sched_source)
		inject_at_point(s, v->id);
	apply_queued(s, SCHED_AT_POINT, (int)v->id);
	if (s->cfg.policy == VM_POLICY_PCT)
		pct_point(s, v->id, yielded);
	next = sched_choose(s, SCHED_AT_POINT);
	/* A switch away from a VCPU that could go on and did not yield. */
	if (next >= 0 && next != (int)v->id && s->runnable[v->id] && !yielded)
		s->stats.preemptions++;
	take_over(s, v, next);
	switch_to(s, next, SCHED_AT_POINT);
	settle_idle(s, (int)v->id);
	if (s->cfg.step_budget && s->step > s->cfg.step_budget && !s->over_budget)
		over_budget = s->over_budget = true;
	pthread_mutex_unlock(&s->lock);
	vm_stop_pending(v->vm, v);
	if (over_budget) {
		char why[160];
		snprintf(why, sizeof(why), "hang: %llu scheduling points without "
			 "an end (the step budget): a livelock, or VCPUs waiting "
			 "for each other forever",
			 (unsigned long long)s->cfg.step_budget);
		vm_stop(v->vm, TEND_GUEST_FAULT, 1, why);
	}
}

/* Stopped: applies idle-time actions that had to wait for it (a replay's
 * resume of this very stop, what came while it was on its way).  Its
 * thread applies them: it cannot wait for its own next stop (a replay's
 * resume of that waits for the settle after it). */
static void stopped(struct vcpu *v, const struct vcpu_event *ev)
{
	struct sched *s = v->vm->sched;

	(void)ev;
	pthread_mutex_lock(&s->lock);
	settle_idle(s, (int)v->id);
	pthread_mutex_unlock(&s->lock);
	vm_stop_pending(v->vm, v);
}

/* Out of the runnable set: stopping (before anyone can see it stopped, so
 * that a quick resume cannot be undone by a late block), or leaving. */
static void block(struct vcpu *v)
{
	struct sched *s = v->vm->sched;

	pthread_mutex_lock(&s->lock);
	s->runnable[v->id] = false;
	s->gave_way[v->id] = ++s->clock;
	pthread_cond_broadcast(&s->cond);  /* sched_await_stop() */
	if (s->current == (int)v->id && !atomic_load(&v->vm->stopping))
		switch_to(s, sched_choose(s, SCHED_AT_BLOCK), SCHED_AT_BLOCK);
	settle_idle(s, (int)v->id);
	pthread_mutex_unlock(&s->lock);
	vm_stop_pending(v->vm, v);
}

/* The run is ending: VCPUs waiting for their turn leave. */
static void wake_waiting(struct vm *vm)
{
	struct sched *s = vm->sched;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->cond);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		pthread_cond_signal(&s->turn[i]);
	pthread_mutex_unlock(&s->lock);
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
	    !(s->turn = calloc(vm->nr_vcpus, sizeof(*s->turn))) ||
	    !(s->parked = calloc(vm->nr_vcpus, sizeof(bool))) ||
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
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		pthread_cond_init(&s->turn[i], NULL);
	if (c->policy == VM_POLICY_PCT)
		pct_init(s, vm->nr_vcpus);
	return 0;
}

int sched_start(struct vm *vm)
{
	struct sched *s = vm->sched;

	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		s->runnable[i] = true;
	s->current = -1;
	/* Step 0: the first VCPU to run (round-robin starts with VCPU 0). */
	switch_to(s, !vm->sched_source && s->cfg.policy == VM_POLICY_RR ?
		  0 : sched_choose(s, SCHED_AT_IDLE), SCHED_AT_IDLE);
	pthread_mutex_unlock(&s->lock);
	vm_stop_pending(vm, NULL);
	return sched_watchdog_arm(s);
}

void sched_destroy(struct vm *vm)
{
	struct sched *s = vm->sched;

	if (!s)
		return;
	sched_watchdog_disarm(vm);
	if (s->vm) {  /* fully created */
		pthread_mutex_destroy(&s->lock);
		pthread_cond_destroy(&s->cond);
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			pthread_cond_destroy(&s->turn[i]);
	}
	plan_index_free(s->plan);
	free(s->runnable);
	free(s->prio);
	free(s->gave_way);
	free(s->yielded_at);
	free(s->own);
	free(s->gone);
	free(s->held);
	free(s->turn);
	free(s->parked);
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

const struct vm_mode serial_mode = {
	.name = "serial",
	.may_enter = wait_turn,
	.in_guest = in_guest,
	.point = point,
	.stopping = block,
	.stopped = stopped,
	.take_pause_on_leaving = true,
	.leave = block,
	.request = submit_pause,
	.resume = submit_resume,
	.queued = true,
	.wake = wake_waiting,
};
