/* VM snapshots (vmm/snapshot.h) on real guests: restoring a snapshot and
 * running on gives the same events and the same memory digest as running
 * straight through, in serial and step mode, with injected pauses, with a
 * controller's pause and register edits, with faults and assertions; the
 * CPU state a guest can see (XMM, x87, MXCSR, XCR0, FS/GS bases, MSRs,
 * debug registers) and the devices come back; explore's kept VM gives the
 * runs of a new VM per run; memory is incremental. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/replay.h"
#include "tests/helpers/testutil.h"
#include "tools/explore.h"
#include "traces/trace.h"
#include "vmm/controller.h"
#include "vmm/page-tree.h"
#include "vmm/recording.h"
#include "vmm/run-drive.h"
#include "vmm/snapshot.h"
#include "vmm/vcpu-state.h"
#include "vmm/vm-state.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return scratch_dir(dir, sizeof(dir), "snapshot");
}

static int teardown(void **state)
{
	(void)state;
	return scratch_dir_remove(dir);
}

/* --- traces ----------------------------------------------------------------- */

struct ev {
	struct trace_event e;
	uint8_t *payload;
	unsigned stream;
};

struct events {
	struct ev *v;
	size_t n;
	uint64_t digest;       /* VM_END's */
	unsigned end;          /* VM_END's reason */
	unsigned paused, edits;  /* PAUSE_TAKEN, RESUME_REQUEST with edits */
};

/* Each VCPU's own events, the controller's aimed at it, the scheduler's
 * switches and the VM-wide events are streams; seq and time aside (and
 * the kicks, below), two runs are the same when every stream is. */
static unsigned stream_of(const struct trace_event *e)
{
	bool ctl = e->type == TEV_PAUSE_REQUEST || e->type == TEV_SIGNAL_SENT ||
		   e->type == TEV_RESUME_REQUEST;

	/* A switch is logged by the thread that decides it: its place among
	 * the new holder's events is timing; among the switches it is not. */
	if (e->type == TEV_SCHED_SWITCH)
		return 1;
	return e->vcpu == TRACE_VCPU_NONE ? 0 : 2 + 2 * e->vcpu + ctl;
}

static int by_stream(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	if (x->stream != y->stream)
		return x->stream < y->stream ? -1 : 1;
	return x->e.seq < y->e.seq ? -1 : x->e.seq > y->e.seq;
}

static void load_events(const char *path, struct events *out)
{
	char err[512];
	struct trace_reader *r = trace_reader_open(path, err, sizeof(err));
	const uint8_t *pl;
	struct trace_event e;
	size_t cap = 0;
	int k;

	if (!r)
		fail_msg("%s", err);
	memset(out, 0, sizeof(*out));
	while ((k = trace_reader_next(r, &e, &pl)) == 1) {
		struct ev *x;

		/* When a kick's signal lands (a VCPU thread that had started
		 * or not) is timing, as replay knows: not the guest's run. */
		if (e.type == TEV_KICK || e.type == TEV_SIGNAL_SENT)
			continue;

		if (out->n == cap) {
			cap = cap ? 2 * cap : 256;
			out->v = realloc(out->v, cap * sizeof(*out->v));
			assert_non_null(out->v);
		}
		x = &out->v[out->n++];
		x->e = e;
		x->stream = stream_of(&e);
		x->payload = malloc(e.payload_len + 1);
		memcpy(x->payload, pl, e.payload_len);
		if (e.type == TEV_VM_END) {
			out->digest = e.a2;
			out->end = (unsigned)e.a0;
		}
		out->paused += e.type == TEV_PAUSE_TAKEN;
		out->edits += e.type == TEV_RESUME_REQUEST && e.a1;
	}
	assert_int_equal(k, 0);
	assert_false(trace_reader_truncated(r));
	trace_reader_close(r);
	qsort(out->v, out->n, sizeof(*out->v), by_stream);
}

static void free_events(struct events *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->v[i].payload);
	free(x->v);
}

