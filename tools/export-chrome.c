/* vcprr export --format chrome: Chrome Trace Event JSON (the object form
 * with "traceEvents") that ui.perfetto.dev and chrome://tracing open.
 *
 * Process 1 is the guest: a thread per VCPU with its states as slices
 * (inspect-states.h) and, in serial and step traces, a thread per VCPU with
 * the stretches it held the CPU (inspect-holds.h); a "vm" thread for
 * VM-wide events.  Process 2 is the controller: a thread per target VCPU
 * with its pause requests, signals and resume requests.  Every event is an
 * instant on its thread whose args are its decoded fields (as inspect dump
 * --json prints them); the failure and the end of the run are named by
 * their message and repeated as global instants.  Each pause request's
 * life is a flow (ph s/t/f, id = the request's sequence number): request
 * -> signal -> taken -> resumed, binding to those instants.
 *
 * Everything is written as it completes (the format does not need time
 * order), so memory is bounded by the number of VCPUs, not the trace. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tools/inspect-holds.h"
#include "tools/inspect-pauses.h"
#include "tools/inspect-priv.h"
#include "tools/inspect-states.h"
#include "traces/event-format.h"

#define PID_GUEST 1
#define PID_CTL   2
#define TID_HOLDS 0x100000u   /* + VCPU: its "holds the CPU" thread */

struct chrome {
	FILE *f;
	uint64_t t0;
	bool comma, serial, failure_marked;
	struct ifmt fmt;
};

/* Microseconds with ns precision, relative to the first event. */
static void ts(struct chrome *c, const char *key, uint64_t t)
{
	uint64_t d = t > c->t0 ? t - c->t0 : 0;

	fprintf(c->f, ",\"%s\":%" PRIu64 ".%03u", key, d / 1000,
		(unsigned)(d % 1000));
}

static void dur(struct chrome *c, uint64_t start, uint64_t end)
{
	ts(c, "dur", c->t0 + (end > start ? end - start : 0));
}

static void begin(struct chrome *c, const char *ph, int pid, uint32_t tid)
{
	fprintf(c->f, "%s\n{\"ph\":\"%s\",\"pid\":%d,\"tid\":%u", c->comma ?
		"," : "", ph, pid, tid);
	c->comma = true;
}

static void name_str(struct chrome *c, const char *s)
{
	fputs(",\"name\":\"", c->f);
	json_str(c->f, (const uint8_t *)s, strlen(s));
	fputc('"', c->f);
}

static void name_thread(struct chrome *c, int pid, uint32_t tid,
			const char *name, uint32_t sort)
{
	begin(c, "M", pid, tid);
	fputs(",\"name\":\"thread_name\",\"args\":{\"name\":\"", c->f);
	json_str(c->f, (const uint8_t *)name, strlen(name));
	fputs("\"}}", c->f);
	begin(c, "M", pid, tid);
	fprintf(c->f, ",\"name\":\"thread_sort_index\",\"args\":"
		"{\"sort_index\":%u}}", sort);
}

static void on_new_vcpu(void *ctx, uint32_t vcpu)
{
	struct chrome *c = ctx;
	char name[64];

	snprintf(name, sizeof(name), "vcpu %u", vcpu);
	name_thread(c, PID_GUEST, vcpu + 1, name, 2 * vcpu + 1);
	if (c->serial) {
		snprintf(name, sizeof(name), "vcpu %u holds the CPU", vcpu);
		name_thread(c, PID_GUEST, TID_HOLDS + vcpu, name, 2 * vcpu + 2);
	}
	snprintf(name, sizeof(name), "requests to vcpu %u", vcpu);
	name_thread(c, PID_CTL, vcpu + 1, name, vcpu + 1);
}

/* "PIO out 0x3f8", "MMIO write 0xd0000000", "HYPERCALL 8", ... */
static void exit_name(char *buf, size_t len, const struct trace_event *e)
{
	switch (e->type) {
	case TEV_EXIT_PIO:
		snprintf(buf, len, "PIO %s 0x%" PRIx64,
			 tev_access_write(e->a1) ? "out" : "in", e->a0);
		break;
	case TEV_EXIT_MMIO:
		snprintf(buf, len, "MMIO %s 0x%" PRIx64,
			 tev_access_write(e->a1) ? "write" : "read", e->a0);
		break;
	case TEV_HYPERCALL:
		snprintf(buf, len, "HYPERCALL %" PRIu64, e->a0);
		break;
	default:
		snprintf(buf, len, "%s", trace_event_name(e->type) ?: "?");
	}
}

