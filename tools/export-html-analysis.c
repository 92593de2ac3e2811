/* What vcprr analyze found, on the HTML timeline (see export-html.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tools/analyze-names.h"
#include "tools/export-html.h"

struct html_point *html_points(const struct analyze_result *an, size_t *n)
{
	size_t nr = an->nraces_run, np = 2 * nr + 2 * an->nwindows;
	struct html_point *p = calloc(np ? np : 1, sizeof(*p));

	*n = p ? np : 0;
	if (!p)
		return NULL;
	for (size_t i = 0; i < nr; i++) {
		const struct hb_race *r = &an->races[i];

		p[2 * i] = (struct html_point){ .vcpu = r->first.thread,
						.step = r->first.step, .mid = true };
		p[2 * i + 1] = (struct html_point){ .vcpu = r->second.thread,
						    .step = r->second.step,
						    .mid = true };
	}
	for (size_t j = 0; j < an->nwindows; j++) {
		const struct analyze_window *w = &an->windows[j];

		p[2 * nr + 2 * j] = (struct html_point){ .vcpu = HTML_ANY_VCPU,
							 .step = w->step };
		p[2 * nr + 2 * j + 1] = (struct html_point){
			.vcpu = HTML_ANY_VCPU, .step = w->end };
	}
	return p;
}

bool html_point_time(const struct html_point *p, const struct hold_slice *s,
		     uint64_t last_step, uint64_t *t)
{
	uint64_t out = s->step_out, end = s->end;

	if (s->how == HOLD_ONGOING) {
		/* Still held at the end: it ran to the last step, and its
		 * last own event, not the teardown after, ends it. */
		out = last_step + 1;
		if (s->where && s->where->time_ns >= s->start)
			end = s->where->time_ns;
	}
	if ((p->vcpu != HTML_ANY_VCPU && p->vcpu != s->vcpu) ||
	    p->step < s->step_in || p->step >= out || out <= s->step_in)
		return false;
	*t = s->start + (uint64_t)((double)(end - s->start) *
		((double)(p->step - s->step_in) + (p->mid ? 0.5 : 0)) /
		(double)(out - s->step_in));
	return true;
}

/* A string from a printer writing to a FILE (NULL when out of memory). */
static char *text_of(void (*put)(FILE *, const struct symtab *, const void *),
		     const struct symtab *st, const void *what)
{
	char *buf = NULL;
	size_t len;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		return NULL;
	put(m, st, what);
	fclose(m);
	return buf;
}

static void put_race(FILE *f, const struct symtab *st, const void *r)
{
	analyze_put_race(f, st, r);
}

static void put_window(FILE *f, const struct symtab *st, const void *w)
{
	analyze_print_window(f, st, w);
}

static void put_data(FILE *f, const struct symtab *st, const void *addr)
{
	analyze_put_data(f, st, *(const uint64_t *)addr);
}

static void put_code(FILE *f, const struct symtab *st, const void *rip)
{
	analyze_put_code(f, st, *(const uint64_t *)rip);
}

static void meta_text(FILE *f, const char *key, char *s)
{
	fprintf(f, "%s:\"", key);
	html_js_str(f, s ? s : "");
	fputc('"', f);
	free(s);
}

static const char *access_name(const struct hb_side *s)
{
	return s->rw == (HB_READ | HB_WRITE) ? "read-modify-write" :
	       s->rw & HB_WRITE ? "write" : "read";
}

static void meta_side(FILE *f, const struct symtab *st, const struct hb_side *s,
		      size_t point)
{
	const char *file;
	unsigned line;
	char where[4200] = "";

	if (!symtab_source(st, s->rip, &file, &line))
		snprintf(where, sizeof(where), "%s:%u", file, line);
	fprintf(f, "{vcpu:%u,step:%" PRIu64 ",access:\"%s%s\",size:%u,p:%zu,",
		s->thread, s->step, s->atomic ? "atomic " : "", access_name(s),
		s->size, point);
	meta_text(f, "code", text_of(put_code, st, &s->rip));
	fputc(',', f);
	meta_text(f, "source", strdup(where));
	fputc('}', f);
}

static void meta_races(FILE *f, const struct analyze_result *an)
{
	fputs("races:[", f);
	for (size_t i = 0; i < an->nraces_run; i++) {
		const struct hb_race *r = &an->races[i];

		fprintf(f, "%s\n{count:%" PRIu64 ",", i ? "," : "", r->count);
		meta_text(f, "variable", text_of(put_data, an->st, &r->addr));
		fputc(',', f);
		meta_text(f, "text", text_of(put_race, an->st, r));
		fputs(",sides:[", f);
		meta_side(f, an->st, &r->first, 2 * i);
		fputc(',', f);
		meta_side(f, an->st, &r->second, 2 * i + 1);
		fputs("]}", f);
	}
	fputs("],\n", f);
}

static void meta_decisions(FILE *f, const struct analyze_result *an)
{
	size_t base = 2 * an->nraces_run;

	fputs("decisions:[", f);
	for (size_t j = 0; j < an->nwindows; j++) {
		const struct analyze_window *w = &an->windows[j];

		fprintf(f, "%s\n{vcpu:%u,step:%" PRIu64 ",end:%" PRId64
			",kind:\"%s\",decisive:%s,p0:%zu,p1:%zu,", j ? "," : "",
			w->vcpu, w->step, w->end == UINT64_MAX ? -1 :
			(int64_t)w->end, w->pause ? "pause" : w->preemption ?
			"preemption" : "switch", w->decisive ? "true" : "false",
			base + 2 * j, base + 2 * j + 1);
		meta_text(f, "text", text_of(put_window, an->st, w));
		fputc('}', f);
	}
	fputs("],\n", f);
}

void html_analysis_meta(FILE *f, const struct analyze_result *an)
{
	if (!an) {
		fputs("analysis:null,\n", f);
		return;
	}
	fprintf(f, "analysis:{failed:%s,steps:%" PRIu64 ",others:%zu,",
		an->failed ? "true" : "false", an->steps,
		an->nraces - an->nraces_run);
	meta_text(f, "signature", strdup(an->signature));
	fputs(",\n", f);
	meta_races(f, an);
	meta_decisions(f, an);
	fputs("},\n", f);
}
