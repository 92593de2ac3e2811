/* The state of one replay, shared by the files of replay/ (data only; each
 * file's functions are in its own header).
 *
 * Threads: the driver (replay.c) loads the trace, builds the VM and then
 * only watches (watch.c); the VMM calls the hooks on VCPU threads and, in
 * serial and step mode, on whichever thread applies the scheduler's
 * actions.  A VCPU's cursors and look-ahead are used by one thread at a
 * time (its own, or the one holding the scheduler's lock); what the watch
 * thread reads is atomic; raw-mode inputs are under input_lock. */
#ifndef VCPRR_REPLAY_REPLAY_STATE_H
#define VCPRR_REPLAY_REPLAY_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "replay/stream.h"
#include "vmm/prng.h"
#include "vmm/replay-hooks.h"
#include "vmm/run-desc.h"

/* Which stream an event is in (stream.h classes). */
enum {
	CLS_OWN    = 1 << 0,  /* a VCPU's own events, checked in order */
	CLS_CTL    = 1 << 1,  /* pause requests and resumes aimed at a VCPU */
	CLS_SCHED  = 1 << 2,  /* recorded switches (serial, step) */
	CLS_IOCTL  = 1 << 3,  /* raw: VCPU state set while it was stopped */
	CLS_MEMORY = 1 << 4,  /* raw: memory, and inputs made before the start */
	CLS_INPUT  = 1 << 5,  /* raw: VM inputs made after it, before the stop */
};

#define CONTEXT_EVENTS 6     /* events shown before a divergence */
#define LAND_SAMPLES   8192  /* landing costs kept for the median */

/* What a VCPU's streams hold, counted by the scan (load.c). */
struct vcpu_counts {
	uint64_t own, ctl, resumes;
	uint64_t last_taken;        /* seq + 1 of its last PAUSE_TAKEN, 0: none */
};

/* The last events of a stream that matched, by trace seq. */
struct context_ring {
	uint64_t seq[CONTEXT_EVENTS];
	uint64_t n;
};

struct replay_vcpu {
	struct stream_cursor own;   /* its own events */
	struct stream_cursor ctl;   /* requests and resumes aimed at it */
	struct stream_cursor ioctls;  /* raw: VCPU_IOCTL, applied before the
					 resume that follows them */
	struct vcpu_counts n;
	/* Still to match: atomic, as in serial and step mode its own events
	 * are checked on its thread and the requests aimed at it on the one
	 * applying them. */
	_Atomic uint64_t own_left, ctl_left, resumes_left;
	atomic_bool at_end;         /* every event it can replay is replayed */
	struct context_ring ctx[2];  /* own, ctl */
	/* parallel landing (land-hooks.c), its own thread */
	struct stream_cursor scout;  /* at its next PAUSE_TAKEN */
	bool scout_ok, pause_ok;
	struct vm_replay_pause pause;
	/* where the recorded stop caught it (its VCPU_EXIT), set by the
	 * scan; has_end: the trace logs it (older ones do not) */
	struct vm_replay_pause end_pos;
	bool has_end;
	atomic_bool awaiting_stop;  /* it waits for the run's stop */
	struct stream_cursor look;  /* scratch; holds the resume's edits */
	uint64_t *req;              /* scratch for pause.data and pending */
	size_t req_cap;
	uint64_t parked;            /* raw, under input_lock: the seq of the
				       resume this stopped VCPU waits for
				       (UINT64_MAX: none), 0 while it runs */
	/* for the watch thread */
	_Atomic uint64_t next_seq;  /* its next expected event; UINT64_MAX:
				       none */
	_Atomic uint64_t gap_ns;    /* recorded time from its last matched
				       event to that one */
	_Atomic uint64_t visits;    /* landing: breakpoint visits so far */
	_Atomic uint64_t land_rip;  /* ... at this RIP (0: not landing) */
};

struct fdmap {
	int rec, fd, resample;
	bool irq;
};

struct replay {
	struct run_desc desc;       /* the recorded run, from the header */
	unsigned nr_vcpus;
	struct trace_stream *ts;
	struct replay_vcpu *vcpus;
	struct stream_cursor sched;    /* SCHED_SWITCH, in order */
	struct stream_cursor actions;  /* serial: requests and resumes */
	struct stream_cursor memory;   /* raw: before the start */
	struct stream_cursor inputs;   /* raw: after it, under input_lock */

	/* what the scan found */
	uint64_t loaded;            /* events in the trace */
	uint64_t to_check;          /* of them, what the replay checks */
	struct trace_event end;     /* VM_END */
	bool has_end, has_run, has_error_event, has_guest_exit, truncated;
	uint64_t start_seq, start_ns;  /* VM_START (UINT64_MAX: none; then
					  start_ns is the first event's) */
	uint64_t stop_seq, stop_ns;    /* the first VM_STOP (UINT64_MAX) */
	uint64_t stop_reason, stop_code;  /* ... its reason and code */
	uint64_t nactions;
	struct vcpu_counts *counts_before;  /* of events before VM_STOP, and */
	uint64_t nactions_before;           /* ... until load_streams */
	char cut[160];              /* truncated: where and why */
	struct trace_event unplaced;  /* raw: the first input made while a
					 VCPU ran */

	/* how it replays */
	bool raw;                   /* a crosvm plugin's raw-mode VM */
	bool parallel;
	bool prefix_only;           /* the recording was cut short */
	bool cut_at_stop;           /* events after VM_STOP are not replayed */
	bool ended_by_stop;         /* end races are tolerated then, */
	bool end_recorded;          /* unless the trace logs where the stop
				       caught each VCPU (parallel): then each
				       lands there and waits for the stop */
	struct vm *vm;

	/* raw inputs (raw-input.c) */
	pthread_mutex_t input_lock;
	pthread_cond_t input_cond;
	struct fdmap fds[64];       /* replay's eventfds, by the recorded
				       ones they stand for */
	unsigned nfds;
	struct { void *host; uint64_t len; } maps[64];
	unsigned nmaps;

	/* the checks (check.c) */
	atomic_bool diverged, prefix_done, raw_done;
	atomic_uint_fast64_t checked, at_end;
	atomic_uint_fast64_t visits;  /* landing's breakpoint visits, all VCPUs */
	_Atomic uint64_t next_action, next_switch;  /* serial: their seqs */
	pthread_mutex_t msg_lock;
	char message[4096];

	/* landing costs: every one while few, else a uniform sample */
	pthread_mutex_t land_lock;
	uint64_t land_ns[LAND_SAMPLES];
	uint64_t nland;
	struct prng land_rng;
};

#endif
