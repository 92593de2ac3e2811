/* The windows of a failing run's decisions (see analyze-explain.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/analyze-explain.h"
#include "tools/u64-map.h"
#include "traces/event.h"
#include "vmm/sched.h"

#define SCAN_LIMIT 4096   /* accesses of one VCPU looked at, each way */

struct story {
	struct analyze_result *res;
	const struct analyze_run *ar;
	const struct alog_entry *e;
	size_t n;
	struct u64_map inside;      /* the window being told: variable ->
				       the others' accesses to it (INSIDE_*) */
};

#define INSIDE_READ  1u   /* a plain read (no write) */
#define INSIDE_WRITE 2u

/* What a data address belongs to: its variable, else its 8 bytes. */
static uint64_t var_key(const struct symtab *st, uint64_t addr)
{
	uint64_t off;

	if (st && symtab_lookup(st, addr, &off))
		return addr - off;
	return addr & ~7ull;
}

static bool racing(const struct story *s, uint64_t addr)
{
	uint64_t k = var_key(s->res->st, addr);

	for (size_t i = 0; i < s->res->nraces; i++)
		if (var_key(s->res->st, s->res->races[i].addr) == k)
			return true;
	return false;
}

static bool data_access(const struct alog_entry *e, unsigned vcpu)
{
	return e->vcpu == vcpu && e->kind == ALOG_ACCESS &&
	       !(e->flags & ALOG_STACK);
}

static size_t first_at(const struct story *s, uint64_t step)
{
	size_t i = 0;

	while (i < s->n && s->e[i].step < step)
		i++;
	return i;
}

static struct analyze_touch touch_of(const struct alog_entry *e)
{
	return (struct analyze_touch){ .found = true, .vcpu = e->vcpu,
		.step = e->step, .rip = e->rip, .addr = e->addr,
		.rw = e->flags & (ALOG_READ | ALOG_WRITE) };
}

/* What the others did to each variable inside the window.  0, or -1 when
 * out of memory (the story is then told without conflicts). */
static int index_inside(struct story *s, const struct analyze_window *w)
{
	u64_map_free(&s->inside);
	for (size_t i = first_at(s, w->step); i < s->n && s->e[i].step < w->end;
	     i++) {
		const struct alog_entry *e = &s->e[i];
		uint64_t *v;

		if (e->kind != ALOG_ACCESS || e->vcpu == w->vcpu ||
		    (e->flags & ALOG_STACK))
			continue;
		v = u64_map_slot(&s->inside, var_key(s->res->st, e->addr), true);
		if (!v)
			return -1;
		*v |= e->flags & ALOG_WRITE ? INSIDE_WRITE : INSIDE_READ;
	}
	return 0;
}

static uint64_t inside(const struct story *s, uint64_t k)
{
	uint64_t *v = u64_map_slot((struct u64_map *)&s->inside, k, false);

	return v ? *v : 0;
}

/* Whether the others' accesses inside the window conflict with an access
 * (rw) of the window's VCPU to variable k: one of the two writes. */
static bool conflicts(const struct story *s, uint64_t k, uint8_t rw)
{
	uint64_t v = inside(s, k);

	return (v & INSIDE_WRITE) || (v && (rw & ALOG_WRITE));
}

/* How an access of the window's VCPU may name the variable in play, best
 * first: a racing variable the others' accesses in the window conflict
 * with, any such variable (an atomicity or order violation need not be a
 * race), any racing variable. */
enum pick { PICK_RACE_CONFLICT, PICK_ORDER, PICK_CONFLICT, PICK_RACE,
	    PICK_COUNT };

static bool in_play(const struct story *s, const struct analyze_window *w,
		    const struct alog_entry *e, enum pick how)
{
	uint64_t k = var_key(s->res->st, e->addr);
	uint8_t rw = e->flags & (ALOG_READ | ALOG_WRITE);

	if (w->has_var)
		return k == w->var;
	switch (how) {
	case PICK_ORDER:
		return false;  /* pick_order()'s */
	case PICK_RACE_CONFLICT:
		return racing(s, e->addr) && conflicts(s, k, rw);
	case PICK_CONFLICT:
		return conflicts(s, k, rw);
	default:
		return racing(s, e->addr);
	}
}

/* The VCPU's last access to the variable before the window. */
static void find_before(const struct story *s, struct analyze_window *w,
			enum pick how)
{
	unsigned seen = 0;

	for (size_t i = first_at(s, w->step); i-- > 0 && seen < SCAN_LIMIT;) {
		if (!data_access(&s->e[i], w->vcpu))
			continue;
		seen++;
		if (!in_play(s, w, &s->e[i], how))
			continue;
		w->before = touch_of(&s->e[i]);
		w->has_var = true;
		w->var = var_key(s->res->st, s->e[i].addr);
		return;
	}
}

