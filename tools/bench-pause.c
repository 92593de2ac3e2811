/* vcprr bench pause: kick and pause latencies against the raw kick floor,
 * measured side by side in one run, and the cost of the per-exit check with
 * RCU against a mutex. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/bench-util.h"
#include "tools/cli.h"
#include "vmm/controller.h"
#include "vmm/pause.h"
#include "vmm/test-hooks.h"

#define SAMPLES 400

/* The kick floor: signal -> KVM_RUN returns EINTR -> the VCPU thread tells
 * the controller, through the same spin-then-sleep wait and the same
 * lock/broadcast a pause report uses, and parks until released, as a paused
 * VCPU would (so kicked VCPUs stop competing for the CPUs, like paused ones).
 * The two then differ only by the pause protocol itself.  The VCPU side runs
 * in the AFTER_RUN hook. */
struct floor {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_int armed[64], returned[64];
	int released;
};

static struct floor floor_state = { .lock = PTHREAD_MUTEX_INITIALIZER,
				    .cond = PTHREAD_COND_INITIALIZER };

static void floor_hook(struct vm *vm, unsigned vcpu, enum vcpu_hook_point p,
		       void *arg)
{
	struct floor *f = arg;

	if (p != VCPU_HOOK_AFTER_RUN || vcpu >= 64 ||
	    !atomic_exchange(&f->armed[vcpu], 0))
		return;
	pthread_mutex_lock(&f->lock);
	atomic_store(&f->returned[vcpu], 1);
	pthread_cond_broadcast(&f->cond);
	while (!f->released)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
}

static struct vm *boot(const char *guest, unsigned n, bool controlled)
{
	char err[1024];
	struct vm_config cfg = { .nr_vcpus = n, .controlled = controlled };
	struct vm *vm = vm_create(&cfg, bench_guest_path(guest), err, sizeof(err));

	if (!vm) {
		fprintf(stderr, "vcprr bench pause: %s\n", err);
		return NULL;
	}
	vm_set_test_hook(vm, floor_hook, &floor_state);
	if (vm_start(vm)) {
		vm_destroy(vm);
		return NULL;
	}
	usleep(20000);  /* let every VCPU reach the guest's steady state */
	return vm;
}

static void floor_wait(struct floor *f, unsigned id)
{
	uint64_t spin_end = bench_now_ns() + 200000;

	while (!atomic_load(&f->returned[id]) && bench_now_ns() < spin_end)
		__builtin_ia32_pause();
	pthread_mutex_lock(&f->lock);
	while (!atomic_load(&f->returned[id]))
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
}

/* Raw kick of every VCPU in [0, n) until each KVM_RUN returned EINTR. */
static uint64_t kick_round_trip(struct vm *vm, unsigned n)
{
	struct floor *f = &floor_state;
	uint64_t t0;

	uint64_t t;

	f->released = 0;
	for (unsigned i = 0; i < n; i++) {
		atomic_store(&f->returned[i], 0);
		atomic_store(&f->armed[i], 1);
	}
	t0 = bench_now_ns();
	for (unsigned i = 0; i < n; i++)
		vcpu_kick_thread(vm, i);
	for (unsigned i = 0; i < n; i++)
		floor_wait(f, i);
	t = bench_now_ns() - t0;
	pthread_mutex_lock(&f->lock);
	f->released = 1;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	return t;
}

static uint64_t resumed_of(struct vm *vm, unsigned id)
{
	struct vcpu_pause_stats st;

	vcpu_get_stats(vm, id, &st);
	return st.resumed;
}


/* pause_vcpus(mask) until every VCPU reported paused. */
static uint64_t pause_round_trip(struct vm *vm, unsigned n, uint64_t data)
{
	vcpu_mask_t all = vcpu_mask_first(n);
	uint64_t t0 = bench_now_ns();

	vm_pause_vcpus(vm, &all, data);
	if (vm_wait_paused(vm, &all, 5000, NULL))
		fprintf(stderr, "vcprr bench pause: VCPUs did not pause in 5 s\n");
	return bench_now_ns() - t0;
}

static uint64_t resume_one(struct vm *vm)
{
	uint64_t before = resumed_of(vm, 0), t0 = bench_now_ns();

	vcpu_resume(vm, 0, 0);
	while (resumed_of(vm, 0) == before)
		__builtin_ia32_pause();
	return bench_now_ns() - t0;
}

static double us(double ns) { return ns / 1000.0; }

static int bench_single(struct bench_report *r)
{
	static uint64_t floor[SAMPLES], pause[SAMPLES], resume[SAMPLES];
	struct vm *vm = boot("spinall", 1, false);

	if (!vm)
		return -1;
	for (int i = 0; i < SAMPLES; i++) {
		floor[i] = kick_round_trip(vm, 1);
		usleep(100);
		pause[i] = pause_round_trip(vm, 1, i);
		resume[i] = resume_one(vm);
		usleep(100);
	}
	vm_destroy(vm);
	bench_report_add(r, "kick_floor_p50_us", us(bench_percentile(floor, SAMPLES, 50)));
	bench_report_add(r, "kick_floor_p99_us", us(bench_percentile(floor, SAMPLES, 99)));
	bench_report_add(r, "pause_p50_us", us(bench_percentile(pause, SAMPLES, 50)));
	bench_report_add(r, "pause_p99_us", us(bench_percentile(pause, SAMPLES, 99)));
	bench_report_add(r, "pause_over_floor_p50",
			 bench_percentile(pause, SAMPLES, 50) /
			 bench_percentile(floor, SAMPLES, 50));
	bench_report_add(r, "resume_p50_us", us(bench_percentile(resume, SAMPLES, 50)));
	return 0;
}

