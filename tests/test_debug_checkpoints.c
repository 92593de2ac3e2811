/* Mid-run checkpoints of a step replay (debug/replay-target.h over
 * vmm/snapshot.h and replay/mark.h), on the real VM: for every step trace
 * of the corpus and recorded ones with pauses and register edits,
 * checkpoints at random points, each restored and replayed on to the end
 * with the same events (no divergence, as many checked), the same memory
 * digest and the same state at the checkpoint (every piece: the replay's
 * cursors and checks, the position, memory, registers, the scheduler);
 * reverse-stepi N then stepi N back to identical registers and memory
 * through automatic checkpoints; what a checkpoint cannot express is
 * refused with the reason. */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debug/replay-target.h"
#include "tests/helpers/testutil.h"
#include "vmm/debug-stop.h"

static char dir[64], edits[128], counter[128];

static int setup(void **state)
{
	char *out = NULL, regwait[256];
	int r;

	(void)state;
	if (!kvm_usable())
		return 0;
	if (scratch_dir(dir, sizeof(dir), "debug-checkpoints"))
		return -1;
	/* A pause of VCPU 0 resumed with rbx set: regwait exits with it.
	 * (The recording itself hangs now and then, before its pause: a
	 * few tries.) */
	snprintf(edits, sizeof(edits), "%s/regwait.trace", dir);
	snprintf(counter, sizeof(counter), "%s/lost-update.trace", dir);
	snprintf(regwait, sizeof(regwait), "%s", guest_path("regwait"));
	r = vcprr_sh(&out, "printf 'pause 0 0xabc\\nwait 0\\nset 0 rbx 7\\n"
		     "resume 0 0x55\\n' >%s/edit.script && for i in 1 2 3 4 5; "
		     "do timeout 20 $V record -f -o %s %s --vcpus 2 --sched step "
		     "--pause-script %s/edit.script >/dev/null; [ $? = 7 ] && "
		     "break; done && $V record -o %s %s --vcpus 3 --sched step "
		     "--policy random --seed 3 >/dev/null", dir, edits,
		     regwait, dir, counter,
		     guest_path("lost-update"));
	free(out);
	return r == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	if (dir[0])
		scratch_dir_remove(dir);
	return 0;
}

static struct replay_target *open_target(const char *path,
					 struct debug_points *points)
{
	struct replay_opts o = { .console_fd = -1 };
	char err[4096];
	struct replay_target *rt = replay_target_create(path, &o, points, err,
							sizeof(err));

	if (!rt)
		fail_msg("%s: %s", path, err);
	return rt;
}

static struct debug_stop wait_stop(struct debug_target t)
{
	struct pollfd p = { .fd = t.ops->stop_fd(t.t), .events = POLLIN };
	struct debug_stop s;

	while (!t.ops->poll_stop(t.t, &s))
		poll(&p, 1, -1);
	return s;
}

static void to_end(struct debug_target t)
{
	struct debug_resume r = { .kind = DEBUG_CONTINUE, .thread = -1 };
	char err[256];

	assert_int_equal(t.ops->resume(t.t, &r, err, sizeof(err)), 0);
	assert_int_equal(wait_stop(t).kind, DEBUG_STOP_TRACE_END);
}

/* `monitor where` at the end: events checked, the digests, no
 * divergence (the replay checked every event against the trace). */
static char *where_at_end(struct debug_target t)
{
	char *out = malloc(4096);

	assert_non_null(out);
	assert_int_equal(t.ops->where(t.t, out, 4096), 0);
	if (!strstr(out, "the run ended: memory digest") ||
	    strstr(out, "differs"))
		fail_msg("not a replay to the end as recorded:\n%s", out);
	/* (the digest replayed and the one recorded are the same) */
	{
		const char *d = strstr(out, "memory digest ");
		const char *rec = strstr(out, "recorded ");

		assert_non_null(d);
		assert_non_null(rec);
		assert_memory_equal(d + 14, rec + 9, 16);
	}
	return out;
}

/* A checkpoint at @pos or the first position after it that a checkpoint
 * can express: its position. */
static uint64_t checkpoint_near(struct replay_target *rt, uint64_t pos,
				uint64_t end)
{
	struct debug_target t = replay_target_of(rt);
	char err[512], out[512];

	for (; pos < end; pos++) {
		assert_int_equal(replay_target_seek(rt, pos, err, sizeof(err)), 0);
		if (t.ops->checkpoint(t.t, out, sizeof(out)) == 0) {
			assert_non_null(strstr(out, "checkpoint "));
			return pos;
		}
		/* A refusal says why. */
		assert_non_null(strstr(out, "not at step"));
	}
	return UINT64_MAX;
}

#define CHECKPOINTS 5

/* Checkpoints at random points; each restored (in another order) and the
 * replay run on to the end: the same state at the checkpoint, the same
 * end, the same events and memory. */
static void round_trip(const char *path, uint64_t seed)
{
	struct debug_points points = { 0 };
	struct replay_target *rt = open_target(path, &points);
	struct debug_target t = replay_target_of(rt);
	uint64_t end, pos[CHECKPOINTS], hash[CHECKPOINTS];
	char *first, err[512];
	int n = 0;

	to_end(t);
	end = replay_target_position(rt);
	first = where_at_end(t);
	for (int i = 0; i < CHECKPOINTS && end > 2; i++) {
		uint64_t p = checkpoint_near(rt, 1 + test_rand(&seed) % (end - 1),
					     end);

		if (p == UINT64_MAX)
			continue;
		pos[n] = p;
		hash[n++] = replay_target_state_hash(rt);
	}
	assert_true(n > 0 || end <= 2);
	for (int k = 0; k < n; k++) {
		int i = (int)((k * 3 + 1) % n);
		char *again;

		assert_int_equal(replay_target_seek(rt, pos[i], err, sizeof(err)), 0);
		if (replay_target_state_hash(rt) != hash[i])
			fail_msg("%s: the state at checkpoint step %" PRIu64
				 " differs after restoring it", path, pos[i]);
		to_end(t);
		assert_int_equal(replay_target_position(rt), end);
		again = where_at_end(t);
		assert_string_equal(again, first);
		free(again);
	}
	free(first);
	replay_target_destroy(rt);
}