/* Its first access to the variable after the window. */
static void find_after(const struct story *s, struct analyze_window *w,
		       enum pick how)
{
	unsigned seen = 0;

	if (w->end == UINT64_MAX)
		return;
	for (size_t i = first_at(s, w->end); i < s->n && seen < SCAN_LIMIT; i++) {
		if (!data_access(&s->e[i], w->vcpu))
			continue;
		seen++;
		if (!in_play(s, w, &s->e[i], how))
			continue;
		w->after = touch_of(&s->e[i]);
		w->has_var = true;
		w->var = var_key(s->res->st, s->e[i].addr);
		return;
	}
}

static struct analyze_other *other_of(struct analyze_window *w, unsigned vcpu)
{
	for (size_t i = 0; i < w->nothers; i++)
		if (w->others[i].vcpu == vcpu)
			return &w->others[i];
	if (w->nothers == ANALYZE_MAX_OTHERS)
		return NULL;
	w->others[w->nothers] = (struct analyze_other){ .vcpu = vcpu,
		.first = UINT64_MAX };
	return &w->others[w->nothers++];
}

/* Who held the token inside the window, from the run's switches. */
static void find_runners(const struct story *s, struct analyze_window *w)
{
	const struct analyze_run *ar = s->ar;
	uint64_t end = w->end == UINT64_MAX ? ar->last_step + 1 : w->end;

	for (size_t i = 0; i < ar->nedges; i++) {
		const struct analyze_edge *x = &ar->edges[i];
		uint64_t from = x->step, to = end;
		struct analyze_other *o;

		if (x->type != TEV_SCHED_SWITCH || x->vcpu == TRACE_VCPU_NONE ||
		    x->vcpu == w->vcpu)
			continue;
		for (size_t j = i + 1; j < ar->nedges; j++)
			if (ar->edges[j].type == TEV_SCHED_SWITCH) {
				to = ar->edges[j].step;
				break;
			}
		if (from < w->step)
			from = w->step;
		if (to > end)
			to = end;
		if (from >= to || !(o = other_of(w, x->vcpu)))
			continue;
		if (from < o->first)
			o->first = from;
		if (to - 1 > o->last)
			o->last = to - 1;
	}
}

/* What the others did to the variable inside the window. */
static void count_others(const struct story *s, struct analyze_window *w)
{
	for (size_t i = first_at(s, w->step);
	     i < s->n && s->e[i].step < w->end; i++) {
		const struct alog_entry *e = &s->e[i];
		struct analyze_other *o;

		if (e->kind != ALOG_ACCESS || e->vcpu == w->vcpu ||
		    (e->flags & ALOG_STACK) ||
		    var_key(s->res->st, e->addr) != w->var ||
		    !(o = other_of(w, e->vcpu)))
			continue;
		if (e->flags & ALOG_WRITE) {
			if (!o->writes++)
				o->rip = e->rip;
		} else if (!o->reads++ && !o->writes) {
			o->rip = e->rip;
		}
	}
}

/* The VCPU's next instruction at or after step: the window's end. */
static uint64_t next_run(const struct story *s, unsigned vcpu, uint64_t step)
{
	for (size_t i = first_at(s, step); i < s->n; i++)
		if (s->e[i].vcpu == vcpu && s->e[i].kind != ALOG_PAUSE_TAKEN &&
		    s->e[i].kind != ALOG_RESUMED &&
		    s->e[i].kind != ALOG_PAUSE_REQUEST &&
		    s->e[i].kind != ALOG_RESUME_REQUEST)
			return s->e[i].step;
	return UINT64_MAX;
}

/* Its last entry before step was a hypercall (a yield): no preemption. */
static bool gave_way(const struct story *s, unsigned vcpu, uint64_t step)
{
	for (size_t i = first_at(s, step); i-- > 0;)
		if (s->e[i].vcpu == vcpu)
			return s->e[i].kind == ALOG_HYPERCALL;
	return false;
}

/* An order violation: a variable the others read inside the window that
 * the VCPU writes first when the window is left out. */
static void pick_order(const struct story *s, struct analyze_window *w)
{
	for (size_t j = 0; j < w->npassing; j++) {
		uint64_t k = var_key(s->res->st, w->passing[j].addr);

		if (!(inside(s, k) & INSIDE_READ))
			continue;
		w->order = w->passing[j];
		w->has_var = true;
		w->var = k;
		return;
	}
}

/* The window's story: the variable in play is the best the VCPU touched
 * around the window (enum pick). */
