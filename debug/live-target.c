/* The live step-mode VM as a debug target (see live-target.h).
 *
 * The stop function runs on the VCPU thread about to execute an
 * instruction, holding the scheduler's token; every other VCPU waits for
 * it.  It decides whether the debugger should see a stop here, in order:
 *   an interrupt; what the previous instruction (of `last_ran`) did: a
 *   watched access (DR6 bits 0-3), the end of a requested step; a
 *   breakpoint at this VCPU's rip.
 * Then it blocks until the server resumes, and checks again (a step's end
 * and a breakpoint can come together): each reason is reported once.
 *
 * Watched words are also compared after every instruction: some hosts
 * (nested virtualization) never report data breakpoints to KVM's guest
 * debugging, and a changed value is what gdb's `watch` reports anyway.
 * Reads are seen through the debug registers only. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "debug/live-target.h"
#include "debug/live-target-state.h"
#include "traces/clock.h"
#include "traces/event.h"
#include "vmm/debug-stop.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

/* --- the stop point, on VCPU threads ----------------------------------------- */

static void apply_watches(struct live_target *lt, unsigned vcpu)
{
	uint64_t addr[4], dr7;

	if (lt->watch_gen[vcpu] == lt->points->gen)
		return;
	dr7 = debug_points_dr7(lt->points, addr);
	if (vm_debug_set_watch(lt->vm, vcpu, addr, dr7) == 0)
		lt->watch_gen[vcpu] = lt->points->gen;
}

/* The watched words' host addresses and values, after an edit. */
static void snapshot_values(struct live_target *lt, unsigned vcpu)
{
	const struct debug_points *p = lt->points;

	if (lt->values_gen == p->gen)
		return;
	lt->values_gen = p->gen;
	for (unsigned i = 0; i < p->nwatches; i++) {
		uint64_t gpa;

		lt->values[i].host = NULL;
		if (vm_debug_translate(lt->vm, vcpu, p->watches[i].addr, &gpa))
			continue;
		lt->values[i].host = vm_guest_ptr(lt->vm, gpa, p->watches[i].len);
		if (lt->values[i].host)
			memcpy(lt->values[i].old, lt->values[i].host,
			       p->watches[i].len);
	}
}

static void report_watch(struct debug_stop *s, const struct debug_watch *w)
{
	s->kind = DEBUG_STOP_WATCH;
	s->addr = w->addr;
	s->point_type = w->type;
}

/* A write that changed a watched word (read watches need the DRs). */
static int value_changed(struct live_target *lt)
{
	const struct debug_points *p = lt->points;
	int hit = -1;

	for (unsigned i = 0; i < p->nwatches; i++) {
		const struct debug_watch *w = &p->watches[i];

		if (!lt->values[i].host || w->type == DEBUG_WATCH_READ ||
		    !memcmp(lt->values[i].old, lt->values[i].host, w->len))
			continue;
		memcpy(lt->values[i].old, lt->values[i].host, w->len);
		if (hit < 0)
			hit = (int)i;
	}
	return hit;
}

static bool watch_hit(struct live_target *lt, unsigned vcpu,
		      struct debug_stop *s)
{
	const struct debug_points *p = lt->points;
	uint64_t dr6 = 0;
	int changed = value_changed(lt);

	vm_debug_last_dr6(lt->vm, vcpu, &dr6);
	for (unsigned i = 0; i < p->nwatches; i++) {
		if (dr6 & (1ull << i)) {
			lt->dr_seen = true;
			report_watch(s, &p->watches[i]);
			return true;
		}
	}
	if (changed < 0)
		return false;
	if (!lt->dr_seen && !lt->dr_warned) {
		lt->dr_warned = true;
		fprintf(stderr, "vcprr debug: this host's KVM reported no data "
			"breakpoint for a watched write (nested virtualization?): "
			"write watches compare values at each instruction; read "
			"watches (rwatch) cannot fire here\n");
	}
	report_watch(s, &p->watches[changed]);
	return true;
}

