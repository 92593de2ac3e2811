/* Trace writer, producer side: per-thread SPSC rings and trace_emit.
 *
 * Hot path (trace_emit): reserve room in the caller's ring, take a global
 * sequence number, copy the event in, publish.  Room is reserved BEFORE the
 * sequence number is taken, so a taken number is always published within
 * nanoseconds; the writer thread can therefore merge the rings without a
 * reorder buffer: it repeatedly takes any ring head whose seq is the next
 * expected one (each ring is already in seq order). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "traces/clock.h"
#include "traces/writer-internal.h"

/* Wakes the writer only if it sleeps: keeps the emit path syscall-free. */
static void writer_kick(struct trace_writer *w)
{
	if (atomic_exchange(&w->sleeping, 0))
		writer_wake(w);
}

struct trace_producer *trace_producer_new(struct trace_writer *w)
{
	struct trace_producer *p = NULL;
	uint32_t n;

	pthread_mutex_lock(&w->lock);
	n = atomic_load(&w->nprod);
	if (atomic_load(&w->closing) || n >= TRACE_MAX_PRODUCERS) {
		errno = atomic_load(&w->closing) ? EPIPE : ENOSPC;
		goto out;
	}
	if (posix_memalign((void **)&p, 64, sizeof(*p))) {
		p = NULL;
		errno = ENOMEM;
		goto out;
	}
	memset(p, 0, sizeof(*p));
	p->ring = malloc(w->ring_bytes);
	if (!p->ring) {
		free(p);
		p = NULL;
		errno = ENOMEM;
		goto out;
	}
	p->w = w;
	p->mask = w->ring_bytes - 1;
	p->lost_vcpu = TRACE_VCPU_NONE;
	w->prod[n] = p;
	atomic_store_explicit(&w->nprod, n + 1, memory_order_release);
out:
	pthread_mutex_unlock(&w->lock);
	return p;
}

/* Room for @need contiguous bytes; returns the slot and sets *newhead. */
static uint8_t *ring_reserve(struct trace_producer *p, size_t need,
			     uint64_t *newhead)
{
	uint64_t head = atomic_load_explicit(&p->head, memory_order_relaxed);
	uint64_t cap = p->mask + 1;
	uint64_t off = head & p->mask;
	uint64_t pad = off + need > cap ? cap - off : 0;

	if (head + pad + need - p->tail_cache > cap) {
		p->tail_cache = atomic_load_explicit(&p->tail,
						     memory_order_acquire);
		if (head + pad + need - p->tail_cache > cap)
			return NULL;
	}
	if (pad) {
		uint64_t wrap = ENT_WRAP;

		memcpy(p->ring + off, &wrap, sizeof(wrap));
		off = 0;
	}
	*newhead = head + pad + need;
	return p->ring + off;
}

static uint8_t *ring_reserve_sc(struct trace_producer *p, size_t need,
				uint64_t *newhead)
{
	p->tail_cache = atomic_load(&p->tail);
	return ring_reserve(p, need, newhead);
}

static void ring_commit(struct trace_producer *p, uint64_t newhead)
{
	struct trace_writer *w = p->w;

	atomic_store_explicit(&p->head, newhead, memory_order_release);
	if (newhead - p->tail_cache < (p->mask + 1) / 2)
		return;
	/* tail_cache is only refreshed when the ring looks full, so it goes
	 * stale: re-read the writer's tail before deciding, or every commit
	 * past half a ring would wake the writer (a syscall per event and a
	 * context switch onto a VCPU's core). */
	p->tail_cache = atomic_load_explicit(&p->tail, memory_order_acquire);
	if (newhead - p->tail_cache >= (p->mask + 1) / 2 &&
	    atomic_load_explicit(&w->sleeping, memory_order_relaxed))
		writer_kick(w);
}

static int take_seq(struct trace_writer *w, uint64_t *seq)
{
	uint64_t s = atomic_fetch_add_explicit(&w->seq, 1,
					       memory_order_relaxed);

	if (s & SEQ_CLOSED)
		return -EPIPE;
	*seq = s;
	return 0;
}

static int push(struct trace_producer *p, uint8_t *slot, uint64_t newhead,
		struct trace_event *ev, const void *payload, bool timed)
{
	struct ent *e = (struct ent *)slot;
	int ret = take_seq(p->w, &ev->seq);