static void on_slice(void *ctx, const struct state_slice *s)
{
	struct chrome *c = ctx;
	const struct trace_event *e = s->first;
	char name[64];

	if (s->st == VS_IN_EXIT)
		exit_name(name, sizeof(name), e);
	else if (s->st == VS_RUNNING && c->serial)
		snprintf(name, sizeof(name), "runnable");
	else
		snprintf(name, sizeof(name), "%s", vstate_name(s->st));
	begin(c, "X", PID_GUEST, s->vcpu + 1);
	fprintf(c->f, ",\"cat\":\"state\"");
	name_str(c, name);
	ts(c, "ts", s->start);
	dur(c, s->start, s->end);
	fprintf(c->f, ",\"args\":{\"state\":\"%s\",\"from_seq\":%" PRIu64,
		vstate_name(s->st), e->seq);
	if (s->st == VS_PAUSED)
		fprintf(c->f, ",\"req\":%" PRIu64 ",\"data\":\"0x%" PRIx64 "\"",
			e->a1, e->a0);
	if (s->st == VS_IN_EXIT)
		fprintf(c->f, ",\"events\":%u", s->nevents);
	fputs("}}", c->f);
}

static void on_hold(void *ctx, const struct hold_slice *h)
{
	struct chrome *c = ctx;
	uint32_t tid = TID_HOLDS + h->vcpu;
	char sym[160] = "", name[256];

	if (h->where)
		ifmt_sym(sym, sizeof(sym), c->fmt.syms, h->where->rip);
	begin(c, "X", PID_GUEST, tid);
	fputs(",\"cat\":\"cpu\",\"name\":\"holds the CPU\"", c->f);
	ts(c, "ts", h->start);
	dur(c, h->start, h->end);
	fprintf(c->f, ",\"args\":{\"steps\":\"%" PRIu64 "..%" PRIu64 "\","
		"\"then\":\"%s\"", h->step_in, h->step_out,
		hold_end_name(h->how));
	if (h->to != TRACE_VCPU_NONE)
		fprintf(c->f, ",\"to_vcpu\":%u", h->to);
	if (h->where)
		fprintf(c->f, ",\"where_seq\":%" PRIu64 ",\"rip\":\"0x%" PRIx64
			"\"", h->where->seq, h->where->rip);
	if (*sym) {
		fputs(",\"sym\":\"", c->f);
		json_str(c->f, (const uint8_t *)sym, strlen(sym));
		fputc('"', c->f);
	}
	fputs("}}", c->f);
	if (h->how == HOLD_ONGOING)
		return;
	/* where it lost the CPU, as a mark at the end of the slice */
	snprintf(name, sizeof(name), "%s%s%s", hold_end_name(h->how),
		 *sym ? " at " : "", sym);
	begin(c, "i", PID_GUEST, tid);
	fputs(",\"s\":\"t\",\"cat\":\"cpu\"", c->f);
	name_str(c, name);
	ts(c, "ts", h->end);
	fputs(",\"args\":{}}", c->f);
}

/* The thread an event is drawn on. */
static void event_thread(const struct chrome *c, const struct trace_event *ev,
			 int *pid, uint32_t *tid)
{
	*pid = PID_GUEST;
	*tid = 0;
	if (ev->vcpu >= INSPECT_MAX_VCPUS)
		return;
	switch (ev->type) {
	case TEV_PAUSE_REQUEST:
	case TEV_SIGNAL_SENT:
	case TEV_RESUME_REQUEST:
		*pid = PID_CTL;
		*tid = ev->vcpu + 1;
		return;
	case TEV_SCHED_SWITCH:
		*tid = c->serial ? TID_HOLDS + ev->vcpu : ev->vcpu + 1;
		return;
	}
	*tid = ev->vcpu + 1;
}

static void global_mark(struct chrome *c, const char *cat, const char *name,
			const struct trace_event *ev)
{
	begin(c, "i", PID_GUEST, 0);
	fprintf(c->f, ",\"s\":\"g\",\"cat\":\"%s\"", cat);
	name_str(c, name);
	ts(c, "ts", ev->time_ns);
	fprintf(c->f, ",\"args\":{\"seq\":%" PRIu64 "}}", ev->seq);
}

/* The category: the flows of pause lives bind to the "pause" ones. */
static const char *event_cat(const struct trace_event *ev, enum tev_mark k)
{
	if (k == TMARK_FAILURE)
		return "failure";
	if (k != TMARK_NONE)
		return "end";
	if (ev->type >= TEV_PAUSE_REQUEST && ev->type <= TEV_RESUMED)
		return "pause";
	if ((ev->type >= TEV_EXIT_PIO && ev->type <= TEV_EXIT_DEBUG) ||
	    ev->type == TEV_HYPERCALL)
		return "exit";
	return ev->type == TEV_SCHED_SWITCH ? "sched" : "event";
}

