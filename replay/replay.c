/* The replay engine: trace -> VM configuration, recorded inputs -> VMM
 * hooks, every produced event -> checked against the trace. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "replay/replay.h"
#include "traces/trace.h"
#include "vmm/controller.h"
#include "vmm/guest-id.h"
#include "vmm/replay-hooks.h"
#include "vmm/run-desc.h"
#include "vmm/vm.h"

#define CONTEXT_EVENTS 6

struct rec {
	struct trace_event ev;
	uint8_t *payload;
};

/* Events in the order one thread produced them. */
struct stream {
	struct rec *v;
	size_t n, cap, pos;
};

struct vcpu_state {
	struct stream own;          /* the VCPU's own events */
	struct stream ctl;          /* requests and resumes aimed at it */
	struct stream ioctls;       /* plugin traces: VCPU_IOCTL, applied
				       before the resume that follows them */
	size_t next_taken;          /* index in own of the next PAUSE_TAKEN */
	uint64_t parked;            /* plugin traces, under input_lock: the
				       seq of the resume this stopped VCPU
				       waits for (UINT64_MAX: none), 0 while
				       it runs */
	struct vm_replay_pause pause;
	uint64_t *req_data;         /* scratch for pause.data / pending */
	size_t req_cap;
};

struct replay {
	struct run_desc desc;       /* the recorded run, from the header */
	unsigned nr_vcpus;
	struct vcpu_state *vcpus;
	struct stream sched;        /* SCHED_SWITCH, in order */
	struct stream actions;      /* serial: requests and resumes, in order */
	struct trace_event end;
	bool has_end, has_error_event, truncated, prefix_only;
	bool has_run;               /* events other than the run's end */
	uint64_t start_ns, stop_ns;  /* VM_START, the first VM_STOP */
	uint64_t loaded;            /* events in the trace */
	char cut[160];              /* truncated: where and why the reader
				       found the trace cut */
	bool parallel, ended_by_stop;  /* end races are tolerated then */
	bool has_guest_exit;
	/* crosvm plugin runs (raw-mode VMs, run kind crosvm-plugin) */
	bool raw, raw_started, raw_done;
	uint64_t stop_seq;      /* VM_STOP: later events are the way out */
	struct stream memory;       /* MEM_REGION, MEM_DATA and the VM inputs
				       made before the start, in order */
	struct stream inputs;       /* VM inputs (VM_IOCTL, IRQFD_SIGNAL) made
				       after it, under input_lock */
	struct trace_event unplaced;  /* the first one made while a VCPU ran */
	pthread_mutex_t input_lock;
	pthread_cond_t input_cond;
	struct fdmap { int rec, fd, resample; bool irq; } fds[64];
	unsigned nfds;              /* the eventfds given to KVM here, by the
				       recorded ones they stand for */
	struct { void *host; uint64_t len; } maps[64];
	unsigned nmaps;
	struct vm *vm;
	atomic_bool diverged, prefix_done;
	bool prefix_counted;        /* cut at VM_STOP: prefix_left counts ... */
	atomic_uint_fast64_t prefix_left;  /* ... the events still to match */
	atomic_uint_fast64_t checked;
	pthread_mutex_t land_lock;
	uint64_t *land_ns;
	size_t nland, land_cap;
	pthread_mutex_t msg_lock;
	char message[4096];
};

/* --- loading --------------------------------------------------------------- */

static int push(struct stream *s, const struct trace_event *ev,
		const uint8_t *payload)
{
	struct rec *r;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct rec *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	r = &s->v[s->n++];
	r->ev = *ev;
	r->payload = NULL;
	if (ev->payload_len) {
		r->payload = malloc(ev->payload_len);
		if (!r->payload)
			return -ENOMEM;
		memcpy(r->payload, payload, ev->payload_len);
	}
	return 0;
}

static void free_stream(struct stream *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].payload);
	free(s->v);
}

static bool is_ctl_type(uint32_t t)
{
	return t == TEV_PAUSE_REQUEST || t == TEV_RESUME_REQUEST;
}

/* Events that depend on when signals land, not on the guest. */
static bool is_timing_type(uint32_t t)
{
	return t == TEV_KICK || t == TEV_SIGNAL_SENT || t == TEV_VM_START;
}

/* Plugin traces: the memory and VM settings to rebuild, the inputs to
 * apply as the run goes, and where the run was stopped. */
static int place_raw(struct replay *rp, const struct trace_event *ev,
		     const uint8_t *payload)
{
	bool input = ev->type == TEV_VM_IOCTL || ev->type == TEV_IRQFD_SIGNAL;

	if (ev->type == TEV_VM_START)
		rp->raw_started = true;
	if (ev->type == TEV_MEM_REGION || ev->type == TEV_MEM_DATA ||
	    (input && !rp->raw_started))
		return push(&rp->memory, ev, payload);
	if (input && ev->seq < rp->stop_seq) {
		if (ev->a1 == VM_INPUT_RUNNING && !rp->unplaced.type)
			rp->unplaced = *ev;
		return push(&rp->inputs, ev, payload);
	}
	if (ev->type == TEV_VCPU_IOCTL && ev->vcpu < rp->nr_vcpus)
		return push(&rp->vcpus[ev->vcpu].ioctls, ev, payload);
	return 0;
}

/* Plugin traces: a recorded setting replay would hand to KVM must be one
 * the recorder logs, of its exact size. */
static int check_setting(const struct trace_event *ev, const uint8_t *payload,
			 char *err, size_t errlen)
{
	bool vcpu = ev->type == TEV_VCPU_IOCTL;

	if (ev->type != TEV_VM_IOCTL && !vcpu)
		return 0;
	if (vcpu ? vcpu_setting_valid(ev->a0, payload, ev->payload_len) :
		   vm_setting_valid(ev->a0, payload, ev->payload_len))
		return 0;
	if (!ev->payload_len && ev->a2 > TRACE_MAX_PAYLOAD)
		snprintf(err, errlen, "event seq %llu: the plugin made a setting "
			 "(ioctl %#llx) of %llu bytes, too large to record "
			 "(at most %u): this trace cannot be replayed",
			 (unsigned long long)ev->seq, (unsigned long long)ev->a0,
			 (unsigned long long)ev->a2, TRACE_MAX_PAYLOAD);
	else
		snprintf(err, errlen, "event seq %llu: %s with ioctl %#llx and "
			 "%u bytes is not a setting vcprr records: the trace is "
			 "corrupt", (unsigned long long)ev->seq,
			 trace_event_name(ev->type), (unsigned long long)ev->a0,
			 ev->payload_len);
	return -1;
}