static void test_corpus_round_trip(void **state)
{
	(void)state;
	SKIP_WITHOUT_KVM();
	round_trip("tests/corpus/assert-step.trace", 1);
	round_trip("tests/corpus/hello-step.trace", 2);
}

static void test_edits_round_trip(void **state)
{
	(void)state;
	SKIP_WITHOUT_KVM();
	round_trip(edits, 3);
}

static void test_lost_update_round_trip(void **state)
{
	(void)state;
	SKIP_WITHOUT_KVM();
	round_trip(counter, 4);
}

/* Every register of every VCPU and the memory digest. */
struct machine {
	struct kvm_regs regs[8];
	struct kvm_sregs sregs[8];
	unsigned n;
};

static void machine_of(struct debug_target t, struct machine *m)
{
	struct debug_regs r;

	memset(m, 0, sizeof(*m));
	m->n = t.ops->nr_threads(t.t);
	assert_true(m->n <= 8);
	for (unsigned i = 0; i < m->n; i++) {
		assert_int_equal(t.ops->read_regs(t.t, i, &r), 0);
		m->regs[i] = r.regs;
		m->sregs[i] = r.sregs;
	}
}

/* reverse-stepi N times, then stepi N times: the same registers of every
 * VCPU and the same state hash (memory, replay, position), with automatic
 * checkpoints every 50 steps on the way. */
static void test_reverse_stepi_then_stepi(void **state)
{
	struct debug_points points = { 0 };
	struct replay_target *rt;
	struct debug_target t;
	struct machine before, after;
	uint64_t end, seed = 7;
	char err[512];

	(void)state;
	SKIP_WITHOUT_KVM();
	rt = open_target(counter, &points);
	t = replay_target_of(rt);
	replay_target_checkpoint_every(rt, 50);
	to_end(t);
	end = replay_target_position(rt);
	assert_true(end > 500);
	for (int sample = 0; sample < 4; sample++) {
		uint64_t p = 200 + test_rand(&seed) % (end - 400), h;
		struct debug_resume r = { .kind = DEBUG_STEP, .thread = -1 };
		int n = 1 + (int)(test_rand(&seed) % 120);

		assert_int_equal(replay_target_seek(rt, p, err, sizeof(err)), 0);
		machine_of(t, &before);
		h = replay_target_state_hash(rt);
		for (int i = 0; i < n; i++) {
			r.thread = -1;
			assert_int_equal(t.ops->reverse(t.t, &r, err, sizeof(err)), 0);
		}
		assert_true(replay_target_position(rt) < p);
		while (replay_target_position(rt) < p) {
			r.thread = -1;
			assert_int_equal(t.ops->resume(t.t, &r, err, sizeof(err)), 0);
			assert_int_equal(wait_stop(t).kind, DEBUG_STOP_STEP);
		}
		assert_int_equal(replay_target_position(rt), p);
		machine_of(t, &after);
		assert_memory_equal(before.regs, after.regs, sizeof(before.regs));
		assert_memory_equal(before.sregs, after.sregs,
				    sizeof(before.sregs));
		assert_true(replay_target_state_hash(rt) == h);
	}
	replay_target_destroy(rt);
}

/* The user's interrupt (gdb's Ctrl-C: its connection readable) stops a
 * replay back where it is, as an interrupt; nothing is read from the fd,
 * and the target goes on from there to the same end. */
static void test_interrupt_going_back(void **state)
{
	struct debug_points points = { 0 };
	struct replay_target *rt;
	struct debug_target t;
	struct debug_resume r = { .kind = DEBUG_CONTINUE, .thread = -1 };
	struct debug_stop s;
	uint64_t end;
	char err[512], *first, *again, c;
	int fds[2];

	(void)state;
	SKIP_WITHOUT_KVM();
	rt = open_target(counter, &points);
	t = replay_target_of(rt);
	replay_target_checkpoint_every(rt, 100);
	to_end(t);
	end = replay_target_position(rt);
	first = where_at_end(t);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "\x03", 1), 1);
	r.interrupt_fd = fds[0];
	assert_int_equal(t.ops->reverse(t.t, &r, err, sizeof(err)), 0);
	s = wait_stop(t);
	assert_int_equal(s.kind, DEBUG_STOP_INTERRUPT);
	assert_true(replay_target_position(rt) < end);
	assert_true(replay_target_position(rt) > 0);
	assert_int_equal(read(fds[0], &c, 1), 1);  /* still there */
	to_end(t);
	again = where_at_end(t);
	assert_string_equal(again, first);
	close(fds[0]);
	close(fds[1]);
	free(first);
	free(again);
	replay_target_destroy(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_round_trip),
		cmocka_unit_test(test_edits_round_trip),
		cmocka_unit_test(test_lost_update_round_trip),
		cmocka_unit_test(test_reverse_stepi_then_stepi),
		cmocka_unit_test(test_interrupt_going_back),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
