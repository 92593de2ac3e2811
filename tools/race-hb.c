/* Vector-clock race detector (see race-hb.h).
 *
 * Shadow memory: per touched 8-byte granule, a short list of cells, each
 * an access of one thread at one epoch to some bytes of the granule (a
 * byte mask), as in ThreadSanitizer but without its eviction: a new access
 * removes from the cells only what it supersedes (the same thread's, or an
 * ordered thread's, earlier accesses of the same or a weaker kind), so the
 * list stays short (at most two cells per thread and byte) and no race is
 * missed for lack of room. */
#include <stdlib.h>
#include <string.h>

#include "tools/race-hb.h"
#include "tools/u64-map.h"

#define CELL_WRITE  1u
#define CELL_ATOMIC 2u
#define MAX_RACES   10000

struct cell {
	uint32_t clock;
	uint16_t thread;
	uint8_t mask;     /* bytes of the granule */
	uint8_t flags;    /* CELL_* */
	uint32_t size;
	uint64_t addr, rip, step;
};

struct granule {
	struct cell *cells;
	uint32_t n, cap;
};

/* An atomic location: what its stores released, and the clocks of the
 * loads that read its current value (for from-read edges). */
struct sync {
	uint32_t *released, *readers;
};

struct hb {
	struct hb_config cfg;
	unsigned nthreads;
	uint32_t *clocks;          /* nthreads x nthreads */
	uint32_t *vmm;             /* the hypercall server */
	uint32_t *pause_req, *pause_taken, *resume_req;  /* per VCPU */
	struct u64_map granule_of, sync_of, race_of;
	struct granule *granules;
	size_t ngranules, granules_cap;
	struct sync *syncs;
	size_t nsyncs, syncs_cap;
	struct hb_race *races;
	size_t nraces, races_cap;
	size_t bytes;              /* cells, clocks, tables */
	bool full;
};

size_t hb_memory(const struct hb *hb)
{
	return hb->bytes + u64_map_bytes(&hb->granule_of) +
	       u64_map_bytes(&hb->sync_of) + u64_map_bytes(&hb->race_of);
}

static uint32_t *clock_of(struct hb *hb, unsigned t)
{
	return hb->clocks + (size_t)t * hb->nthreads;
}

static void join(struct hb *hb, uint32_t *dst, const uint32_t *src)
{
	for (unsigned i = 0; i < hb->nthreads; i++)
		if (src[i] > dst[i])
			dst[i] = src[i];
}

static void acquire(struct hb *hb, unsigned t, const uint32_t *obj)
{
	join(hb, clock_of(hb, t), obj);
}

/* Publishes t's clock into obj and starts a new epoch of t. */
static void release(struct hb *hb, unsigned t, uint32_t *obj)
{
	join(hb, obj, clock_of(hb, t));
	clock_of(hb, t)[t]++;
}

/* Whether more bytes fit under the limit. */
static bool room(const struct hb *hb, size_t more)
{
	return hb_memory(hb) + more <= hb->cfg.max_bytes;
}

static void *grow(struct hb *hb, void *arr, size_t *cap, size_t elem)
{
	size_t ncap = *cap ? *cap * 2 : 4;
	void *p;

	if (!room(hb, (ncap - *cap) * elem))
		return NULL;
	p = realloc(arr, ncap * elem);
	if (!p)
		return NULL;
	hb->bytes += (ncap - *cap) * elem;
	*cap = ncap;
	return p;
}

static uint32_t *new_clock(struct hb *hb)
{
	size_t sz = hb->nthreads * sizeof(uint32_t);

	if (!room(hb, sz))
		return NULL;
	hb->bytes += sz;
	return calloc(hb->nthreads, sizeof(uint32_t));
}

struct hb *hb_new(const struct hb_config *cfg)
{
	struct hb *hb;
	unsigned n = cfg->nr_vcpus;

	if (!n || n + 1 > HB_MAX_THREADS || !(hb = calloc(1, sizeof(*hb))))
		return NULL;
	hb->cfg = *cfg;
	if (!hb->cfg.max_bytes)
		hb->cfg.max_bytes = (size_t)1 << 30;
	hb->nthreads = n + 1;
	hb->clocks = calloc((size_t)hb->nthreads * hb->nthreads, sizeof(uint32_t));
	hb->vmm = calloc(hb->nthreads, sizeof(uint32_t));
	hb->pause_req = calloc((size_t)n * hb->nthreads, sizeof(uint32_t));
	hb->pause_taken = calloc((size_t)n * hb->nthreads, sizeof(uint32_t));
	hb->resume_req = calloc((size_t)n * hb->nthreads, sizeof(uint32_t));
	if (!hb->clocks || !hb->vmm || !hb->pause_req || !hb->pause_taken ||
	    !hb->resume_req) {
		hb_free(hb);
		return NULL;
	}
	for (unsigned t = 0; t < hb->nthreads; t++)
		clock_of(hb, t)[t] = 1;
	hb->bytes = ((size_t)hb->nthreads * (hb->nthreads + 1) +
		     3 * (size_t)n * hb->nthreads) * sizeof(uint32_t);
	return hb;
}