static int place(struct replay *rp, const struct trace_event *ev,
		 const uint8_t *payload, char *err, size_t errlen)
{
	rp->has_run |= ev->type != TEV_VM_END && ev->type != TEV_VM_STOP;
	if (ev->type == TEV_VM_START && !rp->start_ns)
		rp->start_ns = ev->time_ns;
	if (ev->type == TEV_VM_STOP && rp->stop_seq == UINT64_MAX) {
		rp->stop_seq = ev->seq;
		rp->stop_ns = ev->time_ns;
	}
	if (rp->raw && check_setting(ev, payload, err, errlen))
		return -1;
	if (rp->raw && ev->type != TEV_VM_END &&
	    (place_raw(rp, ev, payload) || ev->seq > rp->stop_seq ||
	     ev->type == TEV_VCPU_IOCTL))
		return 0;  /* (out of memory shows as a short replay) */
	if (ev->type == TEV_LOST) {
		snprintf(err, errlen, "the trace lost %llu events (recorded with "
			 "--lossy): it cannot be replayed", (unsigned long long)ev->a0);
		return -1;
	}
	if (ev->type == TEV_VM_END) {
		rp->end = *ev;
		rp->has_end = true;
		return 0;
	}
	if (is_timing_type(ev->type))
		return 0;
	if (ev->type == TEV_SCHED_SWITCH)
		return push(&rp->sched, ev, payload);
	/* (A VM-wide fault, such as every VCPU halted, has no VCPU.) */
	if (ev->type == TEV_VCPU_ERROR)
		rp->has_error_event = true;
	if (ev->vcpu >= rp->nr_vcpus)
		return 0;
	if (ev->type == TEV_GUEST_EXIT)
		rp->has_guest_exit = true;
	if (!is_ctl_type(ev->type))
		return push(&rp->vcpus[ev->vcpu].own, ev, payload);
	if (push(&rp->vcpus[ev->vcpu].ctl, ev, payload))
		return -ENOMEM;
	return push(&rp->actions, ev, payload);
}

static int load(struct replay *rp, const char *path, char *err, size_t errlen)
{
	struct trace_reader *r = trace_reader_open(path, err, errlen);
	struct trace_event ev;
	char msg[1024];
	const uint8_t *payload;
	uint64_t n = 0;
	int rc;

	if (!r)
		return -1;
	if (run_desc_decode(trace_reader_header(r), &rp->desc, msg,
			    sizeof(msg))) {
		snprintf(err, errlen, "%s: %s", path, msg);
		goto fail;
	}
	rp->nr_vcpus = rp->desc.nr_vcpus;
	rp->raw = rp->desc.kind == RUN_KIND_CROSVM_PLUGIN;
	rp->vcpus = calloc(rp->nr_vcpus, sizeof(*rp->vcpus));
	if (!rp->vcpus)
		goto nomem;
	rp->stop_seq = UINT64_MAX;
	while ((rc = trace_reader_next(r, &ev, &payload)) == 1) {
		if (++n > REPLAY_MAX_EVENTS) {
			snprintf(err, errlen, "%s: more than %u events: too long to "
				 "replay", path, REPLAY_MAX_EVENTS);
			goto fail;
		}
		if (place(rp, &ev, payload, err, errlen))
			goto fail;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, trace_reader_error(r));
		goto fail;
	}
	rp->truncated = trace_reader_truncated(r) || !rp->has_end;
	rp->loaded = n;
	snprintf(rp->cut, sizeof(rp->cut), "%s", trace_reader_truncation(r) ?:
		 "its last event is not VM_END");
	trace_reader_close(r);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	trace_reader_close(r);
	return -1;
}

/* Leaves out the events of s after trace seq `seq`. */
static void cut_stream(struct stream *s, uint64_t seq)
{
	size_t n = s->n;

	while (n && s->v[n - 1].ev.seq > seq)
		free(s->v[--n].payload);
	s->n = n;
}

/* A run stopped from outside the guest (a signal, a timeout) was caught
 * wherever its VCPUs were: their way out after VM_STOP is timing, not a
 * replay's to match.  The replay ends once everything before it has been
 * replayed. */
static void cut_at_stop(struct replay *rp)
{
	uint64_t left = 0;

	if (rp->stop_seq == UINT64_MAX)
		return;  /* (traces from before the marker) */
	for (unsigned i = 0; i < rp->nr_vcpus; i++) {
		cut_stream(&rp->vcpus[i].own, rp->stop_seq);
		cut_stream(&rp->vcpus[i].ctl, rp->stop_seq);
		left += rp->vcpus[i].own.n + rp->vcpus[i].ctl.n;
	}
	cut_stream(&rp->sched, rp->stop_seq);
	cut_stream(&rp->actions, rp->stop_seq);
	atomic_store(&rp->prefix_left, left);
	rp->prefix_counted = true;
}

/* --- checking ------------------------------------------------------------- */

static int fmt_event(char *buf, size_t len, const struct trace_event *ev,
		     const void *payload)
{
	const char *name = trace_event_name(ev->type);
	int n = snprintf(buf, len, "%s vcpu=%d exit=%llu rip=%#llx a0=%#llx "
			 "a1=%#llx a2=%#llx a3=%#llx", name ? name : "?",
			 (int)ev->vcpu, (unsigned long long)ev->exit_seq,
			 (unsigned long long)ev->rip, (unsigned long long)ev->a0,
			 (unsigned long long)ev->a1, (unsigned long long)ev->a2,
			 (unsigned long long)ev->a3);

	if (ev->digest && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, " digest=%016llx",
			      (unsigned long long)ev->digest);
	if ((ev->type == TEV_CONSOLE || ev->type == TEV_GUEST_LOG) && n >= 0 &&
	    (size_t)n < len)
		n += snprintf(buf + n, len - n, " \"%.*s\"",
			      (int)(ev->payload_len > 80 ? 80 : ev->payload_len),
			      (const char *)payload);
	return n;
}

static bool same_event(const struct rec *want, const struct trace_event *got,
		       const void *payload)
{
	const struct trace_event *w = &want->ev;

	return w->type == got->type && w->vcpu == got->vcpu &&
	       w->exit_seq == got->exit_seq && w->rip == got->rip &&
	       w->digest == got->digest && w->a0 == got->a0 && w->a1 == got->a1 &&
	       w->a2 == got->a2 && w->a3 == got->a3 &&
	       w->payload_len == got->payload_len &&
	       (!w->payload_len || !memcmp(want->payload, payload, w->payload_len));
}

