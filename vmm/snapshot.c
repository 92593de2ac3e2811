/* VM snapshots (see snapshot.h).  The VM's snapshots share a store: the
 * page pool, what the VCPUs' KVM state is made of on this host, the tree
 * live memory derives from (the last snapshot taken or restored: the dirty
 * log counts from there), and the list of snapshots not yet freed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include "vmm/memory.h"
#include "vmm/page-tree.h"
#include "vmm/sched-internal.h"
#include "vmm/sched-state.h"
#include "vmm/snapshot.h"
#include "vmm/vcpu-state.h"
#include "vmm/vcpu.h"
#include "vmm/end.h"

/* What a VCPU thread's run has made of its struct vcpu (vm-state.h), the
 * resources (fd, kvm_run, locks, thread handles, trace producer) left out:
 * they are the VM's for its whole life. */
struct vcpu_run_state {
	uint64_t exit_seq;
	char con_buf[CONSOLE_LINE_MAX];
	size_t con_len;
	bool done, halted, io_pending, yielded, regs_synced;
	bool landing, land_stepping, replay_diverged;
	uint64_t land_hits, land_start_ns;
	bool thread_started, kickable, stopped, finished, event_returned;
	uint64_t req_seq, req_data;  /* the published request, 0: none */
	uint64_t last_taken, taken_seq, published_seq, next_req_seq;
	struct vcpu_event event;
	uint64_t resume_gen, stops, resume_asked, resume_data;
	unsigned dirty, fetched, fetch_wanted;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs dregs;
	int exit_code;
	uint64_t requests, kicks, eintr, taken, coalesced, resumed;
};

/* The VM's side of the run: how it is going or ended, and the devices. */
struct vm_run_state {
	struct sched_config sched;  /* vm_set_run() may have changed it */
	bool stopping, stop_claimed, ended, joined, has_pending;
	unsigned live_vcpus, halted_vcpus;
	int first_nonzero;
	struct vm_pending_stop pending;
	struct vm_result result;
	uint64_t scratch[VCPRR_MMIO_SCRATCH_LEN / 8];
};

struct vcpu_snapshot {
	struct vcpu_kvm_state kvm;
	struct vcpu_run_state run;
};

struct vm_snapshot {
	struct vm *vm;
	struct page_tree mem;
	struct vcpu_snapshot *vcpus;   /* while taking: then packed into */
	void *packed;                  /* zstd of every VCPU's state and run
					  state, then the VM's run state */
	size_t packed_len, flat_len;   /* ... (compressed, and not) */
	struct sched_state *sched;     /* NULL in parallel mode */
	int stopped_vcpu;              /* taken at its debug stop point;
					  -1: quiesced */
	size_t bytes;                  /* besides the pages */
	struct vm_snapshot *prev, *next;
};

struct vm_snapshots {
	struct page_pool pool;
	struct vcpu_state_caps caps;
	struct page_tree live;         /* live memory = this + dirty pages */
	uint64_t *dirty;               /* scratch page bitmap */
	struct vm_snapshot *list;
	struct vm_snapshot_stats stats;
	bool resumable;                /* a mid-run snapshot was restored and
					  no thread started since */
};

static uint64_t popcount(const uint64_t *bits, size_t words)
{
	uint64_t n = 0;

	for (size_t i = 0; i < words; i++)
		n += __builtin_popcountll(bits[i]);
	return n;
}

/* --- the run's state ------------------------------------------------------ */

/* @mid_run: taken from a stop point (the creator may still be writing
 * thread_started of a thread it just made: it is true by then). */
