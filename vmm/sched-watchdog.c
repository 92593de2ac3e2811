/* The serial and step schedulers' no-exit watchdog: a VCPU that runs
 * for watchdog_ns without a VM exit never hands the token on, so the run
 * is ended as a hang.  One thread per VM, made by its first serial run and
 * kept between runs until vm_destroy(): a VM reset for its next run
 * (explore) makes no thread per run, and arming and disarming it neither
 * wake it nor wait for it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "traces/clock.h"
#include "vmm/end.h"
#include "vmm/kick.h"
#include "vmm/sched-internal.h"

#define TICK_NS   20000000ull     /* how often it looks */
#define PARK_NS   1000000000ull   /* idle this long, it sleeps untimed */

struct sched_watchdog {
	pthread_t thread;
	pthread_mutex_t lock;      /* guards the fields below; taken before
				      the run's sched->lock */
	pthread_cond_t cond;       /* CLOCK_MONOTONIC: armed, fired, quit */
	struct sched *armed;       /* the run watched, NULL: none */
	uint64_t last_step, since; /* its progress: step seen, and when */
	uint64_t idle_since;       /* disarmed then */
	bool parked;               /* sleeps until armed */
	bool firing;               /* ending the armed run as a hang */
	bool quit;                 /* vm_destroy(): leave */
};

/* With w->lock held: whether the armed run's VCPU in the guest has made
 * no VM exit for its limit; returns that VCPU or -1. */
static int stuck_vcpu(struct sched_watchdog *w, uint64_t now, uint64_t *limit)
{
	struct sched *s = w->armed;
	struct vm *vm = s->vm;
	uint64_t step;
	int running;

	*limit = s->cfg.watchdog_ns ? s->cfg.watchdog_ns :
		 SCHED_DEFAULT_WATCHDOG_NS;
	if (atomic_load(&vm->stopping) || !atomic_load(&vm->live_vcpus))
		return -1;
	pthread_mutex_lock(&s->lock);
	step = s->step;
	running = __atomic_load_n(&s->running, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->lock);
	if (step != w->last_step || running < 0) {
		w->last_step = step;
		w->since = now;
		return -1;
	}
	return now - w->since > *limit ? running : -1;
}

/* With w->lock held, dropping it meanwhile: ends the armed run as a hang
 * of `vcpu`; disarming waits until this is over. */
static void fire(struct sched_watchdog *w, int vcpu, uint64_t limit)
{
	struct sched *s = w->armed;
	char why[512];

	/* No option names: run/record call the modes --sched serial and
	 * step, explore --preempt exit and step. */
	snprintf(why, sizeof(why), "hang: vcpu %d ran %llu ms without a VM exit "
		 "under the %s scheduler: only one VCPU runs at a time, so a "
		 "busy-wait for another VCPU never ends. Call vcprr_yield() in "
		 "busy-wait loops, or let the scheduler switch at every "
		 "instruction (step mode)", vcpu,
		 (unsigned long long)(limit / 1000000),
		 sched_mode_name(s->cfg.mode));
	w->firing = true;
	w->armed = NULL;  /* once per run */
	w->idle_since = mono_ns();
	pthread_mutex_unlock(&w->lock);
	vm_stop(s->vm, TEND_GUEST_FAULT, 1, why);
	pthread_mutex_lock(&w->lock);
	w->firing = false;
	pthread_cond_broadcast(&w->cond);
}

static void sleep_tick(struct sched_watchdog *w, uint64_t now)
{
	uint64_t wake = now + TICK_NS;
	struct timespec ts = { (time_t)(wake / 1000000000),
			       (long)(wake % 1000000000) };

	pthread_cond_timedwait(&w->cond, &w->lock, &ts);
}

/* Looks at the armed run every 20 ms.  Between runs it goes on ticking
 * for a second before it sleeps untimed: back-to-back runs (explore) then
 * arm and disarm it without waking it or waiting for it. */
static void *watchdog_thread(void *arg)
{
	struct sched_watchdog *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->quit) {
		uint64_t now = mono_ns(), limit;
		int vcpu;

		if (!w->armed && now - w->idle_since > PARK_NS) {
			w->parked = true;
			pthread_cond_wait(&w->cond, &w->lock);
			w->parked = false;
			continue;
		}
		if (w->armed && (vcpu = stuck_vcpu(w, now, &limit)) >= 0) {
			fire(w, vcpu, limit);
			continue;
		}
		sleep_tick(w, now);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static struct sched_watchdog *watchdog_new(void)
{
	struct sched_watchdog *w = calloc(1, sizeof(*w));
	pthread_condattr_t a;
	int r;

	if (!w)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &a);
	pthread_condattr_destroy(&a);
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
	w->last_step = ~0ull;
	w->since = mono_ns();
	if (w->parked)
		pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void sched_watchdog_disarm(struct vm *vm)
{
	struct sched_watchdog *w = vm->watchdog;

	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	if (w->armed && w->armed == vm->sched) {
		w->armed = NULL;
		w->idle_since = mono_ns();
	}
	while (w->firing)  /* (only ever this VM's run) */
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
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
