/* Trace writer: per-thread SPSC rings merged by one thread into zstd frames.
 *
 * Hot path (trace_emit): reserve room in the caller's ring, take a global
 * sequence number, copy the event in, publish.  Room is reserved BEFORE the
 * sequence number is taken, so a taken number is always published within
 * nanoseconds; the writer thread can therefore merge the rings without a
 * reorder buffer: it repeatedly takes any ring head whose seq is the next
 * expected one (each ring is already in seq order). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "traces/clock.h"
#include "traces/format.h"
#include "traces/newfile.h"
#include "traces/trace.h"
#include "traces/writer-internal.h"

#define SEQ_CLOSED      (1ull << 63)
#define DEF_RING        (1u << 20)
#define DEF_FRAME_EV    65536u
#define DEF_FRAME_MS    40u
#define DEF_LEVEL       3
#define POLL_MS         5
#define ENC_CAP         (128u << 10)
#define ENT_WRAP        UINT64_MAX
#define CLOSE_STALL_NS  1000000000ull

struct ent {
	uint64_t len;              /* whole entry, 8-aligned; ENT_WRAP: go to 0 */
	struct trace_event ev;
};

#define ENT_BYTES(len)  (((sizeof(struct ent) + (len)) + 7) & ~(size_t)7)
#define MIN_RING        (2 * ENT_BYTES(TRACE_MAX_PAYLOAD))

struct trace_producer {
	/* written by the producer thread */
	_Atomic uint64_t head __attribute__((aligned(64)));
	uint64_t tail_cache;
	_Atomic uint32_t waiting;
	_Atomic uint64_t lost;     /* lossy: drops not yet reported */
	uint32_t lost_vcpu;
	/* written by the writer thread */
	_Atomic uint64_t tail __attribute__((aligned(64)));
	_Atomic uint32_t wake;
	/* constant */
	struct trace_writer *w __attribute__((aligned(64)));
	uint8_t *ring;
	uint64_t mask;
};

struct trace_writer {
	_Atomic uint64_t seq __attribute__((aligned(64)));
	_Atomic uint32_t sleeping;
	_Atomic uint32_t bell;
	_Atomic uint32_t nprod;
	struct trace_producer *prod[TRACE_MAX_PRODUCERS];
	pthread_mutex_t lock;      /* producer registration, flush, close */
	pthread_cond_t flushed_cv;

	struct trace_writer_opts o;
	uint64_t ring_bytes;
	int fd;
	char *path;
	struct newfile file;       /* fd == file.fd unless fdopen'ed */
	pthread_t thread;

	/* writer-thread state */
	uint64_t next;             /* next seq to write */
	ZSTD_CCtx *cctx;
	uint8_t *enc;
	size_t enc_len;
	uint8_t *zout;
	size_t zout_cap, zout_len;
	struct tf_state st;
	bool in_frame;
	uint64_t frame_off, frame_seq, frame_time, frame_count, frame_mono;
	uint64_t file_off, good_off;
	struct tf_index_entry *idx;
	size_t nidx, idx_cap;
	bool idx_lost;             /* out of memory for it: none is written */
	uint64_t stall_since;

	/* shared with API callers */
	_Atomic uint64_t flush_req, flushed;
	_Atomic int closing;
	uint64_t end_seq;
	uint32_t end_reason;
	int64_t exit_code;
	uint64_t mem_digest;
	_Atomic int paused;        /* tests: hold the writer thread */
	_Atomic int failed;        /* negative errno once a write failed */
	_Atomic int exited;
	char errmsg[256];
	_Atomic uint64_t st_events, st_frames, st_bytes, st_dropped, st_discarded;
};

/* ------------------------------------------------------------ helpers */

static void futex_wait(_Atomic uint32_t *addr, uint32_t val, long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };

	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void writer_wake(struct trace_writer *w)
{
	atomic_fetch_add(&w->bell, 1);
	futex_wake(&w->bell);
}

