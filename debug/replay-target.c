/* The replay of a step trace as a debug target, going backwards by
 * restoring a checkpoint and running forward again (see replay-target.h).
 * Forward execution, registers, memory, breakpoints and watchpoints are
 * the live target's over the replay's VM. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug/checkpoints.h"
#include "debug/live-target.h"
#include "debug/replay-target.h"
#include "traces/clock.h"
#include "traces/event.h"
#include "vmm/debug-stop.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

#define CHECKPOINT_MEMORY (256ull << 20)

struct replay_target {
	const char *path;
	struct debug_points *points;
	struct replay_session *rs;
	struct live_target *lt;
	const struct debug_target_ops *live;
	uint64_t runs;              /* replays started: the first and restores */
	uint64_t replayed_ns;       /* spent running to positions */
	uint64_t goto_seq;          /* goto_event's event, for reached() */
	unsigned thread;            /* of the last stop shown */
	struct checkpoints cps;
	bool auto_checkpoints;
	/* the position hook's, on VCPU threads while the server waits */
	uint64_t hook_pos, hook_ns, hook_stopped_ns;
	char cp_error[256];         /* the last failed automatic take */
	uint64_t every;             /* steps between automatic ones (0: by
				       their cost) */
	int interrupt_fd;           /* of the reverse going on (0: none) */
};

/* --- checkpoints -------------------------------------------------------------- */

static uint64_t checkpoint_bytes(struct replay_target *rt)
{
	struct vm_snapshot_stats st;
	uint64_t n;

	vm_snapshot_stats(replay_session_vm(rt->rs), &st);
	n = st.bytes;
	for (size_t i = 0; i < rt->cps.n; i++)
		n += replay_mark_bytes(rt->cps.v[i].mark);
	return n;
}

/* A checkpoint here: the VM still at @vcpu's stop point (or not started
 * when @vcpu is -1).  0, or -1 with a message. */
static int take_checkpoint(struct replay_target *rt, int vcpu, bool manual,
			   char *err, size_t errlen)
{
	struct vm *vm = replay_session_vm(rt->rs);
	struct checkpoint cp = { .manual = manual };
	struct vm_snapshot_stats st;
	uint64_t t0 = mono_ns();

	cp.snap = vcpu < 0 ? vm_snapshot_take(vm, err, errlen) :
		  vm_snapshot_take_stopped(vm, (unsigned)vcpu, err, errlen);
	if (!cp.snap)
		return -1;
	cp.mark = replay_session_mark(rt->rs);
	cp.live = vcpu < 0 ? NULL : live_target_mark(rt->lt);
	cp.pos = cp.live ? live_mark_position(cp.live) : 0;
	cp.last_seq = replay_session_last_seq(rt->rs);
	if (!cp.mark || (vcpu >= 0 && !cp.live) ||
	    checkpoints_add(&rt->cps, &cp)) {
		snprintf(err, errlen, "out of memory");
		vm_snapshot_free(cp.snap);
		replay_mark_free(cp.mark);
		free(cp.live);
		return -1;
	}
	/* (the start's copies all memory in use: not what a take costs) */
	vm_snapshot_stats(vm, &st);
	if (vcpu >= 0)
		checkpoints_count_take(&rt->cps, mono_ns() - t0,
				       st.last_take_pages);
	if (!manual)
		checkpoints_thin(&rt->cps, checkpoint_bytes(rt));
	return 0;
}

/* At each stop point passed: measures a step, and takes the automatic
 * checkpoints (on the VCPU thread, the VM still). */
static uint64_t at_position(void *arg, uint64_t pos, unsigned vcpu)
{
	struct replay_target *rt = arg;
	uint64_t now = mono_ns(), shown = live_target_stopped_ns(rt->lt);
	uint64_t step = 0;
	bool want;

	/* A step's cost, all of it (a slow one is worth a checkpoint after
	 * it), but not the time a stop was shown. */
	if (pos == rt->hook_pos + 1 && now - rt->hook_ns > shown -
	    rt->hook_stopped_ns)
		step = now - rt->hook_ns - (shown - rt->hook_stopped_ns);
	want = checkpoints_want(&rt->cps, pos, step);
	if (rt->every)
		want = pos >= rt->cps.v[checkpoints_before(&rt->cps, pos)].pos +
			      rt->every;
	if (want && rt->auto_checkpoints)
		take_checkpoint(rt, (int)vcpu, false, rt->cp_error,
				sizeof(rt->cp_error));
	rt->hook_pos = pos;
	rt->hook_ns = mono_ns();
	rt->hook_stopped_ns = shown;
	return pos + 1;
}

