/* vcprr export --format html: one self-contained page (no network) whose
 * script (export-html-page.c) draws the timeline from data embedded in it.
 *
 * The data is one JSON array of rows, written in one streaming pass:
 *   [0, seq, t, vcpu, type, "fields"]            an event, its fields
 *                                                 decoded as dump prints them
 *   [1, vcpu, t0, t1, state, seq, nevents]        a state (inspect-states.h)
 *   [2, vcpu, t0, t1, step_in, step_out, how, to, seq_in, seq_out, where]
 *                                                 a stretch holding the CPU
 *   [3, vcpu, req, into, "data", request, signal, kick, coalesced, taken,
 *       resume_request, resumed]                  a pause request's life
 *   [4, seq, kind, "message"]                     the failure, the run's end
 *   [5, vcpu, t0, t1, count]                      exits in a density bin
 *   [6, point, t]                                 a step of the analysis
 *                                                 (export-html.h) placed
 * Times are ns since the first event; a missing VCPU or sequence number
 * is -1.  A first pass sizes the trace: past HTML_MAX_EVENTS events the
 * exits are left out of the rows and drawn as a density per VCPU, which
 * keeps the page and the memory bounded. */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tools/export-html.h"
#include "tools/inspect-holds.h"
#include "tools/inspect-pauses.h"
#include "tools/inspect-priv.h"
#include "tools/inspect-states.h"
#include "tools/outfile.h"
#include "tools/symbols.h"
#include "tools/u64-map.h"
#include "traces/event-format.h"

#define HTML_MAX_EVENTS 200000  /* events listed one by one */
#define HTML_BINS       1000    /* density bins per VCPU otherwise */

enum { ROW_EVENT, ROW_STATE, ROW_HOLD, ROW_LIFE, ROW_MARK, ROW_DENSITY,
       ROW_POINT };

/* A running stretch being merged over the exits of a binned trace. */
struct run_merge {
	bool open;
	uint64_t start, end, seq;
};

struct html {
	FILE *f;
	struct ifmt fmt;
	uint64_t t0, tend;
	uint64_t events, exits, listed;
	bool binned;
	uint32_t *bins[INSPECT_MAX_VCPUS];
	struct run_merge *merge[INSPECT_MAX_VCPUS];
	uint64_t lanes, rows;
	struct u64_map rips;        /* the listed events' RIPs (META.lines) */
	const struct analyze_result *an;   /* NULL: no analysis */
	const char *title;
	struct html_point *points;
	size_t npoints;
	char fields[8192];
};

/* Source lines for at most this many distinct RIPs (a long trace of a
 * big guest would otherwise carry its whole line table). */
#define LINES_MAX 65536

/* Starts a row of the JSON array (rows are separated, not terminated). */
static void row(struct html *h, int kind)
{
	fprintf(h->f, "%s[%d", h->rows++ ? ",\n" : "", kind);
}

void html_js_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20 || c >= 0x7f || c == '<' || c == '>' ||
			 c == '&')
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

static uint64_t rel(const struct html *h, uint64_t t)
{
	return t > h->t0 ? t - h->t0 : 0;
}

/* A sequence number or -1. */
static void seq_col(FILE *f, uint64_t seq)
{
	if (seq == PSTEP_NONE)
		fputs(",-1", f);
	else
		fprintf(f, ",%" PRIu64, seq);
}

static void vcpu_col(FILE *f, uint64_t vcpu)
{
	if (vcpu >= INSPECT_MAX_VCPUS)
		fputs(",-1", f);
	else
		fprintf(f, ",%" PRIu64, vcpu);
}

static bool is_exit(uint32_t type)
{
	return (type >= TEV_EXIT_PIO && type <= TEV_EXIT_DEBUG) ||
	       type == TEV_HYPERCALL;
}

static void write_event(struct html *h, const struct trace_event *ev,
			const uint8_t *pl)
{
	FILE *m = fmemopen(h->fields, sizeof(h->fields), "w");

	h->fields[0] = '\0';
	if (m) {
		ifmt_fields(m, &h->fmt, ev, pl);
		fclose(m);
	}
	h->fields[sizeof(h->fields) - 1] = '\0';
	row(h, ROW_EVENT);
	fprintf(h->f, ",%" PRIu64 ",%" PRIu64, ev->seq, rel(h, ev->time_ns));
	vcpu_col(h->f, ev->vcpu);
	fprintf(h->f, ",%u,\"", ev->type);
	html_js_str(h->f, h->fields[0] == ' ' ? h->fields + 1 : h->fields);
	fputs("\"]", h->f);
	h->listed++;
	if (ev->rip && h->fmt.syms && h->rips.n < LINES_MAX)
		u64_map_slot(&h->rips, ev->rip, true);
}