/* Wakes the writer only if it sleeps: keeps the emit path syscall-free. */
static void writer_kick(struct trace_writer *w)
{
	if (atomic_exchange(&w->sleeping, 0))
		writer_wake(w);
}

/* ------------------------------------------------------------ producer side */

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

/* ------------------------------------------------------------ encoder */

static uint8_t *encode_tpl(struct tf_slot *sl, uint8_t *p,
			   const struct trace_event *ev, int hit, bool vchg,
			   int64_t dt)
{
	uint64_t dx = ev->exit_seq - sl->exit_seq;
	bool a2 = sl->tpl[hit].a2 != ev->a2;

	*p++ = (uint8_t)hit | (vchg ? OPT_VCPU : 0) | (dx != 1 ? OPT_EXIT : 0) |
	       (a2 ? OPT_A2 : 0);
	if (vchg)
		p = tf_put_varint(p, ev->vcpu);
	p = tf_put_varint(p, tf_zz(dt));
	if (dx != 1)
		p = tf_put_varint(p, tf_zz((int64_t)dx));
	if (a2) {
		/* A delta against the template, which then follows: a counter
		 * or address that moves by a little costs one byte. */
		p = tf_put_varint(p, tf_zz((int64_t)(ev->a2 - sl->tpl[hit].a2)));
		sl->tpl[hit].a2 = ev->a2;
	}
	sl->exit_seq = ev->exit_seq;
	sl->rip = ev->rip;
	return p;
}

static uint8_t *encode_full(struct tf_slot *sl, uint8_t *p,
			    const struct trace_event *ev, const void *payload,
			    bool vchg, int64_t dt)
{
	uint8_t flags = 0;

	*p++ = OP_FULL | (ev->type < TF_TYPE_ESC ? ev->type : TF_TYPE_ESC) |
	       (vchg ? OPF_VCPU : 0) | (ev->payload_len ? OPF_PAYLOAD : 0);
	if (ev->type >= TF_TYPE_ESC)
		p = tf_put_varint(p, ev->type);
	if (vchg)
		p = tf_put_varint(p, ev->vcpu);
	p = tf_put_varint(p, tf_zz(dt));
	flags |= ev->a0 ? FL_A0 : 0;
	flags |= ev->a1 ? FL_A0 << 1 : 0;
	flags |= ev->a2 ? FL_A0 << 2 : 0;
	flags |= ev->a3 ? FL_A0 << 3 : 0;
	flags |= ev->rip != sl->rip ? FL_RIP : 0;
	flags |= ev->exit_seq != sl->exit_seq ? FL_EXIT : 0;
	flags |= ev->digest ? FL_DIGEST : 0;
	*p++ = flags;
	if (ev->a0)
		p = tf_put_varint(p, ev->a0);
	if (ev->a1)
		p = tf_put_varint(p, ev->a1);
	if (ev->a2)
		p = tf_put_varint(p, ev->a2);
	if (ev->a3)
		p = tf_put_varint(p, ev->a3);
	if (flags & FL_RIP)
		p = tf_put_varint(p, tf_zz((int64_t)(ev->rip - sl->rip)));
	if (flags & FL_EXIT)
		p = tf_put_varint(p, tf_zz((int64_t)(ev->exit_seq - sl->exit_seq)));
	if (flags & FL_DIGEST) {
		tf_put_le64(p, ev->digest);
		p += 8;
	}
	if (ev->payload_len) {
		p = tf_put_varint(p, ev->payload_len);
		memcpy(p, payload, ev->payload_len);
		p += ev->payload_len;
	}
	sl->rip = ev->rip;
	sl->exit_seq = ev->exit_seq;
	if (!ev->payload_len)
		tf_tpl_learn(sl, ev);
	return p;
}

static int tpl_find(const struct tf_slot *sl, const struct trace_event *ev)
{
	int hit = -1;

	for (int i = 0; i < TF_NTPL; i++) {
		const struct tf_tpl *t = &sl->tpl[i];

		if (t->type != ev->type || t->rip != ev->rip ||
		    t->a0 != ev->a0 || t->a1 != ev->a1 || t->a3 != ev->a3 ||
		    t->digest != ev->digest)
			continue;
		hit = i;
		if (t->a2 == ev->a2)
			break;
	}
	return hit;
}