static void tell(struct story *s, struct analyze_window *w)
{
	index_inside(s, w);
	w->has_var = false;
	w->before = w->after = w->order = (struct analyze_touch){ 0 };
	w->nothers = 0;
	for (int how = 0; how < PICK_COUNT && !w->has_var; how++) {
		if (how == PICK_ORDER)
			pick_order(s, w);
		find_before(s, w, how);
		find_after(s, w, how);
	}
	find_runners(s, w);
	if (w->has_var)
		count_others(s, w);
}

void analyze_note_passing(struct analyze_result *res, struct analyze_window *w,
			  const struct analyze_run *passing)
{
	size_t n;
	const struct alog_entry *e = access_log_entries(passing->log, &n);
	struct story s = { res, passing, e, n, { 0 } };
	unsigned seen = 0;

	w->npassing = 0;
	for (size_t i = first_at(&s, w->step);
	     i < n && seen < SCAN_LIMIT && w->npassing < ANALYZE_MAX_PASSING;
	     i++) {
		uint64_t k;
		bool known = false;

		if (!data_access(&e[i], w->vcpu))
			continue;
		seen++;
		/* A variable with a name: not the VCPU's own stack frame. */
		if (!(e[i].flags & ALOG_WRITE) || !res->st ||
		    !symtab_lookup(res->st, e[i].addr, &k))
			continue;
		k = var_key(res->st, e[i].addr);
		for (size_t j = 0; j < w->npassing && !known; j++)
			known = var_key(res->st, w->passing[j].addr) == k;
		if (!known)
			w->passing[w->npassing++] = touch_of(&e[i]);
	}
}

void analyze_tell(struct analyze_result *res, const struct analyze_run *ar)
{
	size_t n;
	const struct alog_entry *e = access_log_entries(ar->log, &n);
	struct story s = { res, ar, e, n, { 0 } };

	for (size_t i = 0; i < res->nwindows; i++)
		tell(&s, &res->windows[i]);
	u64_map_free(&s.inside);
}

/* A window at the same VCPU and step as the last one is the same: the
 * switch an injected pause caused. */
static int add_window(struct analyze_result *res, const struct analyze_window *w,
		      size_t entry)
{
	struct analyze_window *last = res->nwindows ?
				      &res->windows[res->nwindows - 1] : NULL;
	void *p;

	if (last && last->vcpu == w->vcpu && last->step == w->step) {
		last->pause |= w->pause;
		last->preemption = !last->pause &&
				   (last->preemption || w->preemption);
		if (last->nentries < ANALYZE_MAX_ENTRIES)
			last->entry[last->nentries++] = entry;
		return 0;
	}
	p = realloc(res->windows, (res->nwindows + 1) * sizeof(*w));
	if (!p)
		return -1;
	res->windows = p;
	res->windows[res->nwindows] = *w;
	res->windows[res->nwindows].entry[0] = entry;
	res->windows[res->nwindows++].nentries = 1;
	return 0;
}

/* Entry k of the plan, as the run made it: the k-th switch to a VCPU
 * (decisions) or injected pause (injections), as minimize.c reads them. */
int analyze_windows(struct analyze_result *res, const struct analyze_run *ar,
		    size_t ndec)
{
	const struct alog_entry *e;
	size_t n, k_dec = 0, k_inj = 0, entry;
	int cur = -1;
	struct story s;

	e = access_log_entries(ar->log, &n);
	s = (struct story){ res, ar, e, n, { 0 } };
	for (size_t i = 0; i < ar->nedges; i++) {
		const struct analyze_edge *x = &ar->edges[i];
		struct analyze_window w = { 0 };
		int prev = (int)(int64_t)x->a0;

		if (x->type == TEV_SCHED_SWITCH) {
			int to = x->vcpu == TRACE_VCPU_NONE ? -1 : (int)x->vcpu;

			if (prev >= (int)res->nr_vcpus || to >= (int)res->nr_vcpus)
				continue;
			cur = to;
			if (to < 0)
				continue;
			entry = k_dec++;
			if (prev < 0 || prev == to)
				continue;
			w.vcpu = (unsigned)prev;
			w.step = x->step;
			w.end = next_run(&s, w.vcpu, w.step);
			w.preemption = x->a2 == SCHED_AT_POINT &&
				       w.end != UINT64_MAX &&
				       !gave_way(&s, w.vcpu, w.step);
		} else if (x->type == TEV_PAUSE_REQUEST) {
			if (x->a3 != SCHED_AT_POINT || cur < 0 ||
			    x->vcpu >= res->nr_vcpus)
				continue;
			entry = ndec + k_inj++;
			w.pause = true;
			w.vcpu = x->vcpu;
			w.step = x->step;
			w.end = next_run(&s, w.vcpu, w.step);
		} else {
			continue;
		}
		if (add_window(res, &w, entry))
			return -1;
	}
	return 0;
}