static void write_mark(struct html *h, const struct trace_event *ev,
		       const uint8_t *pl)
{
	char msg[600];
	enum tev_mark k = tev_mark(msg, sizeof(msg), ev, pl);

	if (k == TMARK_NONE)
		return;
	row(h, ROW_MARK);
	fprintf(h->f, ",%" PRIu64 ",%d,\"", ev->seq, (int)k);
	html_js_str(h->f, msg);
	fputs("\"]", h->f);
}

static void write_state(struct html *h, uint32_t vcpu, uint64_t t0,
			uint64_t t1, enum vstate st, uint64_t seq,
			uint32_t nevents)
{
	row(h, ROW_STATE);
	fprintf(h->f, ",%u,%" PRIu64 ",%" PRIu64 ",%d,%" PRIu64 ",%u]", vcpu,
		rel(h, t0), rel(h, t1), (int)st, seq, nevents);
}

/* t0 + @span * @num / HTML_BINS without overflow (times may be anything
 * in a hostile trace). */
static uint64_t bin_time(uint64_t t0, uint64_t span, uint64_t num)
{
	return t0 + (uint64_t)((unsigned __int128)span * num / HTML_BINS);
}

static void bin(struct html *h, uint32_t lane, uint64_t t)
{
	uint64_t span = h->tend > h->t0 ? h->tend - h->t0 : 1;
	uint64_t b = (uint64_t)((unsigned __int128)rel(h, t) * HTML_BINS /
				span);

	if (!h->bins[lane])
		h->bins[lane] = calloc(HTML_BINS, sizeof(uint32_t));
	if (h->bins[lane])
		h->bins[lane][b < HTML_BINS ? b : HTML_BINS - 1]++;
}

static void merge_flush(struct html *h, uint32_t vcpu)
{
	struct run_merge *m = h->merge[vcpu];

	if (!m || !m->open)
		return;
	write_state(h, vcpu, m->start, m->end, VS_RUNNING, m->seq, 0);
	m->open = false;
}

/* Binned: a running stretch goes on over the exits in it (the exits are
 * in the density), so that the rows stay as few as the pauses. */
static void merge_running(struct html *h, const struct state_slice *s)
{
	struct run_merge *m = h->merge[s->vcpu];

	if (!m)
		m = h->merge[s->vcpu] = calloc(1, sizeof(*m));
	if (!m) {
		write_state(h, s->vcpu, s->start, s->end, s->st,
			    s->first->seq, s->nevents);
		return;
	}
	if (s->st == VS_IN_EXIT)
		bin(h, s->vcpu, s->start);
	if (m->open && m->end == s->start) {
		m->end = s->end;
		return;
	}
	merge_flush(h, s->vcpu);
	*m = (struct run_merge){ .open = true, .start = s->start,
				 .end = s->end, .seq = s->first->seq };
}

static void on_slice(void *ctx, const struct state_slice *s)
{
	struct html *h = ctx;

	if (h->binned && (s->st == VS_RUNNING || s->st == VS_IN_EXIT)) {
		merge_running(h, s);
		return;
	}
	if (h->binned)
		merge_flush(h, s->vcpu);
	write_state(h, s->vcpu, s->start, s->end, s->st, s->first->seq,
		    s->nevents);
}

static void on_instant(void *ctx, const struct trace_event *ev)
{
	/* events are rows of their own */
}

static void on_new_vcpu(void *ctx, uint32_t vcpu)
{
	struct html *h = ctx;

	if (vcpu + 1 > h->lanes)
		h->lanes = vcpu + 1;
}

/* The analysis' steps this slice ran, in time. */
static void place_points(struct html *h, const struct hold_slice *s)
{
	uint64_t t;

	for (size_t i = 0; i < h->npoints; i++) {
		struct html_point *p = &h->points[i];

		if (p->placed ||
		    !html_point_time(p, s, h->an->last_step, &t))
			continue;
		p->placed = true;
		row(h, ROW_POINT);
		fprintf(h->f, ",%zu,%" PRIu64 "]", i, rel(h, t));
	}
}