static bool same_event(const struct ev *a, const struct ev *b)
{
	return a->stream == b->stream && a->e.type == b->e.type &&
	       a->e.vcpu == b->e.vcpu && a->e.exit_seq == b->e.exit_seq &&
	       a->e.rip == b->e.rip && a->e.digest == b->e.digest &&
	       a->e.a0 == b->e.a0 && a->e.a1 == b->e.a1 && a->e.a2 == b->e.a2 &&
	       a->e.a3 == b->e.a3 && a->e.payload_len == b->e.payload_len &&
	       !memcmp(a->payload, b->payload, a->e.payload_len);
}

/* Every event of every stream and the final memory digest. */
static void assert_same_run(const char *a, const char *b)
{
	struct events x, y;

	load_events(a, &x);
	load_events(b, &y);
	for (size_t i = 0; i < x.n && i < y.n; i++)
		if (!same_event(&x.v[i], &y.v[i]))
			fail_msg("%s and %s differ at their event %zu (stream %u): "
				 "%s a0=%llx exit_seq=%llu rip=%llx vs %s a0=%llx "
				 "exit_seq=%llu rip=%llx", a, b, i, x.v[i].stream,
				 trace_event_name(x.v[i].e.type),
				 (unsigned long long)x.v[i].e.a0,
				 (unsigned long long)x.v[i].e.exit_seq,
				 (unsigned long long)x.v[i].e.rip,
				 trace_event_name(y.v[i].e.type),
				 (unsigned long long)y.v[i].e.a0,
				 (unsigned long long)y.v[i].e.exit_seq,
				 (unsigned long long)y.v[i].e.rip);
	assert_int_equal(x.n, y.n);
	assert_true(x.digest != 0);
	assert_true(x.digest == y.digest);
	free_events(&x);
	free_events(&y);
}

/* --- running a VM ----------------------------------------------------------- */

struct run_case {
	const char *guest;
	unsigned vcpus;
	enum vm_sched_mode mode;
	enum vm_sched_policy policy;
	uint32_t pause_ppm;
	uint64_t arg, seed;
};

static struct run_desc describe(const struct run_case *c)
{
	struct run_desc d;

	run_desc_init(&d);
	d.nr_vcpus = c->vcpus;
	d.mem_size = VM_DEFAULT_MEM;
	d.input = (struct vm_guest_input)VM_INPUT_ARG(c->arg);
	d.sched = (struct sched_config){
		.mode = c->mode, .policy = c->policy, .pct_depth = 3,
		.pct_steps = 900, .seed = c->seed, .pause_ppm = c->pause_ppm,
		.max_hold = 20, .step_budget = 200000,
	};
	return d;
}

static struct vm *new_vm(const struct run_case *c, int console)
{
	struct run_desc d = describe(c);
	struct vm_config vc;
	char err[512];
	struct vm *vm;

	run_desc_vm_config(&d, &vc);
	vc.console_fd = vc.log_fd = console;
	vc.controlled = true;
	vm = vm_create(&vc, guest_path(c->guest), err, sizeof(err));
	if (!vm)
		fail_msg("%s", err);
	return vm;
}

/* A controller of the test's own: prepare before the start, control
 * (on this thread) once started. */
struct controller {
	void (*prepare)(struct vm *vm);
	void (*control)(struct vm *vm);
};

/* One run of c on vm (not started: new, or restored to its start),
 * recorded to path. */
static void run_recorded(struct vm *vm, const struct run_case *c,
			 const char *path, const struct controller *ctl)
{
	struct run_desc d = describe(c);
	struct trace_writer *w;
	struct run_drive drive = { .signal_fd = -1, .timeout_ns = 60000000000ull };
	char err[512];

	w = recording_open(path, &d, guest_path(c->guest), err, sizeof(err));
	if (!w)
		fail_msg("%s", err);
	if (vm_set_run(vm, &d.sched, w, err, sizeof(err)))
		fail_msg("%s", err);
	if (ctl) {
		ctl->prepare(vm);
		assert_int_equal(vm_start(vm), 0);
		ctl->control(vm);
		assert_int_equal(vm_wait(vm, 60000), 0);
	} else {
		assert_int_equal(run_drive(vm, &drive), 0);
	}
	if (vm_result(vm)->reason == TEND_VMM_ERROR)
		fail_msg("%s: %s", c->guest, vm_result(vm)->diag);
	assert_int_equal(trace_writer_close(w, vm_result(vm)->reason,
					    vm_result(vm)->exit_code,
					    vm_memory_digest(vm)), 0);
}

