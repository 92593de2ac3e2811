/* The live target's state, shared by live-target.c (the stop point, the
 * operations, the lifecycle) and live-positions.c (positions, silent runs
 * and going back, for the replay target).  Internal to debug/. */
#ifndef VCPRR_DEBUG_LIVE_TARGET_STATE_H
#define VCPRR_DEBUG_LIVE_TARGET_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "debug/debug-target.h"

struct live_target {
	struct vm *vm;
	struct debug_points *points;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop_evfd;             /* written at each stop */
	int epoll_fd;              /* stop_evfd and the VM's end */
	bool started, running, released;
	struct debug_resume req;
	atomic_bool interrupt;
	int last_ran;              /* the VCPU of the previous instruction */
	bool last_checked;         /* its watch and step were looked at */
	int break_reported;        /* VCPU whose breakpoint at its rip was */
	uint64_t break_rip;        /* reported: not again before it runs */
	bool have_stop;
	struct debug_stop stop;
	uint64_t instructions;     /* executed under the debugger */
	uint64_t *watch_gen;       /* per VCPU: the points' gen in its DRs */
	uint64_t values_gen;       /* the points' gen of `values` */
	struct {
		const uint8_t *host;   /* NULL: not RAM */
		uint8_t old[8];
	} values[DEBUG_MAX_WATCHES];
	bool dr_seen, dr_warned;   /* a debug register hit came; the warning */
	/* Running silently to a position (live_target_run_to). */
	bool silent, scan, have_hit, interrupted;
	uint64_t silent_to;
	bool (*until)(void *arg);
	void *until_arg;
	struct debug_stop hit;     /* scan: the last stop found before */
	uint64_t hit_pos;          /* silent_to, and where it was */
	uint64_t *eintr;           /* per VCPU: its kicks at its last stop */
	uint16_t *history;         /* the VCPU about to run at each position */
	uint64_t history_len, history_cap;
	unsigned nr_vcpus;
	bool resume_mid;           /* the next start resumes a restored VM */
	/* Called at each position (live_target_set_position_hook). */
	uint64_t (*position_hook)(void *arg, uint64_t pos, unsigned vcpu);
	void *hook_arg;
	uint64_t hook_at;          /* the next position it wants */
	uint64_t stopped_ns;       /* spent showing stops (report_stop) */
};

/* Where a run stands, as a stop point that has looked at its stops
 * leaves it (live_target_mark). */
struct live_mark {
	uint64_t instructions;
	int last_ran;
	unsigned nr_vcpus;
	uint64_t eintr[];
};

/* Lets the VM run as @r asks, with the lock held (it unlocks): the VCPU
 * threads start if they have not (vm_start, or vm_snapshot_resume after
 * a rewind to a mid-run checkpoint).  0, or -errno with a message. */
int live_target_go(struct live_target *lt, const struct debug_resume *r,
		   char *err, size_t errlen);
/* Adds @fd to the epoll set @epfd (readable).  0 or -1 (errno). */
int live_target_watch_fd(int epfd, int fd);

#endif