static void on_hold(void *ctx, const struct hold_slice *s)
{
	struct html *h = ctx;

	row(h, ROW_HOLD);
	fprintf(h->f, ",%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%d",
		s->vcpu, rel(h, s->start), rel(h, s->end), s->step_in,
		s->step_out, (int)s->how);
	vcpu_col(h->f, s->to);
	seq_col(h->f, s->seq_in);
	seq_col(h->f, s->seq_out);
	seq_col(h->f, s->where ? s->where->seq : PSTEP_NONE);
	fputc(']', h->f);
	place_points(h, s);
}

static void on_life(void *ctx, const struct pause_life *l)
{
	struct html *h = ctx;
	const struct pstep *steps[] = { &l->request, &l->signal, &l->kick,
		&l->coalesced, &l->taken, &l->resume_request, &l->resumed };

	row(h, ROW_LIFE);
	fprintf(h->f, ",%u,%" PRIu64 ",%" PRIu64 ",\"0x%" PRIx64 "\"",
		l->vcpu, l->req_seq, l->into, l->data);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		seq_col(h->f, steps[i]->seq);
	fputc(']', h->f);
}

static void flush_bins(struct html *h)
{
	uint64_t span = h->tend > h->t0 ? h->tend - h->t0 : 1;

	for (uint32_t v = 0; v < INSPECT_MAX_VCPUS; v++) {
		merge_flush(h, v);
		free(h->merge[v]);
		if (!h->bins[v])
			continue;
		for (uint64_t b = 0; b < HTML_BINS; b++) {
			if (!h->bins[v][b])
				continue;
			row(h, ROW_DENSITY);
			fprintf(h->f, ",%u,%" PRIu64 ",%" PRIu64 ",%u]", v,
				rel(h, bin_time(h->t0, span, b)),
				rel(h, bin_time(h->t0, span, b + 1)),
				h->bins[v][b]);
		}
		free(h->bins[v]);
	}
}

/* Pass 1: the time span and how many events there would be to list. */
static int size_up(struct itrace *t, struct html *h)
{
	struct trace_event ev;
	int ret;

	h->tend = t->t0;
	while ((ret = itrace_next(t, &ev, NULL)) == 1) {
		h->tend = ev.time_ns > h->tend ? ev.time_ns : h->tend;
		h->events++;
		h->exits += is_exit(ev.type);
	}
	h->binned = h->events > HTML_MAX_EVENTS;
	return ret < 0 ? -1 : itrace_seek(t, false, 0);
}

static const struct state_ops html_ops = {
	.slice = on_slice, .instant = on_instant, .new_vcpu = on_new_vcpu,
};

static void feed(struct html *h, const struct trace_event *ev,
		 const uint8_t *pl)
{
	bool listed = !(h->binned && is_exit(ev->type)) &&
		      h->listed < HTML_MAX_EVENTS;

	if (listed)
		write_event(h, ev, pl);
	write_mark(h, ev, pl);
}

static int write_data(struct itrace *t, struct html *h)
{
	struct pause_tracker *pt = pause_tracker_new(on_life, h);
	struct states *st = states_new(&html_ops, h);
	struct holds *hs = NULL;
	struct trace_event ev;
	const uint8_t *pl;
	int ret = -1;

	if (t->desc.sched.mode != VM_SCHED_PARALLEL)
		hs = holds_new(on_hold, h);
	if (pt && st)
		while ((ret = itrace_next(t, &ev, &pl)) == 1) {
			feed(h, &ev, pl);
			pause_tracker_feed(pt, &ev);
			states_feed(st, &ev);
			if (hs)
				holds_feed(hs, &ev);
		}
	if (pt)
		pause_tracker_finish(pt);
	states_finish(st, h->tend);
	holds_finish(hs, h->tend);
	pause_tracker_free(pt);
	flush_bins(h);
	return ret;
}

/* export-html-page.c */
extern const char html_page_head[], html_page_script[];

static void write_types(FILE *f)
{
	fputs("const TYPES=[", f);
	for (uint32_t i = 0; i < TEV__COUNT; i++)
		fprintf(f, "%s\"%s\"", i ? "," : "", trace_event_name(i) ?: "");
	fputs("];\n", f);
}

static void meta_str(FILE *f, const char *key, const char *v)
{
	fprintf(f, "%s:\"", key);
	html_js_str(f, v);
	fputs("\",\n", f);
}