static struct vm_snapshot *take(struct vm *vm)
{
	char err[512];
	struct vm_snapshot *s = vm_snapshot_take(vm, err, sizeof(err));

	if (!s)
		fail_msg("%s", err);
	return s;
}

static void restore(struct vm *vm, struct vm_snapshot *s)
{
	char err[512];

	if (vm_snapshot_restore(vm, s, err, sizeof(err)))
		fail_msg("%s", err);
}

/* Snapshot at the start, run, restore, run again; and a new VM's run:
 * all three the same. */
static void round_trip(const struct run_case *c, const struct controller *ctl,
		       struct events *first)
{
	char a[128], b[128], f[128];
	struct vm *vm = new_vm(c, open("/dev/null", O_WRONLY)), *fresh;
	struct vm_snapshot *start = take(vm);

	snprintf(a, sizeof(a), "%s/%s-a.trace", dir, c->guest);
	snprintf(b, sizeof(b), "%s/%s-b.trace", dir, c->guest);
	snprintf(f, sizeof(f), "%s/%s-fresh.trace", dir, c->guest);
	run_recorded(vm, c, a, ctl);
	restore(vm, start);
	run_recorded(vm, c, b, ctl);
	assert_same_run(a, b);
	fresh = new_vm(c, vm->cfg.console_fd);
	run_recorded(fresh, c, f, ctl);
	assert_same_run(a, f);
	vm_destroy(fresh);
	close(vm->cfg.console_fd);
	vm_destroy(vm);  /* and the snapshot */
	if (first)
		load_events(a, first);
}

/* Multi-VCPU guests under serial and step scheduling, with pauses injected
 * at random points (and held), with faults and assertions. */
static void test_round_trip_runs(void **state)
{
	static const struct run_case cases[] = {
		{ "lost-update", 2, VM_SCHED_STEP, VM_POLICY_PCT, 20000, 0, 5 },
		{ "lost-update", 2, VM_SCHED_STEP, VM_POLICY_RANDOM, 30000, 0, 9 },
		{ "cpustate", 2, VM_SCHED_SERIAL, VM_POLICY_RANDOM, 300000, 77, 3 },
		{ "cpustate", 3, VM_SCHED_STEP, VM_POLICY_PCT, 5000, 78, 4 },
		{ "hello", 4, VM_SCHED_SERIAL, VM_POLICY_RR, 200000, 0, 1 },
		{ "pio", 2, VM_SCHED_SERIAL, VM_POLICY_PCT, 100000, 60, 2 },
		{ "xchg-lock", 2, VM_SCHED_STEP, VM_POLICY_RANDOM, 10000, 0, 6 },
		{ "triple", 2, VM_SCHED_SERIAL, VM_POLICY_RR, 0, 0, 1 },
		{ "assert", 1, VM_SCHED_STEP, VM_POLICY_RR, 0, 0, 1 },
	};
	unsigned paused = 0, ends[TEND__COUNT] = { 0 };

	SKIP_WITHOUT_KVM();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct events e;

		round_trip(&cases[i], NULL, &e);
		paused += e.paused;
		ends[e.end < TEND__COUNT ? e.end : 0]++;
		free_events(&e);
	}
	assert_true(paused > 10);  /* the injected pauses were taken */
	assert_true(ends[TEND_GUEST_EXIT] && ends[TEND_GUEST_ASSERT] &&
		    ends[TEND_GUEST_FAULT]);
}

/* A controller's pause at a fixed point of VCPU 0, and resumes with
 * register edits (rbx, which regwait exits with, and DR0, which it does
 * not use): applied while no other VCPU can run, so the run is a function
 * of its seed. */
struct edit_hook {
	uint64_t points;
	bool asked;
};
static struct edit_hook hook_state;

static void pause_at_point(struct vm *vm, unsigned vcpu, enum vcpu_hook_point p,
			   void *arg)
{
	struct edit_hook *h = arg;

	if (vcpu != 0 || p != VCPU_HOOK_POINT_DONE || h->asked)
		return;
	if (++h->points == 40) {
		h->asked = true;
		assert_true(vcpu_request_pause(vm, 0, 0xabc) > 0);
	}
}