static int bench_pause_all_idle(struct bench_report *r, unsigned n, int samples)
{
	uint64_t *t = calloc(samples, sizeof(*t));
	vcpu_mask_t all = vcpu_mask_first(n);
	struct vm *vm = boot("idle", n, true);
	char name[64];

	if (!vm || !t) {
		free(t);
		return -1;
	}
	for (int i = 0; i < samples; i++) {
		t[i] = pause_round_trip(vm, n, i);
		vm_resume_vcpus(vm, &all, 0);
		usleep(1000);  /* every VCPU halts again */
	}
	vm_destroy(vm);
	snprintf(name, sizeof(name), "pause_all_%u_p50_us", n);
	bench_report_add(r, name, us(bench_percentile(t, samples, 50)));
	free(t);
	return 0;
}

static int bench_spin_8(struct bench_report *r)
{
	enum { N = 8, S = 200 };
	static uint64_t floor[S], pause[S];
	vcpu_mask_t all = vcpu_mask_first(N);
	struct vm *vm = boot("spinall", N, false);

	if (!vm)
		return -1;
	for (int i = 0; i < S; i++) {
		floor[i] = kick_round_trip(vm, N);
		usleep(500);
		pause[i] = pause_round_trip(vm, N, i);
		vm_resume_vcpus(vm, &all, 0);
		usleep(500);
	}
	vm_destroy(vm);
	bench_report_add(r, "kick_floor_spin_8_p50_us", us(bench_percentile(floor, S, 50)));
	bench_report_add(r, "pause_all_spin_8_p50_us", us(bench_percentile(pause, S, 50)));
	bench_report_add(r, "pause_all_spin_8_over_floor_p50",
			 bench_percentile(pause, S, 50) / bench_percentile(floor, S, 50));
	return 0;
}

/* --- the per-exit check: RCU vs mutex, 8 readers and one writer --------- */
#define READERS 8
#define CHECKS  20000000ull

struct locked_slot {
	pthread_mutex_t lock;
	uint64_t req_seq, data;
};

struct check_ctx {
	bool use_rcu;
	struct pause_slot rcu[READERS];
	struct locked_slot locked[READERS];
	volatile bool stop;
	double ns_per_check[READERS];
};

struct reader_arg {
	struct check_ctx *c;
	int id;
};

static void *check_reader(void *p)
{
	struct reader_arg *a = p;
	struct check_ctx *c = a->c;
	uint64_t seq = 0, data = 0, sink = 0, t0;

	pause_rcu_thread_init();
	t0 = bench_thread_cpu_ns();
	for (uint64_t i = 0; i < CHECKS; i++) {
		if (c->use_rcu) {
			sink += pause_pending(&c->rcu[a->id], 0, &seq, &data);
		} else {
			struct locked_slot *s = &c->locked[a->id];
			pthread_mutex_lock(&s->lock);
			if (s->req_seq > 0) {
				seq = s->req_seq;
				data = s->data;
				sink++;
			}
			pthread_mutex_unlock(&s->lock);
		}
	}
	c->ns_per_check[a->id] = (double)(bench_thread_cpu_ns() - t0) / CHECKS;
	__asm__ volatile("" :: "r"(sink), "r"(seq), "r"(data));
	return NULL;
}

static void *check_writer(void *p)
{
	struct check_ctx *c = p;
	uint64_t n = 0;

	pause_rcu_thread_init();
	while (!c->stop) {
		int i = n++ % READERS;
		if (c->use_rcu) {
			pause_publish(&c->rcu[i], n, n);
		} else {
			pthread_mutex_lock(&c->locked[i].lock);
			c->locked[i].req_seq++;
			c->locked[i].data = n;
			pthread_mutex_unlock(&c->locked[i].lock);
		}
		usleep(10);
	}
	return NULL;
}

static double measure_check(bool use_rcu)
{
	struct check_ctx *c = calloc(1, sizeof(*c));
	pthread_t readers[READERS], writer;
	struct reader_arg args[READERS];
	double sum = 0;

	c->use_rcu = use_rcu;
	for (int i = 0; i < READERS; i++)
		pthread_mutex_init(&c->locked[i].lock, NULL);
	pthread_create(&writer, NULL, check_writer, c);
	for (int i = 0; i < READERS; i++) {
		args[i] = (struct reader_arg){ c, i };
		pthread_create(&readers[i], NULL, check_reader, &args[i]);
	}
	for (int i = 0; i < READERS; i++) {
		pthread_join(readers[i], NULL);
		sum += c->ns_per_check[i];
	}
	c->stop = true;
	pthread_join(writer, NULL);
	for (int i = 0; i < READERS; i++)
		pause_slot_free(&c->rcu[i]);
	free(c);
	return sum / READERS;
}

int bench_pause_main(int argc, char **argv)
{
	struct bench_report r = { .json = bench_want_json(argc, argv) };
	double rcu, mutex;

	if (bench_single(&r) || bench_pause_all_idle(&r, 1, 300) ||
	    bench_pause_all_idle(&r, 8, 200) || bench_pause_all_idle(&r, 64, 100) ||
	    bench_spin_8(&r))
		return EXIT_VMM_ERROR;
	rcu = measure_check(true);
	mutex = measure_check(false);
	bench_report_add(&r, "check_rcu_ns", rcu);
	bench_report_add(&r, "check_mutex_ns", mutex);
	bench_report_add(&r, "check_mutex_over_rcu", mutex / rcu);
	bench_report_print(&r);
	return 0;
}
