/* vcprr export --format html: one self-contained page (no network) with an
 * SVG timeline drawn by a small script from data embedded in the page: a
 * lane per VCPU with its states (inspect-states.h), pauses coloured by
 * request, signals, kicks and requests as ticks; zoom by time range (the
 * form, or drag across the timeline; double-click resets); hovering shows
 * the event.
 *
 * Two streaming passes: the first sizes the trace, the second writes the
 * data.  When a trace has too many exits and ticks to draw one by one,
 * exits become a per-lane density and ticks are left out (the page says
 * so), which keeps the page and the memory bounded. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tools/inspect-pauses.h"
#include "tools/inspect-priv.h"
#include "tools/inspect-states.h"

#define HTML_MAX_POINTS 40000   /* exits + ticks drawn one by one */
#define HTML_BINS       1000    /* density bins per lane otherwise */

enum { K_RUNNING, K_PAUSED, K_HALTED, K_EXIT, K_SIGNAL, K_KICK, K_DENSITY,
       K_OTHER, K_REQUEST };

struct html {
	FILE *f;
	const struct symtab *syms;
	uint64_t t0, tend;
	bool binned;
	uint32_t *bins[INSPECT_MAX_VCPUS];
	uint64_t points, lanes;
};

/* A JS string literal body: also escapes '<' so no "</script>" ends the
 * script early. */
static void js_str(FILE *f, const char *s)
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

static void event_text(const struct html *h, char *buf, size_t len,
		       const struct trace_event *ev)
{
	struct ifmt fmt = { .syms = h->syms, .t0 = h->t0 };
	FILE *m = fmemopen(buf, len, "w");

	buf[0] = '\0';
	if (!m)
		return;
	ifmt_text(m, &fmt, ev, NULL);  /* payloads are not shown */
	fclose(m);
	buf[len - 1] = '\0';
}

static void item(struct html *h, int kind, uint32_t lane, uint64_t t0,
		 uint64_t t1, uint64_t key, const char *text)
{
	fprintf(h->f, "[%d,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",\"", kind,
		lane, t0 > h->t0 ? t0 - h->t0 : 0, t1 > h->t0 ? t1 - h->t0 : 0,
		key);
	js_str(h->f, text);
	fputs("\"],\n", h->f);
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
	uint64_t b = (uint64_t)((unsigned __int128)(t > h->t0 ? t - h->t0 : 0) *
				HTML_BINS / span);

	if (lane >= INSPECT_MAX_VCPUS)
		return;
	if (!h->bins[lane])
		h->bins[lane] = calloc(HTML_BINS, sizeof(uint32_t));
	if (h->bins[lane])
		h->bins[lane][b < HTML_BINS ? b : HTML_BINS - 1]++;
}

static void on_slice(void *ctx, const struct state_slice *s)
{
	static const int kinds[] = { [VS_RUNNING] = K_RUNNING,
		[VS_IN_EXIT] = K_EXIT, [VS_PAUSED] = K_PAUSED,
		[VS_HALTED] = K_HALTED };
	struct html *h = ctx;
	char ev[700], text[900], d[32];

	if (s->st == VS_IN_EXIT && h->binned) {
		bin(h, s->vcpu, s->start);
		return;
	}
	event_text(h, ev, sizeof(ev), s->first);
	snprintf(text, sizeof(text), "vcpu %u %s for %s\nfrom: %s", s->vcpu,
		 vstate_name(s->st), fmt_dur(d, sizeof(d), s->end - s->start),
		 ev);
	item(h, kinds[s->st], s->vcpu, s->start, s->end,
	     s->st == VS_PAUSED ? s->first->a1 : 0, text);
}

static void on_instant(void *ctx, const struct trace_event *ev)
{
	struct html *h = ctx;
	char text[700];
	int kind = ev->type == TEV_SIGNAL_SENT ? K_SIGNAL :
		   ev->type == TEV_KICK ? K_KICK : K_OTHER;

	if (ev->vcpu == TRACE_VCPU_NONE || (h->binned && kind != K_OTHER))
		return;
	event_text(h, text, sizeof(text), ev);
	item(h, kind, ev->vcpu, ev->time_ns, ev->time_ns, 0, text);
}

static void on_new_vcpu(void *ctx, uint32_t vcpu)
{
	struct html *h = ctx;

	if (vcpu + 1 > h->lanes)
		h->lanes = vcpu + 1;
}