static bool find_stop(struct live_target *lt, unsigned vcpu,
		      struct debug_stop *s)
{
	struct kvm_regs regs;
	int last = lt->last_ran;

	memset(s, 0, sizeof(*s));
	s->thread = vcpu;
	if (atomic_exchange(&lt->interrupt, false)) {
		s->kind = DEBUG_STOP_INTERRUPT;
		return true;
	}
	if (last >= 0 && !lt->last_checked) {
		lt->last_checked = true;
		s->thread = (unsigned)last;
		if (watch_hit(lt, (unsigned)last, s))
			return true;
		if (lt->req.kind == DEBUG_STEP &&
		    (lt->req.thread < 0 || lt->req.thread == last)) {
			s->kind = DEBUG_STOP_STEP;
			return true;
		}
		s->thread = vcpu;
	}
	if (vm_debug_get_regs(lt->vm, vcpu, &regs, NULL, NULL) < 0)
		return false;
	if (debug_points_break_at(lt->points, regs.rip, &s->point_type) &&
	    !(lt->break_reported == (int)vcpu && lt->break_rip == regs.rip)) {
		lt->break_reported = (int)vcpu;
		lt->break_rip = regs.rip;
		s->kind = DEBUG_STOP_BREAK;
		return true;
	}
	return false;
}

/* Shows @s to the server and waits for the next resume.  False when the
 * server cannot be told. */
static bool report_stop(struct live_target *lt, const struct debug_stop *s)
{
	uint64_t one = 1, t0 = mono_ns();

	lt->stop = *s;
	lt->have_stop = true;
	lt->running = false;
	if (write(lt->stop_evfd, &one, sizeof(one)) < 0)
		return false;
	while (!lt->running && !lt->released)
		pthread_cond_wait(&lt->cond, &lt->lock);
	lt->stopped_ns += mono_ns() - t0;
	return true;
}

/* Positions are deterministic in a replay: the VCPU at each is kept once
 * seen (it serves reverse steps in every later run). */
static void note_position(struct live_target *lt, uint64_t pos, unsigned vcpu)
{
	if (pos < lt->history_len)
		return;
	if (pos >= lt->history_cap) {
		uint64_t cap = lt->history_cap ? 2 * lt->history_cap : 4096;
		uint16_t *h = realloc(lt->history, cap * sizeof(*h));

		if (!h)
			return;
		lt->history = h;
		lt->history_cap = cap;
	}
	if (pos == lt->history_len) {
		lt->history[pos] = (uint16_t)vcpu;
		lt->history_len++;
	}
}

/* Running to silent_to without stopping: every stop on the way is looked
 * at (so watched values, breakpoints passed stay current) and, scanning,
 * the last one before silent_to is kept with the position to show it at:
 * a watched write's is the writing instruction's, before it ran. */
static void silent_point(struct live_target *lt, unsigned vcpu, uint64_t pos)
{
	struct debug_stop s;

	while (find_stop(lt, vcpu, &s)) {
		uint64_t at = s.kind == DEBUG_STOP_WATCH && pos ? pos - 1 : pos;

		if (s.kind == DEBUG_STOP_INTERRUPT) {
			lt->interrupted = true;
			break;
		}
		if (lt->scan && at < lt->silent_to &&
		    (s.kind == DEBUG_STOP_BREAK || s.kind == DEBUG_STOP_WATCH)) {
			lt->hit = s;
			lt->hit_pos = at;
			lt->have_hit = true;
		}
	}
	if (pos < lt->silent_to && !lt->interrupted &&
	    !(lt->until && lt->until(lt->until_arg)))
		return;
	lt->silent = false;
	memset(&s, 0, sizeof(s));
	s.kind = DEBUG_STOP_STEP;
	s.thread = vcpu;
	report_stop(lt, &s);
}

/* Whether the last VCPU to pass the stop point was kicked out of KVM_RUN
 * before its guest ran: then no instruction ran, the position stays (a
 * kick lands by timing: positions must not count it). */
