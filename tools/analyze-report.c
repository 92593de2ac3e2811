/* vcprr analyze's output: text for people, one JSON object for tools. */
#include <inttypes.h>
#include <string.h>

#include "tools/analyze-names.h"
#include "tools/analyze.h"
#include "tools/inspect-priv.h"

#define MAX_UNJUDGED 8

/* "lost-update.c:39 (add_updates)", or the parts known. */
static void put_line(FILE *f, const struct symtab *st, uint64_t rip)
{
	const char *fn, *file, *base;
	uint64_t off;
	unsigned line;

	fn = st ? symtab_lookup(st, rip, &off) : NULL;
	if (symtab_source(st, rip, &file, &line)) {
		analyze_put_code(f, st, rip);
		return;
	}
	base = strrchr(file, '/');
	fput_text(f, base ? base + 1 : file);
	fprintf(f, ":%u", line);
	if (fn) {
		fputs(" (", f);
		fput_text(f, fn);
		fputc(')', f);
	}
}

/* "`total`", or the address. */
static void put_var(FILE *f, const struct symtab *st, uint64_t addr)
{
	uint64_t off;
	const char *name = st ? symtab_lookup(st, addr, &off) : NULL;

	if (!name) {
		fprintf(f, "0x%" PRIx64, addr);
		return;
	}
	fputc('`', f);
	fput_text(f, name);
	fputc('`', f);
	if (off)
		fprintf(f, "+%" PRIu64, off);
}

static const char *rw_verb(uint8_t rw)
{
	return rw == (HB_READ | HB_WRITE) ? "read-modify-write" :
	       rw & HB_WRITE ? "write" : "read";
}

static void put_times(FILE *f, const char *verb, uint64_t n)
{
	fputs(verb, f);
	if (n == 1)
		fputs(" once", f);
	else if (n == 2)
		fputs(" twice", f);
	else
		fprintf(f, " %" PRIu64 " times", n);
}

static void put_others(FILE *f, const struct symtab *st,
		       const struct analyze_window *w)
{
	for (size_t i = 0; i < w->nothers; i++) {
		const struct analyze_other *o = &w->others[i];

		fprintf(f, "  VCPU %u ran", o->vcpu);
		if (o->first != UINT64_MAX && o->first == o->last)
			fprintf(f, " step %" PRIu64, o->first);
		else if (o->first != UINT64_MAX)
			fprintf(f, " steps %" PRIu64 "-%" PRIu64, o->first, o->last);
		if (w->has_var && !o->reads && !o->writes) {
			fputs(" without touching ", f);
			put_var(f, st, w->var);
		} else if (w->has_var) {
			fputs(o->writes ? " and wrote " : " and read ", f);
			put_var(f, st, w->var);
			put_times(f, "", o->writes ? o->writes : o->reads);
			fputs(" (first at ", f);
			put_line(f, st, o->rip);
			fputc(')', f);
			if (o->writes && o->reads)
				put_times(f, ", and read it", o->reads);
		}
		fputc('\n', f);
	}
}

void analyze_print_window(FILE *f, const struct symtab *st,
			  const struct analyze_window *w)
{
	const char *how = w->pause ? "paused (an injected pause)" :
			  w->preemption ? "preempted" : "switched away from";

	fprintf(f, "%s VCPU %u was %s at step %" PRIu64 "\n",
		w->decisive ? "decisive:" : "also:", w->vcpu, how, w->step);
	if (w->before.found) {
		fprintf(f, "  VCPU %u was %s right after its %s of ", w->vcpu,
			w->pause ? "paused" : w->preemption ? "preempted" :
			"switched away from", rw_verb(w->before.rw));
		put_var(f, st, w->var);
		fputs(" at ", f);
		put_line(f, st, w->before.rip);
		fprintf(f, ", step %" PRIu64 "\n", w->before.step);
	}
	put_others(f, st, w);
	if (w->end == UINT64_MAX) {
		fprintf(f, "  VCPU %u never ran again\n", w->vcpu);
	} else if (w->after.found) {
		fprintf(f, "  VCPU %u then %s ", w->vcpu,
			w->after.rw & HB_WRITE ? "wrote" : "read");
		put_var(f, st, w->var);
		fputs(" at ", f);
		put_line(f, st, w->after.rip);
		fprintf(f, ", step %" PRIu64, w->after.step);
		if ((w->after.rw & HB_WRITE) && w->before.found &&
		    w->before.rw == HB_READ)
			fputs(", storing a value computed from its stale read", f);
		fputc('\n', f);
	} else {
		fprintf(f, "  VCPU %u went on at step %" PRIu64 "\n", w->vcpu,
			w->end);
	}
	if (w->order.found) {
		fprintf(f, "  Without this decision VCPU %u writes ", w->vcpu);
		put_var(f, st, w->var);
		fputs(" at ", f);
		put_line(f, st, w->order.rip);
		fputs(" before the others read it, and the run passes.\n", f);
		return;
	}
	fprintf(f, "  %s\n", w->decisive ?
		"Without this decision the run passes." : w->judged ?
		"The run still fails without it (another decision would do)." :
		"Not judged (interrupted).");
}