static uint8_t *encode_event(struct tf_state *s, uint8_t *p,
			     const struct trace_event *ev, const void *payload)
{
	struct tf_slot *sl = tf_slot_of(s, ev->vcpu);
	int64_t dt = (int64_t)(ev->time_ns - s->time);
	bool vchg = ev->vcpu != s->vcpu;
	int hit = -1;

	s->time = ev->time_ns;
	s->vcpu = ev->vcpu;
	if (!ev->payload_len)
		hit = tpl_find(sl, ev);
	if (hit >= 0)
		return encode_tpl(sl, p, ev, hit, vchg, dt);
	return encode_full(sl, p, ev, payload, vchg, dt);
}

/* ------------------------------------------------------------ output */

/* Records the first failure (message in errmsg already) and ends the file
 * on the last completed frame: a clean truncated trace. */
static void fail_with(struct trace_writer *w, int err)
{
	if (ftruncate(w->fd, (off_t)w->good_off) == 0)
		w->file_off = w->good_off;
	atomic_store_explicit(&w->failed, -err, memory_order_release);
	pthread_mutex_lock(&w->lock);
	pthread_cond_broadcast(&w->flushed_cv);
	pthread_mutex_unlock(&w->lock);
}

static void fail(struct trace_writer *w, int err, uint64_t off,
		 const char *what)
{
	if (atomic_load(&w->failed))
		return;
	snprintf(w->errmsg, sizeof(w->errmsg),
		 "%s %s failed at offset %llu: %s", what, w->path,
		 (unsigned long long)off, strerror(err));
	fail_with(w, err);
}

/* The size limit (opts.max_bytes) counts like a full disk: the trace keeps
 * every frame completed before it. */
static bool over_limit(struct trace_writer *w, size_t len)
{
	if (!w->o.max_bytes || w->file_off + len <= w->o.max_bytes)
		return false;
	if (!atomic_load(&w->failed)) {
		snprintf(w->errmsg, sizeof(w->errmsg),
			 "%s reached its size limit of %llu bytes", w->path,
			 (unsigned long long)w->o.max_bytes);
		fail_with(w, EFBIG);
	}
	return true;
}

static void out_write(struct trace_writer *w, const void *buf, size_t len)
{
	const uint8_t *b = buf;

	if (atomic_load_explicit(&w->failed, memory_order_relaxed) ||
	    over_limit(w, len))
		return;
	while (len) {
		ssize_t n = write(w->fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fail(w, n < 0 ? errno : EIO, w->file_off, "write to");
			return;
		}
		b += n;
		len -= (size_t)n;
		w->file_off += (uint64_t)n;
	}
	atomic_store_explicit(&w->st_bytes, w->file_off, memory_order_relaxed);
}

static void compress(struct trace_writer *w, ZSTD_EndDirective mode)
{
	ZSTD_inBuffer in = { w->enc, w->enc_len, 0 };
	size_t rem;

	do {
		ZSTD_outBuffer out = { w->zout + w->zout_len,
				       w->zout_cap - w->zout_len, 0 };

		rem = ZSTD_compressStream2(w->cctx, &out, &in, mode);
		w->zout_len += out.pos;
		if (ZSTD_isError(rem)) {
			fail(w, EIO, w->file_off, "zstd compression for");
			break;
		}
		if (w->zout_len == w->zout_cap ||
		    (mode == ZSTD_e_end && !rem)) {
			out_write(w, w->zout, w->zout_len);
			w->zout_len = 0;
		}
	} while (mode == ZSTD_e_end ? rem != 0 : in.pos < in.size);
	w->enc_len = 0;
}