static bool last_run_kicked(struct live_target *lt)
{
	unsigned last = (unsigned)lt->last_ran;
	uint64_t kicked;

	if (lt->last_ran < 0)
		return false;
	kicked = vm_debug_vcpu_kicked_runs(lt->vm, last);
	if (kicked == lt->eintr[last])
		return false;
	lt->eintr[last] = kicked;
	return true;
}

static void stop_point(struct vm *vm, unsigned vcpu, void *arg)
{
	struct live_target *lt = arg;
	struct debug_stop s;

	(void)vm;
	pthread_mutex_lock(&lt->lock);
	if (last_run_kicked(lt) && lt->instructions) {
		lt->instructions--;
		lt->history[lt->instructions] = (uint16_t)vcpu;
		lt->last_checked = true;  /* nothing ran to check */
	}
	note_position(lt, lt->instructions, vcpu);
	if (lt->silent && !lt->released)
		silent_point(lt, vcpu, lt->instructions);
	while (!lt->released && find_stop(lt, vcpu, &s)) {
		if (!report_stop(lt, &s))
			break;
	}
	if (!lt->released && lt->position_hook &&
	    lt->instructions >= lt->hook_at) {
		uint64_t pos = lt->instructions, next;

		/* (it may take a checkpoint: live_target_mark locks) */
		pthread_mutex_unlock(&lt->lock);
		next = lt->position_hook(lt->hook_arg, pos, vcpu);
		pthread_mutex_lock(&lt->lock);
		lt->hook_at = next;
	}
	if (!lt->released) {
		apply_watches(lt, vcpu);
		snapshot_values(lt, vcpu);
	}
	if (lt->break_reported == (int)vcpu)
		lt->break_reported = -1;  /* it runs: its breakpoint is passed */
	lt->last_ran = (int)vcpu;
	lt->last_checked = false;
	lt->instructions++;
	pthread_mutex_unlock(&lt->lock);
}

/* --- the operations, on the server's thread ----------------------------------- */

static unsigned nr_threads(void *t)
{
	struct live_target *lt = t;

	return vm_nr_vcpus(lt->vm);
}

static int thread_state(void *t, unsigned thread, struct debug_thread *st)
{
	struct live_target *lt = t;
	struct vm_debug_vcpu v;
	int r = vm_debug_vcpu_state(lt->vm, thread, &v);

	if (r)
		return r;
	memset(st, 0, sizeof(*st));
	st->run = v.finished ? DEBUG_THREAD_EXITED : v.paused ?
		  DEBUG_THREAD_PAUSED : v.halted ? DEBUG_THREAD_HALTED :
		  DEBUG_THREAD_RUNNABLE;
	st->pause_seq = v.pause_seq;
	st->pause_data = v.pause_data;
	st->exit_code = v.exit_code;
	st->exit_seq = v.exit_seq;
	return 0;
}

static int read_regs(void *t, unsigned thread, struct debug_regs *r)
{
	struct live_target *lt = t;

	return vm_debug_get_regs(lt->vm, thread, &r->regs, &r->sregs, &r->fpu);
}

static ssize_t read_mem(void *t, unsigned thread, uint64_t addr, void *buf,
			size_t len)
{
	struct live_target *lt = t;
	size_t done = 0;

	while (done < len) {
		uint64_t gva = addr + done, gpa;
		size_t chunk = 4096 - (gva & 4095);
		void *host;

		if (chunk > len - done)
			chunk = len - done;
		if (gva < addr || vm_debug_translate(lt->vm, thread, gva, &gpa))
			break;
		host = vm_guest_ptr(lt->vm, gpa, chunk);
		if (!host)
			break;
		memcpy((uint8_t *)buf + done, host, chunk);
		done += chunk;
	}
	return done ? (ssize_t)done : -EFAULT;
}