static void vcpu_run_save(const struct vcpu *v, struct vcpu_run_state *r,
			  bool mid_run)
{
	const struct pause_req *req = v->pause.req;  /* nobody publishes now */

	r->exit_seq = v->exit_seq;
	memcpy(r->con_buf, v->con_buf, sizeof(r->con_buf));
	r->con_len = v->con_len;
	r->done = v->done;
	r->halted = v->halted;
	r->io_pending = v->io_pending;
	r->yielded = v->yielded;
	r->regs_synced = v->regs_synced;
	r->landing = v->landing;
	r->land_stepping = v->land_stepping;
	r->replay_diverged = v->replay_diverged;
	r->land_hits = v->land_hits;
	r->land_start_ns = v->land_start_ns;
	r->thread_started = mid_run || v->thread_started;
	r->kickable = atomic_load(&v->kickable);
	r->stopped = atomic_load(&v->stopped);
	r->finished = atomic_load(&v->finished);
	r->event_returned = v->event_returned;
	r->req_seq = req ? req->req_seq : 0;
	r->req_data = req ? req->data : 0;
	r->last_taken = v->last_taken;
	r->taken_seq = atomic_load(&v->taken_seq);
	r->published_seq = atomic_load(&v->published_seq);
	r->next_req_seq = atomic_load(&v->next_req_seq);
	r->event = v->event;
	r->resume_gen = v->resume_gen;
	r->stops = v->stops;
	r->resume_asked = atomic_load(&v->resume_asked);
	r->resume_data = v->resume_data;
	r->dirty = v->dirty;
	r->fetched = v->fetched;
	r->fetch_wanted = v->fetch_wanted;
	r->regs = v->regs;
	r->sregs = v->sregs;
	r->dregs = v->dregs;
	r->exit_code = v->exit_code;
	r->requests = atomic_load(&v->stats.requests);
	r->kicks = atomic_load(&v->stats.kicks);
	r->eintr = atomic_load(&v->stats.eintr);
	r->taken = atomic_load(&v->stats.taken);
	r->coalesced = atomic_load(&v->stats.coalesced);
	r->resumed = atomic_load(&v->stats.resumed);
}

static int vcpu_run_load(struct vcpu *v, const struct vcpu_run_state *r)
{
	/* No thread reads the slot now: its request is replaced at once. */
	pause_slot_free(&v->pause);
	if (r->req_seq && pause_publish(&v->pause, r->req_seq, r->req_data))
		return -ENOMEM;
	v->exit_seq = r->exit_seq;
	memcpy(v->con_buf, r->con_buf, sizeof(v->con_buf));
	v->con_len = r->con_len;
	v->done = r->done;
	v->halted = r->halted;
	v->io_pending = r->io_pending;
	v->yielded = r->yielded;
	v->regs_synced = r->regs_synced;
	v->landing = r->landing;
	v->land_stepping = r->land_stepping;
	v->replay_diverged = r->replay_diverged;
	v->land_hits = r->land_hits;
	v->land_start_ns = r->land_start_ns;
	v->thread_started = r->thread_started;
	atomic_store(&v->kickable, r->kickable);
	atomic_store(&v->stopped, r->stopped);
	atomic_store(&v->finished, r->finished);
	v->event_returned = r->event_returned;
	v->last_taken = r->last_taken;
	atomic_store(&v->taken_seq, r->taken_seq);
	atomic_store(&v->published_seq, r->published_seq);
	atomic_store(&v->next_req_seq, r->next_req_seq);
	v->event = r->event;
	v->resume_gen = r->resume_gen;
	v->stops = r->stops;
	atomic_store(&v->resume_asked, r->resume_asked);
	v->resume_data = r->resume_data;
	v->dirty = r->dirty;
	v->fetched = r->fetched;
	v->fetch_wanted = r->fetch_wanted;
	v->regs = r->regs;
	v->sregs = r->sregs;
	v->dregs = r->dregs;
	v->exit_code = r->exit_code;
	atomic_store(&v->stats.requests, r->requests);
	atomic_store(&v->stats.kicks, r->kicks);
	atomic_store(&v->stats.eintr, r->eintr);
	atomic_store(&v->stats.taken, r->taken);
	atomic_store(&v->stats.coalesced, r->coalesced);
	atomic_store(&v->stats.resumed, r->resumed);
	return 0;
}

static void vm_run_save(struct vm *vm, struct vm_run_state *r)
{
	r->sched = vm->cfg.sched;
	r->stopping = atomic_load(&vm->stopping);
	r->live_vcpus = atomic_load(&vm->live_vcpus);
	r->halted_vcpus = atomic_load(&vm->halted_vcpus);
	r->first_nonzero = atomic_load(&vm->first_nonzero);
	r->has_pending = atomic_load(&vm->has_pending);
	pthread_mutex_lock(&vm->end_lock);
	r->stop_claimed = vm->stop_claimed;
	r->ended = vm->ended;
	r->pending = vm->pending;
	r->result = vm->result;
	pthread_mutex_unlock(&vm->end_lock);
	r->joined = vm->joined;
	pthread_mutex_lock(&vm->scratch_lock);
	memcpy(r->scratch, vm->scratch, sizeof(r->scratch));
	pthread_mutex_unlock(&vm->scratch_lock);
}

