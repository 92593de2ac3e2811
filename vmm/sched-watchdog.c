/* The serial and step schedulers' no-exit watchdog: a VCPU that runs
 * for watchdog_ns without a VM exit never hands the token on, so the run
 * is ended as a hang.  One thread per VM, made by its first serial run and
 * kept, parked, between runs until vm_destroy(): a VM reset for its next
 * run (explore) makes no thread per run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "traces/clock.h"
#include "vmm/end.h"
#include "vmm/kick.h"
#include "vmm/sched-internal.h"

struct sched_watchdog {
	pthread_t thread;
	pthread_mutex_t lock;      /* a leaf, guards the fields below */
	pthread_cond_t cond;       /* armed, done or quit */
	struct sched *armed;       /* the run to watch, NULL: none */
	bool busy;                 /* armed and not done with it */
	bool quit;                 /* vm_destroy(): leave */
};

/* Checks every 20 ms that steps advance while a VCPU is in the guest,
 * until the run ends or the watch is disarmed.  It sleeps on a condition
 * so that the end of a run does not wait for it. */
static void watch(struct sched *s)
{
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
		/* No option names: run/record call the modes --sched serial
		 * and step, explore --preempt exit and step. */
		snprintf(why, sizeof(why), "hang: vcpu %d ran %llu ms without a VM exit "
			 "under the %s scheduler: only one VCPU runs at a time, "
			 "so a busy-wait for another VCPU never ends. Call "
			 "vcprr_yield() in busy-wait loops, or let the scheduler "
			 "switch at every instruction (step mode)", stuck,
			 (unsigned long long)(limit / 1000000),
			 sched_mode_name(s->cfg.mode));
		vm_stop(vm, TEND_GUEST_FAULT, 1, why);
	}
}

static void *watchdog_thread(void *arg)
{
	struct sched_watchdog *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct sched *s;

		while (!w->armed && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->armed)
			break;
		s = w->armed;
		w->armed = NULL;
		pthread_mutex_unlock(&w->lock);
		watch(s);
		pthread_mutex_lock(&w->lock);
		w->busy = false;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static struct sched_watchdog *watchdog_new(void)
{
	struct sched_watchdog *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	r = kick_thread_create(&w->thread, "vcprr-watchdog", 0, watchdog_thread,
			       w, false);
	if (r) {
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		free(w);
		errno = -r;
		return NULL;
	}
	return w;
}

int sched_watchdog_arm(struct sched *s)
{
	struct vm *vm = s->vm;
	struct sched_watchdog *w = vm->watchdog;

	if (!w && !(w = vm->watchdog = watchdog_new()))
		return -errno;
	pthread_mutex_lock(&w->lock);
	w->armed = s;
	w->busy = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	s->watchdog_armed = true;
	return 0;
}

void sched_watchdog_disarm(struct vm *vm)
{
	struct sched *s = vm->sched;
	struct sched_watchdog *w = vm->watchdog;

	if (!s || !s->watchdog_armed)
		return;
	pthread_mutex_lock(&s->lock);
	s->watchdog_quit = true;
	pthread_cond_signal(&s->watchdog_cond);
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_lock(&w->lock);
	while (w->busy)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	s->watchdog_armed = false;
	s->watchdog_quit = false;
}

void sched_watchdog_free(struct vm *vm)
{
	struct sched_watchdog *w = vm->watchdog;

	if (!w)
		return;
	sched_watchdog_disarm(vm);
	pthread_mutex_lock(&w->lock);
	w->quit = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
	vm->watchdog = NULL;
}