static void describe(const struct stream *s,
		     const struct trace_event *got, const void *payload,
		     const char *what, char *why, size_t len)
{
	char e[512], a[512];
	int n;

	if (s->pos < s->n)
		fmt_event(e, sizeof(e), &s->v[s->pos].ev, s->v[s->pos].payload);
	else
		snprintf(e, sizeof(e), "nothing more (the trace ends here)");
	fmt_event(a, sizeof(a), got, payload);
	n = snprintf(why, len, "vcpu %d, %s event #%zu%s:\n  expected: %s\n"
		     "  actual:   %s\n  last events of vcpu %d in the trace:",
		     (int)got->vcpu, what, s->pos,
		     s->pos < s->n ? "" : " (past its end)", e, a, (int)got->vcpu);
	for (size_t i = s->pos > CONTEXT_EVENTS ? s->pos - CONTEXT_EVENTS : 0;
	     i < s->pos && n >= 0 && (size_t)n < len; i++) {
		fmt_event(e, sizeof(e), &s->v[i].ev, s->v[i].payload);
		n += snprintf(why + n, len - n, "\n    seq %llu: %s",
			      (unsigned long long)s->v[i].ev.seq, e);
	}
}

static void find_next_taken(struct vcpu_state *vs)
{
	size_t i = vs->next_taken > vs->own.pos ? vs->next_taken : vs->own.pos;

	while (i < vs->own.n && vs->own.v[i].ev.type != TEV_PAUSE_TAKEN)
		i++;
	vs->next_taken = i;
}

/* Plugin traces: the recording ended when the program exited, wherever
 * the VCPUs were.  Once every recorded event is replayed (requests never
 * taken aside), the replay ends the same way. */
static bool raw_all_replayed(struct replay *rp)
{
	for (unsigned i = 0; i < rp->nr_vcpus; i++) {
		const struct stream *c = &rp->vcpus[i].ctl;
		if (rp->vcpus[i].own.pos < rp->vcpus[i].own.n)
			return false;
		for (size_t j = c->pos; j < c->n; j++)
			if (c->v[j].ev.type == TEV_RESUME_REQUEST)
				return false;
	}
	return true;
}

/* The run ends once the recorded events are all replayed: with the
 * recording's end (plugin traces), or as a prefix.  The VMM stops it. */
static enum vm_replay_verdict replay_done(struct vm_replay_check *c, int reason,
					  int code, const char *why)
{
	c->end_reason = reason;
	c->end_code = code;
	snprintf(c->why, sizeof(c->why), "%s", why);
	return VM_REPLAY_DONE;
}

static bool raw_check_done(struct replay *rp)
{
	if (!rp->raw || rp->raw_done || !raw_all_replayed(rp))
		return false;
	rp->raw_done = true;
	return true;
}

static enum vm_replay_verdict hook_event(void *arg, const struct trace_event *ev,
					 const void *payload,
					 struct vm_replay_check *c)
{
	struct replay *rp = arg;
	struct vcpu_state *vs;
	struct stream *s;

	if (atomic_load(&rp->diverged) || atomic_load(&rp->prefix_done) ||
	    is_timing_type(ev->type) || ev->type == TEV_SCHED_SWITCH ||
	    ev->vcpu >= rp->nr_vcpus)
		return VM_REPLAY_MATCH;
	vs = &rp->vcpus[ev->vcpu];
	s = is_ctl_type(ev->type) ? &vs->ctl : &vs->own;
	/* parallel: once a run is being stopped (a fault, an exit), the other
	 * VCPUs' last events depend on when the stop reaches them; the end
	 * itself is compared afterwards.  So does how far a VCPU got before
	 * it: one whose next recorded event is its way out (after VM_STOP)
	 * may run on here until the replay's stop comes. */
	if (rp->parallel && rp->ended_by_stop &&
	    (s->pos == s->n || vm_stopping(rp->vm) ||
	     s->v[s->pos].ev.seq > rp->stop_seq))
		return VM_REPLAY_MATCH;
	if (s->pos == s->n && rp->prefix_only) {
		/* The recording stops here: so does the replay. */
		atomic_store(&rp->prefix_done, true);
		return replay_done(c, TEND_SIGNAL, 0, "end of the recorded events");
	}
	if (s->pos < s->n && same_event(&s->v[s->pos], ev, payload)) {
		s->pos++;
		atomic_fetch_add(&rp->checked, 1);
		if (ev->type == TEV_PAUSE_TAKEN)
			find_next_taken(vs);
		if (raw_check_done(rp))
			return replay_done(c, (int)rp->end.a0,
					   (int)(int64_t)rp->end.a1,
					   "every recorded event was replayed");
		if (rp->prefix_counted && atomic_fetch_sub(&rp->prefix_left, 1) == 1) {
			atomic_store(&rp->prefix_done, true);
			return replay_done(c, TEND_SIGNAL, 0,
					   "end of the recorded events");
		}
		return VM_REPLAY_MATCH;
	}
	describe(s, ev, payload, is_ctl_type(ev->type) ? "controller" : "its",
		 c->why, sizeof(c->why));
	atomic_store(&rp->diverged, true);
	pthread_mutex_lock(&rp->msg_lock);
	if (!rp->message[0])
		snprintf(rp->message, sizeof(rp->message), "%s", c->why);
	pthread_mutex_unlock(&rp->msg_lock);
	return VM_REPLAY_DIVERGED;
}

static void hook_read_input(void *arg, unsigned vcpu, uint32_t type,
			    uint64_t addr, uint64_t size, uint64_t *val)
{
	struct replay *rp = arg;
	struct stream *s = &rp->vcpus[vcpu].own;
	const struct trace_event *w;

	if (s->pos >= s->n)
		return;
	w = &s->v[s->pos].ev;
	/* A mismatch is reported by the check of the event itself. */
	if (w->type == type && w->a0 == addr && w->a1 == size)
		*val = w->a2;
}

/* Plugin traces: the recorded IO_ACCESS says the plugin claimed this access
 * (and whether the VCPU stopped for it). */
