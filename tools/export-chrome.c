/* vcprr export --format chrome: Chrome Trace Event JSON (the object form
 * with "traceEvents") that ui.perfetto.dev and chrome://tracing open.
 *
 * Process 1 is the guest: a thread per VCPU whose slices are its states
 * (inspect-states.h), with signals, kicks and errors as instants, and a
 * "vm" thread for VM-wide events.  Process 2 is the controller: a thread
 * per target VCPU with its pause requests (request to signal) and resume
 * requests; a flow arrow joins each request to the pause that served it
 * (coalesced requests too).  Everything is written as it completes, so
 * memory is bounded by the number of VCPUs, not by the trace. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tools/inspect-pauses.h"
#include "tools/inspect-priv.h"
#include "tools/inspect-states.h"

#define PID_GUEST 1
#define PID_CTL   2

struct chrome {
	FILE *f;
	uint64_t t0;
	bool comma;
};

/* Microseconds with ns precision, relative to the first event. */
static void ts(struct chrome *c, const char *key, uint64_t t)
{
	uint64_t d = t > c->t0 ? t - c->t0 : 0;

	fprintf(c->f, ",\"%s\":%" PRIu64 ".%03u", key, d / 1000,
		(unsigned)(d % 1000));
}

static void begin(struct chrome *c, const char *ph, int pid, uint32_t tid)
{
	fprintf(c->f, "%s\n{\"ph\":\"%s\",\"pid\":%d,\"tid\":%u", c->comma ?
		"," : "", ph, pid, tid);
	c->comma = true;
}

static void name_thread(struct chrome *c, int pid, uint32_t tid,
			const char *fmt, uint32_t vcpu)
{
	begin(c, "M", pid, tid);
	fprintf(c->f, ",\"name\":\"thread_name\",\"args\":{\"name\":\"");
	fprintf(c->f, fmt, vcpu);
	fprintf(c->f, "\"}}");
	begin(c, "M", pid, tid);
	fprintf(c->f, ",\"name\":\"thread_sort_index\",\"args\":"
		"{\"sort_index\":%u}}", tid);
}

static void on_new_vcpu(void *ctx, uint32_t vcpu)
{
	struct chrome *c = ctx;

	name_thread(c, PID_GUEST, vcpu + 1, "vcpu %u", vcpu);
	name_thread(c, PID_CTL, vcpu + 1, "requests to vcpu %u", vcpu);
}

/* "PIO out 0x3f8", "MMIO write 0xd0000000", "HYPERCALL 8", ... */
static void exit_name(FILE *f, const struct trace_event *e)
{
	switch (e->type) {
	case TEV_EXIT_PIO:
		fprintf(f, "PIO %s 0x%" PRIx64, tev_access_write(e->a1) ? "out" : "in",
			e->a0);
		break;
	case TEV_EXIT_MMIO:
		fprintf(f, "MMIO %s 0x%" PRIx64,
			tev_access_write(e->a1) ? "write" : "read", e->a0);
		break;
	case TEV_HYPERCALL:
		fprintf(f, "HYPERCALL %" PRIu64, e->a0);
		break;
	default:
		fputs(trace_event_name(e->type) ?: "?", f);
	}
}

static void slice_args(struct chrome *c, const struct state_slice *s)
{
	const struct trace_event *e = s->first;

	fprintf(c->f, ",\"args\":{\"seq\":%" PRIu64, e->seq);
	if (s->st == VS_PAUSED)
		fprintf(c->f, ",\"req\":%" PRIu64 ",\"data\":\"0x%" PRIx64 "\"",
			e->a1, e->a0);
	if (s->st == VS_IN_EXIT)
		fprintf(c->f, ",\"events\":%u,\"a0\":\"0x%" PRIx64
			"\",\"a2\":\"0x%" PRIx64 "\"", s->nevents, e->a0, e->a2);
	if (s->st != VS_RUNNING)
		fprintf(c->f, ",\"exit_seq\":%" PRIu64 ",\"rip\":\"0x%" PRIx64
			"\"", e->exit_seq, e->rip);
	fputs("}}", c->f);
}