static void put_schedule(FILE *f, const struct schedule_size *z)
{
	fprintf(f, "%" PRIu64 " preemption%s and %" PRIu64 " injected pause%s",
		z->preemptions, z->preemptions == 1 ? "" : "s", z->injected,
		z->injected == 1 ? "" : "s");
}

static void put_shrunk(FILE *f, const struct analyze_result *res)
{
	fputs("schedule: ", f);
	put_schedule(f, &res->before);
	if (res->before.preemptions == res->after.preemptions &&
	    res->before.injected == res->after.injected && !res->interrupted) {
		fprintf(f, ", the fewest that fail (%u runs)\n", res->runs);
		return;
	}
	fputs(", shrunk to ", f);
	put_schedule(f, &res->after);
	fprintf(f, " (%u runs)\n", res->runs);
}

void analyze_print(FILE *f, const struct analyze_result *res)
{
	fprintf(f, "%" PRIu64 " instructions watched on %u VCPU%s: the run %s",
		res->steps, res->nr_vcpus, res->nr_vcpus == 1 ? "" : "s",
		res->failed ? "fails: " : "passes");
	if (res->failed)
		fput_text(f, res->signature);
	fputc('\n', f);
	if (res->minimized)
		put_shrunk(f, res);
	if (res->interrupted)
		fputs("interrupted: the schedule is not shrunk as far as it "
		      "goes, and the decisions are not all judged\n", f);
	if (res->undecodable)
		fprintf(f, "warning: %zu instructions could not be decoded "
			"(the first at 0x%" PRIx64 "): their accesses are not "
			"checked\n", res->undecodable, res->undecodable_rip);
	if (res->log_full || res->shadow_full)
		fprintf(f, "warning: the %s is full: later accesses are not "
			"all checked\n", res->log_full ? "access log" :
			"race detector's shadow memory");
	if (!res->nraces)
		fputs("no data race found\n", f);
	for (size_t i = 0; i < res->nraces; i++) {
		if (i == res->nraces_run)
			fputs("in the passing schedule without a decisive "
			      "decision:\n", f);
		analyze_put_race(f, res->st, &res->races[i]);
	}
	for (size_t i = 0, unjudged = 0; i < res->nwindows; i++) {
		/* An interrupted run's windows: a few, not a flood. */
		if (!res->windows[i].judged && ++unjudged > MAX_UNJUDGED) {
			fprintf(f, "... and %zu more decisions, not judged "
				"(--json lists them all)\n",
				res->nwindows - i);
			break;
		}
		analyze_print_window(f, res->st, &res->windows[i]);
	}
	if (res->failed && res->minimized && !res->nwindows &&
	    !res->interrupted)
		fputs("the smallest failing schedule has no preemption or "
		      "injected pause: the run fails without any\n", f);
}

/* --- JSON ------------------------------------------------------------- */

static void json_text(FILE *f, const char *s)
{
	fputc('"', f);
	json_str(f, (const uint8_t *)s, strlen(s));
	fputc('"', f);
}

/* "rip":N,"function":"f","file":"x.c","line":N */
static void json_code(FILE *f, const struct symtab *st, uint64_t rip)
{
	const char *fn, *file;
	uint64_t off;
	unsigned line;

	fprintf(f, "\"rip\":%" PRIu64, rip);
	fn = st ? symtab_lookup(st, rip, &off) : NULL;
	if (fn) {
		fputs(",\"function\":", f);
		json_text(f, fn);
	}
	if (!symtab_source(st, rip, &file, &line)) {
		fputs(",\"file\":", f);
		json_text(f, file);
		fprintf(f, ",\"line\":%u", line);
	}
}

static void json_var(FILE *f, const struct symtab *st, uint64_t addr)
{
	uint64_t off = 0;
	const char *name = st ? symtab_lookup(st, addr, &off) : NULL;

	fprintf(f, "\"addr\":%" PRIu64, addr);
	if (name) {
		fputs(",\"variable\":", f);
		json_text(f, name);
		fprintf(f, ",\"offset\":%" PRIu64, off);
	}
}