static enum vm_io_claim hook_claim_io(void *arg, unsigned vcpu, unsigned space,
				      uint64_t addr, uint32_t len, bool is_write,
				      const uint8_t *data)
{
	struct replay *rp = arg;
	struct stream *s = &rp->vcpus[vcpu].own;
	const struct trace_event *w;

	if (s->pos >= s->n)
		return VM_IO_IGNORE;
	w = &s->v[s->pos].ev;
	if (w->type != TEV_IO_ACCESS || w->a0 != space || w->a1 != addr)
		return VM_IO_IGNORE;
	return tev_access_async(w->a2) ? VM_IO_NOTIFY : VM_IO_STOP;
}

static uint64_t *req_scratch(struct vcpu_state *vs, size_t n)
{
	if (n > vs->req_cap) {
		uint64_t *p = realloc(vs->req_data, n * sizeof(*p));
		if (!p)
			return NULL;
		vs->req_data = p;
		vs->req_cap = n;
	}
	return vs->req_data;
}

static const struct vm_replay_pause *hook_next_pause(void *arg, unsigned vcpu)
{
	struct replay *rp = arg;
	struct vcpu_state *vs = &rp->vcpus[vcpu];
	const struct trace_event *t;
	uint64_t *data;
	size_t i, n = 0;

	find_next_taken(vs);
	if (vs->next_taken >= vs->own.n)
		return NULL;
	t = &vs->own.v[vs->next_taken].ev;
	/* The requests up to the taken one, in the order they were made. */
	for (i = vs->ctl.pos; i < vs->ctl.n; i++) {
		const struct trace_event *c = &vs->ctl.v[i].ev;
		/* A later request is not this pause's (the taken one may have
		 * been published already, by the resume before it). */
		if (c->type != TEV_PAUSE_REQUEST || c->a1 > t->a1)
			break;
		n++;
		if (c->a1 == t->a1)
			break;
	}
	data = req_scratch(vs, n ? n : 1);
	if (!data)
		return NULL;
	for (i = 0; i < n; i++)
		data[i] = vs->ctl.v[vs->ctl.pos + i].ev.a0;
	vs->pause = (struct vm_replay_pause){
		.exit_seq = t->exit_seq, .rip = t->rip, .digest = t->digest,
		.nreq = (unsigned)n, .data = data,
	};
	return &vs->pause;
}

/* --- plugin traces: VM-wide inputs ----------------------------------------- */

/* The eventfds of the recorded KVM_IRQFD and KVM_IOEVENTFD settings are the
 * plugin's: replay gives KVM eventfds of its own, kept by the recorded fd
 * they stand for, so that a later deassign or signal finds them. */
static struct fdmap *fd_find(struct replay *rp, int rec, bool irq)
{
	for (unsigned i = 0; i < rp->nfds; i++)
		if (rp->fds[i].rec == rec && rp->fds[i].irq == irq)
			return &rp->fds[i];
	return NULL;
}

static void fd_drop(struct replay *rp, struct fdmap *m)
{
	close(m->fd);
	if (m->resample >= 0)
		close(m->resample);
	*m = rp->fds[--rp->nfds];
}

static int fd_new(struct replay *rp, int rec, bool irq, bool resample,
		  struct fdmap **out)
{
	struct fdmap *m;

	if (rp->nfds == sizeof(rp->fds) / sizeof(rp->fds[0]))
		return -ENOSPC;
	m = &rp->fds[rp->nfds];
	*m = (struct fdmap){ .rec = rec, .irq = irq, .resample = -1 };
	m->fd = eventfd(0, EFD_CLOEXEC);
	if (m->fd < 0)
		return -errno;
	if (resample && (m->resample = eventfd(0, EFD_CLOEXEC)) < 0) {
		close(m->fd);
		return -EMFILE;
	}
	rp->nfds++;
	*out = m;
	return 0;
}

/* A recorded KVM_IRQFD or KVM_IOEVENTFD, with replay's eventfds. */
static int apply_eventfd_setting(struct replay *rp, unsigned long req,
				 void *arg)
{
	struct kvm_ioeventfd *io = arg;
	struct kvm_irqfd *irq = arg;
	bool is_irq = req == KVM_IRQFD;
	int *fdp = is_irq ? (int *)&irq->fd : &io->fd;
	bool deassign = is_irq ? irq->flags & KVM_IRQFD_FLAG_DEASSIGN :
			io->flags & KVM_IOEVENTFD_FLAG_DEASSIGN;
	struct fdmap *m = fd_find(rp, *fdp, is_irq);
	int r;

	if (deassign) {
		if (!m)
			return -ENOENT;
		*fdp = m->fd;
		r = vm_ioctl(rp->vm, req, arg);
		fd_drop(rp, m);
		return r;
	}
	r = fd_new(rp, *fdp, is_irq,
		   is_irq && (irq->flags & KVM_IRQFD_FLAG_RESAMPLE), &m);
	if (r)
		return r;
	*fdp = m->fd;
	if (is_irq)
		irq->resamplefd = m->resample;
	r = vm_ioctl(rp->vm, req, arg);
	if (r < 0)
		fd_drop(rp, m);
	return r;
}

/* A VM input as the plugin made it: a VM setting, or an irqfd signal. */
static int raw_apply_input(struct replay *rp, const struct rec *m)
{
	union {
		struct kvm_ioeventfd io;
		struct kvm_irqfd irq;
		uint8_t raw[TRACE_MAX_PAYLOAD];
	} a;
	struct fdmap *f;
	int r;

	if (m->ev.type == TEV_IRQFD_SIGNAL) {
		f = fd_find(rp, (int)m->ev.a0, true);
		if (!f)
			return -ENOENT;
		return write(f->fd, &m->ev.a2, 8) == 8 ? 0 : -errno;
	}
	memset(&a, 0, sizeof(a));
	memcpy(&a, m->payload, m->ev.payload_len);
	if ((m->ev.a0 == KVM_IOEVENTFD && m->ev.payload_len >= sizeof(a.io)) ||
	    (m->ev.a0 == KVM_IRQFD && m->ev.payload_len >= sizeof(a.irq)))
		r = apply_eventfd_setting(rp, m->ev.a0, &a);
	else
		r = vm_ioctl(rp->vm, m->ev.a0, &a);
	return r < 0 ? r : 0;
}

static void input_failed(struct replay *rp, const struct rec *m, int r)
{
	char why[512];

	snprintf(why, sizeof(why), "replay diverged: the recorded %s (trace seq "
		 "%llu, a0=%#llx) fails here: %s", trace_event_name(m->ev.type),
		 (unsigned long long)m->ev.seq, (unsigned long long)m->ev.a0,
		 strerror(-r));
	atomic_store(&rp->diverged, true);
	vm_stop(rp->vm, TEND_VMM_ERROR, 1, why);
}