void hb_free(struct hb *hb)
{
	if (!hb)
		return;
	for (size_t i = 0; i < hb->ngranules; i++)
		free(hb->granules[i].cells);
	for (size_t i = 0; i < hb->nsyncs; i++) {
		free(hb->syncs[i].released);
		free(hb->syncs[i].readers);
	}
	u64_map_free(&hb->granule_of);
	u64_map_free(&hb->sync_of);
	u64_map_free(&hb->race_of);
	free(hb->granules);
	free(hb->syncs);
	free(hb->races);
	free(hb->clocks);
	free(hb->vmm);
	free(hb->pause_req);
	free(hb->pause_taken);
	free(hb->resume_req);
	free(hb);
}

/* Room for the map to double on its next insertion. */
static bool map_room(const struct hb *hb, const struct u64_map *m)
{
	return room(hb, u64_map_bytes(m) + 1024);
}

static struct granule *granule_get(struct hb *hb, uint64_t g, bool create)
{
	uint64_t *slot = u64_map_slot(&hb->granule_of, g, false);
	struct granule *arr;

	if (slot)
		return &hb->granules[*slot];
	if (!create || hb->full || !map_room(hb, &hb->granule_of))
		return NULL;
	if (hb->ngranules == hb->granules_cap) {
		arr = grow(hb, hb->granules, &hb->granules_cap, sizeof(*arr));
		if (!arr)
			return NULL;
		hb->granules = arr;
	}
	slot = u64_map_slot(&hb->granule_of, g, true);
	if (!slot)
		return NULL;
	*slot = hb->ngranules;
	hb->granules[hb->ngranules] = (struct granule){ 0 };
	return &hb->granules[hb->ngranules++];
}

static struct sync *sync_get(struct hb *hb, uint64_t addr)
{
	uint64_t *slot = u64_map_slot(&hb->sync_of, addr, false);
	struct sync *s;

	if (slot)
		return &hb->syncs[*slot];
	if (hb->full || !map_room(hb, &hb->sync_of))
		return NULL;
	if (hb->nsyncs == hb->syncs_cap) {
		s = grow(hb, hb->syncs, &hb->syncs_cap, sizeof(*s));
		if (!s)
			return NULL;
		hb->syncs = s;
	}
	s = &hb->syncs[hb->nsyncs];
	s->released = new_clock(hb);
	s->readers = new_clock(hb);
	slot = u64_map_slot(&hb->sync_of, addr, true);
	if (!s->released || !s->readers || !slot) {
		free(s->released);
		free(s->readers);
		return NULL;
	}
	*slot = hb->nsyncs++;
	return s;
}

static uint64_t site(const struct hb *hb, uint64_t rip)
{
	return hb->cfg.site ? hb->cfg.site(hb->cfg.site_arg, rip) : rip;
}

static void report(struct hb *hb, const struct cell *c, const struct hb_access *a,
		   uint64_t byte)
{
	uint64_t s1 = site(hb, c->rip), s2 = site(hb, a->rip);
	uint64_t key = (s1 < s2 ? s1 : s2) * 0x9e3779b97f4a7c15ull ^
		       (s1 < s2 ? s2 : s1);
	uint64_t *slot = u64_map_slot(&hb->race_of, key, false);
	struct hb_race *r;

	if (slot) {
		hb->races[*slot].count++;
		return;
	}
	if (hb->nraces == MAX_RACES || !map_room(hb, &hb->race_of))
		return;
	if (hb->nraces == hb->races_cap) {
		r = grow(hb, hb->races, &hb->races_cap, sizeof(*r));
		if (!r)
			return;
		hb->races = r;
	}
	if (!(slot = u64_map_slot(&hb->race_of, key, true)))
		return;
	*slot = hb->nraces;
	r = &hb->races[hb->nraces++];
	r->addr = byte;
	r->count = 1;
	r->first = (struct hb_side){ c->thread, c->step, c->rip, c->addr,
				     c->size, c->flags & CELL_WRITE ?
				     HB_WRITE : HB_READ,
				     (c->flags & CELL_ATOMIC) != 0 };
	r->second = (struct hb_side){ a->thread, a->step, a->rip, a->addr,
				      a->size, a->rw, a->atomic };
}

static bool ordered(struct hb *hb, const struct cell *c, unsigned t)
{
	return c->clock <= clock_of(hb, t)[c->thread];
}

static void check(struct hb *hb, struct granule *g, uint64_t base,
		  uint8_t mask, const struct hb_access *a)
{
	bool write = a->rw & HB_WRITE;

	for (uint32_t i = 0; i < g->n; i++) {
		const struct cell *c = &g->cells[i];
		uint8_t common = c->mask & mask;

		if (!common || c->thread == a->thread ||
		    !(write || (c->flags & CELL_WRITE)) ||
		    (a->atomic && (c->flags & CELL_ATOMIC)) ||
		    ordered(hb, c, a->thread))
			continue;
		report(hb, c, a, base + __builtin_ctz(common));
	}
}