static void on_slice(void *ctx, const struct state_slice *s)
{
	struct chrome *c = ctx;

	begin(c, "X", PID_GUEST, s->vcpu + 1);
	fprintf(c->f, ",\"cat\":\"%s\",\"name\":\"", vstate_name(s->st));
	if (s->st == VS_PAUSED)  /* a name per request: a colour per request */
		fprintf(c->f, "paused %u:%" PRIu64, s->vcpu, s->first->a1);
	else if (s->st == VS_IN_EXIT)
		exit_name(c->f, s->first);
	else
		fputs(vstate_name(s->st), c->f);
	fputc('"', c->f);
	ts(c, "ts", s->start);
	ts(c, "dur", c->t0 + s->end - s->start);
	slice_args(c, s);
}

static void on_instant(void *ctx, const struct trace_event *ev)
{
	struct chrome *c = ctx;
	bool vm = ev->vcpu == TRACE_VCPU_NONE;
	int pid = ev->type == TEV_RESUME_REQUEST ? PID_CTL : PID_GUEST;

	begin(c, "i", pid, vm ? 0 : ev->vcpu + 1);
	fprintf(c->f, ",\"s\":\"%s\",\"cat\":\"event\",\"name\":\"%s\"",
		vm ? "g" : "t", trace_event_name(ev->type) ?: "?");
	ts(c, "ts", ev->time_ns);
	fprintf(c->f, ",\"args\":{\"seq\":%" PRIu64 ",\"a0\":\"0x%" PRIx64
		"\",\"a1\":\"0x%" PRIx64 "\"}}", ev->seq, ev->a0, ev->a1);
}

static void flow(struct chrome *c, const char *ph, int pid,
		 const struct pause_life *l, uint64_t t)
{
	begin(c, ph, pid, l->vcpu + 1);
	fprintf(c->f, ",\"cat\":\"pause\",\"name\":\"%s\",\"id\":%" PRIu64,
		pstep_ok(&l->coalesced) ? "coalesced request" : "request",
		l->request.seq);
	ts(c, "ts", t);
	fputc('}', c->f);
}

/* A request slice on the controller track and a flow to its pause. */
static void on_life(void *ctx, const struct pause_life *l)
{
	struct chrome *c = ctx;
	uint64_t end;

	if (!pstep_ok(&l->request) || l->vcpu >= INSPECT_MAX_VCPUS)
		return;
	end = pstep_ok(&l->signal) ? l->signal.time : l->request.time;
	begin(c, "X", PID_CTL, l->vcpu + 1);
	fprintf(c->f, ",\"cat\":\"request\",\"name\":\"request %u:%" PRIu64
		"\"", l->vcpu, l->req_seq);
	ts(c, "ts", l->request.time);
	ts(c, "dur", c->t0 + (end > l->request.time ?
			      end - l->request.time : 0));
	fprintf(c->f, ",\"args\":{\"seq\":%" PRIu64 ",\"data\":\"0x%" PRIx64
		"\",\"taken_as\":%" PRIu64 ",\"coalesced\":%s}}",
		l->request.seq, l->data, l->into,
		pstep_ok(&l->coalesced) ? "true" : "false");
	if (!pstep_ok(&l->taken))
		return;
	flow(c, "s", PID_CTL, l, l->request.time);
	flow(c, "f", PID_GUEST, l, l->taken.time);  /* binds to the pause */
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

static const struct state_ops chrome_ops = {
	.slice = on_slice, .instant = on_instant, .new_vcpu = on_new_vcpu,
};

int export_chrome(struct itrace *t, FILE *out)
{
	struct chrome c = { .f = out, .t0 = t->t0 };
	struct pause_tracker *pt = pause_tracker_new(on_life, &c);
	struct states *st = states_new(&chrome_ops, &c);
	struct trace_event ev;
	uint64_t tend = t->t0;
	int ret = -1;

	if (!pt || !st)
		goto out;
	header(&c, &t->desc);
	while ((ret = itrace_next(t, &ev, NULL)) == 1) {
		tend = ev.time_ns > tend ? ev.time_ns : tend;
		pause_tracker_feed(pt, &ev);
		states_feed(st, &ev);
	}
	pause_tracker_finish(pt);
	states_finish(st, tend);
	st = NULL;
	fputs("\n]}\n", out);
	itrace_note_truncation(t);
out:
	states_finish(st, tend);
	pause_tracker_free(pt);
	return ret < 0 ? INSPECT_BAD_INPUT : INSPECT_OK;
}
