/* Streams over a trace (see stream.h): decoded chunks in a small cache,
 * cursors that follow one class of events (of one VCPU) through them. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay/stream.h"

#define CHUNK_EVENTS  4096u
#define CHUNK_PAYLOAD (256u << 10)  /* a chunk ends early past this */
#define CACHE_CHUNKS  16
#define READERS       4
#define NO_IDX        UINT32_MAX

struct cev {
	struct trace_event ev;
	uint32_t pl_off;
	uint32_t next;              /* next event of its VCPU in the chunk */
	uint32_t cls;
};

struct chunk {
	uint64_t no;                /* UINT64_MAX: empty */
	uint64_t used;              /* for LRU */
	uint32_t n;
	struct cev *ev;
	uint8_t *pl;
	size_t pl_len;
	uint32_t *first;            /* per VCPU slot: its first event */
};

struct pool_reader {
	struct trace_reader *r;
	uint64_t next_seq;          /* what it reads next without seeking */
	uint64_t used;
};

struct trace_stream {
	int fd;
	char fdpath[32];
	struct trace_reader *scan;  /* the header; the first pass */
	unsigned nr_vcpus;
	uint64_t events;
	uint64_t *start;            /* chunk k is [start[k], start[k+1]) */
	size_t nchunks, cap;
	bool truncated;
	char truncation[160];
	uint32_t (*classify)(void *arg, const struct trace_event *ev);
	void *carg;
	pthread_mutex_t lock;
	struct chunk cache[CACHE_CHUNKS];
	struct pool_reader pool[READERS];
	uint64_t tick, decoded;
	char error[400];
};

static unsigned slot_of(const struct trace_stream *ts, uint32_t vcpu)
{
	return vcpu < ts->nr_vcpus ? vcpu : ts->nr_vcpus;
}

struct trace_stream *stream_open(const char *path, char *err, size_t errlen)
{
	struct trace_stream *ts = calloc(1, sizeof(*ts));

	if (!ts) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&ts->lock, NULL);
	for (int i = 0; i < CACHE_CHUNKS; i++)
		ts->cache[i].no = UINT64_MAX;
	ts->scan = trace_reader_open(path, err, errlen);
	ts->fd = ts->scan ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (ts->scan && ts->fd < 0)
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
	if (ts->fd < 0) {
		stream_close(ts);
		return NULL;
	}
	snprintf(ts->fdpath, sizeof(ts->fdpath), "/proc/self/fd/%d", ts->fd);
	return ts;
}

void stream_close(struct trace_stream *ts)
{
	if (!ts)
		return;
	trace_reader_close(ts->scan);
	for (int i = 0; i < READERS; i++)
		trace_reader_close(ts->pool[i].r);
	for (int i = 0; i < CACHE_CHUNKS; i++) {
		free(ts->cache[i].ev);
		free(ts->cache[i].pl);
		free(ts->cache[i].first);
	}
	if (ts->fd >= 0)
		close(ts->fd);
	free(ts->start);
	pthread_mutex_destroy(&ts->lock);
	free(ts);
}

const struct trace_header *stream_header(const struct trace_stream *ts)
{
	return trace_reader_header(ts->scan);
}

/* Chunk k starts at event start[k]; start[nchunks] is the end.  Keeps
 * room for that last entry. */