static void vm_run_load(struct vm *vm, const struct vm_run_state *r)
{
	uint64_t count;

	vm->cfg.sched = r->sched;
	atomic_store(&vm->stopping, r->stopping);
	atomic_store(&vm->live_vcpus, r->live_vcpus);
	atomic_store(&vm->halted_vcpus, r->halted_vcpus);
	atomic_store(&vm->first_nonzero, r->first_nonzero);
	atomic_store(&vm->has_pending, r->has_pending);
	pthread_mutex_lock(&vm->end_lock);
	vm->stop_claimed = r->stop_claimed;
	vm->ended = r->ended;
	vm->pending = r->pending;
	vm->result = r->result;
	pthread_mutex_unlock(&vm->end_lock);
	vm->joined = r->joined;
	pthread_mutex_lock(&vm->scratch_lock);
	memcpy(vm->scratch, r->scratch, sizeof(vm->scratch));
	pthread_mutex_unlock(&vm->scratch_lock);
	/* The end of the run is readable on end_fd once, as it was. */
	while (read(vm->end_fd, &count, sizeof(count)) == sizeof(count))
		;
	count = 1;
	if (r->ended && write(vm->end_fd, &count, sizeof(count)) < 0)
		count = 0;  /* an eventfd counter at 0 takes a write */
}

/* --- the store ------------------------------------------------------------ */

static bool quiesced(const struct vm *vm)
{
	return !vm->vcpus[0].thread_started || vm->joined;
}

/* KVM finishes a PIO/MMIO exit on the next KVM_RUN, with state no ioctl
 * shows: a VCPU thread of a VM with snapshots finishes it before leaving
 * (vcpu.c).  One still pending is from a run before the first snapshot. */
static int check_settled(const struct vm *vm, char *err, size_t errlen)
{
	if (!quiesced(vm)) {
		snprintf(err, errlen, "the VM is running: a snapshot is taken or "
			 "restored before its start or after its end");
		return -1;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (!vm->vcpus[i].io_pending)
			continue;
		snprintf(err, errlen, "vcpu %u ended its run in a PIO/MMIO exit "
			 "that KVM has not finished: take the VM's first snapshot "
			 "before its first start", i);
		return -1;
	}
	return 0;
}

/* Every page in use: resident in the mapping (an untouched page reads as
 * zero and costs nothing). */
static int resident_pages(const struct vm *vm, uint64_t *pages)
{
	uint64_t npages = vm->mem_size / PAGE_TREE_PAGE;
	unsigned char *vec = malloc(npages);

	if (!vec)
		return -ENOMEM;
	if (mincore(vm->mem, vm->mem_size, vec) < 0) {
		int r = -errno;
		free(vec);
		return r;
	}
	for (uint64_t p = 0; p < npages; p++)
		if (vec[p] & 1)
			pages[p / 64] |= 1ull << (p % 64);
	free(vec);
	return 0;
}

static struct vm_snapshots *store_new(struct vm *vm, char *err, size_t errlen)
{
	struct vm_snapshots *st;
	size_t words = memory_bitmap_words(vm);
	int r;