	if (ret)
		return ret;
	if (!timed)
		ev->time_ns = mono_ns();
	e->len = ENT_BYTES(ev->payload_len);
	e->ev = *ev;
	if (ev->payload_len)
		memcpy(e + 1, payload, ev->payload_len);
	ring_commit(p, newhead);
	return 0;
}

static uint8_t *wait_room(struct trace_producer *p, size_t need,
			  uint64_t *newhead)
{
	struct trace_writer *w = p->w;
	uint8_t *slot;

	for (unsigned spins = 0;; spins++) {
		uint32_t wk;

		if (atomic_load_explicit(&w->seq, memory_order_relaxed) &
		    SEQ_CLOSED)
			return NULL;
		slot = ring_reserve(p, need, newhead);
		if (slot)
			return slot;
		if (spins < 256) {
			cpu_relax();
			continue;
		}
		/* Dekker with drain_run: seq_cst store waiting, then reload
		 * tail (seq_cst in ring_reserve's slow path) */
		wk = atomic_load(&p->wake);
		atomic_store(&p->waiting, 1);
		slot = ring_reserve_sc(p, need, newhead);
		if (slot) {
			atomic_store(&p->waiting, 0);
			return slot;
		}
		writer_wake(w);
		futex_wait(&p->wake, wk, 10 * 1000000L);
		atomic_store(&p->waiting, 0);
	}
}

static int emit_lossy(struct trace_producer *p, struct trace_event *ev,
		      const void *payload, bool timed, size_t need)
{
	uint64_t lost = atomic_load_explicit(&p->lost, memory_order_relaxed);
	uint64_t newhead;
	uint8_t *slot;
	int ret;

	if (lost) {
		struct trace_event lev = {
			.type = TEV_LOST, .vcpu = TRACE_VCPU_NONE,
			.a0 = lost, .a1 = p->lost_vcpu,
		};

		slot = ring_reserve(p, ENT_BYTES(0), &newhead);
		if (!slot)
			goto drop;
		/* the count leaves p->lost only once its event has a seq */
		lost = atomic_exchange(&p->lost, 0);
		lev.a0 = lost;
		ret = push(p, slot, newhead, &lev, NULL, false);
		if (ret)
			return ret;
	}
	slot = ring_reserve(p, need, &newhead);
	if (!slot)
		goto drop;
	return push(p, slot, newhead, ev, payload, timed);
drop:
	p->lost_vcpu = ev->vcpu;
	atomic_fetch_add(&p->lost, 1);
	return -ENOBUFS;
}

static int emit(struct trace_producer *p, struct trace_event *ev,
		const void *payload, bool timed, bool any_type)
{
	struct trace_writer *w = p->w;
	size_t need = ENT_BYTES(ev->payload_len);
	uint64_t newhead;
	uint8_t *slot;
	int ret;

	if (ev->type == TEV_NONE || (ev->type >= TEV__COUNT && !any_type))
		return -EINVAL;
	if (ev->payload_len > TRACE_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (ev->payload_len && !payload)
		return -EINVAL;
	if (atomic_load_explicit(&w->seq, memory_order_relaxed) & SEQ_CLOSED)
		return -EPIPE;
	ret = atomic_load_explicit(&w->failed, memory_order_relaxed);
	if (ret) {
		/* nothing more reaches the file: count and report */
		atomic_fetch_add(&w->st_discarded, 1);
		return ret;
	}
	if (w->o.lossy)
		return emit_lossy(p, ev, payload, timed, need);
	slot = ring_reserve(p, need, &newhead);
	if (!slot)
		slot = wait_room(p, need, &newhead);
	if (!slot)
		return -EPIPE;
	return push(p, slot, newhead, ev, payload, timed);
}

int trace_emit(struct trace_producer *p, struct trace_event *ev,
	       const void *payload)
{
	return emit(p, ev, payload, false, false);
}

int trace_emit_timed(struct trace_producer *p, struct trace_event *ev,
		     const void *payload)
{
	return emit(p, ev, payload, true, false);
}

int trace_emit__any_type(struct trace_producer *p, struct trace_event *ev,
			 const void *payload)
{
	return emit(p, ev, payload, true, true);
}
