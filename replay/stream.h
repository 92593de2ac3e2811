/* A trace read as streams, in memory that does not grow with its length.
 *
 * Replay consumes a trace as many streams at once (each VCPU's own events,
 * the requests aimed at it, the recorded switches ...), each at its own
 * pace.  A stream is a cursor over the trace's events filtered by a class
 * (a bit the caller's classify function gives each event) and optionally a
 * VCPU.  Cursors share one cache of decoded chunks (a few thousand events
 * each, read through a small pool of trace readers); a chunk no cursor has
 * used lately is dropped and decoded again when a cursor that lags comes
 * to it.  Memory is the cache and the pool, whatever the trace's length.
 *
 * Use: stream_open(), stream_scan() (one pass over the trace: the caller
 * sees every event, the loader learns where the chunks start), then
 * stream_set_classes(), then cursors.  The cache is locked: cursors may
 * be used on different threads, one thread per cursor at a time. */
#ifndef VCPRR_REPLAY_STREAM_H
#define VCPRR_REPLAY_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "traces/trace.h"

#define STREAM_ANY_VCPU UINT32_MAX

struct trace_stream;

/* Opens @path (kept open: the file read later is the one scanned).  NULL
 * with a message in @err. */
struct trace_stream *stream_open(const char *path, char *err, size_t errlen);
void stream_close(struct trace_stream *ts);
const struct trace_header *stream_header(const struct trace_stream *ts);

/* Reads the whole trace once, calling @fn on every event in order (a
 * non-zero return stops the pass and is returned).  @nr_vcpus: events of
 * VCPUs at or above it are one "other" VCPU to cursors.  0, the
 * callback's value, or -1 with the reader's message in @err. */
int stream_scan(struct trace_stream *ts, unsigned nr_vcpus,
		int (*fn)(void *arg, const struct trace_event *ev,
			  const uint8_t *pl),
		void *arg, char *err, size_t errlen);
/* After the scan: whether the trace was cut, and the reader's words. */
bool stream_truncated(const struct trace_stream *ts);
const char *stream_truncation(const struct trace_stream *ts);
uint64_t stream_events(const struct trace_stream *ts);

/* The classes of each event: a bit mask.  Once, before any cursor. */
void stream_set_classes(struct trace_stream *ts,
			uint32_t (*classify)(void *arg,
					     const struct trace_event *ev),
			void *arg);

/* NULL while the trace reads as it did when scanned, else why not (the
 * file changed, a read failed); cursors then look ended. */
const char *stream_error(struct trace_stream *ts);

struct stream_cursor {
	struct trace_stream *ts;
	uint32_t cls;               /* class bit */
	uint32_t vcpu;              /* a VCPU, or STREAM_ANY_VCPU */
	uint64_t pos;               /* events of the stream before ev */
	uint64_t chunk;             /* where ev is */
	uint32_t idx;
	bool end;                   /* no event left */
	struct trace_event ev;      /* the current event, unless end */
	uint8_t *pl;                /* its payload (the cursor's own copy) */
	uint32_t pl_cap;
};

/* A cursor at the first event of class @cls (of @vcpu).  0 or -ENOMEM. */
int stream_cursor_init(struct stream_cursor *c, struct trace_stream *ts,
		       uint32_t cls, uint32_t vcpu);
/* A copy at the same event, for looking ahead.  0 or -ENOMEM. */
int stream_cursor_copy(struct stream_cursor *dst,
		       const struct stream_cursor *src);
void stream_cursor_free(struct stream_cursor *c);

/* The current event and its payload, or NULL at the end. */
static inline const struct trace_event *stream_peek(const struct stream_cursor *c)
{
	return c->end ? NULL : &c->ev;
}

/* Moves to the stream's next event. */
void stream_next(struct stream_cursor *c);

/* Event number @seq of the trace into *ev, its payload (at most @len
 * bytes) into @pl.  0, or -1 (none such, or unreadable). */
int stream_read_seq(struct trace_stream *ts, uint64_t seq,
		    struct trace_event *ev, uint8_t *pl, size_t len);

/* Chunks decoded so far (a cursor lagging behind the cache decodes a
 * chunk again): for tests and the benchmark. */
uint64_t stream_decoded_chunks(struct trace_stream *ts);

#endif