/* Drops from the cells the bytes this access supersedes, then adds it. */
static int record(struct hb *hb, struct granule *g, uint8_t mask,
		  const struct hb_access *a)
{
	bool write = a->rw & HB_WRITE;
	uint8_t flags = (write ? CELL_WRITE : 0) | (a->atomic ? CELL_ATOMIC : 0);
	uint32_t out = 0;

	for (uint32_t i = 0; i < g->n; i++) {
		struct cell *c = &g->cells[i];

		if (ordered(hb, c, a->thread) && (write || !(c->flags & CELL_WRITE)) &&
		    (!a->atomic || (c->flags & CELL_ATOMIC)))
			c->mask &= (uint8_t)~mask;
		if (c->mask)
			g->cells[out++] = *c;
	}
	g->n = out;
	if (g->n == g->cap) {
		size_t cap = g->cap;
		struct cell *cells = grow(hb, g->cells, &cap, sizeof(*cells));

		if (!cells)
			return -1;
		g->cells = cells;
		g->cap = (uint32_t)cap;
	}
	g->cells[g->n++] = (struct cell){
		clock_of(hb, a->thread)[a->thread], (uint16_t)a->thread, mask,
		flags, a->size, a->addr, a->rip, a->step,
	};
	return 0;
}

/* An atomic access, before it is checked: a load acquires what the stores
 * released; a store is ordered after the loads of the value it replaces. */
static void atomic_before(struct hb *hb, struct sync *s,
			  const struct hb_access *a)
{
	if (a->rw & HB_READ)
		acquire(hb, a->thread, s->released);
	if (a->rw & HB_WRITE) {
		acquire(hb, a->thread, s->readers);
		memset(s->readers, 0, hb->nthreads * sizeof(uint32_t));
	}
}

/* After: a store releases; a load leaves its clock for the next store
 * (this load and all before it, not what comes next: a new epoch). */
static void atomic_after(struct hb *hb, struct sync *s,
			 const struct hb_access *a)
{
	release(hb, a->thread, a->rw & HB_WRITE ? s->released : s->readers);
}

int hb_access(struct hb *hb, const struct hb_access *a)
{
	uint32_t size = a->size < HB_MAX_ACCESS ? a->size : HB_MAX_ACCESS;
	struct sync *s = NULL;
	int rc = 0;

	if (a->thread >= hb->nthreads - 1 || !size || !a->rw)
		return 0;
	if (a->atomic && (s = sync_get(hb, a->addr)) != NULL)
		atomic_before(hb, s, a);
	for (uint64_t g = a->addr >> 3; g <= (a->addr + size - 1) >> 3; g++) {
		uint8_t mask = hb_granule_mask(g, a->addr, size);
		struct granule *gr = granule_get(hb, g, true);

		if (!gr) {
			rc = -1;
			continue;
		}
		check(hb, gr, g << 3, mask, a);
		if (record(hb, gr, mask, a))
			rc = -1;
	}
	if (s)
		atomic_after(hb, s, a);
	if (rc || (a->atomic && !s))
		hb->full = true;
	return rc || (a->atomic && !s) ? -1 : 0;
}

static uint32_t *per_vcpu(struct hb *hb, uint32_t *arr, unsigned v)
{
	return arr + (size_t)v * hb->nthreads;
}

void hb_hypercall(struct hb *hb, unsigned vcpu)
{
	if (vcpu >= hb->nthreads - 1)
		return;
	acquire(hb, vcpu, hb->vmm);
	release(hb, vcpu, hb->vmm);
}

void hb_pause_request(struct hb *hb, unsigned vcpu)
{
	if (vcpu < hb->nthreads - 1)
		release(hb, hb->nthreads - 1, per_vcpu(hb, hb->pause_req, vcpu));
}

void hb_pause_taken(struct hb *hb, unsigned vcpu)
{
	if (vcpu >= hb->nthreads - 1)
		return;
	acquire(hb, vcpu, per_vcpu(hb, hb->pause_req, vcpu));
	release(hb, vcpu, per_vcpu(hb, hb->pause_taken, vcpu));
}

void hb_resume_request(struct hb *hb, unsigned vcpu)
{
	unsigned ctl = hb->nthreads - 1;

	if (vcpu >= ctl)
		return;
	acquire(hb, ctl, per_vcpu(hb, hb->pause_taken, vcpu));
	release(hb, ctl, per_vcpu(hb, hb->resume_req, vcpu));
}

void hb_resumed(struct hb *hb, unsigned vcpu)
{
	if (vcpu < hb->nthreads - 1)
		acquire(hb, vcpu, per_vcpu(hb, hb->resume_req, vcpu));
}

const struct hb_race *hb_races(const struct hb *hb, size_t *n)
{
	*n = hb->nraces;
	return hb->races;
}

bool hb_full(const struct hb *hb)
{
	return hb->full;
}