/* Whether every VCPU but `self` waits in a stop that spans trace seq
 * `seq`, as all did when the plugin made that input.  Under input_lock. */
static bool others_parked(struct replay *rp, unsigned self, uint64_t seq)
{
	for (unsigned i = 0; i < rp->nr_vcpus; i++)
		if (i != self && rp->vcpus[i].parked <= seq)
			return false;
	return true;
}

static void wait_input(struct replay *rp)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 10 * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&rp->input_cond, &rp->input_lock, &ts);
}

/* Plugin traces: what the plugin set while this VCPU was stopped, before
 * the resume at trace seq `until`, in the order it was set: the VCPU's own
 * state, and the VM inputs (made while every VCPU was stopped, so applied
 * once every other VCPU has reached the stop it was in then). */
static void raw_apply_until(struct replay *rp, unsigned vcpu, uint64_t until)
{
	struct vcpu_state *vs = &rp->vcpus[vcpu];
	struct stream *own = &vs->ioctls, *vm = &rp->inputs;

	pthread_mutex_lock(&rp->input_lock);
	vs->parked = until;
	pthread_cond_broadcast(&rp->input_cond);
	while (!vm_stopping(rp->vm)) {
		bool o = own->pos < own->n && own->v[own->pos].ev.seq < until;
		bool v = vm->pos < vm->n && vm->v[vm->pos].ev.seq < until;
		struct rec *c;
		int r;

		if (o && (!v || own->v[own->pos].ev.seq < vm->v[vm->pos].ev.seq)) {
			c = &own->v[own->pos++];
			vcpu_ioctl_stopped(rp->vm, vcpu, c->ev.a0, c->payload);
			continue;
		}
		if (!v)
			break;
		c = &vm->v[vm->pos];
		if (c->ev.a1 != VM_INPUT_NEUTRAL &&
		    !others_parked(rp, vcpu, c->ev.seq)) {
			wait_input(rp);
			continue;
		}
		vm->pos++;
		r = raw_apply_input(rp, c);
		if (r)
			input_failed(rp, c, r);
		pthread_cond_broadcast(&rp->input_cond);
	}
	vs->parked = 0;
	pthread_mutex_unlock(&rp->input_lock);
}

/* Plugin traces: this VCPU stays stopped to the end. */
static void raw_park_for_good(struct replay *rp, unsigned vcpu)
{
	if (!rp->raw)
		return;
	pthread_mutex_lock(&rp->input_lock);
	rp->vcpus[vcpu].parked = UINT64_MAX;
	pthread_cond_broadcast(&rp->input_cond);
	pthread_mutex_unlock(&rp->input_lock);
}

static int hook_resume_for(void *arg, unsigned vcpu, uint64_t *data,
			   unsigned *mask, const uint8_t **edits, uint32_t *len,
			   const uint64_t **pending, unsigned *npending)
{
	struct replay *rp = arg;
	struct vcpu_state *vs = &rp->vcpus[vcpu];
	size_t i, n = 0;
	uint64_t *p;

	for (i = vs->ctl.pos; i < vs->ctl.n; i++) {
		if (vs->ctl.v[i].ev.type == TEV_RESUME_REQUEST)
			break;
		n++;
	}
	if (i == vs->ctl.n) {
		raw_park_for_good(rp, vcpu);
		return -1;
	}
	if (rp->raw)
		raw_apply_until(rp, vcpu, vs->ctl.v[i].ev.seq);
	p = req_scratch(vs, n ? n : 1);
	if (!p)
		return -1;
	for (size_t j = 0; j < n; j++)
		p[j] = vs->ctl.v[vs->ctl.pos + j].ev.a0;
	*pending = p;
	*npending = (unsigned)n;
	*data = vs->ctl.v[i].ev.a0;
	*mask = (unsigned)vs->ctl.v[i].ev.a1;
	*edits = vs->ctl.v[i].payload;
	*len = vs->ctl.v[i].ev.payload_len;
	return 0;
}

