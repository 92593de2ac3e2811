/* Internal: what the trace writer's files share (writer.c the API,
 * writer-ring.c the producers' rings, writer-encode.c the event encoder,
 * writer-output.c frames and file writes, writer-thread.c the thread that
 * merges the rings), and hooks for the trace tests.  Not part of the
 * public API. */
#ifndef VCPRR_TRACES_WRITER_INTERNAL_H
#define VCPRR_TRACES_WRITER_INTERNAL_H

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "traces/format.h"
#include "traces/newfile.h"
#include "traces/trace.h"

#define SEQ_CLOSED      (1ull << 63)
#define ENC_CAP         (128u << 10)
#define ENT_WRAP        UINT64_MAX

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

static inline void futex_wait(_Atomic uint32_t *addr, uint32_t val, long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };

	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static inline void futex_wake(_Atomic uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static inline void writer_wake(struct trace_writer *w)
{
	atomic_fetch_add(&w->bell, 1);
	futex_wake(&w->bell);
}

/* --- writer-encode.c: on the writer thread */

/* Encodes @ev (and its payload) into the open frame, begun if need be and
 * ended when full. */
void writer_write_event(struct trace_writer *w, const struct trace_event *ev,
			const void *payload);

/* --- writer-output.c: on the writer thread (and at open, the header) */

/* Records the first failure of @what (naming the file and @off) and ends
 * the file on its last completed frame. */
void writer_fail(struct trace_writer *w, int err, uint64_t off,
		 const char *what);
/* Writes all of @buf at the end of the file, or fails the writer. */
void writer_out_write(struct trace_writer *w, const void *buf, size_t len);
/* Opens a frame whose first event is @ev. */
void writer_begin_frame(struct trace_writer *w, const struct trace_event *ev);
/* Compresses the encoded events; ZSTD_e_end also ends the zstd frame and
 * writes it out. */
void writer_compress(struct trace_writer *w, ZSTD_EndDirective mode);
/* Compresses and writes the open frame, if any, and indexes it. */
void writer_end_frame(struct trace_writer *w);

/* --- writer-thread.c */

/* Starts the thread that merges the rings into the file.  0 or -errno. */
int writer_start_thread(struct trace_writer *w);

/* --- hooks for the trace tests */

/* Stop (true) or restart the writer thread's draining, so tests can fill
 * rings deterministically.  trace_writer_close restarts it. */
void trace_writer__pause(struct trace_writer *w, bool pause);

/* trace_emit_timed that also takes types this vcprr does not know
 * (>= TEV__COUNT), which the format holds and a newer or hostile writer
 * may put in a file: tests and fuzzers write such traces with it.
 * TEV_NONE is still refused (the reader rejects it as malformed). */
int trace_emit__any_type(struct trace_producer *p, struct trace_event *ev,
			 const void *payload);

#endif
