#include <errno.h>
#include <string.h>
#include <time.h>

#include "tests/helpers/gate.h"
#include "tests/helpers/testutil.h"
#include "traces/clock.h"
#include "vmm/controller.h"

void gates_init(struct gates *gs)
{
	pthread_condattr_t a;

	memset(gs, 0, sizeof(*gs));
	pthread_mutex_init(&gs->lock, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&gs->cond, &a);
	pthread_condattr_destroy(&a);
}

void gates_destroy(struct gates *gs)
{
	pthread_mutex_destroy(&gs->lock);
	pthread_cond_destroy(&gs->cond);
}

void gates_hook(struct vm *vm, unsigned vcpu, enum vcpu_hook_point p, void *arg)
{
	struct gates *gs = arg;

	(void)vm;
	pthread_mutex_lock(&gs->lock);
	if (vcpu < GATES_MAX_VCPUS && (unsigned)p < VCPU_HOOK_COUNT)
		gs->seen[p][vcpu]++;
	pthread_cond_broadcast(&gs->cond);
	for (int i = 0; i < GATES_MAX; i++) {
		if (!gs->g[i].armed || gs->g[i].point != p || gs->g[i].vcpu != vcpu)
			continue;
		if (gs->g[i].skip > 0) {
			gs->g[i].skip--;
			continue;
		}
		gs->g[i].armed = false;
		gs->g[i].arrived = true;
		pthread_cond_broadcast(&gs->cond);
		while (!gs->g[i].released)
			pthread_cond_wait(&gs->cond, &gs->lock);
	}
	pthread_mutex_unlock(&gs->lock);
}

int gate_arm(struct gates *gs, unsigned vcpu, enum vcpu_hook_point p, int skip)
{
	int id;

	pthread_mutex_lock(&gs->lock);
	/* A free slot: never armed, or armed and released. */
	for (id = 0; id < GATES_MAX - 1 &&
	     (gs->g[id].armed || (gs->g[id].arrived && !gs->g[id].released)); id++)
		;
	gs->g[id].vcpu = vcpu;
	gs->g[id].point = p;
	gs->g[id].skip = skip;
	gs->g[id].arrived = gs->g[id].released = false;
	gs->g[id].armed = true;
	pthread_mutex_unlock(&gs->lock);
	return id;
}

static bool arrived(struct gates *gs, void *arg)
{
	return gs->g[*(int *)arg].arrived;
}

bool gate_wait_arrived(struct gates *gs, int id)
{
	return gates_wait_until(gs, arrived, &id, 5000);
}

void gate_release(struct gates *gs, int id)
{
	pthread_mutex_lock(&gs->lock);
	gs->g[id].released = true;
	gs->g[id].armed = false;
	pthread_cond_broadcast(&gs->cond);
	pthread_mutex_unlock(&gs->lock);
}

void gates_release_all(struct gates *gs)
{
	pthread_mutex_lock(&gs->lock);
	for (int i = 0; i < GATES_MAX; i++) {
		gs->g[i].armed = false;
		gs->g[i].released = true;
	}
	pthread_cond_broadcast(&gs->cond);
	pthread_mutex_unlock(&gs->lock);
}

unsigned gates_seen(struct gates *gs, unsigned vcpu, enum vcpu_hook_point p)
{
	unsigned n;

	pthread_mutex_lock(&gs->lock);
	n = vcpu < GATES_MAX_VCPUS ? gs->seen[p][vcpu] : 0;
	pthread_mutex_unlock(&gs->lock);
	return n;
}

bool gates_wait_until(struct gates *gs, bool (*cond)(struct gates *, void *),
		      void *arg, int ms)
{
	struct timespec ts = mono_deadline(ms);
	bool ok;

	pthread_mutex_lock(&gs->lock);
	while (!(ok = cond(gs, arg)))
		if (pthread_cond_timedwait(&gs->cond, &gs->lock, &ts) == ETIMEDOUT) {
			ok = cond(gs, arg);
			break;
		}
	pthread_mutex_unlock(&gs->lock);
	return ok;
}

void gates_signal(struct gates *gs)
{
	pthread_mutex_lock(&gs->lock);
	pthread_cond_broadcast(&gs->cond);
	pthread_mutex_unlock(&gs->lock);
}

void expect_pause_event(struct vm *vm, unsigned id, uint64_t data,
			uint64_t seq, int ms)
{
	vcpu_mask_t m = { { 0 } };
	struct vcpu_event ev;

	vcpu_mask_set(&m, id);
	assert_int_equal(vm_wait_paused(vm, &m, ms, NULL), 0);
	assert_int_equal(vcpu_wait_event(vm, id, &ev, ms), 0);
	assert_int_equal(ev.kind, VCPU_EVENT_PAUSED);
	assert_int_equal(ev.data, data);
	assert_int_equal(ev.req_seq, seq);
}