/* --- runs ----------------------------------------------------------------- */

static void end_run(struct replay_target *rt)
{
	struct vm *vm = replay_session_vm(rt->rs);

	if (!live_target_started(rt->lt))
		return;
	replay_session_abandon(rt->rs);
	vm_stop(vm, TEND_SIGNAL, SIGINT, "the debugger went back");
	live_target_release(rt->lt);
	vm_wait(vm, -1);
}

/* Puts the VM and the replay back to checkpoint @i: the next run goes on
 * from there. */
static int restore(struct replay_target *rt, size_t i, char *err,
		   size_t errlen)
{
	const struct checkpoint *cp = &rt->cps.v[i];
	uint64_t t0 = mono_ns();
	int r;

	end_run(rt);
	if (vm_snapshot_restore(replay_session_vm(rt->rs), cp->snap, err,
				errlen))
		return -EIO;
	r = replay_session_rewind(rt->rs, cp->mark);
	if (r) {
		snprintf(err, errlen, "rewinding the replay: %s", strerror(-r));
		return r;
	}
	live_target_rewind(rt->lt, cp->live);
	rt->runs++;
	checkpoints_count_restore(&rt->cps, mono_ns() - t0);
	return 0;
}

static bool run_ended(struct replay_target *rt)
{
	struct pollfd p = { .fd = vm_end_fd(replay_session_vm(rt->rs)),
			    .events = POLLIN };

	return live_target_started(rt->lt) && poll(&p, 1, 0) == 1;
}

/* Runs to @pos (scanning for the last stop before it) and shows @s there
 * (thread: the VCPU about to run when s->thread is -1). */
static int run_to(struct replay_target *rt, uint64_t pos, bool scan,
		  char *err, size_t errlen)
{
	uint64_t t0 = mono_ns();
	int r = live_target_run_to(rt->lt, pos, scan, NULL, NULL,
				   rt->interrupt_fd);

	rt->replayed_ns += mono_ns() - t0;
	if (r == -EINTR)
		snprintf(err, errlen, "interrupted");
	else if (r < 0)
		snprintf(err, errlen, "replaying to step %" PRIu64 ": %s", pos,
			 strerror(-r));
	else if (r > 0)
		snprintf(err, errlen, "the replay ended before step %" PRIu64
			 ": it differs from the trace", pos);
	return r > 0 ? -EIO : r;
}

/* Goes to @pos: on from here when it is ahead and no checkpoint is
 * nearer, else from the last checkpoint before it. */
static int go_to(struct replay_target *rt, uint64_t pos, char *err,
		 size_t errlen)
{
	size_t i = checkpoints_before(&rt->cps, pos);
	uint64_t here = live_target_position(rt->lt);
	int r = 0;

	if (!(live_target_started(rt->lt) && !run_ended(rt) && here <= pos &&
	      here >= rt->cps.v[i].pos))
		r = restore(rt, i, err, errlen);
	return r ? r : run_to(rt, pos, false, err, errlen);
}

static int go_back_to(struct replay_target *rt, uint64_t pos,
		      struct debug_stop *s, char *err, size_t errlen)
{
	int r = go_to(rt, pos, err, errlen);

	if (r)
		return r;
	if (s->thread == (unsigned)-1)
		s->thread = (unsigned)live_target_vcpu_at(rt->lt, pos);
	live_target_set_stop(rt->lt, s);
	return 0;
}

/* The last position before @pos where @thread (-1: any) was to run. */
static bool previous_of(struct replay_target *rt, uint64_t pos, int thread,
			uint64_t *at)
{
	while (pos-- > 0) {
		if (thread < 0 || live_target_vcpu_at(rt->lt, pos) == thread) {
			*at = pos;
			return true;
		}
	}
	return false;
}

/* The last breakpoint or watched write before @here: each stretch between
 * two checkpoints is replayed, from the last one back, until one holds a
 * stop.  False when none does, back to the start. */
static int last_stop_before(struct replay_target *rt, uint64_t here,
			    struct debug_stop *s, uint64_t *at, bool *found,
			    char *err, size_t errlen)
{
	size_t i = checkpoints_before(&rt->cps, here ? here - 1 : 0);
	uint64_t end = here;
	int r;

	for (;; end = rt->cps.v[i--].pos) {
		r = restore(rt, i, err, errlen);
		if (r)
			return r;
		/* (from the trace's end, the scan ends with the run; its
		 * stretches are covered: no checkpoints taken on the way) */
		rt->auto_checkpoints = false;
		r = run_to(rt, end, true, err, errlen);
		rt->auto_checkpoints = true;
		if (r && !(r == -EIO && live_target_position(rt->lt) == end))
			return r;
		*found = live_target_last_hit(rt->lt, s, at);
		if (*found || i == 0)
			return 0;
	}
}