static void hook_landed(void *arg, unsigned vcpu, uint64_t ns)
{
	struct replay *rp = arg;

	pthread_mutex_lock(&rp->land_lock);
	if (rp->nland == rp->land_cap) {
		size_t cap = rp->land_cap ? rp->land_cap * 2 : 64;
		uint64_t *p = realloc(rp->land_ns, cap * sizeof(*p));
		if (p) {
			rp->land_ns = p;
			rp->land_cap = cap;
		}
	}
	if (rp->nland < rp->land_cap)
		rp->land_ns[rp->nland++] = ns;
	pthread_mutex_unlock(&rp->land_lock);
	(void)vcpu;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* --- serial and step: the trace stands in for policy and controller ----- */

static bool source_apply(void *arg, struct vm *vm, uint64_t step,
			 enum sched_where where)
{
	struct replay *rp = arg;
	struct stream *a = &rp->actions;

	while (a->pos < a->n && a->v[a->pos].ev.a2 == step &&
	       a->v[a->pos].ev.a3 == (uint64_t)where) {
		const struct rec *r = &a->v[a->pos];
		/* A recorded resume found its VCPU stopped (a controller cannot
		 * resume one that is not).  Its stop may still be on its way:
		 * wait for it, or, when that VCPU is the one applying (it stops
		 * after this), let the settle after its stop retry. */
		if (r->ev.type == TEV_RESUME_REQUEST &&
		    !vcpu_is_stopped(vm, r->ev.vcpu) &&
		    !vm_await_recorded_stop(vm, r->ev.vcpu))
			return false;
		a->pos++;
		if (r->ev.type == TEV_PAUSE_REQUEST)
			vm_apply_recorded_pause(vm, r->ev.vcpu, r->ev.a0, step, where);
		else
			vm_apply_recorded_resume(vm, r->ev.vcpu, r->ev.a0,
						 (unsigned)r->ev.a1, r->payload,
						 r->ev.payload_len, step, where);
	}
	return true;
}

static int source_switch(void *arg, uint64_t step, enum sched_where where)
{
	struct replay *rp = arg;
	struct stream *s = &rp->sched;
	const struct trace_event *e;

	if (s->pos >= s->n || s->v[s->pos].ev.a1 != step ||
	    s->v[s->pos].ev.a2 != (uint64_t)where)
		return -2;
	e = &s->v[s->pos++].ev;
	return e->vcpu == TRACE_VCPU_NONE ? -1 : (int)e->vcpu;
}

/* --- driving -------------------------------------------------------------- */

/* The guest image, by the one rule of vmm/guest-id.h. */
static int find_guest(struct replay *rp, const char *path,
		      const struct replay_opts *o, char *guest, size_t len,
		      char *err, size_t errlen)
{
	struct guest_lookup l = { o->guest, o->guest_dir, o->force };

	return guest_id_find(&rp->desc.guest, path, &l, guest, len, err,
			     errlen) < 0 ? -1 : 0;
}

/* The watchdog is wall-clock time, not a recorded input: a replay on a
 * loaded machine must not call a recorded stretch without exits a hang.
 * Ten times the recorded limit still ends a replay that truly hangs. */
static uint64_t replay_watchdog(const struct replay *rp)
{
	return 10 * (rp->desc.sched.watchdog_ns ? rp->desc.sched.watchdog_ns :
		     SCHED_DEFAULT_WATCHDOG_NS);
}

static void build_config(struct replay *rp, struct vm_config *cfg,
			 const struct replay_opts *o,
			 struct vm_replay_hooks **hooks_out,
			 struct sched_source **src_out)
{
	static const struct vm_replay_hooks hooks_template = {
		.event = hook_event, .read_input = hook_read_input,
		.next_pause = hook_next_pause, .resume_for = hook_resume_for,
		.landed = hook_landed,
	};
	/* One allocation (freed through *hooks_out): the replay hooks and,
	 * for plugin traces, the raw-mode ones. */
	struct replay_hooks {
		struct vm_replay_hooks h;
		struct vm_raw_hooks raw;
	} *rh = malloc(sizeof(*rh));
	struct vm_replay_hooks *hooks = &rh->h;
	struct sched_source *src = malloc(sizeof(*src));
	const struct sched_config *rec = &rp->desc.sched;

	*hooks = hooks_template;
	hooks->arg = rp;
	*src = (struct sched_source){ source_apply, source_switch, rp };
	rh->raw = (struct vm_raw_hooks){ .arg = rp, .claim_io = hook_claim_io };
	run_desc_vm_config(&rp->desc, cfg);
	cfg->controlled |= rp->actions.n > 0;
	/* The recorded switches and actions decide, not a policy; the
	 * exploration settings made those and must not add to them. */
	cfg->sched = (struct sched_config){
		.mode = rec->mode,
		.policy = rec->policy == VM_POLICY_PLAN ? VM_POLICY_RR :
							  rec->policy,
		.pct_depth = rec->pct_depth, .seed = rec->seed,
		.watchdog_ns = replay_watchdog(rp),
	};
	if (rp->raw) {
		cfg->raw = cfg->init_event = cfg->controlled = true;
		cfg->raw_hooks = &rh->raw;
	}
	*hooks_out = hooks;
	*src_out = NULL;
	if (cfg->sched.mode != VM_SCHED_PARALLEL)
		*src_out = src;
	else
		free(src);
	cfg->console_fd = o->console_fd >= 0 ? o->console_fd : open("/dev/null", O_WRONLY);
	cfg->log_fd = cfg->console_fd;
}

/* Leftover recorded events of a VCPU after the run: the first one. */
static bool leftover(struct replay *rp, char *why, size_t len)
{
	for (unsigned i = 0; i < rp->nr_vcpus; i++) {
		struct stream *s = &rp->vcpus[i].own;
		char e[512];

		if (s->pos >= s->n)
			continue;
		fmt_event(e, sizeof(e), &s->v[s->pos].ev, s->v[s->pos].payload);
		snprintf(why, len, "the run ended before vcpu %u's event #%zu "
			 "(trace seq %llu): %s", i, s->pos,
			 (unsigned long long)s->v[s->pos].ev.seq, e);
		return true;
	}
	return false;
}

/* How the replayed run ended, on one line: "ends as recorded:
 * guest-assert: ...". */
static void describe_end(const struct vm_result *res, struct replay_result *r)
{
	int n = (int)strcspn(res->diag, "\n");

	if (res->reason == TEND_GUEST_EXIT)
		snprintf(r->end, sizeof(r->end), "ends as recorded: guest-exit, "
			 "code %d", res->exit_code);
	else
		snprintf(r->end, sizeof(r->end), "ends as recorded: %s%s%.*s",
			 trace_end_reason_name(res->reason), n ? ": " : "", n,
			 res->diag);
}

/* A recording cut short replays up to where it stopped: how it really
 * ended, for the verdict. */
static void describe_cut(const struct replay *rp, struct replay_result *r)
{
	const struct run_desc *d = &rp->desc;
	uint64_t code = rp->end.a1;
	char limit[96] = "";

	if (d->max_trace)
		snprintf(limit, sizeof(limit), "; it was recorded with "
			 "--max-trace %llu bytes", (unsigned long long)d->max_trace);
	if (rp->truncated)
		snprintf(r->end, sizeof(r->end), "ends where the trace does, "
			 "%s%s", rp->cut, limit);
	else if (rp->end.a0 == TEND_SIGNAL)
		snprintf(r->end, sizeof(r->end), "ends where the recording was "
			 "stopped: by signal %llu (%s)", (unsigned long long)code,
			 code < 65 ? strsignal((int)code) : "?");
	else if (d->timeout_ns && rp->stop_ns - rp->start_ns >= d->timeout_ns)
		snprintf(r->end, sizeof(r->end), "ends where the recording was "
			 "stopped: by --timeout after %llu ms",
			 (unsigned long long)d->timeout_ns / 1000000);
	else
		snprintf(r->end, sizeof(r->end), "ends where the recording was "
			 "stopped from outside the guest (%s, code %lld)",
			 trace_end_reason_name((uint32_t)rp->end.a0),
			 (long long)code);
}

/* A trace in which no run happened: nothing to replay, and nothing to
 * call same. */
static bool judge_empty(const struct replay *rp, struct replay_result *r)
{
	if (rp->has_run || (rp->loaded && rp->raw))
		return false;
	r->status = REPLAY_EMPTY;
	if (!rp->loaded)
		snprintf(r->message, sizeof(r->message), "the trace holds no "
			 "events: it was cut right after its header, nothing to "
			 "replay");
	else
		snprintf(r->message, sizeof(r->message), "the recorded run never "
			 "started (it ended as %s, code %lld, before its VM ran): "
			 "nothing to replay",
			 trace_end_reason_name((uint32_t)rp->end.a0),
			 (long long)rp->end.a1);
	return true;
}

static void judge_end(struct replay *rp, const struct vm_result *res,
		      uint64_t digest, struct replay_result *r)
{
	if (rp->prefix_only)
		describe_cut(rp, r);
	else
		describe_end(res, r);
	/* The VMM itself found the divergence (a pause it could not land). */
	if (!atomic_load(&rp->diverged) && strstr(res->diag, "replay diverged")) {
		r->status = REPLAY_DIVERGED;
		snprintf(r->message, sizeof(r->message), "%s", res->diag);
		return;
	}
	if (atomic_load(&rp->diverged)) {
		r->status = REPLAY_DIVERGED;
		/* The checker's account; the VM's diagnostic adds registers
		 * when the divergence stopped it. */
		if (res->diag[0] && strstr(res->diag, "replay diverged"))
			snprintf(r->message, sizeof(r->message), "%s", res->diag);
		else
			snprintf(r->message, sizeof(r->message), "%s", rp->message);
		return;
	}
	if (rp->prefix_only) {
		r->status = REPLAY_SAME;
		if (!atomic_load(&rp->prefix_done) && leftover(rp, r->message,
							       sizeof(r->message)))
			r->status = REPLAY_DIVERGED;
		return;
	}
	if (!(rp->parallel && rp->ended_by_stop) &&
	    leftover(rp, r->message, sizeof(r->message))) {
		r->status = REPLAY_DIVERGED;
		return;
	}
	if ((uint64_t)res->reason != rp->end.a0 ||
	    (uint64_t)(int64_t)res->exit_code != rp->end.a1) {
		r->status = REPLAY_DIVERGED;
		snprintf(r->message, sizeof(r->message), "the run ended as %s with "
			 "code %d; the recording ended as %s with code %lld%s%s",
			 trace_end_reason_name(res->reason), res->exit_code,
			 trace_end_reason_name((uint32_t)rp->end.a0),
			 (long long)rp->end.a1, res->diag[0] ? ": " : "", res->diag);
		return;
	}
	/* (Not after a stopped parallel run: where the stop caught the other
	 * VCPUs is timing, and so is their memory.) */
	if (rp->end.a2 && digest != rp->end.a2 &&
	    !(rp->parallel && rp->ended_by_stop)) {
		r->status = REPLAY_DIVERGED;
		snprintf(r->message, sizeof(r->message), "every event matched but "
			 "the final guest memory differs (digest %016llx, recorded "
			 "%016llx)%s", (unsigned long long)digest,
			 (unsigned long long)rp->end.a2,
			 !rp->parallel ? "" :
			 ": in a parallel trace, VCPUs racing on memory do this");
		return;
	}
	r->status = REPLAY_SAME;
}

/* Where a stuck replay stands: each VCPU's next expected event, the next
 * recorded action and switch. */
static void describe_stuck(struct replay *rp, char *buf, size_t len)
{
	char e[512];
	int n = snprintf(buf, len, "replay made no progress; waiting for:");

	for (unsigned i = 0; i < rp->nr_vcpus && n >= 0 && (size_t)n < len; i++) {
		struct stream *s = &rp->vcpus[i].own;
		if (s->pos >= s->n)
			continue;
		fmt_event(e, sizeof(e), &s->v[s->pos].ev, s->v[s->pos].payload);
		n += snprintf(buf + n, len - n, "\n  vcpu %u: %s", i, e);
	}
	if (rp->actions.pos < rp->actions.n && n >= 0 && (size_t)n < len) {
		const struct rec *a = &rp->actions.v[rp->actions.pos];
		fmt_event(e, sizeof(e), &a->ev, a->payload);
		n += snprintf(buf + n, len - n, "\n  next action: %s", e);
	}
	if (rp->sched.pos < rp->sched.n && n >= 0 && (size_t)n < len) {
		const struct rec *a = &rp->sched.v[rp->sched.pos];
		fmt_event(e, sizeof(e), &a->ev, a->payload);
		snprintf(buf + n, len - n, "\n  next switch: %s", e);
	}
}

/* Plugin traces: the guest memory and VM settings as the plugin set them
 * up before the start. */
static int raw_build_memory(struct replay *rp, char *err, size_t errlen)
{
	for (size_t i = 0; i < rp->memory.n; i++) {
		const struct rec *m = &rp->memory.v[i];
		void *host;
		int r;

		if (m->ev.type == TEV_VM_IOCTL || m->ev.type == TEV_IRQFD_SIGNAL) {
			r = raw_apply_input(rp, m);
			if (r < 0) {
				snprintf(err, errlen, "the recorded %s (a0=%#llx) "
					 "fails here: %s",
					 trace_event_name(m->ev.type),
					 (unsigned long long)m->ev.a0, strerror(-r));
				return -1;
			}
			continue;
		}
		if (m->ev.type == TEV_MEM_DATA) {
			host = vm_guest_ptr(rp->vm, m->ev.a0, m->ev.payload_len);
			if (!host)
				goto bad;
			memcpy(host, m->payload, m->ev.payload_len);
			continue;
		}
		if (rp->nmaps == sizeof(rp->maps) / sizeof(rp->maps[0]) ||
		    m->ev.a2 == 0 || m->ev.a2 > VM_MAX_MEM)
			goto bad;
		host = mmap(NULL, m->ev.a2, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (host == MAP_FAILED)
			goto bad;
		rp->maps[rp->nmaps].host = host;
		rp->maps[rp->nmaps++].len = m->ev.a2;
		r = vm_add_memory(rp->vm, m->ev.a1, m->ev.a2, host,
				  (unsigned)m->ev.a3);
		if (r < 0) {
			snprintf(err, errlen, "cannot map the recorded memory at "
				 "%#llx: %s", (unsigned long long)m->ev.a1,
				 strerror(-r));
			return -1;
		}
	}
	return 0;
bad:
	snprintf(err, errlen, "bad recorded memory (event seq %llu)",
		 (unsigned long long)rp->memory.v[0].ev.seq);
	return -1;
}

/* Plugin traces: an input made while a VCPU ran reached the guest at some
 * instruction the recording could not see (there is no instruction
 * counter): no replay can put it there again. */
static void describe_unplaced(struct replay *rp, char *err, size_t len)
{
	const struct trace_event *u = &rp->unplaced;

	if (u->type == TEV_IRQFD_SIGNAL)
		snprintf(err, len, "cannot replay: the plugin signalled an irqfd "
			 "while a VCPU was running (trace seq %llu); where the "
			 "interrupt reached the guest was not recorded",
			 (unsigned long long)u->seq);
	else
		snprintf(err, len, "cannot replay: the plugin made a VM setting "
			 "(ioctl %#llx) while a VCPU was running (trace seq %llu); "
			 "where it reached the guest was not recorded",
			 (unsigned long long)u->a0, (unsigned long long)u->seq);
}

static void free_replay(struct replay *rp)
{
	for (unsigned i = 0; rp->vcpus && i < rp->nr_vcpus; i++) {
		free_stream(&rp->vcpus[i].own);
		free_stream(&rp->vcpus[i].ctl);
		free_stream(&rp->vcpus[i].ioctls);
		free(rp->vcpus[i].req_data);
	}
	free(rp->vcpus);
	free_stream(&rp->sched);
	free_stream(&rp->actions);  /* its own copies of the ctl events */
	free_stream(&rp->memory);
	free_stream(&rp->inputs);
	while (rp->nfds)
		fd_drop(rp, &rp->fds[0]);
	pthread_mutex_destroy(&rp->input_lock);
	pthread_cond_destroy(&rp->input_cond);
	for (unsigned i = 0; i < rp->nmaps; i++)
		munmap(rp->maps[i].host, rp->maps[i].len);
	pthread_mutex_destroy(&rp->msg_lock);
	pthread_mutex_destroy(&rp->land_lock);
	free(rp->land_ns);
	free(rp);
}

static int replay_run(const char *path, const struct replay_opts *o,
		      struct replay_result *r);

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int replay_trace(const char *path, const struct replay_opts *o,
		 struct replay_result *r)
{
	int status = replay_run(path, o, r);

	r->duration_ns = mono_ns() - r->duration_ns;
	return status;
}

static int replay_run(const char *path, const struct replay_opts *o,
		      struct replay_result *r)
{
	struct replay *rp = calloc(1, sizeof(*rp));
	struct vm_config cfg;
	struct vm_replay_hooks *hooks = NULL;
	struct sched_source *src = NULL;
	const char *guest;
	struct vm *vm = NULL;
	uint64_t digest = 0;
	char err[4096], guest_path[PATH_MAX];

	memset(r, 0, sizeof(*r));
	r->status = REPLAY_ERROR;
	r->duration_ns = mono_ns();
	if (!rp) {
		snprintf(r->message, sizeof(r->message), "out of memory");
		return r->status;
	}
	pthread_mutex_init(&rp->msg_lock, NULL);
	pthread_mutex_init(&rp->land_lock, NULL);
	pthread_mutex_init(&rp->input_lock, NULL);
	pthread_cond_init(&rp->input_cond, NULL);
	if (load(rp, path, err, sizeof(err)))
		goto error;
	if (rp->raw && rp->unplaced.type) {
		describe_unplaced(rp, err, sizeof(err));
		goto error;
	}
	snprintf(r->mode, sizeof(r->mode), "%s",
		 sched_mode_name(rp->desc.sched.mode));
	r->truncated = rp->truncated;
	if (judge_empty(rp, r)) {
		free_replay(rp);
		return r->status;
	}
	/* Runs the recording cut short (signal, timeout) replay as a prefix. */
	rp->prefix_only = rp->truncated || rp->end.a0 == TEND_SIGNAL ||
			  (rp->end.a0 == TEND_GUEST_FAULT && !rp->has_error_event);
	if (rp->prefix_only && !rp->raw)
		cut_at_stop(rp);
	rp->parallel = rp->desc.sched.mode == VM_SCHED_PARALLEL;
	/* Runs that did not end by every VCPU returning were stopped. */
	rp->ended_by_stop = rp->end.a0 != TEND_GUEST_EXIT || rp->has_guest_exit;
	guest = guest_path;
	if (rp->raw) {
		rp->ended_by_stop = true;  /* the program's exit stopped it */
		guest = NULL;              /* the guest is the recorded memory */
	} else if (find_guest(rp, path, o, guest_path, sizeof(guest_path), err,
			      sizeof(err))) {
		goto error;
	}
	build_config(rp, &cfg, o, &hooks, &src);
	vm = vm_create(&cfg, guest, err, sizeof(err));
	if (!vm)
		goto error_cfg;
	vm_replay_attach(vm, hooks, src);
	rp->vm = vm;
	if (rp->raw && raw_build_memory(rp, err, sizeof(err)))
		goto error_cfg;
	if (rp->raw && !rp->raw_started) {
		/* The program exited without crosvm_start: nothing ran. */
		r->status = REPLAY_SAME;
		goto out;
	}
	if (vm_start(vm)) {
		snprintf(err, sizeof(err), "cannot start VCPU threads");
		goto error_cfg;
	}
	if (vm_wait(vm, o->timeout_ns ? (int)(o->timeout_ns / 1000000) : -1)) {
		char where[1536];
		/* Where it stands, before stopping it changes anything. */
		describe_stuck(rp, where, sizeof(where));
		atomic_store(&rp->diverged, true);  /* no checks while stopping */
		vm_stop(vm, TEND_VMM_ERROR, 1, "replay timed out");
		vm_wait(vm, -1);
		snprintf(err, sizeof(err), "replay timed out after %llu ms: %s",
			 (unsigned long long)o->timeout_ns / 1000000, where);
		goto error_cfg;
	}
	digest = vm_memory_digest(vm);
	judge_end(rp, vm_result(vm), digest, r);
	r->events = atomic_load(&rp->checked);
	r->landed = rp->nland;
	if (rp->nland) {
		qsort(rp->land_ns, rp->nland, sizeof(uint64_t), cmp_u64);
		r->land_p50_ns = rp->land_ns[rp->nland / 2];
	}
	goto out;
error_cfg:
	snprintf(r->message, sizeof(r->message), "%s", err);
	r->status = REPLAY_ERROR;
	goto out;
error:
	snprintf(r->message, sizeof(r->message), "%s", err);
	free_replay(rp);
	return r->status;
out:
	vm_destroy(vm);
	if (cfg.console_fd >= 0 && cfg.console_fd != o->console_fd)
		close(cfg.console_fd);
	free(hooks);
	free(src);
	free_replay(rp);
	return r->status;
}
