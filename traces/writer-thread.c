/* Trace writer thread: merges the producers' rings in sequence order into
 * the output, ends frames on time, answers flushes, and at close writes
 * the end of the trace. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "traces/clock.h"
#include "traces/writer-internal.h"

#define POLL_MS         5
#define CLOSE_STALL_NS  1000000000ull

/* Writes the run of events at @p's ring head that continue the sequence. */
static uint64_t drain_run(struct trace_writer *w, struct trace_producer *p)
{
	uint64_t tail = atomic_load_explicit(&p->tail, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&p->head, memory_order_acquire);
	uint64_t start = tail, n = 0;

	while (tail < head) {
		uint64_t off = tail & p->mask;
		struct ent *e = (struct ent *)(p->ring + off);

		if (e->len == ENT_WRAP) {
			tail += p->mask + 1 - off;
			continue;
		}
		if (e->ev.seq != w->next) {
			if (e->ev.seq > w->next)
				break;
			/* its number was given up at close: see close_stall */
			atomic_fetch_add(&w->st_discarded, 1);
			tail += e->len;
			continue;
		}
		writer_write_event(w, &e->ev, e + 1);
		tail += e->len;
		n++;
	}
	if (tail == start)
		return 0;
	atomic_store(&p->tail, tail);  /* seq_cst: pairs with wait_room */
	if (atomic_load(&p->waiting)) {
		atomic_fetch_add(&p->wake, 1);
		futex_wake(&p->wake);
	}
	return n;
}

static uint64_t merge_pass(struct trace_writer *w)
{
	uint32_t np = atomic_load_explicit(&w->nprod, memory_order_acquire);
	uint64_t total = 0, found;

	if (atomic_load_explicit(&w->paused, memory_order_relaxed))
		return 0;
	do {
		found = 0;
		for (uint32_t i = 0; i < np; i++)
			found += drain_run(w, w->prod[i]);
		total += found;
	} while (found && total < 65536);
	return total;
}

static void check_flush(struct trace_writer *w)
{
	uint64_t req = atomic_load(&w->flush_req);

	if (req <= atomic_load(&w->flushed) || w->next < req)
		return;
	writer_end_frame(w);
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->flushed, w->next);
	pthread_cond_broadcast(&w->flushed_cv);
	pthread_mutex_unlock(&w->lock);
}

/* A number taken but never published (its thread died mid-emit?) must not
 * hang close: after a while it is written as one lost event. */
static void close_stall(struct trace_writer *w, uint64_t now)
{
	struct trace_event ev = {
		.type = TEV_LOST, .vcpu = TRACE_VCPU_NONE, .a0 = 1,
		.a1 = TRACE_VCPU_NONE,
	};

	if (!w->stall_since) {
		w->stall_since = now;
		return;
	}
	if (now - w->stall_since < CLOSE_STALL_NS)
		return;
	ev.seq = w->next;
	ev.time_ns = now;
	writer_write_event(w, &ev, NULL);
	w->stall_since = 0;
}

static bool must_run(struct trace_writer *w)
{
	return atomic_load(&w->closing) ||
	       atomic_load(&w->flush_req) > atomic_load(&w->flushed);
}

static void writer_sleep(struct trace_writer *w, uint64_t now)
{
	uint32_t b = atomic_load(&w->bell);
	long ns = POLL_MS * 1000000L;

	atomic_store(&w->sleeping, 1);  /* seq_cst, then seq_cst loads */
	if (must_run(w) && !atomic_load(&w->paused)) {
		atomic_store(&w->sleeping, 0);
		ns = 50000;  /* a seq is in flight: nap briefly */
		b = atomic_load(&w->bell);
	}
	if (w->in_frame) {
		uint64_t due = w->frame_mono + w->o.frame_ms * 1000000ull;

		if (due <= now)
			ns = 0;
		else if (due - now < (uint64_t)ns)
			ns = (long)(due - now);
	}
	if (ns)
		futex_wait(&w->bell, b, ns);
	atomic_store(&w->sleeping, 0);
}

static void tail_out(void *arg, const void *buf, size_t len)
{
	writer_out_write(arg, buf, len);
}

static void finish(struct trace_writer *w)
{
	uint32_t np = atomic_load(&w->nprod);
	struct trace_event ev = { .vcpu = TRACE_VCPU_NONE };

	for (uint32_t i = 0; i < np; i++) {
		uint64_t lost = atomic_exchange(&w->prod[i]->lost, 0);

		if (!lost)
			continue;
		ev.type = TEV_LOST;
		ev.seq = w->next;
		ev.time_ns = mono_ns();
		ev.a0 = lost;
		ev.a1 = w->prod[i]->lost_vcpu;
		writer_write_event(w, &ev, NULL);
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = TEV_VM_END;
	ev.vcpu = TRACE_VCPU_NONE;
	ev.seq = w->next;
	ev.time_ns = mono_ns();
	ev.a0 = w->end_reason;
	ev.a1 = (uint64_t)w->exit_code;
	ev.a2 = w->mem_digest;
	writer_write_event(w, &ev, NULL);
	writer_end_frame(w);
	tf_tail_encode(w->idx, w->idx_lost ? 0 : w->nidx, w->file_off, w->next,
		       tail_out, w);
	/* pipes and sockets (trace_writer_fdopen) cannot be synced: EINVAL */
	if (!atomic_load(&w->failed) && fsync(w->fd) && errno != EINVAL)
		writer_fail(w, errno, w->file_off, "fsync of");
}

static void *writer_main(void *arg)
{
	struct trace_writer *w = arg;
	unsigned idle = 0;

	for (;;) {
		uint64_t n = merge_pass(w);
		uint64_t now = mono_ns();

		if (w->in_frame &&
		    now - w->frame_mono >= w->o.frame_ms * 1000000ull)
			writer_end_frame(w);
		check_flush(w);
		if (atomic_load_explicit(&w->closing, memory_order_acquire)) {
			if (w->next >= w->end_seq)
				break;
			if (n)
				w->stall_since = 0;
			else
				close_stall(w, now);
		}
		if (n) {
			idle = 0;
			continue;
		}
		if (++idle < 64) {
			cpu_relax();
			continue;
		}
		writer_sleep(w, now);
	}
	finish(w);
	pthread_mutex_lock(&w->lock);
	atomic_store(&w->flushed, UINT64_MAX);  /* releases racing flushers */
	pthread_cond_broadcast(&w->flushed_cv);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int writer_start_thread(struct trace_writer *w)
{
	sigset_t all, old;
	int ret;

	/* process-directed signals (SIGINT ...) belong to the VMM's threads */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -ret;
}