static void begin_frame(struct trace_writer *w, const struct trace_event *ev)
{
	uint8_t *p = w->enc;

	w->frame_off = w->file_off + w->zout_len;
	w->frame_seq = ev->seq;
	w->frame_time = ev->time_ns;
	w->frame_count = 0;
	w->frame_mono = mono_ns();
	tf_state_reset(&w->st, ev->time_ns);
	*p++ = TF_FRAME_KIND;
	p = tf_put_varint(p, ev->seq);
	p = tf_put_varint(p, ev->time_ns);
	w->enc_len = (size_t)(p - w->enc);
	w->in_frame = true;
}

static void end_frame(struct trace_writer *w)
{
	struct tf_index_entry *e;

	if (!w->in_frame)
		return;
	w->in_frame = false;
	compress(w, ZSTD_e_end);
	if (atomic_load_explicit(&w->failed, memory_order_relaxed))
		return;
	w->good_off = w->file_off;
	atomic_fetch_add_explicit(&w->st_frames, 1, memory_order_relaxed);
	if (w->nidx == w->idx_cap) {
		size_t cap = w->idx_cap ? 2 * w->idx_cap : 256;
		void *n = realloc(w->idx, cap * sizeof(*w->idx));

		if (!n) {
			w->idx_lost = true;  /* the reader scans instead */
			return;
		}
		w->idx = n;
		w->idx_cap = cap;
	}
	e = &w->idx[w->nidx++];
	e->off = w->frame_off;
	e->first_seq = w->frame_seq;
	e->first_time = w->frame_time;
	e->count = (uint32_t)w->frame_count;
}

static void write_event(struct trace_writer *w, const struct trace_event *ev,
			const void *payload)
{
	w->next++;
	if (atomic_load_explicit(&w->failed, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&w->st_discarded, 1,
					  memory_order_relaxed);
		return;
	}
	if (!w->in_frame)
		begin_frame(w, ev);
	if (w->enc_len + TF_MAX_EVENT > ENC_CAP)
		compress(w, ZSTD_e_continue);
	w->enc_len = (size_t)(encode_event(&w->st, w->enc + w->enc_len, ev,
					   payload) - w->enc);
	w->frame_count++;
	atomic_fetch_add_explicit(&w->st_events, 1, memory_order_relaxed);
	if (ev->type == TEV_LOST)
		atomic_fetch_add_explicit(&w->st_dropped, ev->a0,
					  memory_order_relaxed);
	if (w->frame_count >= w->o.frame_events)
		end_frame(w);
}

/* ------------------------------------------------------------ writer thread */

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
		write_event(w, &e->ev, e + 1);
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
	end_frame(w);
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
	write_event(w, &ev, NULL);
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
	out_write(arg, buf, len);
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
		write_event(w, &ev, NULL);
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = TEV_VM_END;
	ev.vcpu = TRACE_VCPU_NONE;
	ev.seq = w->next;
	ev.time_ns = mono_ns();
	ev.a0 = w->end_reason;
	ev.a1 = (uint64_t)w->exit_code;
	ev.a2 = w->mem_digest;
	write_event(w, &ev, NULL);
	end_frame(w);
	tf_tail_encode(w->idx, w->idx_lost ? 0 : w->nidx, w->file_off, w->next,
		       tail_out, w);
	/* pipes and sockets (trace_writer_fdopen) cannot be synced: EINVAL */
	if (!atomic_load(&w->failed) && fsync(w->fd) && errno != EINVAL)
		fail(w, errno, w->file_off, "fsync of");
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
			end_frame(w);
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

/* ------------------------------------------------------------ API */