static void edit_and_resume(struct vm *vm)
{
	vcpu_mask_t m = vcpu_mask_first(1);
	struct kvm_debugregs d;
	struct kvm_regs r;

	assert_int_equal(vm_wait_paused(vm, &m, 30000, NULL), 0);
	assert_int_equal(vcpu_get_regs(vm, 0, &r), 0);
	assert_int_equal(vcpu_get_debugregs(vm, 0, &d), 0);
	r.rbx = 7;
	d.db[0] += 0x1000;  /* the restore must have put the 0 back */
	assert_int_equal(vcpu_set_regs(vm, 0, &r), 0);
	assert_int_equal(vcpu_set_debugregs(vm, 0, &d), 0);
	assert_int_equal(vcpu_resume(vm, 0, 0x55), 0);
}

static void hook_pause(struct vm *vm)
{
	hook_state = (struct edit_hook){ 0 };
	vm_set_test_hook(vm, pause_at_point, &hook_state);
}

static void test_round_trip_register_edits(void **state)
{
	static const struct run_case c = {
		"regwait", 2, VM_SCHED_STEP, VM_POLICY_RR, 0, 0, 1,
	};
	static const struct controller ctl = { hook_pause, edit_and_resume };
	struct events e;

	SKIP_WITHOUT_KVM();
	round_trip(&c, &ctl, &e);
	assert_int_equal(e.paused, 1);
	assert_int_equal(e.edits, 1);
	free_events(&e);
}

/* --- the CPU state ----------------------------------------------------------- */

static struct vcpu_state_caps caps_of(struct vm *vm)
{
	struct vcpu_state_caps caps;
	char err[512];

	if (vcpu_state_probe(vm->kvm_fd, vm->vm_fd, vm->vcpus[0].fd, &caps, err,
			     sizeof(err)))
		fail_msg("%s", err);
	return caps;
}

static void get_state(struct vm *vm, unsigned i, const struct vcpu_state_caps *caps,
		      struct vcpu_kvm_state *s)
{
	char err[512];

	assert_int_equal(vcpu_state_alloc(s, caps), 0);
	if (vcpu_state_get(vm->vcpus[i].fd, vm->vcpus[i].run, caps, s, err,
			   sizeof(err)))
		fail_msg("%s", err);
}

static uint64_t msr(const struct vcpu_kvm_state *s, uint32_t index)
{
	for (uint32_t i = 0; i < s->msrs->nmsrs; i++)
		if (s->msrs->entries[i].index == index)
			return s->msrs->entries[i].data;
	fail_msg("MSR %#x is not captured", index);
	return 0;
}

#define MSR_IA32_TSC 0x10u

/* Everything but the TSC, which runs on. */
static void assert_same_state(const struct vcpu_kvm_state *a,
			      const struct vcpu_kvm_state *b,
			      const struct vcpu_state_caps *caps)
{
	assert_memory_equal(&a->regs, &b->regs, sizeof(a->regs));
	assert_memory_equal(&a->sregs, &b->sregs, sizeof(a->sregs));
	assert_memory_equal(&a->xcrs, &b->xcrs, sizeof(a->xcrs));
	assert_memory_equal(&a->dregs, &b->dregs, sizeof(a->dregs));
	assert_memory_equal(a->xsave, b->xsave, caps->xsave_size);
	assert_int_equal(a->mp.mp_state, b->mp.mp_state);
	for (uint32_t i = 0; i < caps->nmsrs; i++)
		if (a->msrs->entries[i].index != MSR_IA32_TSC)
			assert_true(a->msrs->entries[i].data ==
				    b->msrs->entries[i].data);
}

