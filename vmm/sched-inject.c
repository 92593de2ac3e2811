/* Exploration's injected pauses (vcprr explore and minimize): at a
 * scheduling point, with pause_ppm's chance or where a plan says, a pause
 * of a VCPU is queued like a controller's and resumed after its hold.  They
 * draw from their own PRNG stream, so that they do not shift the policy's
 * choices.  Called with the scheduler's lock held. */
#include <string.h>

#include "vmm/handshake.h"
#include "vmm/sched-internal.h"
#include "vmm/sched-plan.h"

#define DEFAULT_MAX_HOLD 256

bool queue_action(struct sched *s, struct sched_action a)
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
	a.seq = handshake_new_seq(&s->vm->vcpus[target]);
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
void inject_at_point(struct sched *s, unsigned vcpu)
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
 * the serial mode's `stopped`). */
void release_when_idle(struct sched *s)
{
	for (unsigned i = 0; i < s->vm->nr_vcpus; i++)
		if (s->runnable[i])
			return;
	if (s->nheld && atomic_load(&s->vm->vcpus[s->held[0].vcpu].stopped))
		release_held(s, 0);
}