	if (vm->cfg.raw) {
		snprintf(err, errlen, "snapshots of raw-mode (crosvm plugin) VMs are "
			 "not supported: their memory is the plugin's and their "
			 "interrupt controllers KVM's");
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st || !(st->dirty = calloc(words, sizeof(uint64_t)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	page_pool_init(&st->pool, vm->mem_size / PAGE_TREE_PAGE);
	if (vcpu_state_probe(vm->kvm_fd, vm->vm_fd, vm->vcpus[0].fd, &st->caps,
			     err, errlen) ||
	    memory_track_dirty(vm, err, errlen))
		goto fail;
	/* The log counts from here: everything before is in the first tree. */
	if ((r = resident_pages(vm, st->dirty)) ||
	    (r = page_tree_update(&st->pool, &st->live, st->dirty, vm->mem,
				  &st->live))) {
		snprintf(err, errlen, "copying guest memory: %s", strerror(-r));
		goto fail;
	}
	st->stats.pages_taken = popcount(st->dirty, words);
	return st;
fail:
	if (st) {
		vcpu_state_caps_free(&st->caps);
		free(st->dirty);
		free(st);
	}
	return NULL;
}

/* Pages written since the live tree: st->dirty. */
static int take_dirty(struct vm *vm, char *err, size_t errlen)
{
	int r = memory_take_dirty(vm, vm->snapshots->dirty);

	if (r)
		snprintf(err, errlen, "KVM_GET_DIRTY_LOG: %s", strerror(-r));
	return r;
}

/* --- taking and restoring ------------------------------------------------ */

static int take_vcpus(struct vm *vm, struct vm_snapshot *s, char *err,
		      size_t errlen)
{
	const struct vcpu_state_caps *caps = &vm->snapshots->caps;

	s->vcpus = calloc(vm->nr_vcpus, sizeof(*s->vcpus));
	if (!s->vcpus) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		struct vcpu_snapshot *c = &s->vcpus[i];
		char why[256];

		if (vcpu_state_alloc(&c->kvm, caps)) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (vcpu_state_get(v->fd, v->run, caps, &c->kvm, why, sizeof(why))) {
			snprintf(err, errlen, "vcpu %u: %s", i, why);
			return -1;
		}
		vcpu_run_save(v, &c->run, s->stopped_vcpu >= 0);
	}
	return 0;
}

static void free_vcpus(struct vcpu_snapshot *v, unsigned n)
{
	for (unsigned i = 0; v && i < n; i++)
		vcpu_state_free(&v[i].kvm);
	free(v);
}

/* Every VCPU's state and run state, flattened and compressed: a
 * checkpoint's fixed cost is mostly zeros and values that repeat (XSAVE,
 * MSRs, the console line). */
static int pack_vcpus(struct vm *vm, struct vm_snapshot *s)
{
	const struct vcpu_state_caps *caps = &vm->snapshots->caps;
	size_t one = sizeof(uint32_t) + vcpu_state_flat_max(caps) +
		     sizeof(struct vcpu_run_state), len = 0, bound;
	uint8_t *flat = malloc(vm->nr_vcpus * one + sizeof(struct vm_run_state));
	struct vm_run_state run;
	int r = -ENOMEM;

	if (!flat)
		return r;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		uint32_t n = (uint32_t)vcpu_state_flatten(&s->vcpus[i].kvm, caps,
							  flat + len + 4);

		memcpy(flat + len, &n, sizeof(n));
		len += sizeof(n) + n;
		memcpy(flat + len, &s->vcpus[i].run, sizeof(s->vcpus[i].run));
		len += sizeof(s->vcpus[i].run);
	}
	vm_run_save(vm, &run);  /* (flat + len is not aligned for it) */
	memcpy(flat + len, &run, sizeof(run));
	len += sizeof(run);
	bound = ZSTD_compressBound(len);
	s->packed = malloc(bound);
	if (s->packed) {
		s->packed_len = ZSTD_compress(s->packed, bound, flat, len, 1);
		r = ZSTD_isError(s->packed_len) ? -EIO : 0;
	}
	free(flat);
	if (r)
		return r;
	s->flat_len = len;
	s->bytes += s->packed_len;
	free_vcpus(s->vcpus, vm->nr_vcpus);
	s->vcpus = NULL;
	return 0;
}

/* The VCPU states of @s, unpacked (free_vcpus them), and the VM's run
 * state into @run; NULL: no memory. */
static struct vcpu_snapshot *unpack_vcpus(struct vm *vm,
					  const struct vm_snapshot *s,
					  struct vm_run_state *run)
{
	const struct vcpu_state_caps *caps = &vm->snapshots->caps;
	struct vcpu_snapshot *v = calloc(vm->nr_vcpus, sizeof(*v));
	uint8_t *flat = malloc(s->flat_len);
	size_t off = 0;
	bool ok = v && flat && ZSTD_decompress(flat, s->flat_len, s->packed,
					       s->packed_len) == s->flat_len;