static void run_cpustate(struct vm *vm, uint64_t seed)
{
	struct sched_config sc = { .mode = VM_SCHED_SERIAL,
				   .policy = VM_POLICY_RANDOM, .seed = seed };
	struct run_drive drive = { .signal_fd = -1,
				   .timeout_ns = 60000000000ull };
	char err[512];

	if (vm_set_run(vm, &sc, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(run_drive(vm, &drive), 0);
	if (vm_result(vm)->reason != TEND_GUEST_EXIT || vm_result(vm)->exit_code)
		fail_msg("cpustate: %s", vm_result(vm)->diag);
}

/* cpustate sets XMM, x87, MXCSR, XCR0, FS/GS bases, MSRs, DR0 and its
 * scratch register to values from the random port, after checking that
 * they hold a new VM's values: a second run after restoring the start
 * passes only if all came back.  Restoring the snapshot taken at the end
 * of the first run brings back exactly the first run's state. */
static void test_cpu_state_restored(void **state)
{
	static const struct run_case c = { .guest = "cpustate", .vcpus = 2,
					   .mode = VM_SCHED_SERIAL };
	struct vm *vm;
	struct vm_snapshot *start, *end;
	struct vcpu_state_caps caps;
	struct vcpu_kvm_state first[2], now[2];
	uint64_t digest;

	SKIP_WITHOUT_KVM();
	vm = new_vm(&c, open("/dev/null", O_WRONLY));
	start = take(vm);
	caps = caps_of(vm);
	run_cpustate(vm, 1);
	for (unsigned i = 0; i < 2; i++) {
		get_state(vm, i, &caps, &first[i]);
		assert_true(first[i].xcrs.nr_xcrs == 0 ||
			    first[i].xcrs.xcrs[0].value == 3);
		assert_true(msr(&first[i], 0xc0000082u) != 0);  /* LSTAR */
	}
	digest = vm_memory_digest(vm);
	end = take(vm);
	for (int round = 0; round < 3; round++) {
		restore(vm, start);
		for (unsigned i = 0; i < 2; i++) {
			get_state(vm, i, &caps, &now[i]);
			assert_true(now[i].xcrs.nr_xcrs == 0 ||
				    now[i].xcrs.xcrs[0].value == 1);
			assert_true(msr(&now[i], 0xc0000082u) == 0);
			vcpu_state_free(&now[i]);
		}
		run_cpustate(vm, 2 + round);  /* fails unless all came back */
		assert_true(vm_memory_digest(vm) != digest);  /* other values */
		restore(vm, end);
		for (unsigned i = 0; i < 2; i++) {
			get_state(vm, i, &caps, &now[i]);
			assert_same_state(&first[i], &now[i], &caps);
			vcpu_state_free(&now[i]);
		}
		assert_true(vm_memory_digest(vm) == digest);
		assert_int_equal(vm_result(vm)->reason, TEND_GUEST_EXIT);
	}
	for (unsigned i = 0; i < 2; i++)
		vcpu_state_free(&first[i]);
	vcpu_state_caps_free(&caps);
	close(vm->cfg.console_fd);
	vm_destroy(vm);
}

/* --- the run's own state --------------------------------------------------------- */

static void run_plain(struct vm *vm, struct sched_stats *st, uint64_t *digest)
{
	struct run_drive drive = { .signal_fd = -1 };

	assert_int_equal(run_drive(vm, &drive), 0);
	assert_int_equal(vm_sched_stats(vm, st), 0);
	*digest = vm_memory_digest(vm);
}

/* A snapshot holds the scheduler as well: restored without a new
 * vm_set_run(), the run takes the same schedule (seed, PCT priorities,
 * injected pauses) to the same end; a snapshot of the end gives back its
 * counters and result. */
static void test_scheduler_restored(void **state)
{
	static const struct run_case c = { "lost-update", 2, VM_SCHED_STEP,
					   VM_POLICY_PCT, 20000, 0, 5 };
	struct run_desc d = describe(&c);
	struct sched_stats first, again, now;
	struct vm_snapshot *start, *end;
	struct vm_result result;
	uint64_t digest, digest2;
	char err[512];
	struct vm *vm;

	SKIP_WITHOUT_KVM();
	vm = new_vm(&c, open("/dev/null", O_WRONLY));
	if (vm_set_run(vm, &d.sched, NULL, err, sizeof(err)))
		fail_msg("%s", err);
	start = take(vm);
	run_plain(vm, &first, &digest);
	result = *vm_result(vm);
	assert_true(first.steps > 100 && first.injected > 0);
	end = take(vm);
	for (int round = 0; round < 2; round++) {
		restore(vm, start);
		assert_int_equal(vm_sched_stats(vm, &now), 0);
		assert_int_equal(now.steps, 0);
		run_plain(vm, &again, &digest2);
		assert_memory_equal(&first, &again, sizeof(first));
		assert_true(digest == digest2);
		restore(vm, end);
		assert_int_equal(vm_sched_stats(vm, &now), 0);
		assert_memory_equal(&first, &now, sizeof(first));
		assert_int_equal(vm_result(vm)->reason, result.reason);
		assert_string_equal(vm_result(vm)->diag, result.diag);
	}
	close(vm->cfg.console_fd);
	vm_destroy(vm);
}

/* --- explore's kept VM ------------------------------------------------------- */

static bool keep_all(const struct explore_result *r, void *arg)
{
	(void)r;
	(void)arg;
	return true;
}

/* One explore configuration, run seed by seed on the kept VM and on a new
 * VM per run: the same verdict, schedule and trace; a kept failure replays
 * the same.  Returns the failures. */
static unsigned kept_against_fresh(struct explore_config *c, const char *tag)
{
	unsigned failed = 0;
	char err[512];

	for (uint64_t seed = 1; seed <= 12; seed++) {
		struct explore_result kept, fresh;
		char a[128], b[128];
		struct explore_trace ta = { .path = a, .keep = keep_all },
				     tb = { .path = b, .keep = keep_all };

		snprintf(a, sizeof(a), "%s/%s-kept-%llu.trace", dir, tag,
			 (unsigned long long)seed);
		snprintf(b, sizeof(b), "%s/%s-fresh-%llu.trace", dir, tag,
			 (unsigned long long)seed);
		c->fresh_vm = false;
		if (explore_run(c, seed, &ta, &kept, err, sizeof(err)))
			fail_msg("%s", err);
		c->fresh_vm = true;
		if (explore_run(c, seed, &tb, &fresh, err, sizeof(err)))
			fail_msg("%s", err);
		assert_true(ta.kept && tb.kept);
		assert_int_equal(kept.failed, fresh.failed);
		assert_string_equal(kept.signature, fresh.signature);
		assert_memory_equal(&kept.stats, &fresh.stats, sizeof(kept.stats));
		assert_same_run(a, b);
		if (kept.failed && failed++ < 2) {
			struct replay_opts o = { .console_fd = -1 };
			struct replay_result r;

			if (replay_trace(a, &o, &r) != REPLAY_SAME)
				fail_msg("%s: %s", a, r.message);
		}
	}
	return failed;
}

/* explore_run() keeps one VM and resets it between runs: for each seed it
 * gives the verdict, schedule and trace of a new VM's run, in step mode
 * (PCT) and in serial mode (random, with injected pauses). */
static void test_explore_reset_same_as_fresh(void **state)
{
	struct explore_config step = {
		.guest = guest_path("lost-update"), .nr_vcpus = 2,
		.mem_size = VM_DEFAULT_MEM,
		.sched = { .mode = VM_SCHED_STEP, .policy = VM_POLICY_PCT,
			   .pct_depth = 3, .pct_steps = 900, .pause_ppm = 3000,
			   .step_budget = 100000 },
	};
	char ring[256];
	struct explore_config serial = {
		.guest = ring, .nr_vcpus = 2, .mem_size = VM_DEFAULT_MEM,
		.sched = { .mode = VM_SCHED_SERIAL, .policy = VM_POLICY_RANDOM,
			   .pause_ppm = 20000, .max_hold = 20,
			   .step_budget = 100000 },
	};

	(void)state;
	SKIP_WITHOUT_KVM();
	snprintf(ring, sizeof(ring), "%s", guest_path("ring-nofull"));
	assert_true(kept_against_fresh(&step, "step") > 0);
	assert_true(kept_against_fresh(&serial, "serial") > 0);
	explore_release();
}

/* The failed_runs of explore's JSON, with the output folder's name cut
 * out of the traces' paths (malloc'd). */
static char *failed_runs(const char *json, const char *out)
{
	const char *p = strstr(json, "\"failed_runs\"");
	size_t n = strlen(out);
	char *s, *w;

	if (!p)
		fail_msg("no failed_runs in %s", json);
	s = w = strdup(p);
	assert_non_null(s);
	for (const char *r = p; *r;)
		if (!strncmp(r, out, n))
			r += n;
		else
			*w++ = *r++;
	*w = 0;
	return s;
}

/* vcprr explore end to end, by default (one VM per worker, reset between
 * runs) and with VCPRR_FRESH_VM=1: the same failures, and every kept trace
 * the same run, in both preemption modes. */
static void test_explore_cli_kept_same_as_fresh(void **state)
{
	static const char *const runs[][2] = {
		{ "lost-update", "--runs 10 --seed 3 --preempt step -j 2" },
		{ "ring-nofull", "--runs 24 --seed 7 --preempt exit -j 2" },
	};

	(void)state;
	SKIP_WITHOUT_KVM();
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		char k[128], f[128], *jk, *jf, *rk, *rf;
		const char *p;
		unsigned traces = 0;

		snprintf(k, sizeof(k), "%s/cli-kept-%zu", dir, i);
		snprintf(f, sizeof(f), "%s/cli-fresh-%zu", dir, i);
		assert_int_equal(vcprr_sh(&jk, "$V explore %s -o %s --json %s "
					  "2>/dev/null", guest_path(runs[i][0]), k,
					  runs[i][1]), 1);
		assert_int_equal(vcprr_sh(&jf, "VCPRR_FRESH_VM=1 $V explore %s -o %s "
					  "--json %s 2>/dev/null",
					  guest_path(runs[i][0]), f, runs[i][1]), 1);
		rk = failed_runs(jk, k);
		rf = failed_runs(jf, f);
		assert_string_equal(rk, rf);
		for (p = rk; (p = strstr(p, "\"trace\": \"")); traces++) {
			char a[256], b[256];
			size_t n;

			p += strlen("\"trace\": \"");
			n = strcspn(p, "\"");
			snprintf(a, sizeof(a), "%s%.*s", k, (int)n, p);
			snprintf(b, sizeof(b), "%s%.*s", f, (int)n, p);
			assert_same_run(a, b);
		}
		assert_true(traces > 0);
		free(rk);
		free(rf);
		free(jk);
		free(jf);
	}
}

/* --- what a snapshot costs ---------------------------------------------------- */

/* A snapshot copies the pages written since the last one, a restore writes
 * back those: a few pages of stack and data, not the guest's memory. */
static void test_incremental(void **state)
{
	static const struct run_case c = { .guest = "cpustate", .vcpus = 2,
					   .mode = VM_SCHED_SERIAL };
	struct vm_snapshot_stats st;
	struct vm_snapshot *start, *end;
	struct vm *vm;

	SKIP_WITHOUT_KVM();
	vm = new_vm(&c, open("/dev/null", O_WRONLY));
	start = take(vm);
	vm_snapshot_stats(vm, &st);
	/* the first: every page in use, the image and page tables */
	printf("first snapshot: %llu pages in use, %llu copied\n",
	       (unsigned long long)st.last_take_pages,
	       (unsigned long long)st.page_copies);
	assert_true(st.page_copies > 4 && st.page_copies < 200);
	assert_true(st.page_copies <= st.last_take_pages);
	run_cpustate(vm, 1);
	end = take(vm);
	vm_snapshot_stats(vm, &st);
	assert_true(st.last_take_pages >= 2 && st.last_take_pages <= 16);
	restore(vm, start);
	vm_snapshot_stats(vm, &st);
	assert_true(st.last_restore_pages >= 2 && st.last_restore_pages <= 16);
	restore(vm, start);  /* nothing written since */
	vm_snapshot_stats(vm, &st);
	assert_int_equal(st.last_restore_pages, 0);
	assert_int_equal(st.snapshots, 2);
	vm_snapshot_free(end);
	vm_snapshot_stats(vm, &st);
	assert_int_equal(st.snapshots, 1);
	close(vm->cfg.console_fd);
	vm_destroy(vm);
}

/* Misuse is an error, not a corrupt VM. */
static void test_misuse(void **state)
{
	static const struct run_case c = { .guest = "idle", .vcpus = 1,
					   .mode = VM_SCHED_SERIAL };
	struct vm *vm, *other;
	struct vm_snapshot *s, *t;
	struct sched_config parallel = { .mode = VM_SCHED_PARALLEL };
	char err[512];

	SKIP_WITHOUT_KVM();
	vm = new_vm(&c, open("/dev/null", O_WRONLY));
	other = new_vm(&c, vm->cfg.console_fd);
	s = take(vm);
	t = take(other);
	assert_int_equal(vm_snapshot_restore(vm, t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "another VM"));
	assert_int_equal(vm_set_run(vm, &parallel, NULL, err, sizeof(err)), 0);
	assert_int_equal(vm_snapshot_restore(vm, s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mode"));
	assert_int_equal(vm_start(vm), 0);  /* idle halts: it runs until stopped */
	assert_null(vm_snapshot_take(vm, err, sizeof(err)));
	assert_non_null(strstr(err, "running"));
	assert_int_equal(vm_snapshot_restore(vm, s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "running"));
	assert_int_equal(vm_set_run(vm, &parallel, NULL, err, sizeof(err)), -1);
	vm_stop(vm, TEND_SIGNAL, 2, "test");
	assert_int_equal(vm_wait(vm, 10000), 0);
	close(vm->cfg.console_fd);
	vm_destroy(other);
	vm_destroy(vm);
}

/* --- the page trees alone ------------------------------------------------------ */

/* Random writes to a memory of npages, versions taken and restored in a
 * random order, each compared with a full copy; the pool's accounting
 * returns to zero. */
static void page_tree_model(uint64_t npages, uint64_t seed)
{
	enum { VERSIONS = 12 };
	size_t bytes = npages * PAGE_TREE_PAGE, words = (npages + 63) / 64;
	uint8_t *mem = calloc(1, bytes), *copy[VERSIONS];
	uint64_t *dirty = calloc(words, 8), *diff = calloc(words, 8), rng = seed;
	struct page_tree live = { NULL }, v[VERSIONS];
	struct page_pool pool;
	uint64_t written = 0;

	page_pool_init(&pool, npages);
	for (int k = 0; k < VERSIONS; k++) {
		unsigned writes = 1 + test_rand(&rng) % 40;

		for (unsigned i = 0; i < writes; i++) {
			uint64_t p = test_rand(&rng) % npages;
			uint64_t off = p * PAGE_TREE_PAGE + test_rand(&rng) % PAGE_TREE_PAGE;

			/* some pages go back to zero, some get the same value */
			mem[off] = test_rand(&rng) % 3 ? (uint8_t)test_rand(&rng) : 0;
			if (!(dirty[p / 64] & 1ull << (p % 64)))
				written++;
			dirty[p / 64] |= 1ull << (p % 64);
		}
		assert_int_equal(page_tree_update(&pool, &live, dirty, mem, &v[k]), 0);
		page_tree_put(&pool, &live);
		live = page_tree_get(&v[k]);
		memset(dirty, 0, words * 8);
		copy[k] = malloc(bytes);
		memcpy(copy[k], mem, bytes);
	}
	/* memory held: about the pages written, not versions x memory */
	assert_true(pool.copies <= written);
	assert_true(pool.bytes <= 2 * written * PAGE_TREE_PAGE + 64 * 1024);
	for (int i = 0; i < 3 * VERSIONS; i++) {
		int k = (int)(test_rand(&rng) % VERSIONS);

		memset(diff, 0, words * 8);
		page_tree_diff(&pool, &live, &v[k], diff);
		page_tree_write(&pool, &v[k], diff, mem);
		assert_memory_equal(mem, copy[k], bytes);
		page_tree_put(&pool, &live);
		live = page_tree_get(&v[k]);
	}
	page_tree_put(&pool, &live);
	for (int k = 0; k < VERSIONS; k++) {
		page_tree_put(&pool, &v[k]);
		free(copy[k]);
	}
	assert_int_equal(pool.bytes, 0);
	assert_int_equal(pool.copies, 0);
	page_pool_release(&pool);
	free(mem);
	free(dirty);
	free(diff);
}

static void test_page_tree(void **state)
{
	page_tree_model(50, 1);       /* one level */
	page_tree_model(3000, 2);     /* two */
	page_tree_model(5000, 3);     /* three, a partial top */
	page_tree_model(64 * 64, 4);  /* two, exactly full */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_tree),
		cmocka_unit_test(test_round_trip_runs),
		cmocka_unit_test(test_round_trip_register_edits),
		cmocka_unit_test(test_cpu_state_restored),
		cmocka_unit_test(test_scheduler_restored),
		cmocka_unit_test(test_explore_reset_same_as_fresh),
		cmocka_unit_test(test_explore_cli_kept_same_as_fresh),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_misuse),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