/* Stopped by the user on the way back: shown where it is. */
static int interrupted(struct replay_target *rt)
{
	struct debug_stop s = { .kind = DEBUG_STOP_INTERRUPT };
	uint64_t here = live_target_position(rt->lt);

	s.thread = (unsigned)live_target_vcpu_at(rt->lt, here);
	live_target_set_stop(rt->lt, &s);
	return 0;
}

static int reverse(void *t, const struct debug_resume *r, char *err,
		   size_t errlen)
{
	struct replay_target *rt = t;
	uint64_t here = live_target_position(rt->lt), to = 0;
	struct debug_stop s = { .kind = DEBUG_STOP_STEP, .thread = (unsigned)-1 };
	bool found = false;
	int ret = 0;

	rt->interrupt_fd = r->interrupt_fd;
	if (r->kind == DEBUG_STEP) {
		/* gdb steps the thread it stopped in, even asking for any. */
		found = previous_of(rt, here, r->thread < 0 ? (int)rt->thread :
				    r->thread, &to);
	} else {
		ret = last_stop_before(rt, here, &s, &to, &found, err, errlen);
	}
	if (!ret && !found) {
		to = 0;
		s.kind = DEBUG_STOP_TRACE_BEGIN;
		s.thread = (unsigned)-1;
	}
	if (!ret)
		ret = go_back_to(rt, to, &s, err, errlen);
	rt->interrupt_fd = 0;
	return ret == -EINTR ? interrupted(rt) : ret;
}

/* --- the live target's operations, and the replay's ------------------------ */

static unsigned nr_threads(void *t)
{
	struct replay_target *rt = t;

	return rt->live->nr_threads(rt->lt);
}

static int thread_state(void *t, unsigned thread, struct debug_thread *st)
{
	struct replay_target *rt = t;

	return rt->live->thread_state(rt->lt, thread, st);
}

static int read_regs(void *t, unsigned thread, struct debug_regs *r)
{
	struct replay_target *rt = t;

	return rt->live->read_regs(rt->lt, thread, r);
}

static ssize_t read_mem(void *t, unsigned thread, uint64_t addr, void *buf,
			size_t len)
{
	struct replay_target *rt = t;

	return rt->live->read_mem(rt->lt, thread, addr, buf, len);
}

static int resume(void *t, const struct debug_resume *r, char *err,
		  size_t errlen)
{
	struct replay_target *rt = t;

	return rt->live->resume(rt->lt, r, err, errlen);
}

static int stop_fd(void *t)
{
	struct replay_target *rt = t;

	return rt->live->stop_fd(rt->lt);
}

/* The run's end is the trace's: gdb may go back from it. */
static int poll_stop(void *t, struct debug_stop *s)
{
	struct replay_target *rt = t;
	int r = rt->live->poll_stop(rt->lt, s);

	if (r == 1 && (s->kind == DEBUG_STOP_EXITED ||
		       s->kind == DEBUG_STOP_FAULT))
		s->kind = DEBUG_STOP_TRACE_END;
	if (r == 1)
		rt->thread = s->thread;
	return r;
}

static void interrupt(void *t)
{
	struct replay_target *rt = t;

	rt->live->interrupt(rt->lt);
}

static int where(void *t, char *out, size_t outlen)
{
	struct replay_target *rt = t;
	uint64_t pos = live_target_position(rt->lt);
	int vcpu = live_target_vcpu_at(rt->lt, pos);
	char diverged[512], next[32] = "no vcpu runs next";

	if (vcpu >= 0)
		snprintf(next, sizeof(next), "vcpu %d runs next", vcpu);
	snprintf(out, outlen, "step %" PRIu64 " (instructions since the start), "
		 "after trace event %" PRIu64 " (%" PRIu64 " events replayed); "
		 "%s\n", pos, replay_session_last_seq(rt->rs),
		 replay_session_checked(rt->rs), next);
	if (run_ended(rt))
		snprintf(out + strlen(out), outlen - strlen(out), "the run ended: "
			 "memory digest %016" PRIx64 ", recorded %016" PRIx64 "\n",
			 vm_memory_digest(replay_session_vm(rt->rs)),
			 replay_session_recorded_digest(rt->rs));
	if (replay_session_diverged(rt->rs, diverged, sizeof(diverged)))
		snprintf(out + strlen(out), outlen - strlen(out),
			 "the replay differs from the trace: %s\n", diverged);
	return 0;
}