static void json_side(FILE *f, const struct symtab *st, const struct hb_side *s)
{
	fprintf(f, "{\"vcpu\":%u,\"step\":%" PRIu64 ",\"access\":\"%s\","
		"\"atomic\":%s,\"size\":%u,", s->thread, s->step,
		rw_verb(s->rw), s->atomic ? "true" : "false", s->size);
	json_code(f, st, s->rip);
	fputc('}', f);
}

static void json_touch(FILE *f, const struct symtab *st, const char *name,
		       const struct analyze_touch *t)
{
	if (!t->found)
		return;
	fprintf(f, ",\"%s\":{\"step\":%" PRIu64 ",\"access\":\"%s\",", name,
		t->step, rw_verb(t->rw));
	json_code(f, st, t->rip);
	fputc('}', f);
}

static void json_window(FILE *f, const struct symtab *st,
			const struct analyze_window *w)
{
	fprintf(f, "{\"kind\":\"%s\",\"decisive\":%s,\"judged\":%s,\"vcpu\":%u,"
		"\"step\":%" PRIu64, w->pause ? "pause" : w->preemption ?
		"preemption" : "switch", w->decisive ? "true" : "false",
		w->judged ? "true" : "false", w->vcpu, w->step);
	if (w->end != UINT64_MAX)
		fprintf(f, ",\"end\":%" PRIu64, w->end);
	if (w->has_var) {
		fputs(",\"on\":{", f);
		json_var(f, st, w->var);
		fputc('}', f);
	}
	json_touch(f, st, "before", &w->before);
	json_touch(f, st, "after", &w->after);
	json_touch(f, st, "passing_write", &w->order);
	fputs(",\"others\":[", f);
	for (size_t i = 0; i < w->nothers; i++) {
		const struct analyze_other *o = &w->others[i];

		fprintf(f, "%s{\"vcpu\":%u,\"reads\":%" PRIu64 ",\"writes\":%"
			PRIu64, i ? "," : "", o->vcpu, o->reads, o->writes);
		if (o->first != UINT64_MAX)
			fprintf(f, ",\"first\":%" PRIu64 ",\"last\":%" PRIu64,
				o->first, o->last);
		if (o->rip) {
			fputs(",\"at\":{", f);
			json_code(f, st, o->rip);
			fputc('}', f);
		}
		fputc('}', f);
	}
	fputs("]}", f);
}

void analyze_print_json(FILE *f, const struct analyze_result *res)
{
	fputs("{\"guest\":", f);
	json_text(f, res->guest);
	fprintf(f, ",\"vcpus\":%u,\"steps\":%" PRIu64 ",\"failed\":%s,"
		"\"signature\":", res->nr_vcpus, res->steps,
		res->failed ? "true" : "false");
	json_text(f, res->signature);
	fprintf(f, ",\"undecodable\":%zu,\"log_full\":%s,\"shadow_full\":%s",
		res->undecodable, res->log_full ? "true" : "false",
		res->shadow_full ? "true" : "false");
	if (res->undecodable)
		fprintf(f, ",\"first_undecodable_rip\":%" PRIu64,
			res->undecodable_rip);
	fputs(",\"races\":[", f);
	for (size_t i = 0; i < res->nraces; i++) {
		const struct hb_race *r = &res->races[i];

		fprintf(f, "%s{", i ? "," : "");
		json_var(f, res->st, r->addr);
		fprintf(f, ",\"count\":%" PRIu64 ",\"in_failing_run\":%s,"
			"\"first\":", r->count, i < res->nraces_run ? "true" :
			"false");
		json_side(f, res->st, &r->first);
		fputs(",\"second\":", f);
		json_side(f, res->st, &r->second);
		fputc('}', f);
	}
	fputs("],\"decisions\":[", f);
	for (size_t i = 0; i < res->nwindows; i++) {
		if (i)
			fputc(',', f);
		json_window(f, res->st, &res->windows[i]);
	}
	fprintf(f, "],\"runs\":%u", res->runs);
	if (res->minimized)
		fprintf(f, ",\"preemptions_before\":%" PRIu64 ",\"preemptions_after\":%"
			PRIu64 ",\"injected_before\":%" PRIu64 ",\"injected_after\":%"
			PRIu64, res->before.preemptions, res->after.preemptions,
			res->before.injected, res->after.injected);
	fprintf(f, ",\"interrupted\":%s,\"seconds\":%.3f}\n",
		res->interrupted ? "true" : "false", res->seconds);
}
