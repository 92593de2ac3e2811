/* vcprr trace files: writer and reader.
 *
 * A trace file is a plain sequence of zstd frames, so `zstd -t` accepts it:
 *
 *   [skippable: header] [data frame]... [skippable: seek index] [skippable: end]
 *
 * Data frames are independent (every frame can be decoded on its own) and
 * carry a content checksum.  Events inside are delta/varint encoded.  A
 * recorder killed mid-write leaves every completed frame readable; the
 * reader then reports the trace as truncated.
 *
 * Writer threading model
 *   One writer per file.  Every thread that emits events owns one producer
 *   (trace_producer_new); a producer must only be used by one thread at a
 *   time.  trace_emit is lock-free: it appends to the producer's SPSC ring,
 *   and one background thread per writer merges the rings in sequence order,
 *   encodes, compresses and writes.  trace_writer_flush, trace_writer_error
 *   and trace_writer_stats may be called from any thread.
 *   trace_writer_close must be called exactly once, after which neither the
 *   writer nor any of its producers may be used (emits that race with close
 *   return -EPIPE).
 *
 * Reader threading model
 *   A reader is a plain object with no internal threads: use one reader per
 *   thread (several readers on the same file are fine).
 *
 * Memory
 *   The writer owns its producers and frees them in trace_writer_close.  The
 *   reader owns everything it returns: the header and payload pointers stay
 *   valid as documented below and must not be freed by the caller.
 *
 * Errors are negative errno values; the functions taking (err, errlen) also
 * write a one-line message there.  The library never prints or exits. */
#ifndef VCPRR_TRACES_TRACE_H
#define VCPRR_TRACES_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "traces/event.h"

#define TRACE_DESC_LEN      8192
#define TRACE_MAX_PRODUCERS 2048  /* per writer; a VM takes one per VCPU
				     and one for its controller */

/* The start of the file.  The run it holds is described by @desc, text
 * the trace layer stores without reading it: vmm/run-desc.h owns its
 * meaning.  The header is checksummed as a whole. */
struct trace_header {
	uint32_t version;                  /* set by the writer */
	uint64_t start_time_ns;            /* CLOCK_MONOTONIC at record start */
	uint64_t desc_offset;              /* set by the reader: the file
					      offset of desc[0], for messages
					      about it */
	char desc[TRACE_DESC_LEN];         /* no NUL byte inside; NUL-
					      terminated (the reader enforces
					      both) */
};

/* ---------------------------------------------------------------- writer */

struct trace_writer_opts {
	bool lossy;            /* false (default): emitters wait when their ring
	                          is full; true: they drop and a TEV_LOST event
	                          says how many */
	uint32_t ring_bytes;   /* per producer; 0 = 1 MiB */
	uint32_t frame_events; /* end a frame after this many events; 0 = 65536 */
	uint32_t frame_ms;     /* ... or this long after its first event, so a
	                          SIGKILL loses at most ~frame_ms + 5 ms;
	                          0 = 40 */
	int zstd_level;        /* 0 = 3 */
	uint64_t max_bytes;    /* the file may not grow past this (0: no
	                          limit); reaching it fails the writer like a
	                          full disk (-EFBIG), keeping what came before */
	bool publish_later;    /* the file gets its name only at
	                          trace_writer_publish(); unpublished, it
	                          vanishes when the writer closes */
	bool no_replace;       /* refuse (EEXIST) an existing file at the path
	                          instead of replacing it */
};

struct trace_writer;
struct trace_producer;

/* Creates @path (replacing any file of that name unless opts.no_replace),
 * writes the header and starts the writer thread.  The file appears with
 * its header complete, at once or (opts.publish_later) when published;
 * an existing device or FIFO is written in place.  @opts may be NULL.
 * Returns NULL with a message in @err on failure. */
struct trace_writer *trace_writer_open(const char *path,
				       const struct trace_header *h,
				       const struct trace_writer_opts *opts,
				       char *err, size_t errlen);

/* The same on an open descriptor (a pipe, stdout), which the writer owns
 * and closes from then on, even on failure.  Nothing is created or
 * published; @name only names it in messages. */
struct trace_writer *trace_writer_fdopen(int fd, const char *name,
					 const struct trace_header *h,
					 const struct trace_writer_opts *opts,
					 char *err, size_t errlen);

/* Gives a trace opened with opts.publish_later its name (replacing an
 * existing file unless opts.no_replace).  The writer thread may keep
 * writing meanwhile.  0, or a negative errno with a message (-EEXIST:
 * "PATH exists").  Call from the thread that will close the writer; a
 * no-op once published. */
int trace_writer_publish(struct trace_writer *w, char *err, size_t errlen);

/* A new producer for the calling thread.  Owned by the writer.  Returns NULL
 * (errno set: ENOMEM, EPIPE after close started, ENOSPC past
 * TRACE_MAX_PRODUCERS). */
struct trace_producer *trace_producer_new(struct trace_writer *w);