/* goto's stop: the event was replayed (on the thread at the stop point). */
static bool reached(void *arg)
{
	struct replay_target *rt = arg;

	return replay_session_last_seq(rt->rs) >= rt->goto_seq;
}

static int goto_event(void *t, uint64_t event, char *out, size_t outlen)
{
	struct replay_target *rt = t;
	struct debug_stop s = { .kind = DEBUG_STOP_STEP };
	size_t i = checkpoints_before_event(&rt->cps, event);
	char err[512];
	int r = 0;

	/* From the last checkpoint before the event, unless this is nearer. */
	if (replay_session_last_seq(rt->rs) >= event || run_ended(rt) ||
	    rt->cps.v[i].pos > live_target_position(rt->lt))
		r = restore(rt, i, err, sizeof(err));
	rt->goto_seq = event;
	if (!r)
		r = live_target_run_to(rt->lt, UINT64_MAX, false, reached, rt, 0);
	if (r < 0) {
		snprintf(out, outlen, "goto: %s\n", err);
		return r;
	}
	if (r > 0) {
		snprintf(out, outlen, "goto: the trace ended before event %"
			 PRIu64 "\n", event);
		return 0;
	}
	s.thread = (unsigned)live_target_vcpu_at(rt->lt,
						 live_target_position(rt->lt));
	live_target_set_stop(rt->lt, &s);
	where(t, out, outlen);
	snprintf(out + strlen(out), outlen - strlen(out), "(gdb: run "
		 "'maintenance flush register-cache' to see the registers "
		 "here)\n");
	return 0;
}

static int list_checkpoints(void *t, char *out, size_t outlen)
{
	struct replay_target *rt = t;
	const struct checkpoints *c = &rt->cps;
	size_t n, shown = 0;
	char steps[64] = "";

	if (checkpoints_step_ns(c))
		snprintf(steps, sizeof(steps), ", about %" PRIu64 " steps at %.1f "
			 "us", checkpoints_interval(c),
			 checkpoints_step_ns(c) / 1e3);
	n = (size_t)snprintf(out, outlen, "%zu checkpoints, %.1f MiB; one every "
			     "%.0f ms of replay%s (%.0f us to take one, %.0f us "
			     "to restore one); %" PRIu64 " replays, %.3f s spent "
			     "replaying to positions\n", c->n,
			     checkpoint_bytes(rt) / 1048576.0,
			     checkpoints_interval_ns(c) / 1e6, steps,
			     c->takes ? c->take_ns / 1e3 / c->takes : 0.0,
			     c->restores ? c->restore_ns / 1e3 / c->restores : 0.0,
			     rt->runs, rt->replayed_ns / 1e9);
	for (; shown < c->n && n + 120 < outlen; shown++) {
		const struct checkpoint *cp = &c->v[shown];

		n += snprintf(out + n, outlen - n, "checkpoint %zu: step %" PRIu64
			      ", after trace event %" PRIu64 "%s\n", shown,
			      cp->pos, cp->last_seq, !shown ? " (the trace's "
			      "start)" : cp->manual ? " (asked for)" : "");
	}
	if (shown < c->n)
		snprintf(out + n, outlen - n, "(%zu more)\n", c->n - shown);
	return 0;
}

static int checkpoint(void *t, char *out, size_t outlen)
{
	struct replay_target *rt = t;
	uint64_t pos = live_target_position(rt->lt);
	size_t i = checkpoints_before(&rt->cps, pos);
	char err[256];

	if (rt->cps.v[i].pos == pos) {
		rt->cps.v[i].manual = i > 0;
		snprintf(out, outlen, "checkpoint %zu is here (step %" PRIu64
			 ")\n", i, pos);
		return 0;
	}
	if (run_ended(rt)) {
		snprintf(out, outlen, "checkpoint: the run has ended; go back "
			 "first\n");
		return -EINVAL;
	}
	if (take_checkpoint(rt, live_target_vcpu_at(rt->lt, pos), true, err,
			    sizeof(err))) {
		snprintf(out, outlen, "checkpoint: not at step %" PRIu64 ": %s; "
			 "step on and try again\n", pos, err);
		return -EAGAIN;
	}
	snprintf(out, outlen, "checkpoint %zu: step %" PRIu64 "\n",
		 checkpoints_before(&rt->cps, pos), pos);
	return 0;
}