static bool vm_ended(struct live_target *lt)
{
	struct pollfd p = { .fd = vm_end_fd(lt->vm), .events = POLLIN };

	return lt->started && poll(&p, 1, 0) == 1;
}

/* Starts the VCPU threads: a new run, or one going on from a restored
 * snapshot. */
static int start_run(struct live_target *lt, bool resume_mid, char *err,
		     size_t errlen)
{
	int r;

	if (resume_mid)
		return vm_snapshot_resume(lt->vm, err, errlen);
	r = vm_start(lt->vm);
	if (r < 0)
		snprintf(err, errlen, "starting the VCPU threads: %s",
			 strerror(-r));
	return r;
}

int live_target_go(struct live_target *lt, const struct debug_resume *r,
		   char *err, size_t errlen)
{
	uint64_t n;
	bool start, mid;

	while (read(lt->stop_evfd, &n, sizeof(n)) > 0)
		;
	lt->req = *r;
	lt->have_stop = false;
	lt->running = true;
	atomic_store(&lt->interrupt, false);  /* (one asked while stopped) */
	pthread_cond_broadcast(&lt->cond);
	start = !lt->started;
	mid = lt->resume_mid;
	lt->started = true;
	lt->resume_mid = false;
	pthread_mutex_unlock(&lt->lock);
	return start ? start_run(lt, mid, err, errlen) : 0;
}

static int resume(void *t, const struct debug_resume *r, char *err,
		  size_t errlen)
{
	struct live_target *lt = t;

	if (vm_ended(lt)) {
		snprintf(err, errlen, "the run has ended");
		return -ESRCH;
	}
	pthread_mutex_lock(&lt->lock);
	return live_target_go(lt, r, err, errlen);
}

static int stop_fd(void *t)
{
	struct live_target *lt = t;

	return lt->epoll_fd;
}

static void ended_stop(struct live_target *lt, struct debug_stop *s)
{
	const struct vm_result *res = vm_result(lt->vm);

	memset(s, 0, sizeof(*s));
	s->thread = lt->last_ran < 0 ? 0 : (unsigned)lt->last_ran;
	if (res->reason == TEND_GUEST_EXIT) {
		s->kind = DEBUG_STOP_EXITED;
		s->exit_code = res->exit_code;
	} else {
		s->kind = DEBUG_STOP_FAULT;
	}
	snprintf(s->why, sizeof(s->why), "%s", res->diag);
}

static int poll_stop(void *t, struct debug_stop *s)
{
	struct live_target *lt = t;
	/* One look at the end: an ended run's result is read only once its
	 * threads are joined (not under the lock: a thread on its way out may
	 * still take it); a run that ends after this look is seen next time. */
	bool ended = vm_ended(lt);
	int r = 1;

	if (ended)
		vm_wait(lt->vm, -1);
	pthread_mutex_lock(&lt->lock);
	if (lt->have_stop)
		*s = lt->stop;
	else if (ended)
		ended_stop(lt, s);
	else
		r = 0;
	pthread_mutex_unlock(&lt->lock);
	return r;
}

static void interrupt(void *t)
{
	struct live_target *lt = t;

	atomic_store(&lt->interrupt, true);
}

static int where(void *t, char *out, size_t outlen)
{
	struct live_target *lt = t;
	struct sched_stats st = { 0 };

	vm_sched_stats(lt->vm, &st);
	snprintf(out, outlen, "a live run (no trace): scheduler step %" PRIu64
		 ", %" PRIu64 " instructions under the debugger, vcpu %d ran "
		 "last\n", st.steps, lt->instructions, lt->last_ran);
	return 0;
}

static const struct debug_target_ops live_ops = {
	.nr_threads = nr_threads,
	.thread_state = thread_state,
	.read_regs = read_regs,
	.read_mem = read_mem,
	.resume = resume,
	.stop_fd = stop_fd,
	.poll_stop = poll_stop,
	.interrupt = interrupt,
	.where = where,
};