static void on_life(void *ctx, const struct pause_life *l)
{
	struct html *h = ctx;
	char text[400], d[32];

	if (h->binned || !pstep_ok(&l->request))
		return;
	if (pstep_ok(&l->taken))
		snprintf(text, sizeof(text), "pause request %u:%" PRIu64
			 " data=0x%" PRIx64 " (#%" PRIu64 ")\n%s as %u:%" PRIu64
			 " after %s", l->vcpu, l->req_seq, l->data,
			 l->request.seq, pstep_ok(&l->coalesced) ?
			 "coalesced, taken" : "taken", l->vcpu, l->into,
			 fmt_dur(d, sizeof(d), l->taken.time - l->request.time));
	else
		snprintf(text, sizeof(text), "pause request %u:%" PRIu64
			 " data=0x%" PRIx64 " (#%" PRIu64 ")\nnever taken",
			 l->vcpu, l->req_seq, l->data, l->request.seq);
	item(h, K_REQUEST, l->vcpu, l->request.time, l->request.time,
	     l->into ? l->into : l->req_seq, text);
}

static void flush_bins(struct html *h)
{
	uint64_t span = h->tend > h->t0 ? h->tend - h->t0 : 1;

	for (uint32_t v = 0; v < INSPECT_MAX_VCPUS; v++) {
		if (!h->bins[v])
			continue;
		for (uint64_t b = 0; b < HTML_BINS; b++) {
			char text[64];

			if (!h->bins[v][b])
				continue;
			snprintf(text, sizeof(text), "vcpu %u: %u exits", v,
				 h->bins[v][b]);
			item(h, K_DENSITY, v, bin_time(h->t0, span, b),
			     bin_time(h->t0, span, b + 1), h->bins[v][b], text);
		}
		free(h->bins[v]);
	}
}

/* Pass 1: the time span and how many things there would be to draw. */
static int size_up(struct itrace *t, struct html *h)
{
	struct trace_event ev;
	int ret;

	h->tend = t->t0;
	while ((ret = itrace_next(t, &ev, NULL)) == 1) {
		h->tend = ev.time_ns > h->tend ? ev.time_ns : h->tend;
		if ((ev.type >= TEV_SIGNAL_SENT && ev.type <= TEV_KICK) ||
		    (ev.type >= TEV_EXIT_PIO && ev.type <= TEV_EXIT_DEBUG) ||
		    ev.type == TEV_HYPERCALL || ev.type == TEV_PAUSE_REQUEST)
			h->points++;
	}
	h->binned = h->points > HTML_MAX_POINTS;
	return ret < 0 ? -1 : itrace_seek(t, false, 0);
}

static const struct state_ops html_ops = {
	.slice = on_slice, .instant = on_instant, .new_vcpu = on_new_vcpu,
};

static int write_data(struct itrace *t, struct html *h)
{
	struct pause_tracker *pt = pause_tracker_new(on_life, h);
	struct states *st = states_new(&html_ops, h);
	struct trace_event ev;
	int ret = -1;

	if (pt && st)
		while ((ret = itrace_next(t, &ev, NULL)) == 1) {
			pause_tracker_feed(pt, &ev);
			states_feed(st, &ev);
		}
	if (pt)
		pause_tracker_finish(pt);
	states_finish(st, h->tend);
	pause_tracker_free(pt);
	flush_bins(h);
	return ret;
}

/* export-html-page.c */
extern const char html_page_head[], html_page_script[];

static void write_meta(struct itrace *t, struct html *h)
{
	const struct run_desc *rd = &t->desc;
	char info[2048], state[128], d[32];

	itrace_state(t, state, sizeof(state));
	snprintf(info, sizeof(info), "%s: guest %s, mode %s, seed %" PRIu64
		 ", %u VCPUs, %s, %s%s", t->path, rd->guest.path,
		 sched_mode_name(rd->sched.mode), rd->sched.seed, rd->nr_vcpus,
		 fmt_dur(d, sizeof(d), h->tend - h->t0),
		 state, h->binned ? "; too many exits to draw one by one: "
		 "exits shown as density, signals/kicks/requests left out" : "");
	fputs("const META={info:\"", h->f);
	js_str(h->f, info);
	fprintf(h->f, "\",lanes:%" PRIu64 ",span:%" PRIu64 "};\n", h->lanes,
		h->tend - h->t0);
}

int export_html(struct itrace *t, FILE *out, const struct symtab *syms)
{
	struct html *h = calloc(1, sizeof(*h));
	int ret = -1;

	if (!h)
		return INSPECT_BAD_INPUT;
	h->f = out;
	h->syms = syms;
	h->t0 = t->t0;
	if (size_up(t, h) < 0)
		goto out;
	h->lanes = t->desc.nr_vcpus < INSPECT_MAX_VCPUS ? t->desc.nr_vcpus : 0;
	fputs(html_page_head, out);
	fputs("<script>\nconst D=[\n", out);
	ret = write_data(t, h);
	fputs("];\n", out);
	write_meta(t, h);   /* after the data: the lane count is known */
	fputs(html_page_script, out);
	itrace_note_truncation(t);
out:
	free(h);
	return ret < 0 ? INSPECT_BAD_INPUT : INSPECT_OK;
}