static const struct debug_target_ops replay_ops = {
	.nr_threads = nr_threads,
	.thread_state = thread_state,
	.read_regs = read_regs,
	.read_mem = read_mem,
	.resume = resume,
	.reverse = reverse,
	.stop_fd = stop_fd,
	.poll_stop = poll_stop,
	.interrupt = interrupt,
	.where = where,
	.goto_event = goto_event,
	.list_checkpoints = list_checkpoints,
	.checkpoint = checkpoint,
};

struct debug_target replay_target_of(struct replay_target *rt)
{
	return (struct debug_target){ .ops = &replay_ops, .t = rt };
}

/* --- lifecycle --------------------------------------------------------------- */

struct replay_target *replay_target_create(const char *path,
					   const struct replay_opts *o,
					   struct debug_points *points,
					   char *err, size_t errlen)
{
	struct replay_target *rt = calloc(1, sizeof(*rt));

	if (!rt) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rt->path = path;
	rt->points = points;
	rt->rs = replay_session_open(path, o, err, errlen);
	if (!rt->rs)
		goto fail;
	if (replay_session_mode(rt->rs) != VM_SCHED_STEP) {
		snprintf(err, errlen, "%s: a %s trace: debugging a replay, with "
			 "reverse execution, needs a step recording (vcprr "
			 "record --sched step, or explore --preempt step)", path,
			 sched_mode_name(replay_session_mode(rt->rs)));
		goto fail;
	}
	rt->lt = live_target_create(replay_session_vm(rt->rs), points, err,
				    errlen);
	if (!rt->lt)
		goto fail;
	rt->live = live_target_of(rt->lt).ops;
	rt->runs = 1;
	/* Checkpoint 0: the VM before its start (it turns the dirty log on). */
	checkpoints_init(&rt->cps, CHECKPOINT_MEMORY);
	if (take_checkpoint(rt, -1, false, err, errlen))
		goto fail;
	rt->auto_checkpoints = true;
	live_target_set_position_hook(rt->lt, at_position, rt);
	return rt;
fail:
	replay_target_destroy(rt);
	return NULL;
}

int replay_target_seek(struct replay_target *rt, uint64_t pos, char *err,
		       size_t errlen)
{
	struct debug_stop s = { .kind = DEBUG_STOP_STEP, .thread = (unsigned)-1 };

	return go_back_to(rt, pos, &s, err, errlen);
}

uint64_t replay_target_position(struct replay_target *rt)
{
	return live_target_position(rt->lt);
}

void replay_target_checkpoint_every(struct replay_target *rt, uint64_t steps)
{
	rt->every = steps;
}

static uint64_t hash_words(uint64_t h, const void *p, size_t n)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ w[i]) * 0x100000001b3ull;
	return h;
}

uint64_t replay_target_state_hash(struct replay_target *rt)
{
	struct vm *vm = replay_session_vm(rt->rs);
	struct sched_stats ss = { 0 };
	uint64_t h = replay_session_state_hash(rt->rs);

	h = h * 31 + live_target_position(rt->lt);
	h = h * 31 + vm_memory_digest(vm);
	vm_sched_stats(vm, &ss);
	h = h * 31 + ss.steps;
	for (unsigned i = 0; i < vm_nr_vcpus(vm); i++) {
		struct kvm_regs r;

		if (vm_debug_get_regs(vm, i, &r, NULL, NULL) == 0)
			h = hash_words(h, &r, sizeof(r) / 8);
	}
	return h;
}

void replay_target_checkpoint_stats(struct replay_target *rt,
				    struct replay_checkpoint_stats *st)
{
	const struct checkpoints *c = &rt->cps;
	struct vm_snapshot_stats vs;

	vm_snapshot_stats(replay_session_vm(rt->rs), &vs);
	*st = (struct replay_checkpoint_stats){
		.checkpoints = c->n, .bytes = checkpoint_bytes(rt),
		.written_bytes = vs.pages_taken * 4096, .takes = c->takes,
		.take_ns = c->take_ns, .take_pages = c->take_pages,
		.restores = c->restores, .restore_ns = c->restore_ns,
		.interval = checkpoints_interval(c),
		.step_ns = checkpoints_step_ns(c),
		.thinned = c->thinned, .replayed_ns = rt->replayed_ns,
	};
}

const char *replay_target_guest(const struct replay_target *rt)
{
	return replay_session_guest(rt->rs);
}

void replay_target_destroy(struct replay_target *rt)
{
	if (!rt)
		return;
	if (rt->lt) {
		end_run(rt);
		live_target_destroy(rt->lt);
	}
	checkpoints_free(&rt->cps);
	replay_session_close(rt->rs);
	free(rt);
}
