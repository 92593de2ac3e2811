/* Replay: rebuild the VM a trace was recorded on, feed it the recorded
 * inputs (read data, pauses, resumes and register edits, scheduling
 * decisions) and check every event it produces against the trace.
 *
 * serial and step traces replay bit-exactly: every event and the final
 * guest memory digest.  parallel traces replay each VCPU's own event
 * sequence, with every pause landed at its recorded position; where
 * cross-VCPU timing makes the guest differ, the first difference is
 * reported.
 *
 * A replay always ends: with the run, once a recording cut short is
 * replayed to its end, when it stops making progress for longer than the
 * recording allows (REPLAY_STALL_FACTOR times the recorded time from the
 * last event matched to the next one expected, at least
 * REPLAY_STALL_FLOOR_NS: "stuck", a divergence), or at opts.timeout_ns.
 * The trace is streamed: memory does not grow with its length.  Not
 * thread-safe per call; calls on different traces may run concurrently in
 * different processes. */
#ifndef VCPRR_REPLAY_REPLAY_H
#define VCPRR_REPLAY_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPLAY_STALL_FACTOR   10
#define REPLAY_STALL_FLOOR_NS (10ull * 1000000000ull)

/* Where a replay stands, for a progress display. */
struct replay_progress {
	uint64_t checked, total;    /* events matched, of those to check */
	uint64_t elapsed_ns;
	uint64_t idle_ns;           /* since anything last happened */
	uint64_t stall_ns;          /* idle this long ends the replay */
	unsigned landing;           /* VCPUs landing a pause now ... */
	unsigned land_vcpu;         /* ... the one with the most visits: */
	uint64_t land_rip, land_visits;
};

struct replay_opts {
	const char *guest;       /* --guest: this image (NULL: the recorded
				    one, found as vmm/guest-id.h says) */
	const char *guest_dir;   /* --guest-dir: a folder to look in too */
	bool force;              /* replay on a guest image with another hash */
	int console_fd;          /* guest console during replay; -1: discard */
	uint64_t timeout_ns;     /* 0: none (the recording bounds it) */
	/* Called about every second from the replaying thread; NULL: none. */
	void (*progress)(void *arg, const struct replay_progress *p);
	void *progress_arg;
};

enum replay_status {
	REPLAY_SAME = 0,         /* every event and the end state matched */
	REPLAY_DIVERGED = 1,     /* the run differs: message says where */
	REPLAY_ERROR = 2,        /* could not replay: bad trace, guest ... */
	REPLAY_EMPTY = 3,        /* no run in the trace (cut right after its
				    header, or its VM never started):
				    nothing to replay, nothing to call same */
};

struct replay_result {
	enum replay_status status;
	uint64_t events;         /* events checked */
	uint64_t duration_ns;    /* how long replay_trace() took */
	bool truncated;          /* the trace was cut; its prefix replayed */
	char mode[16];
	uint64_t landed;         /* parallel: pauses landed ... */
	uint64_t land_p50_ns;    /* ... and the median cost of landing one */
	char end[512];           /* how the replayed run ended, one line:
				    "ends as recorded: ...", or for a
				    recording cut short, how it was cut */
	char message[8192];      /* divergence (expected vs actual, context,
				    registers) or error */
};

/* Replays one trace.  Returns the status (also in r->status). */
int replay_trace(const char *path, const struct replay_opts *o,
		 struct replay_result *r);

/* A replay run driven by its caller, a debugger: the trace loaded and its
 * VM built, the recorded inputs and schedule attached, the VM not started
 * (install a debug stop point with vm_set_debug_stop, then vm_start).
 * Each event the run makes is checked against the trace as in
 * replay_trace; nothing watches the run (no stall bound, no verdict): the
 * caller ends it with vm_stop.  The trace's guest is found as
 * replay_trace finds it.  NULL with a message in @err. */
struct replay_session;
struct vm;

struct replay_session *replay_session_open(const char *path,
					   const struct replay_opts *o,
					   char *err, size_t errlen);
/* The VM (the session's: replay_session_close destroys it). */
struct vm *replay_session_vm(struct replay_session *s);
/* The guest image found for the trace. */
const char *replay_session_guest(const struct replay_session *s);
/* The recorded run's mode (vmm/vm.h enum vm_sched_mode). */
int replay_session_mode(const struct replay_session *s);
/* Events matched so far, and the trace seq of the latest one (0: none):
 * only while the VM is still (stopped in its debug stop point, or ended). */
uint64_t replay_session_checked(struct replay_session *s);
uint64_t replay_session_last_seq(struct replay_session *s);
/* The guest memory digest the trace recorded at its end (0: none). */
uint64_t replay_session_recorded_digest(const struct replay_session *s);
/* Whether the run differed from the trace, and how (in @msg). */
bool replay_session_diverged(struct replay_session *s, char *msg, size_t len);
/* Checkpoints (replay/mark.h): where the replay stands, taken and put
 * back while the VM is still (a debug stop point) or its run ended; with
 * a VM snapshot of the same moment, restoring both and running on makes
 * the same events.  The caller owns a mark: replay_mark_free().  NULL
 * when out of memory; rewind: 0 or -errno. */
struct replay_mark;
struct replay_mark *replay_session_mark(struct replay_session *s);
int replay_session_rewind(struct replay_session *s,
			  const struct replay_mark *m);
void replay_mark_free(struct replay_mark *m);
uint64_t replay_mark_bytes(const struct replay_mark *m);
/* The caller ends this run to go back (vm_stop): what the VCPUs do on
 * their way out is not checked (nor reported as a divergence, which
 * would read the trace for its context) until a mark is restored. */
void replay_session_abandon(struct replay_session *s);
/* A hash of everything a mark holds, as the replay stands now. */
uint64_t replay_session_state_hash(struct replay_session *s);
/* Ends: the VM must be stopped and its threads joined (vm_stop, vm_wait)
 * or never started.  NULL is allowed. */
void replay_session_close(struct replay_session *s);

#endif