static int setup_opts(struct trace_writer *w,
		      const struct trace_writer_opts *opts,
		      char *err, size_t errlen)
{
	uint64_t ring = DEF_RING;

	if (opts)
		w->o = *opts;
	if (!w->o.frame_events)
		w->o.frame_events = DEF_FRAME_EV;
	if (!w->o.frame_ms)
		w->o.frame_ms = DEF_FRAME_MS;
	if (!w->o.zstd_level)
		w->o.zstd_level = DEF_LEVEL;
	if (w->o.zstd_level < ZSTD_minCLevel() ||
	    w->o.zstd_level > ZSTD_maxCLevel()) {
		seterr(err, errlen, "zstd level %d out of range [%d, %d]",
		       w->o.zstd_level, ZSTD_minCLevel(), ZSTD_maxCLevel());
		return -EINVAL;
	}
	if (w->o.ring_bytes > (1u << 30)) {
		seterr(err, errlen, "ring size %u too large (max 1 GiB)",
		       w->o.ring_bytes);
		return -EINVAL;
	}
	if (w->o.ring_bytes)
		ring = w->o.ring_bytes;
	if (ring < MIN_RING)
		ring = MIN_RING;
	w->ring_bytes = 1;
	while (w->ring_bytes < ring)
		w->ring_bytes <<= 1;
	return 0;
}

static int setup_zstd(struct trace_writer *w, char *err, size_t errlen)
{
	w->cctx = ZSTD_createCCtx();
	w->enc = malloc(ENC_CAP);
	w->zout_cap = 256u << 10;
	w->zout = malloc(w->zout_cap);
	if (!w->cctx || !w->enc || !w->zout) {
		seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx,
			ZSTD_c_compressionLevel, w->o.zstd_level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx,
			ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx,
			ZSTD_c_windowLog, TF_WINDOW_LOG))) {
		seterr(err, errlen, "zstd refused the compression parameters");
		return -EINVAL;
	}
	return 0;
}

static void writer_free(struct trace_writer *w)
{
	uint32_t np = atomic_load(&w->nprod);

	for (uint32_t i = 0; i < np; i++) {
		free(w->prod[i]->ring);
		free(w->prod[i]);
	}
	if (w->fd >= 0)
		close(w->fd);
	ZSTD_freeCCtx(w->cctx);
	free(w->enc);
	free(w->zout);
	free(w->idx);
	newfile_discard(&w->file);
	free(w->path);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->flushed_cv);
	free(w);
}

static int start_thread(struct trace_writer *w)
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

/* Creates the trace with its header already in it: the header is written
 * to an unnamed file (traces/newfile.h) that gets its name at once, or at
 * trace_writer_publish() with opts.publish_later, so no reader and no
 * SIGKILL ever finds a trace without its header under that name. */
static int create_with_header(struct trace_writer *w, int fd,
			      const uint8_t *hdr, size_t len, char *err,
			      size_t errlen)
{
	if (fd >= 0) {
		w->fd = fd;
	} else {
		if (newfile_create(&w->file, w->path, err, errlen))
			return -1;
		w->fd = w->file.fd;
	}
	out_write(w, hdr, len);
	if (atomic_load(&w->failed)) {
		seterr(err, errlen, "%s", w->errmsg);
		return -1;
	}
	if (fd < 0 && !w->o.publish_later)
		return trace_writer_publish(w, err, errlen);
	return 0;
}

static struct trace_writer *writer_open(int fd, const char *path,
					const struct trace_header *h,
					const struct trace_writer_opts *opts,
					char *err, size_t errlen)
{
	uint8_t hdr[TF_HDR_MAX_FRAME];
	struct trace_writer *w;
	size_t hlen;
	int ret;

	if (posix_memalign((void **)&w, 64, sizeof(*w))) {
		seterr(err, errlen, "out of memory");
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->file.fd = -1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->flushed_cv, NULL);
	w->path = strdup(path);
	if (!w->path) {
		seterr(err, errlen, "out of memory");
		goto fail;
	}
	if (setup_opts(w, opts, err, errlen) || setup_zstd(w, err, errlen))
		goto fail;
	hlen = tf_header_encode(h, hdr);
	if (create_with_header(w, fd, hdr, hlen, err, errlen))
		goto fail;
	w->good_off = w->file_off;
	ret = start_thread(w);
	if (ret) {
		seterr(err, errlen, "cannot start the writer thread: %s",
		       strerror(-ret));
		goto fail;
	}
	return w;
fail:
	writer_free(w);
	return NULL;
}