struct debug_target live_target_of(struct live_target *lt)
{
	return (struct debug_target){ .ops = &live_ops, .t = lt };
}

/* --- lifecycle ------------------------------------------------------------------ */

int live_target_watch_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* The per-run state, for a new run of @vm. */
static int attach(struct live_target *lt, struct vm *vm)
{
	if (lt->vm)
		epoll_ctl(lt->epoll_fd, EPOLL_CTL_DEL, vm_end_fd(lt->vm), NULL);
	lt->vm = vm;
	lt->started = lt->running = lt->released = lt->have_stop = false;
	lt->silent = lt->have_hit = false;
	lt->last_ran = -1;
	lt->last_checked = false;
	lt->break_reported = -1;
	lt->instructions = 0;
	lt->values_gen = 0;
	lt->dr_seen = false;
	memset(lt->watch_gen, 0, lt->nr_vcpus * sizeof(uint64_t));
	memset(lt->eintr, 0, lt->nr_vcpus * sizeof(uint64_t));
	atomic_store(&lt->interrupt, false);
	/* Every watch generation differs from 0: the first resume programs
	 * the debug registers, keeping the single step. */
	lt->points->gen++;
	if (live_target_watch_fd(lt->epoll_fd, vm_end_fd(vm)))
		return -errno;
	return vm_set_debug_stop(vm, stop_point, lt);
}

struct live_target *live_target_create(struct vm *vm,
				       struct debug_points *points, char *err,
				       size_t errlen)
{
	struct live_target *lt = calloc(1, sizeof(*lt));
	int r;

	if (!lt || !(lt->watch_gen = calloc(vm_nr_vcpus(vm), sizeof(uint64_t))) ||
	    !(lt->eintr = calloc(vm_nr_vcpus(vm), sizeof(uint64_t)))) {
		snprintf(err, errlen, "out of memory");
		if (lt)
			free(lt->watch_gen);
		free(lt);
		return NULL;
	}
	lt->nr_vcpus = vm_nr_vcpus(vm);
	lt->points = points;
	pthread_mutex_init(&lt->lock, NULL);
	pthread_cond_init(&lt->cond, NULL);
	lt->stop_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	lt->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (lt->stop_evfd < 0 || lt->epoll_fd < 0 ||
	    live_target_watch_fd(lt->epoll_fd, lt->stop_evfd)) {
		snprintf(err, errlen, "debugger's stop notification: %s",
			 strerror(errno));
		goto fail;
	}
	r = attach(lt, vm);
	if (r == -EINVAL) {
		snprintf(err, errlen, "the debugger needs the step scheduler "
			 "(--sched step)");
		goto fail;
	} else if (r) {
		snprintf(err, errlen, "debugger's stop notification: %s",
			 strerror(-r));
		goto fail;
	}
	return lt;
fail:
	live_target_destroy(lt);
	return NULL;
}

int live_target_attach(struct live_target *lt, struct vm *vm)
{
	if (vm_nr_vcpus(vm) != lt->nr_vcpus)
		return -EINVAL;
	return attach(lt, vm);
}

bool live_target_started(struct live_target *lt)
{
	bool started;

	pthread_mutex_lock(&lt->lock);
	started = lt->started;
	pthread_mutex_unlock(&lt->lock);
	return started;
}

void live_target_release(struct live_target *lt)
{
	pthread_mutex_lock(&lt->lock);
	lt->released = true;
	pthread_cond_broadcast(&lt->cond);
	pthread_mutex_unlock(&lt->lock);
}

void live_target_destroy(struct live_target *lt)
{
	if (!lt)
		return;
	live_target_release(lt);
	if (lt->stop_evfd >= 0)
		close(lt->stop_evfd);
	if (lt->epoll_fd >= 0)
		close(lt->epoll_fd);
	pthread_cond_destroy(&lt->cond);
	pthread_mutex_destroy(&lt->lock);
	free(lt->watch_gen);
	free(lt->history);
	free(lt->eintr);
	free(lt);
}
