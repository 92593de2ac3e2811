/* The replay of a step trace as a debug target, going backwards by
 * running forward again (see replay-target.h).  Forward execution,
 * registers, memory, breakpoints and watchpoints are the live target's
 * over the replay's VM. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug/live-target.h"
#include "debug/replay-target.h"
#include "traces/clock.h"
#include "traces/event.h"
#include "vmm/vm.h"

struct replay_target {
	const char *path;
	struct replay_opts opts;
	struct debug_points *points;
	struct replay_session *rs;
	struct live_target *lt;
	const struct debug_target_ops *live;
	uint64_t runs;              /* replays started: the first and restarts */
	uint64_t replayed_ns;       /* spent running to positions */
	uint64_t goto_seq;          /* goto_event's event, for reached() */
	unsigned thread;            /* of the last stop shown */
};

/* --- runs ----------------------------------------------------------------- */

static void end_run(struct replay_target *rt)
{
	struct vm *vm = replay_session_vm(rt->rs);

	if (!live_target_started(rt->lt))
		return;
	vm_stop(vm, TEND_SIGNAL, SIGINT, "the debugger went back");
	live_target_release(rt->lt);
	vm_wait(vm, -1);
}

/* A new replay of the trace, at its start. */
static int restart(struct replay_target *rt, char *err, size_t errlen)
{
	struct replay_session *rs;
	int r;

	end_run(rt);
	rs = replay_session_open(rt->path, &rt->opts, err, errlen);
	if (!rs)
		return -EIO;
	/* (attach lets go of the old VM: close it after) */
	r = live_target_attach(rt->lt, replay_session_vm(rs));
	replay_session_close(rt->rs);
	rt->rs = rs;
	rt->runs++;
	if (r)
		snprintf(err, errlen, "the debugger's stop point: %s",
			 strerror(-r));
	return r;
}

/* Runs to @pos (scanning for the last stop before it) and shows @s there
 * (thread: the VCPU about to run when s->thread is -1). */
static int run_to(struct replay_target *rt, uint64_t pos, bool scan,
		  char *err, size_t errlen)
{
	uint64_t t0 = mono_ns();
	int r = live_target_run_to(rt->lt, pos, scan, NULL, NULL);

	rt->replayed_ns += mono_ns() - t0;
	if (r < 0)
		snprintf(err, errlen, "replaying to step %" PRIu64 ": %s", pos,
			 strerror(-r));
	else if (r > 0)
		snprintf(err, errlen, "the replay ended before step %" PRIu64
			 ": it differs from the trace", pos);
	return r > 0 ? -EIO : r;
}

static int go_back_to(struct replay_target *rt, uint64_t pos,
		      struct debug_stop *s, char *err, size_t errlen)
{
	int r = restart(rt, err, errlen);

	if (!r)
		r = run_to(rt, pos, false, err, errlen);
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

static int reverse(void *t, const struct debug_resume *r, char *err,
		   size_t errlen)
{
	struct replay_target *rt = t;
	uint64_t here = live_target_position(rt->lt), to = 0;
	struct debug_stop s = { .kind = DEBUG_STOP_STEP, .thread = (unsigned)-1 };
	bool found;
	int ret;

	if (r->kind == DEBUG_STEP) {
		/* gdb steps the thread it stopped in, even asking for any. */
		found = previous_of(rt, here, r->thread < 0 ? (int)rt->thread :
				    r->thread, &to);
	} else {
		/* From the trace's end, the scan ends with the run. */
		ret = restart(rt, err, errlen);
		if (ret)
			return ret;
		ret = run_to(rt, here, true, err, errlen);
		if (ret && !(ret == -EIO && live_target_position(rt->lt) == here))
			return ret;
		found = live_target_last_hit(rt->lt, &s, &to);
	}
	if (!found) {
		to = 0;
		s.kind = DEBUG_STOP_TRACE_BEGIN;
		s.thread = (unsigned)-1;
	}
	return go_back_to(rt, to, &s, err, errlen);
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

static bool run_ended(struct replay_target *rt)
{
	struct pollfd p = { .fd = vm_end_fd(replay_session_vm(rt->rs)),
			    .events = POLLIN };

	return live_target_started(rt->lt) && poll(&p, 1, 0) == 1;
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
	char err[512];
	int r = 0;

	if (replay_session_last_seq(rt->rs) >= event)
		r = restart(rt, err, sizeof(err));
	rt->goto_seq = event;
	if (!r)
		r = live_target_run_to(rt->lt, UINT64_MAX, false, reached, rt);
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

	snprintf(out, outlen, "checkpoint 0: the trace's start (step 0); "
		 "going back replays forward from it\n"
		 "%" PRIu64 " replays so far, %.3f s spent replaying to "
		 "positions\n", rt->runs, rt->replayed_ns / 1e9);
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
	rt->opts = *o;
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
	replay_session_close(rt->rs);
	free(rt);
}