struct trace_writer *trace_writer_open(const char *path,
				       const struct trace_header *h,
				       const struct trace_writer_opts *opts,
				       char *err, size_t errlen)
{
	return writer_open(-1, path, h, opts, err, errlen);
}

struct trace_writer *trace_writer_fdopen(int fd, const char *name,
					 const struct trace_header *h,
					 const struct trace_writer_opts *opts,
					 char *err, size_t errlen)
{
	if (fd < 0) {
		seterr(err, errlen, "%s: bad file descriptor", name);
		return NULL;
	}
	return writer_open(fd, name, h, opts, err, errlen);
}

int trace_writer_publish(struct trace_writer *w, char *err, size_t errlen)
{
	if (w->file.fd < 0)
		return 0;   /* trace_writer_fdopen: nothing to name */
	return newfile_publish(&w->file, !w->o.no_replace, err, errlen);
}

int trace_writer_flush(struct trace_writer *w)
{
	uint64_t target = atomic_load(&w->seq) & ~SEQ_CLOSED;
	uint64_t req = atomic_load(&w->flush_req);
	int ret;

	while (req < target &&
	       !atomic_compare_exchange_weak(&w->flush_req, &req, target))
		;
	writer_wake(w);
	pthread_mutex_lock(&w->lock);
	while (atomic_load(&w->flushed) < target && !atomic_load(&w->failed))
		pthread_cond_wait(&w->flushed_cv, &w->lock);
	ret = atomic_load(&w->failed);
	pthread_mutex_unlock(&w->lock);
	return ret;
}

const char *trace_writer_error(struct trace_writer *w)
{
	if (!atomic_load_explicit(&w->failed, memory_order_acquire))
		return NULL;
	return w->errmsg;
}

void trace_writer_stats(struct trace_writer *w, struct trace_writer_stats *st)
{
	st->events = atomic_load(&w->st_events);
	st->frames = atomic_load(&w->st_frames);
	st->bytes = atomic_load(&w->st_bytes);
	st->dropped = atomic_load(&w->st_dropped);
	st->discarded = atomic_load(&w->st_discarded);
}

void trace_writer__pause(struct trace_writer *w, bool pause)
{
	atomic_store(&w->paused, pause);
	writer_wake(w);
}

int trace_writer_close_err(struct trace_writer *w, uint32_t end_reason,
			   int64_t exit_code, uint64_t mem_digest,
			   char *err, size_t errlen)
{
	uint32_t np;
	int ret;

	pthread_mutex_lock(&w->lock);
	w->end_seq = atomic_fetch_or(&w->seq, SEQ_CLOSED) & ~SEQ_CLOSED;
	w->end_reason = end_reason;
	w->exit_code = exit_code;
	w->mem_digest = mem_digest;
	atomic_store(&w->paused, 0);
	atomic_store_explicit(&w->closing, 1, memory_order_release);
	np = atomic_load(&w->nprod);
	pthread_mutex_unlock(&w->lock);
	for (uint32_t i = 0; i < np; i++) {
		atomic_fetch_add(&w->prod[i]->wake, 1);
		futex_wake(&w->prod[i]->wake);
	}
	writer_wake(w);
	pthread_join(w->thread, NULL);

	ret = atomic_load(&w->failed);
	if (!ret && close(w->fd)) {
		fail(w, errno, w->file_off, "close of");
		ret = atomic_load(&w->failed);
	}
	w->fd = ret ? w->fd : -1;
	if (ret)
		seterr(err, errlen, "%s", w->errmsg);
	else if (err && errlen)
		err[0] = 0;
	writer_free(w);
	return ret;
}

int trace_writer_close(struct trace_writer *w, uint32_t end_reason,
		       int64_t exit_code, uint64_t mem_digest)
{
	return trace_writer_close_err(w, end_reason, exit_code, mem_digest,
				      NULL, 0);
}
