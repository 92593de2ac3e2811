/* The step-mode observer (vmm/step-observer.h) on real KVM runs: it sees
 * every instruction once, with the bytes the guest image has at RIP, and
 * it changes nothing: the run watched records the same events as the run
 * not watched, and its trace replays `same`. */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/replay.h"
#include "tests/helpers/testutil.h"
#include "tools/explore.h"
#include "traces/trace.h"
#include "vmm/elf.h"
#include "vmm/guest/abi.h"
#include "vmm/step-observer.h"

#define NR_VCPUS 2
#define MEM_SIZE (64u << 20)

struct watch {
	uint8_t *image;             /* the guest as loaded, for the bytes */
	uint64_t samples, switches, pauses_taken, bad_bytes, repeats;
	bool seen[NR_VCPUS];
	struct kvm_regs last[NR_VCPUS];
	uint64_t last_step;
	bool steps_backwards;
};

static void on_step(void *arg, unsigned vcpu, uint64_t step,
		    const struct kvm_regs *regs, uint64_t fs_base,
		    uint64_t gs_base, const uint8_t *bytes, size_t nbytes)
{
	struct watch *w = arg;

	(void)fs_base;
	(void)gs_base;
	assert_true(vcpu < NR_VCPUS);
	w->samples++;
	if (step < w->last_step)
		w->steps_backwards = true;
	w->last_step = step;
	/* The same registers twice in a row: one instruction shown twice
	 * (the re-entry that completes a PIO exit, a kicked KVM_RUN). */
	if (w->seen[vcpu] && !memcmp(&w->last[vcpu], regs, sizeof(*regs)))
		w->repeats++;
	w->seen[vcpu] = true;
	w->last[vcpu] = *regs;
	/* Code is in the image: the bytes are what the loader put there. */
	if (regs->rip >= VCPRR_IMAGE_MIN && regs->rip + nbytes < MEM_SIZE &&
	    (nbytes != 15 || memcmp(bytes, w->image + regs->rip, nbytes)))
		w->bad_bytes++;
}

static void on_event(void *arg, const struct trace_event *ev)
{
	struct watch *w = arg;

	if (ev->type == TEV_SCHED_SWITCH)
		__atomic_add_fetch(&w->switches, 1, __ATOMIC_RELAXED);
	if (ev->type == TEV_PAUSE_TAKEN)
		__atomic_add_fetch(&w->pauses_taken, 1, __ATOMIC_RELAXED);
}

static uint8_t *load_image(const char *path)
{
	const struct elf_window win = { VCPRR_IMAGE_MIN,
					MEM_SIZE - 4 * VCPRR_STACK_SIZE, MEM_SIZE };
	uint8_t *mem = calloc(1, MEM_SIZE), *buf;
	uint64_t entry;
	size_t len;
	char err[256];

	assert_non_null(mem);
	if (elf_read_file(path, &buf, &len, err, sizeof(err)) ||
	    elf_load_image(path, buf, len, mem, &win, &entry, err, sizeof(err)))
		fail_msg("%s", err);
	free(buf);
	return mem;
}

static struct explore_config step_config(const char *guest)
{
	struct explore_config c = { .guest = guest, .nr_vcpus = NR_VCPUS,
				    .mem_size = MEM_SIZE };

	c.sched.mode = VM_SCHED_STEP;
	c.sched.policy = VM_POLICY_PCT;
	c.sched.pct_depth = 3;
	c.sched.pause_ppm = 20000;    /* pauses, so that their edges show */
	return c;
}

