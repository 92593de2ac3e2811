/* The checkpoint list of a replay being debugged (see checkpoints.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "debug/checkpoints.h"
#include "replay/replay.h"
#include "vmm/snapshot.h"

void checkpoints_init(struct checkpoints *c, uint64_t memory_budget)
{
	memset(c, 0, sizeof(*c));
	c->spread = 1;
	c->memory_budget = memory_budget;
}

static void drop(struct checkpoint *cp)
{
	vm_snapshot_free(cp->snap);
	replay_mark_free(cp->mark);
	free(cp->live);
}

void checkpoints_free(struct checkpoints *c)
{
	for (size_t i = 0; i < c->n; i++)
		drop(&c->v[i]);
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}

size_t checkpoints_before(const struct checkpoints *c, uint64_t pos)
{
	size_t lo = 0, hi = c->n;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->v[mid].pos <= pos)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

size_t checkpoints_before_event(const struct checkpoints *c, uint64_t seq)
{
	size_t i = c->n;

	while (i-- > 1)
		if (c->v[i].last_seq < seq)
			return i;
	return 0;
}

int checkpoints_add(struct checkpoints *c, const struct checkpoint *cp)
{
	size_t i = c->n ? checkpoints_before(c, cp->pos) : 0;

	if (c->n && c->v[i].pos == cp->pos) {
		bool manual = c->v[i].manual || cp->manual;

		drop(&c->v[i]);
		c->v[i] = *cp;
		c->v[i].manual = manual;
		return 0;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct checkpoint *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	if (c->n && c->v[i].pos < cp->pos)
		i++;
	memmove(&c->v[i + 1], &c->v[i], (c->n - i) * sizeof(*cp));
	c->v[i] = *cp;
	c->n++;
	return 0;
}

uint64_t checkpoints_interval_ns(const struct checkpoints *c)
{
	uint64_t restore = c->restores ? c->restore_ns / c->restores : 0;
	uint64_t take = c->takes ? c->take_ns / c->takes : 0;
	uint64_t n = INTERVAL_BUDGET_NS > 2 * restore ?
		     INTERVAL_BUDGET_NS - restore : INTERVAL_BUDGET_NS / 2;

	if (n < TAKE_SHARE * take)
		n = TAKE_SHARE * take;
	return n * c->spread;
}

uint64_t checkpoints_step_ns(const struct checkpoints *c)
{
	return c->steps ? c->steps_ns / c->steps ?: 1 : 0;
}

uint64_t checkpoints_interval(const struct checkpoints *c)
{
	uint64_t step = checkpoints_step_ns(c);

	return step ? checkpoints_interval_ns(c) / step : 0;
}

bool checkpoints_want(struct checkpoints *c, uint64_t pos, uint64_t step_ns)
{
	size_t i = checkpoints_before(c, pos);
	uint64_t gap;

	if (c->v[i].pos == pos || !step_ns) {
		c->since_ns = 0;  /* (a restore resumes at a checkpoint) */
		return false;
	}
	c->steps++;
	c->steps_ns += step_ns;
	c->since_ns += step_ns;
	if (c->since_ns < checkpoints_interval_ns(c))
		return false;
	/* Between two (a stretch replayed slower now than when it was
	 * covered): only up to half way to the next one. */
	gap = pos - c->v[i].pos;
	if (i + 1 < c->n && c->v[i + 1].pos - pos < gap)
		return false;
	c->since_ns = 0;
	return true;
}

void checkpoints_count_take(struct checkpoints *c, uint64_t ns,
			    uint64_t pages)
{
	c->takes++;
	c->take_ns += ns;
	c->take_pages += pages;
}

void checkpoints_count_restore(struct checkpoints *c, uint64_t ns)
{
	c->restores++;
	c->restore_ns += ns;
}

bool checkpoints_thin(struct checkpoints *c, uint64_t bytes)
{
	size_t k = 1;
	bool odd = false;

	if (bytes <= c->memory_budget)
		return false;
	for (size_t i = 1; i < c->n; i++) {
		if (!c->v[i].manual && (odd = !odd)) {
			drop(&c->v[i]);
			continue;
		}
		c->v[k++] = c->v[i];
	}
	c->n = k;
	c->spread *= 2;
	c->thinned++;
	return true;
}
