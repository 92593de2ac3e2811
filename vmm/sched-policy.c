/* The serial/step scheduler's policies: round-robin, random, PCT and a
 * written-down plan, each seeded; in a replay the trace decides.  Called
 * with the scheduler's lock held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/sched-internal.h"
#include "vmm/sched-plan.h"

#define DEFAULT_PCT_STEPS 10000

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
void pct_init(struct sched *s, unsigned n)
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
void pct_point(struct sched *s, unsigned vcpu, bool yielded)
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
	vm_defer_stop(s->vm, TEND_VMM_ERROR, 1, -1, why);
	return -1;
}

int sched_choose(struct sched *s, enum sched_where where)
{
	const struct sched_source *src = s->vm->sched_source;

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