/* Appends @ev (+ ev->payload_len bytes at @payload).  Fills ev->seq (global,
 * dense: every number is exactly one event in the file) and ev->time_ns
 * (CLOCK_MONOTONIC).  Returns 0, -EINVAL (bad type or NULL payload),
 * -EMSGSIZE (payload_len > TRACE_MAX_PAYLOAD), -EPIPE (writer closing),
 * in lossy mode -ENOBUFS when the event was dropped (and counted), or the
 * writer's negative errno once a write failed (the event is discarded and
 * counted; never blocks then). */
int trace_emit(struct trace_producer *p, struct trace_event *ev,
	       const void *payload);

/* Same, but keeps the caller's ev->time_ns (importers, benchmarks). */
int trace_emit_timed(struct trace_producer *p, struct trace_event *ev,
		     const void *payload);

/* Blocks until every event emitted before the call is in a completed frame
 * written to the file (visible after a SIGKILL; not fsynced).  Returns 0 or
 * the writer's negative errno if it has failed. */
int trace_writer_flush(struct trace_writer *w);

/* NULL while healthy, else a message such as
 * "write to t.trace failed at offset 123: File too large".  The string is
 * owned by the writer and stable once set. */
const char *trace_writer_error(struct trace_writer *w);

struct trace_writer_stats {
	uint64_t events;      /* written to the file (incl. TEV_LOST) */
	uint64_t frames;      /* completed data frames */
	uint64_t bytes;       /* file size so far */
	uint64_t dropped;     /* lossy mode: events reported as TEV_LOST */
	uint64_t discarded;   /* events thrown away after a write error */
};
void trace_writer_stats(struct trace_writer *w, struct trace_writer_stats *st);

/* Emits TEV_VM_END(a0 = @end_reason, a1 = @exit_code, a2 = @mem_digest),
 * drains every producer, writes the seek index and the end marker, fsyncs,
 * closes and frees the writer and its producers.  Returns 0 or a negative
 * errno (e.g. -EFBIG, -ENOSPC); the _err variant also gives the message.
 * Safe to call from a signal-driven shutdown path in the main thread (not
 * from inside a signal handler). */
int trace_writer_close(struct trace_writer *w, uint32_t end_reason,
		       int64_t exit_code, uint64_t mem_digest);
int trace_writer_close_err(struct trace_writer *w, uint32_t end_reason,
			   int64_t exit_code, uint64_t mem_digest,
			   char *err, size_t errlen);

/* ---------------------------------------------------------------- reader */

struct trace_reader;

/* Opens a trace.  The file is untrusted: every length is checked and memory
 * stays bounded (a few MB) whatever the file holds.  Fails (NULL, message in
 * @err naming the byte offset) on a missing, short, alien or corrupt
 * header (its checksum), an unsupported format version, or a corrupt tail:
 * an end marker, seek index or frame layout that does not check out.  A
 * file that merely ends early (no end marker) opens as truncated. */
struct trace_reader *trace_reader_open(const char *path, char *err,
				       size_t errlen);
/* Same over @len bytes at @buf, which the caller keeps alive and unchanged
 * until trace_reader_close. */
struct trace_reader *trace_reader_open_mem(const void *buf, size_t len,
					   char *err, size_t errlen);
void trace_reader_close(struct trace_reader *r);

/* Valid until trace_reader_close. */
const struct trace_header *trace_reader_header(const struct trace_reader *r);

/* Next event in sequence order.  Returns 1 with *ev filled (and *payload
 * pointing at ev->payload_len bytes, valid until the next call on @r;
 * @payload may be NULL), 0 at the end of the readable data, or a negative
 * errno on corruption (then trace_reader_error says what and at which byte
 * offset; the error is sticky). */
int trace_reader_next(struct trace_reader *r, struct trace_event *ev,
		      const uint8_t **payload);

/* Position so that the next trace_reader_next returns the first event with
 * seq >= @seq (resp. time_ns >= @time_ns; times are nearly but not strictly
 * monotonic across VCPUs, the search is by frame and then linear).
 * Returns 1 if such an event exists, 0 if the target is past the end,
 * negative errno on error.  Uses the seek index, or the frames seen so far
 * when the index is missing. */
int trace_reader_seek_seq(struct trace_reader *r, uint64_t seq);
int trace_reader_seek_time(struct trace_reader *r, uint64_t time_ns);

/* True when the file has no valid end marker (recorder killed, disk full,
 * index damaged).  Known from open. */
bool trace_reader_truncated(const struct trace_reader *r);
/* Events returned by trace_reader_next since open. */
uint64_t trace_reader_events_read(const struct trace_reader *r);
/* Total events per the end marker, or UINT64_MAX when truncated. */
uint64_t trace_reader_nr_events(const struct trace_reader *r);
/* For a truncated trace read to its end: "truncated after N events (...)";
 * else NULL. */
const char *trace_reader_truncation(const struct trace_reader *r);
/* NULL, or the sticky error message naming the byte offset. */
const char *trace_reader_error(const struct trace_reader *r);

#endif