/* lines: rip -> "file:line" from the guest's DWARF line table, for the
 * RIPs the listed events name (the page shows them in the details). */
static void write_lines(struct html *h)
{
	const char *file;
	unsigned line;
	bool first = true;
	char where[PATH_MAX + 16];

	fputs("lines:{", h->f);
	for (size_t i = 0; i < h->rips.cap; i++) {
		if (!h->rips.used[i] ||
		    symtab_source(h->fmt.syms, h->rips.keys[i], &file, &line))
			continue;
		snprintf(where, sizeof(where), "%s:%u", file, line);
		fprintf(h->f, "%s\"0x%" PRIx64 "\":\"", first ? "" : ",",
			h->rips.keys[i]);
		html_js_str(h->f, where);
		fputc('"', h->f);
		first = false;
	}
	fputs("}\n", h->f);
}

static void write_meta(struct itrace *t, struct html *h)
{
	const struct run_desc *rd = &t->desc;
	char state[128], note[256] = "";

	itrace_state(t, state, sizeof(state));
	if (h->binned)
		snprintf(note, sizeof(note), "%" PRIu64 " events: the %" PRIu64
			 " exits are drawn as a density and left out of the "
			 "list (vcprr inspect dump shows them)", h->events,
			 h->exits);
	fputs("const META={\n", h->f);
	meta_str(h->f, "trace", h->title ? h->title : t->path);
	meta_str(h->f, "guest", rd->guest.path);
	meta_str(h->f, "mode", sched_mode_name(rd->sched.mode));
	meta_str(h->f, "state", state);
	meta_str(h->f, "note", note);
	fprintf(h->f, "seed:\"%" PRIu64 "\",vcpus:%u,lanes:%" PRIu64
		",span:%" PRIu64 ",events:%" PRIu64 ",listed:%" PRIu64
		",binned:%s,\n", rd->sched.seed, rd->nr_vcpus, h->lanes,
		h->tend - h->t0, h->events, h->listed,
		h->binned ? "true" : "false");
	html_analysis_meta(h->f, h->an);
	write_lines(h);
	fputs("};\n", h->f);
	write_types(h->f);
}

int export_html(struct itrace *t, FILE *out, const struct symtab *syms)
{
	return export_html_analysis(t, out, syms, NULL, NULL);
}

int export_html_analysis(struct itrace *t, FILE *out, const struct symtab *syms,
			 const struct analyze_result *an, const char *title)
{
	struct html *h = calloc(1, sizeof(*h));
	int ret = -1;

	if (!h)
		return INSPECT_BAD_INPUT;
	h->an = an;
	h->title = title;
	if (an && !(h->points = html_points(an, &h->npoints)))
		goto out;
	h->f = out;
	h->fmt = (struct ifmt){ .syms = syms, .t0 = t->t0 };
	h->t0 = t->t0;
	if (size_up(t, h) < 0)
		goto out;
	h->lanes = t->desc.nr_vcpus < INSPECT_MAX_VCPUS ? t->desc.nr_vcpus : 0;
	fputs(html_page_head, out);
	/* JSON, not a script: the browser parses it several times faster */
	fputs("<script type=\"application/json\" id=\"data\">[\n", out);
	ret = write_data(t, h);
	fputs("\n]</script>\n<script>\n", out);
	write_meta(t, h);   /* after the data: the lane count is known */
	fputs("</script>\n<script>\n", out);
	fputs(html_page_script, out);
	fputs("</script>\n</body></html>\n", out);
	itrace_note_truncation(t);
out:
	u64_map_free(&h->rips);
	free(h->points);
	free(h);
	return ret < 0 ? INSPECT_BAD_INPUT : INSPECT_OK;
}

int export_html_file(const char *cmd, const char *path, const char *out,
		     bool replace, const struct symtab *st,
		     const struct analyze_result *an, const char *title)
{
	struct outfile of;
	struct itrace t;
	int ret;

	if (itrace_open(&t, path, cmd))
		return -1;
	if (outfile_open(&of, cmd, out, replace)) {
		itrace_close(&t);
		return -1;
	}
	ret = export_html_analysis(&t, of.f, st, an, title);
	if (ret)
		outfile_abort(&of);
	else if (outfile_commit(&of))
		ret = -1;
	itrace_close(&t);
	return ret ? -1 : 0;
}