/* Every event, as an instant whose args are its decoded fields. */
static void on_event(struct chrome *c, const struct trace_event *ev,
		     const uint8_t *pl)
{
	char msg[512], name[520];
	enum tev_mark k = tev_mark(msg, sizeof(msg), ev, pl);
	uint32_t tid;
	int pid;

	if (k == TMARK_NONE)
		exit_name(msg, sizeof(msg), ev);
	event_thread(c, ev, &pid, &tid);
	begin(c, "i", pid, tid);
	fprintf(c->f, ",\"s\":\"t\",\"cat\":\"%s\"", event_cat(ev, k));
	name_str(c, msg);
	ts(c, "ts", ev->time_ns);
	fputs(",\"args\":", c->f);
	ifmt_json(c->f, &c->fmt, ev, pl);
	fputc('}', c->f);
	if (k == TMARK_FAILURE || (k == TMARK_END_FAILED && !c->failure_marked)) {
		snprintf(name, sizeof(name), "FAILED: %s", msg);
		global_mark(c, "failure", name, ev);
		c->failure_marked = true;
	} else if (k != TMARK_NONE && ev->type != TEV_GUEST_EXIT) {
		global_mark(c, "end", msg, ev);
	}
}

static void flow(struct chrome *c, const char *ph, int pid, uint32_t tid,
		 const struct pause_life *l, const struct pstep *at)
{
	begin(c, ph, pid, tid);
	fprintf(c->f, ",\"cat\":\"pause\",\"name\":\"pause life\",\"id\":%"
		PRIu64, l->request.seq);
	ts(c, "ts", at->time);
	fputs(ph[0] == 'f' ? ",\"bp\":\"e\"}" : "}", c->f);
}

/* A pause request's life as a flow: request -> signal -> taken ->
 * resumed, each step bound to that event's instant. */
static void on_life(void *ctx, const struct pause_life *l)
{
	struct chrome *c = ctx;
	uint32_t tid = l->vcpu + 1;
	bool resumed = pstep_ok(&l->resumed);

	if (!pstep_ok(&l->request) || !pstep_ok(&l->taken) ||
	    l->vcpu >= INSPECT_MAX_VCPUS)
		return;
	flow(c, "s", PID_CTL, tid, l, &l->request);
	if (pstep_ok(&l->signal))
		flow(c, "t", PID_CTL, tid, l, &l->signal);
	flow(c, resumed ? "t" : "f", PID_GUEST, tid, l, &l->taken);
	if (resumed)
		flow(c, "f", PID_GUEST, tid, l, &l->resumed);
}

static void header(struct chrome *c, const struct run_desc *d)
{
	const char *mode = sched_mode_name(d->sched.mode);

	fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"guest\":\"", c->f);
	json_str(c->f, (const uint8_t *)d->guest.path, strlen(d->guest.path));
	fputs("\",\"mode\":\"", c->f);
	json_str(c->f, (const uint8_t *)mode, strlen(mode));
	fprintf(c->f, "\",\"seed\":\"%" PRIu64 "\",\"vcpus\":%u},\n"
		"\"traceEvents\":[", d->sched.seed, d->nr_vcpus);
	begin(c, "M", PID_GUEST, 0);
	fputs(",\"name\":\"process_name\",\"args\":{\"name\":\"guest\"}}",
	      c->f);
	begin(c, "M", PID_CTL, 0);
	fputs(",\"name\":\"process_name\",\"args\":{\"name\":\"controller\"}}",
	      c->f);
	name_thread(c, PID_GUEST, 0, "vm", 0);
}

static void instant_unused(void *ctx, const struct trace_event *ev)
{
	/* every event is written by on_event */
}

static const struct state_ops chrome_ops = {
	.slice = on_slice, .instant = instant_unused, .new_vcpu = on_new_vcpu,
};

int export_chrome(struct itrace *t, FILE *out, const struct symtab *syms)
{
	struct chrome c = {
		.f = out, .t0 = t->t0, .serial = t->desc.sched.mode !=
		VM_SCHED_PARALLEL, .fmt = { .syms = syms, .t0 = t->t0 },
	};
	struct pause_tracker *pt = pause_tracker_new(on_life, &c);
	struct states *st = states_new(&chrome_ops, &c);
	struct holds *hs = holds_new(on_hold, &c);
	struct trace_event ev;
	const uint8_t *pl;
	uint64_t tend = t->t0;
	int ret = -1;

	if (!pt || !st || !hs)
		goto out;
	header(&c, &t->desc);
	while ((ret = itrace_next(t, &ev, &pl)) == 1) {
		tend = ev.time_ns > tend ? ev.time_ns : tend;
		states_feed(st, &ev);   /* names a new VCPU's threads first */
		on_event(&c, &ev, pl);
		pause_tracker_feed(pt, &ev);
		holds_feed(hs, &ev);
	}
	pause_tracker_finish(pt);
	states_finish(st, tend);
	holds_finish(hs, tend);
	st = NULL;
	hs = NULL;
	fputs("\n]}\n", out);
	itrace_note_truncation(t);
out:
	states_finish(st, tend);
	holds_finish(hs, tend);
	pause_tracker_free(pt);
	return ret < 0 ? INSPECT_BAD_INPUT : INSPECT_OK;
}
