/* A plan's entries sorted by (VCPU, own step) with a cursor per VCPU: own
 * steps only grow, so each lookup moves the cursor forward. */
#include <stdlib.h>
#include <string.h>

#include "vmm/sched-plan.h"

struct plan_key {
	uint64_t own_step;
	size_t idx;        /* into the plan's array */
	uint32_t slot;     /* VCPU id; nr_vcpus for SCHED_NOBODY */
	bool used;
};

struct plan_list {
	struct plan_key *keys;
	size_t n;
	size_t *cur, *end;  /* per slot */
};

struct plan_index {
	const struct sched_plan *plan;
	unsigned nslots;
	struct plan_list dec, inj;
};

static int key_cmp(const void *a, const void *b)
{
	const struct plan_key *x = a, *y = b;

	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	if (x->own_step != y->own_step)
		return x->own_step < y->own_step ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static uint32_t slot_of(uint32_t vcpu, unsigned nslots)
{
	if (vcpu == SCHED_NOBODY)
		return nslots - 1;
	return vcpu < nslots - 1 ? vcpu : nslots;  /* nslots: ignored */
}

/* Sorts the keys and sets each slot's range.  vcpu_at(i) and step_at(i)
 * read entry i of the plan's array. */
static int list_build(struct plan_list *l, size_t n, unsigned nslots,
		      const void *arr, size_t elem,
		      uint32_t (*vcpu_at)(const void *),
		      uint64_t (*step_at)(const void *))
{
	size_t k = 0;

	l->keys = calloc(n ? n : 1, sizeof(*l->keys));
	l->cur = calloc(nslots, sizeof(size_t));
	l->end = calloc(nslots, sizeof(size_t));
	if (!l->keys || !l->cur || !l->end)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const void *e = (const char *)arr + i * elem;
		uint32_t slot = slot_of(vcpu_at(e), nslots);
		if (slot < nslots)
			l->keys[k++] = (struct plan_key){ step_at(e), i, slot, false };
	}
	l->n = k;
	qsort(l->keys, k, sizeof(*l->keys), key_cmp);
	for (size_t i = 0; i < k; i++)
		l->end[l->keys[i].slot] = i + 1;
	for (unsigned s = 0, start = 0; s < nslots; s++) {
		if (l->end[s] < start)
			l->end[s] = start;
		l->cur[s] = start;
		start = l->end[s];
	}
	return 0;
}

static void list_free(struct plan_list *l)
{
	free(l->keys);
	free(l->cur);
	free(l->end);
}

/* The unused entries of (slot, own_step): [*first, *last). */
static void list_seek(struct plan_list *l, uint32_t slot, uint64_t own_step,
		      size_t *first, size_t *last)
{
	size_t c = l->cur[slot], e = l->end[slot];

	while (c < e && l->keys[c].own_step < own_step)
		c++;
	l->cur[slot] = c;
	*first = c;
	while (c < e && l->keys[c].own_step == own_step)
		c++;
	*last = c;
}

static uint32_t dec_vcpu(const void *e) { return ((const struct sched_decision *)e)->vcpu; }
static uint64_t dec_step(const void *e) { return ((const struct sched_decision *)e)->own_step; }
static uint32_t inj_vcpu(const void *e) { return ((const struct sched_injection *)e)->vcpu; }
static uint64_t inj_step(const void *e) { return ((const struct sched_injection *)e)->own_step; }

struct plan_index *plan_index_new(const struct sched_plan *plan,
				  unsigned nr_vcpus)
{
	struct plan_index *pi = calloc(1, sizeof(*pi));

	if (!pi)
		return NULL;
	pi->plan = plan;
	pi->nslots = nr_vcpus + 1;
	if (list_build(&pi->dec, plan->ndecisions, pi->nslots, plan->decisions,
		       sizeof(*plan->decisions), dec_vcpu, dec_step) ||
	    list_build(&pi->inj, plan->ninjections, pi->nslots, plan->injections,
		       sizeof(*plan->injections), inj_vcpu, inj_step)) {
		plan_index_free(pi);
		return NULL;
	}
	return pi;
}

static int list_clone(struct plan_list *to, const struct plan_list *from,
		      unsigned nslots)
{
	to->n = from->n;
	to->keys = malloc((from->n ? from->n : 1) * sizeof(*to->keys));
	to->cur = malloc(nslots * sizeof(size_t));
	to->end = malloc(nslots * sizeof(size_t));
	if (!to->keys || !to->cur || !to->end)
		return -1;
	memcpy(to->keys, from->keys, from->n * sizeof(*to->keys));
	memcpy(to->cur, from->cur, nslots * sizeof(size_t));
	memcpy(to->end, from->end, nslots * sizeof(size_t));
	return 0;
}

struct plan_index *plan_index_clone(const struct plan_index *pi)
{
	struct plan_index *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->plan = pi->plan;
	c->nslots = pi->nslots;
	if (list_clone(&c->dec, &pi->dec, pi->nslots) ||
	    list_clone(&c->inj, &pi->inj, pi->nslots)) {
		plan_index_free(c);
		return NULL;
	}
	return c;
}

void plan_index_free(struct plan_index *pi)
{
	if (!pi)
		return;
	list_free(&pi->dec);
	list_free(&pi->inj);
	free(pi);
}

int plan_decision(struct plan_index *pi, uint32_t vcpu, uint64_t own_step,
		  enum sched_where where)
{
	uint32_t slot = slot_of(vcpu, pi->nslots);
	size_t first, last;

	if (slot >= pi->nslots)
		return -1;
	list_seek(&pi->dec, slot, own_step, &first, &last);
	for (size_t i = first; i < last; i++) {
		struct plan_key *k = &pi->dec.keys[i];
		const struct sched_decision *d = &pi->plan->decisions[k->idx];
		if (!k->used && d->where == (uint32_t)where) {
			k->used = true;
			return (int)d->to;
		}
	}
	return -1;
}

const struct sched_injection *plan_injection(struct plan_index *pi,
					     uint32_t vcpu, uint64_t own_step)
{
	uint32_t slot = slot_of(vcpu, pi->nslots);
	size_t first, last;

	if (slot >= pi->nslots)
		return NULL;
	list_seek(&pi->inj, slot, own_step, &first, &last);
	for (size_t i = first; i < last; i++) {
		struct plan_key *k = &pi->inj.keys[i];
		if (!k->used) {
			k->used = true;
			return &pi->plan->injections[k->idx];
		}
	}
	return NULL;
}
