/* The observer of an analysed run: instructions into the access log,
 * scheduling events into the list of edges. */
#include <stdlib.h>
#include <string.h>

#include "tools/analyze-run.h"
#include "traces/event.h"

/* The step an event came at: the scheduler's, where the event has it. */
static uint64_t edge_step(const struct analyze_run *ar,
			  const struct trace_event *ev)
{
	switch (ev->type) {
	case TEV_SCHED_SWITCH:
		return ev->a1;
	case TEV_PAUSE_REQUEST:
	case TEV_RESUME_REQUEST:
		return ev->a2;
	default:
		return ar->last_step;
	}
}

static enum alog_kind edge_kind(uint32_t type)
{
	switch (type) {
	case TEV_PAUSE_REQUEST:
		return ALOG_PAUSE_REQUEST;
	case TEV_PAUSE_TAKEN:
		return ALOG_PAUSE_TAKEN;
	case TEV_RESUME_REQUEST:
		return ALOG_RESUME_REQUEST;
	case TEV_RESUMED:
		return ALOG_RESUMED;
	default:
		return ALOG_ACCESS;  /* not a controller edge */
	}
}

static int push_edge(struct analyze_run *ar, const struct analyze_edge *e)
{
	if (ar->nedges == ar->cap) {
		size_t want = ar->cap ? ar->cap * 2 : 256;
		void *p = realloc(ar->edges, want * sizeof(*ar->edges));

		if (!p)
			return -1;
		ar->edges = p;
		ar->cap = want;
	}
	ar->edges[ar->nedges++] = *e;
	return 0;
}

static void on_event(void *arg, const struct trace_event *ev)
{
	struct analyze_run *ar = arg;
	enum alog_kind kind = edge_kind(ev->type);
	struct analyze_edge e;

	if (ev->type != TEV_SCHED_SWITCH && kind == ALOG_ACCESS)
		return;
	pthread_mutex_lock(&ar->lock);
	e = (struct analyze_edge){ .type = ev->type, .vcpu = ev->vcpu,
				   .a0 = ev->a0, .a2 = ev->a2, .a3 = ev->a3,
				   .step = edge_step(ar, ev) };
	if (push_edge(ar, &e))
		ar->out_of_memory = true;
	/* Controller edges name a VCPU of the run: the controller's own
	 * events (TRACE_VCPU_NONE) order nothing. */
	if (kind != ALOG_ACCESS && ev->vcpu < HB_MAX_THREADS - 1)
		access_log_event(ar->log, ev->vcpu, e.step, kind);
	pthread_mutex_unlock(&ar->lock);
}

static void on_step(void *arg, unsigned vcpu, uint64_t step,
		    const struct kvm_regs *regs, uint64_t fs_base,
		    uint64_t gs_base, const uint8_t *bytes, size_t nbytes)
{
	struct analyze_run *ar = arg;
	struct analyze_sample s = { .vcpu = vcpu, .step = step };

	s.cpu.regs = *regs;
	s.cpu.fs_base = fs_base;
	s.cpu.gs_base = gs_base;
	s.nbytes = nbytes < X86_MAX_INSN_LEN ? nbytes : X86_MAX_INSN_LEN;
	if (s.nbytes)
		memcpy(s.bytes, bytes, s.nbytes);
	pthread_mutex_lock(&ar->lock);
	ar->steps++;
	ar->last_step = step;
	access_log_step(ar->log, &s);
	pthread_mutex_unlock(&ar->lock);
}

int analyze_run_init(struct analyze_run *ar, size_t max_entries)
{
	memset(ar, 0, sizeof(*ar));
	ar->log = access_log_new(max_entries);
	if (!ar->log)
		return -1;
	pthread_mutex_init(&ar->lock, NULL);
	ar->obs = (struct vm_step_observer){ .step = on_step,
					     .event = on_event, .arg = ar };
	return 0;
}

void analyze_run_fini(struct analyze_run *ar)
{
	if (!ar->log)
		return;
	access_log_free(ar->log);
	free(ar->edges);
	pthread_mutex_destroy(&ar->lock);
	ar->log = NULL;
	ar->edges = NULL;
}