static int add_start(struct trace_stream *ts, uint64_t seq)
{
	if (ts->nchunks + 2 > ts->cap) {
		size_t cap = ts->cap ? 2 * ts->cap : 256;
		uint64_t *s = realloc(ts->start, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		ts->start = s;
		ts->cap = cap;
	}
	ts->start[ts->nchunks++] = seq;
	ts->start[ts->nchunks] = seq;
	return 0;
}

int stream_scan(struct trace_stream *ts, unsigned nr_vcpus,
		int (*fn)(void *arg, const struct trace_event *ev,
			  const uint8_t *pl),
		void *arg, char *err, size_t errlen)
{
	struct trace_event ev;
	const uint8_t *pl;
	uint32_t n = 0;
	size_t bytes = 0;
	int r;

	ts->nr_vcpus = nr_vcpus;
	while ((r = trace_reader_next(ts->scan, &ev, &pl)) == 1) {
		if (!n || n == CHUNK_EVENTS ||
		    bytes + ev.payload_len > CHUNK_PAYLOAD) {
			if (add_start(ts, ev.seq)) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			n = 0;
			bytes = 0;
		}
		n++;
		bytes += ev.payload_len;
		ts->events = ev.seq + 1;
		ts->start[ts->nchunks] = ts->events;
		r = fn(arg, &ev, pl);
		if (r)
			return r;
	}
	if (r < 0) {
		snprintf(err, errlen, "%s", trace_reader_error(ts->scan));
		return -1;
	}
	ts->truncated = trace_reader_truncated(ts->scan);
	snprintf(ts->truncation, sizeof(ts->truncation), "%s",
		 trace_reader_truncation(ts->scan) ?: "");
	return 0;
}

bool stream_truncated(const struct trace_stream *ts)
{
	return ts->truncated;
}

const char *stream_truncation(const struct trace_stream *ts)
{
	return ts->truncation[0] ? ts->truncation : NULL;
}

uint64_t stream_events(const struct trace_stream *ts)
{
	return ts->events;
}

void stream_set_classes(struct trace_stream *ts,
			uint32_t (*classify)(void *arg,
					     const struct trace_event *ev),
			void *arg)
{
	ts->classify = classify;
	ts->carg = arg;
}

const char *stream_error(struct trace_stream *ts)
{
	const char *e;

	pthread_mutex_lock(&ts->lock);
	e = ts->error[0] ? ts->error : NULL;
	pthread_mutex_unlock(&ts->lock);
	return e;
}

uint64_t stream_decoded_chunks(struct trace_stream *ts)
{
	uint64_t n;

	pthread_mutex_lock(&ts->lock);
	n = ts->decoded;
	pthread_mutex_unlock(&ts->lock);
	return n;
}

/* --- the cache (under ts->lock) ------------------------------------------- */

static void set_error(struct trace_stream *ts, const char *why)
{
	if (!ts->error[0])
		snprintf(ts->error, sizeof(ts->error), "the trace no longer reads "
			 "as it did: %s", why);
}

/* A reader positioned at @seq: one that is there already, else the one
 * used longest ago, seeked. */
static struct pool_reader *reader_at(struct trace_stream *ts, uint64_t seq)
{
	struct pool_reader *best = &ts->pool[0];
	char err[320];

	for (int i = 0; i < READERS; i++) {
		struct pool_reader *p = &ts->pool[i];

		if (p->r && p->next_seq == seq) {
			best = p;
			goto found;
		}
		if (!p->r || (best->r && p->used < best->used))
			best = p;
	}
	if (!best->r)
		best->r = trace_reader_open(ts->fdpath, err, sizeof(err));
	if (!best->r) {
		set_error(ts, err);
		return NULL;
	}
	if (trace_reader_seek_seq(best->r, seq) != 1) {
		set_error(ts, trace_reader_error(best->r) ?: "an event is gone");
		return NULL;
	}
found:
	best->used = ++ts->tick;
	best->next_seq = seq;
	return best;
}

static int chunk_alloc(struct trace_stream *ts, struct chunk *c)
{
	if (c->ev)
		return 0;
	c->ev = malloc(CHUNK_EVENTS * sizeof(*c->ev));
	c->pl = malloc(CHUNK_PAYLOAD);
	c->first = malloc((ts->nr_vcpus + 1) * sizeof(*c->first));
	return c->ev && c->pl && c->first ? 0 : -ENOMEM;
}

/* Decodes chunk @k into @c: its events, their classes and, per VCPU, the
 * chain of its events. */
static int decode(struct trace_stream *ts, uint64_t k, struct chunk *c)
{
	uint64_t seq = ts->start[k], n = ts->start[k + 1] - seq;
	struct pool_reader *p;
	const uint8_t *pl;

	c->no = UINT64_MAX;
	if (chunk_alloc(ts, c)) {
		set_error(ts, "out of memory");
		return -1;
	}
	p = reader_at(ts, seq);
	if (!p)
		return -1;
	c->pl_len = 0;
	for (c->n = 0; c->n < n; c->n++) {
		struct cev *e = &c->ev[c->n];

		if (trace_reader_next(p->r, &e->ev, &pl) != 1 ||
		    e->ev.seq != seq + c->n ||
		    c->pl_len + e->ev.payload_len > CHUNK_PAYLOAD) {
			set_error(ts, trace_reader_error(p->r) ?: "an event is gone");
			return -1;
		}
		if (e->ev.payload_len)
			memcpy(c->pl + c->pl_len, pl, e->ev.payload_len);
		e->pl_off = (uint32_t)c->pl_len;
		c->pl_len += e->ev.payload_len;
		e->cls = ts->classify ? ts->classify(ts->carg, &e->ev) : 0;
	}
	p->next_seq = seq + n;
	for (unsigned v = 0; v <= ts->nr_vcpus; v++)
		c->first[v] = NO_IDX;
	for (uint32_t i = c->n; i-- > 0;) {
		unsigned s = slot_of(ts, c->ev[i].ev.vcpu);

		c->ev[i].next = c->first[s];
		c->first[s] = i;
	}
	c->no = k;
	ts->decoded++;
	return 0;
}

static struct chunk *chunk_get(struct trace_stream *ts, uint64_t k)
{
	struct chunk *old = &ts->cache[0];

	for (int i = 0; i < CACHE_CHUNKS; i++) {
		struct chunk *c = &ts->cache[i];

		if (c->no == k) {
			c->used = ++ts->tick;
			return c;
		}
		if (c->no == UINT64_MAX || (old->no != UINT64_MAX &&
					    c->used < old->used))
			old = c;
	}
	if (ts->error[0] || decode(ts, k, old))
		return NULL;
	old->used = ++ts->tick;
	return old;
}

/* --- cursors ------------------------------------------------------------- */

/* The first event at or after index @i of chunk @c (@i == NO_IDX: none)
 * that the cursor follows; NO_IDX if none in this chunk.  @i is on the
 * cursor's VCPU chain unless it follows every VCPU. */
static uint32_t match_from(const struct stream_cursor *cur,
			   const struct chunk *c, uint32_t i)
{
	bool any = cur->vcpu == STREAM_ANY_VCPU;

	while (i != NO_IDX && i < c->n) {
		if (c->ev[i].cls & cur->cls)
			return i;
		i = any ? i + 1 : c->ev[i].next;
	}
	return NO_IDX;
}

static uint32_t chunk_entry(const struct stream_cursor *cur,
			    const struct chunk *c)
{
	if (cur->vcpu == STREAM_ANY_VCPU)
		return 0;
	return c->first[slot_of(cur->ts, cur->vcpu)];
}

static void take(struct stream_cursor *cur, const struct chunk *c, uint32_t i)
{
	const struct cev *e = &c->ev[i];

	cur->chunk = c->no;
	cur->idx = i;
	cur->ev = e->ev;
	if (e->ev.payload_len > cur->pl_cap) {
		uint8_t *p = realloc(cur->pl, e->ev.payload_len);

		if (!p) {
			set_error(cur->ts, "out of memory");
			cur->end = true;
			return;
		}
		cur->pl = p;
		cur->pl_cap = e->ev.payload_len;
	}
	if (e->ev.payload_len)  /* (no payload in the chunk: c->pl is NULL) */
		memcpy(cur->pl, c->pl + e->pl_off, e->ev.payload_len);
}

/* Finds the cursor's event from index @i of chunk @k on (under the lock). */
static void seek_from(struct stream_cursor *cur, uint64_t k, uint32_t i,
		      bool entry)
{
	struct trace_stream *ts = cur->ts;

	for (; k < ts->nchunks; k++, entry = true) {
		struct chunk *c = chunk_get(ts, k);

		if (!c)
			break;
		i = match_from(cur, c, entry ? chunk_entry(cur, c) : i);
		if (i != NO_IDX) {
			take(cur, c, i);
			return;
		}
	}
	cur->end = true;
}

int stream_cursor_init(struct stream_cursor *c, struct trace_stream *ts,
		       uint32_t cls, uint32_t vcpu)
{
	*c = (struct stream_cursor){ .ts = ts, .cls = cls, .vcpu = vcpu };
	pthread_mutex_lock(&ts->lock);
	seek_from(c, 0, 0, true);
	pthread_mutex_unlock(&ts->lock);
	return 0;
}

int stream_cursor_copy(struct stream_cursor *dst,
		       const struct stream_cursor *src)
{
	uint8_t *pl = dst->pl;
	uint32_t cap = dst->pl_cap;

	if (src->ev.payload_len > cap) {
		pl = realloc(pl, src->ev.payload_len);
		if (!pl)
			return -ENOMEM;
		cap = src->ev.payload_len;
	}
	*dst = *src;
	dst->pl = pl;
	dst->pl_cap = cap;
	if (!src->end && src->ev.payload_len)
		memcpy(dst->pl, src->pl, src->ev.payload_len);
	return 0;
}

void stream_cursor_free(struct stream_cursor *c)
{
	free(c->pl);
	c->pl = NULL;
	c->pl_cap = 0;
}

void stream_next(struct stream_cursor *cur)
{
	struct trace_stream *ts = cur->ts;
	struct chunk *c;
	uint32_t i;

	if (cur->end)
		return;
	cur->pos++;
	pthread_mutex_lock(&ts->lock);
	c = chunk_get(ts, cur->chunk);
	if (!c) {
		cur->end = true;
	} else {
		i = cur->vcpu == STREAM_ANY_VCPU ? cur->idx + 1 :
						   c->ev[cur->idx].next;
		i = match_from(cur, c, i);
		if (i != NO_IDX)
			take(cur, c, i);
		else
			seek_from(cur, cur->chunk + 1, 0, true);
	}
	pthread_mutex_unlock(&ts->lock);
}

int stream_read_seq(struct trace_stream *ts, uint64_t seq,
		    struct trace_event *ev, uint8_t *pl, size_t len)
{
	size_t lo = 0, hi = ts->nchunks;
	struct chunk *c;
	int r = -1;

	if (seq >= ts->events)
		return -1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ts->start[mid] <= seq)
			lo = mid;
		else
			hi = mid;
	}
	pthread_mutex_lock(&ts->lock);
	c = chunk_get(ts, lo);
	if (c) {
		const struct cev *e = &c->ev[seq - ts->start[lo]];

		*ev = e->ev;
		if (e->ev.payload_len && len)
			memcpy(pl, c->pl + e->pl_off,
			       e->ev.payload_len < len ? e->ev.payload_len : len);
		r = 0;
	}
	pthread_mutex_unlock(&ts->lock);
	return r;
}