static void record(const struct explore_config *c, uint64_t seed,
		   const char *path, struct explore_result *r)
{
	struct explore_trace t = { .path = path, .replace = true };
	char err[512];

	if (explore_run(c, seed, &t, r, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(t.kept);
}

/* Each producer's events, without the global sequence and the time: a
 * VCPU's own, and the controller's (pause and resume requests, switches,
 * VM-wide events), whose order relative to a VCPU's is the writer's. */
struct vcpu_events {
	struct trace_event *ev;
	size_t n;
};

static void read_events(const char *path, struct vcpu_events *per, size_t nper)
{
	char err[256];
	struct trace_reader *r = trace_reader_open(path, err, sizeof(err));
	struct trace_event ev;
	const uint8_t *pl;

	assert_non_null(r);
	while (trace_reader_next(r, &ev, &pl) == 1) {
		bool ctl = ev.vcpu >= nper - 1 || ev.type == TEV_PAUSE_REQUEST ||
			   ev.type == TEV_RESUME_REQUEST ||
			   ev.type == TEV_SCHED_SWITCH ||
			   ev.type == TEV_SIGNAL_SENT;
		size_t k = ctl ? nper - 1 : ev.vcpu;

		ev.seq = ev.time_ns = 0;
		per[k].ev = realloc(per[k].ev, (per[k].n + 1) * sizeof(ev));
		assert_non_null(per[k].ev);
		per[k].ev[per[k].n++] = ev;
	}
	trace_reader_close(r);
}

static void assert_same_events(const char *a, const char *b)
{
	struct vcpu_events pa[NR_VCPUS + 1] = { 0 }, pb[NR_VCPUS + 1] = { 0 };

	read_events(a, pa, NR_VCPUS + 1);
	read_events(b, pb, NR_VCPUS + 1);
	for (size_t k = 0; k <= NR_VCPUS; k++) {
		assert_true(pa[k].n > 0);
		assert_int_equal(pa[k].n, pb[k].n);
		for (size_t i = 0; i < pa[k].n; i++)
			if (memcmp(&pa[k].ev[i], &pb[k].ev[i], sizeof(pa[k].ev[i])))
				fail_msg("%s and %s differ at event %zu of VCPU %zu "
					 "(type %u vs %u)", a, b, i, k,
					 pa[k].ev[i].type, pb[k].ev[i].type);
		free(pa[k].ev);
		free(pb[k].ev);
	}
}

static void test_observer_changes_nothing(void **state)
{
	char dir[64], plain[128], watched[128];
	const char *guest;
	struct explore_result r1, r2;
	struct explore_config c;
	struct replay_result rr;
	struct replay_opts ro = { .console_fd = -1 };
	struct watch w = { 0 };
	struct vm_step_observer obs = { on_step, on_event, &w };

	(void)state;
	SKIP_WITHOUT_KVM();
	guest = guest_path("lost-update");
	w.image = load_image(guest);
	assert_int_equal(scratch_dir(dir, sizeof(dir), "analyze-run"), 0);
	snprintf(plain, sizeof(plain), "%s/plain.trace", dir);
	snprintf(watched, sizeof(watched), "%s/watched.trace", dir);
	c = step_config(guest);
	for (uint64_t seed = 1; seed <= 3; seed++) {
		c.observer = NULL;
		record(&c, seed, plain, &r1);
		c.observer = &obs;
		w = (struct watch){ .image = w.image };
		record(&c, seed, watched, &r2);
		assert_int_equal(r1.failed, r2.failed);
		assert_string_equal(r1.signature, r2.signature);
		assert_int_equal(r1.stats.steps, r2.stats.steps);
		assert_same_events(plain, watched);
		assert_int_equal(replay_trace(watched, &ro, &rr), REPLAY_SAME);
		/* Every instruction once: fewer samples than points (a PIO
		 * exit is a point of its own), none repeated. */
		assert_true(w.samples > 500);
		assert_true(w.samples < r2.stats.steps);
		assert_int_equal(w.repeats, 0);
		assert_int_equal(w.bad_bytes, 0);
		assert_false(w.steps_backwards);
		assert_true(w.switches > 0);
		assert_int_equal(w.pauses_taken, r2.stats.injected);
	}
	free(w.image);
	scratch_dir_remove(dir);
}

/* The events an observer is shown, per stream as read_events() splits a
 * trace (sequence and time aside). */
struct shown {
	pthread_mutex_t lock;
	struct vcpu_events per[NR_VCPUS + 1];
};

static void on_step_quiet(void *arg, unsigned vcpu, uint64_t step,
			  const struct kvm_regs *regs, uint64_t fs_base,
			  uint64_t gs_base, const uint8_t *bytes, size_t nbytes)
{
	(void)arg, (void)vcpu, (void)step, (void)regs, (void)fs_base;
	(void)gs_base, (void)bytes, (void)nbytes;
}

static void on_event_keep(void *arg, const struct trace_event *e)
{
	struct shown *s = arg;
	struct trace_event ev;
	bool ctl = e->vcpu >= NR_VCPUS || e->type == TEV_PAUSE_REQUEST ||
		   e->type == TEV_RESUME_REQUEST || e->type == TEV_SCHED_SWITCH ||
		   e->type == TEV_SIGNAL_SENT;
	struct vcpu_events *p = &s->per[ctl ? NR_VCPUS : e->vcpu];

	memset(&ev, 0, sizeof(ev));  /* (the padding too) */
	ev.type = e->type;
	ev.vcpu = e->vcpu;
	ev.exit_seq = e->exit_seq;
	ev.rip = e->rip;
	ev.digest = e->digest;
	ev.a0 = e->a0;
	ev.a1 = e->a1;
	ev.a2 = e->a2;
	ev.a3 = e->a3;
	ev.payload_len = e->payload_len;
	pthread_mutex_lock(&s->lock);
	p->ev = realloc(p->ev, (p->n + 1) * sizeof(ev));
	assert_non_null(p->ev);
	p->ev[p->n++] = ev;
	pthread_mutex_unlock(&s->lock);
}

static void watch_events(const struct explore_config *base, uint64_t seed,
			 const char *trace, struct shown *s)
{
	struct vm_step_observer obs = { on_step_quiet, on_event_keep, s };
	struct explore_config c = *base;
	struct explore_trace t = { .path = trace, .replace = true };
	struct explore_result r;
	char err[512];

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	c.observer = &obs;
	if (explore_run(&c, seed, trace ? &t : NULL, &r, err, sizeof(err)))
		fail_msg("%s", err);
	pthread_mutex_destroy(&s->lock);
}

/* An observer of a run that is not recorded (explore --races) is shown
 * the same events as the observer of the same run recorded: the pause
 * and resume edges the race detector orders accesses by. */
static void test_observer_events_unrecorded(void **state)
{
	char dir[64], path[128];
	struct explore_config c;
	struct shown *rec = calloc(1, sizeof(*rec)), *plain = calloc(1, sizeof(*plain));

	(void)state;
	SKIP_WITHOUT_KVM();
	assert_int_equal(scratch_dir(dir, sizeof(dir), "analyze-ev"), 0);
	snprintf(path, sizeof(path), "%s/w.trace", dir);
	c = step_config(guest_path("lost-update"));
	for (uint64_t seed = 1; seed <= 3; seed++) {
		watch_events(&c, seed, path, rec);
		watch_events(&c, seed, NULL, plain);
		for (size_t k = 0; k <= NR_VCPUS; k++) {
			assert_true(rec->per[k].n > 0);
			assert_int_equal(plain->per[k].n, rec->per[k].n);
			assert_memory_equal(plain->per[k].ev, rec->per[k].ev,
					    rec->per[k].n * sizeof(struct trace_event));
			free(rec->per[k].ev);
			free(plain->per[k].ev);
		}
	}
	free(rec);
	free(plain);
	scratch_dir_remove(dir);
}

/* Only a step-mode run can be watched. */
static void test_observer_needs_step_mode(void **state)
{
	struct watch w = { 0 };
	struct vm_step_observer obs = { on_step, NULL, &w };
	struct explore_config c = step_config(guest_path("lost-update"));
	struct explore_result r;
	char err[512];

	(void)state;
	SKIP_WITHOUT_KVM();
	c.sched.mode = VM_SCHED_SERIAL;
	c.observer = &obs;
	assert_int_equal(explore_run(&c, 1, NULL, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "step-mode"));
	assert_int_equal(w.samples, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_observer_changes_nothing),
		cmocka_unit_test(test_observer_events_unrecorded),
		cmocka_unit_test(test_observer_needs_step_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