	for (unsigned i = 0; ok && i < vm->nr_vcpus; i++) {
		uint32_t n;

		memcpy(&n, flat + off, sizeof(n));
		off += sizeof(n);
		ok = !vcpu_state_alloc(&v[i].kvm, caps) &&
		     !vcpu_state_unflatten(&v[i].kvm, caps, flat + off, n);
		off += n;
		memcpy(&v[i].run, flat + off, sizeof(v[i].run));
		off += sizeof(v[i].run);
	}
	if (ok)
		memcpy(run, flat + off, sizeof(*run));
	free(flat);
	if (ok)
		return v;
	free_vcpus(v, vm->nr_vcpus);
	return NULL;
}

/* The VM stands still at @holder's debug stop point in a way a snapshot
 * can express: @holder holds the token and is about to enter the guest,
 * every other VCPU's thread waits for its turn or has left; none owes a
 * stop, is stopped or halted, has a PIO/MMIO for KVM to finish or register
 * edits staged; nothing is queued and the run is not ending.  Under the
 * scheduler's lock. */
static int check_frozen(struct vm *vm, unsigned holder, char *err,
			size_t errlen)
{
	struct sched *s = vm->sched;
	unsigned live = 0;

	if (s->current != (int)holder || s->running >= 0 || s->applying ||
	    s->nqueued || s->nheld || atomic_load(&vm->stopping) ||
	    atomic_load(&vm->has_pending) || atomic_load(&vm->halted_vcpus)) {
		snprintf(err, errlen, "the scheduler is between two decisions");
		return -1;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		struct vcpu_thread *t = atomic_load(&v->thread);

		if (atomic_load(&v->finished))
			continue;
		live++;
		/* (a thread not parked may be writing its VCPU's fields: they
		 * are read only once it waits, under the lock) */
		if (i != holder && !(s->parked[t->idx] && thread_vcpu(t) == v)) {
			snprintf(err, errlen, "vcpu %u is between two states "
				 "(not yet waiting for its turn)", i);
			return -1;
		}
		if (v->done || v->halted || v->io_pending || v->dirty ||
		    v->fetch_wanted || atomic_load(&v->stopped) ||
		    vcpu_owes_stop(v)) {
			snprintf(err, errlen, "vcpu %u is %s", i, v->io_pending ?
				 "in a PIO/MMIO exit that KVM has not finished" :
				 "between two states (stopping, stopped or "
				 "halted)");
			return -1;
		}
	}
	if (atomic_load(&vm->live_vcpus) != live) {
		snprintf(err, errlen, "a VCPU thread is on its way out");
		return -1;
	}
	return 0;
}

static struct vm_snapshot *take(struct vm *vm, int holder, char *err,
				size_t errlen)
{
	struct vm_snapshots *st = vm->snapshots;
	struct vm_snapshot *s;
	struct page_tree t;
	int r;

	/* (a new store counts the pages in use as taken) */
	uint64_t before = st ? st->stats.pages_taken : 0;

	if (!st && !(st = vm->snapshots = store_new(vm, err, errlen)))
		return NULL;
	if (take_dirty(vm, err, errlen))
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s || (r = page_tree_update(&st->pool, &st->live, st->dirty, vm->mem,
					&t))) {
		snprintf(err, errlen, "out of memory");
		free(s);
		return NULL;
	}
	page_tree_put(&st->pool, &st->live);
	st->live = t;
	st->stats.pages_taken += popcount(st->dirty, memory_bitmap_words(vm));
	st->stats.last_take_pages = st->stats.pages_taken - before;
	s->vm = vm;
	s->stopped_vcpu = holder;
	s->mem = page_tree_get(&st->live);
	s->bytes = sizeof(*s);
	s->next = st->list;
	if (st->list)
		st->list->prev = s;
	st->list = s;
	st->stats.snapshots++;
	if (take_vcpus(vm, s, err, errlen))
		goto fail;
	if (pack_vcpus(vm, s)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (vm->sched) {
		if (!(s->sched = sched_state_save(vm))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		s->bytes += sched_state_bytes(s->sched);
	}
	return s;
fail:
	vm_snapshot_free(s);
	return NULL;
}

struct vm_snapshot *vm_snapshot_take(struct vm *vm, char *err, size_t errlen)
{
	if (check_settled(vm, err, errlen))
		return NULL;
	return take(vm, -1, err, errlen);
}

struct vm_snapshot *vm_snapshot_take_stopped(struct vm *vm, unsigned vcpu,
					     char *err, size_t errlen)
{
	struct vm_snapshot *s = NULL;

	if (!vm->snapshots || !vm->sched || !vm->debug_stop ||
	    vcpu >= vm->nr_vcpus) {
		snprintf(err, errlen, "a snapshot mid-run is taken at a debug stop "
			 "point of a step-mode VM whose first snapshot was "
			 "taken before its start");
		return NULL;
	}
	pthread_mutex_lock(&vm->sched->lock);
	if (!check_frozen(vm, vcpu, err, errlen))
		s = take(vm, (int)vcpu, err, errlen);
	pthread_mutex_unlock(&vm->sched->lock);
	return s;
}

int vm_snapshot_restore(struct vm *vm, const struct vm_snapshot *s,
			char *err, size_t errlen)
{
	struct vm_snapshots *st = vm->snapshots;
	struct vcpu_snapshot *vs;
	struct vm_run_state *run;
	uint64_t n;

	if (!s || s->vm != vm) {
		snprintf(err, errlen, "restoring a snapshot of another VM");
		return -1;
	}
	if (check_settled(vm, err, errlen))
		return -1;
	if (!vm->sched != !s->sched) {
		snprintf(err, errlen, "the snapshot was taken in %s mode and the VM "
			 "is now in %s mode (vm_set_run)",
			 s->sched ? "a serial" : "the parallel",
			 vm->sched ? "a serial" : "the parallel");
		return -1;
	}
	if (s->sched && sched_state_load(vm, s->sched)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Back to s: the pages written since the live tree, and those in
	 * which the live tree and s differ. */
	if (take_dirty(vm, err, errlen))
		return -1;
	page_tree_diff(&st->pool, &st->live, &s->mem, st->dirty);
	n = page_tree_write(&st->pool, &s->mem, st->dirty, vm->mem);
	page_tree_put(&st->pool, &st->live);
	st->live = page_tree_get(&s->mem);
	st->stats.last_restore_pages = n;
	st->stats.pages_restored += n;
	if (!(run = malloc(sizeof(*run))) || !(vs = unpack_vcpus(vm, s, run))) {
		free(run);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		char why[256];

		if (vcpu_state_set(v->fd, v->run, &st->caps, &vs[i].kvm, why,
				   sizeof(why))) {
			snprintf(err, errlen, "vcpu %u: %s", i, why);
			goto fail;
		}
		if (vcpu_run_load(v, &vs[i].run)) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	free_vcpus(vs, vm->nr_vcpus);
	vm_run_load(vm, run);
	free(run);
	st->resumable = s->stopped_vcpu >= 0;
	if (st->resumable) {
		/* No thread runs it until vm_snapshot_resume. */
		vm->joined = true;
		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			atomic_store(&vm->vcpus[i].kickable, false);
	}
	return 0;
fail:
	free_vcpus(vs, vm->nr_vcpus);
	free(run);
	return -1;
}

int vm_snapshot_resume(struct vm *vm, char *err, size_t errlen)
{
	struct vm_snapshots *st = vm->snapshots;
	unsigned started = 0;
	int r = 0;

	if (!st || !st->resumable) {
		snprintf(err, errlen, "no snapshot taken mid-run was restored");
		return -EINVAL;
	}
	st->resumable = false;
	/* Which thread ran which VCPU was timing: each its own again. */
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		atomic_store(&vm->threads[i].vcpu, &vm->vcpus[i]);
		atomic_store(&vm->vcpus[i].thread, &vm->threads[i]);
		vm->sched->parked[i] = false;
		vm->vcpus[i].thread_started = false;
	}
	vm->joined = false;
	r = vcpu_threads_resume(vm, &started);
	if (!r)
		return 0;
	/* The threads that did start end with the run. */
	snprintf(err, errlen, "cannot start VCPU threads: %s", strerror(-r));
	for (unsigned i = started; i < vm->nr_vcpus; i++)
		if (!vm->vcpus[i].finished)
			vm_vcpu_finished(vm);
	vm_stop(vm, TEND_VMM_ERROR, 1, err);
	return r;
}

void vm_snapshot_free(struct vm_snapshot *s)
{
	struct vm_snapshots *st;

	if (!s)
		return;
	st = s->vm->snapshots;
	page_tree_put(&st->pool, &s->mem);
	free_vcpus(s->vcpus, s->vm->nr_vcpus);
	free(s->packed);
	sched_state_free(s->sched);
	if (s->prev)
		s->prev->next = s->next;
	else
		st->list = s->next;
	if (s->next)
		s->next->prev = s->prev;
	st->stats.snapshots--;
	free(s);
}

void vm_snapshot_stats(const struct vm *vm, struct vm_snapshot_stats *out)
{
	const struct vm_snapshots *st = vm->snapshots;

	memset(out, 0, sizeof(*out));
	if (!st)
		return;
	*out = st->stats;
	out->bytes = st->pool.bytes;
	out->page_copies = st->pool.copies;
	for (const struct vm_snapshot *s = st->list; s; s = s->next)
		out->bytes += s->bytes;
}

void vm_snapshots_free(struct vm *vm)
{
	struct vm_snapshots *st = vm->snapshots;

	if (!st)
		return;
	while (st->list)
		vm_snapshot_free(st->list);
	page_tree_put(&st->pool, &st->live);
	page_pool_release(&st->pool);
	vcpu_state_caps_free(&st->caps);
	free(st->dirty);
	free(st);
	vm->snapshots = NULL;
	free(vm->dirty_host);
	vm->dirty_host = NULL;
}
