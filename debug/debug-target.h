/* What a debugger server drives: a target, a live VM or (next) a replay
 * with checkpoints, seen through one table of operations.
 *
 * Threads are VCPUs, numbered 0..nr_threads-1 (gdb's thread ids are those
 * plus one).  The server calls every operation from its one thread, except
 * interrupt(), which is thread-safe.  Between resume() and the stop that
 * poll_stop() returns the target runs: then only stop_fd, poll_stop and
 * interrupt may be called.  Otherwise the target is stopped, its state
 * still, and the readers may be called.  Buffers are the caller's.
 *
 * Operations a target cannot do are NULL; the server then answers with a
 * message saying so (never a pretend success).  The target consults the
 * server's breakpoint table (debug-points.h), given at its creation, while
 * it runs. */
#ifndef VCPRR_DEBUG_DEBUG_TARGET_H
#define VCPRR_DEBUG_DEBUG_TARGET_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "debug/debug-points.h"

/* A VCPU's registers as KVM has them. */
struct debug_regs {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
};

enum debug_thread_run {
	DEBUG_THREAD_RUNNABLE = 0,  /* runs when the target runs */
	DEBUG_THREAD_PAUSED,        /* stopped by pause request seq, with data */
	DEBUG_THREAD_HALTED,        /* executed HLT */
	DEBUG_THREAD_EXITED,        /* its main returned exit_code */
};

struct debug_thread {
	enum debug_thread_run run;
	uint64_t pause_seq, pause_data;
	int exit_code;
	uint64_t exit_seq;          /* the VCPU's count of VM exits */
};

enum debug_stop_kind {
	DEBUG_STOP_STEP = 0,        /* the stepped thread did one instruction */
	DEBUG_STOP_BREAK,           /* a breakpoint at the thread's rip */
	DEBUG_STOP_WATCH,           /* a watched access: addr, watch_type */
	DEBUG_STOP_INTERRUPT,       /* interrupt() */
	DEBUG_STOP_TRACE_BEGIN,     /* reverse execution reached the start */
	DEBUG_STOP_TRACE_END,       /* a replay reached the trace's end */
	DEBUG_STOP_EXITED,          /* the run ended: exit_code */
	DEBUG_STOP_FAULT,           /* the run ended on a fault or assertion */
};

struct debug_stop {
	enum debug_stop_kind kind;
	unsigned thread;            /* the thread that stopped */
	uint64_t addr;              /* WATCH: the watched address hit */
	enum debug_point_type point_type;  /* BREAK or WATCH: which kind */
	int exit_code;              /* EXITED */
	char why[4096];             /* FAULT, EXITED: the run's diagnosis */
};

enum debug_resume_kind { DEBUG_CONTINUE = 0, DEBUG_STEP };

struct debug_resume {
	enum debug_resume_kind kind;
	int thread;                 /* STEP: which thread (-1: any) */
	/* reverse: an fd readable when the user asks to stop (gdb's
	 * Ctrl-C on the connection; nothing is read from it), 0: none.  The
	 * replay back then stops where it is, as DEBUG_STOP_INTERRUPT. */
	int interrupt_fd;
};

struct debug_target_ops {
	unsigned (*nr_threads)(void *t);
	int (*thread_state)(void *t, unsigned thread, struct debug_thread *st);
	int (*read_regs)(void *t, unsigned thread, struct debug_regs *r);
	/* Guest-virtual memory as @thread sees it: the bytes read (fewer
	 * than len at the end of mapped memory), or -errno. */
	ssize_t (*read_mem)(void *t, unsigned thread, uint64_t addr, void *buf,
			    size_t len);

	/* Starts running forward; the stop comes through poll_stop.  0, or
	 * -errno with a message in err (a run that already ended). */
	int (*resume)(void *t, const struct debug_resume *r, char *err,
		      size_t errlen);
	/* The same backwards, to the last stop before the current position
	 * (a replay restoring a checkpoint and running forward). */
	int (*reverse)(void *t, const struct debug_resume *r, char *err,
		       size_t errlen);
	/* Readable once the running target has stopped. */
	int (*stop_fd)(void *t);
	/* 1 with the stop when stopped (again) since resume, 0 while running. */
	int (*poll_stop)(void *t, struct debug_stop *stop);
	/* Asks a running target to stop soon (DEBUG_STOP_INTERRUPT).  Any
	 * thread, and async-signal-unsafe. */
	void (*interrupt)(void *t);

	/* Positions, for `monitor` commands: text for the user in out. */
	int (*where)(void *t, char *out, size_t outlen);
	/* Moves to trace event @event (the numbers `inspect dump` prints). */
	int (*goto_event)(void *t, uint64_t event, char *out, size_t outlen);
	int (*list_checkpoints)(void *t, char *out, size_t outlen);
	/* Takes a checkpoint at the current position. */
	int (*checkpoint)(void *t, char *out, size_t outlen);
};

struct debug_target {
	const struct debug_target_ops *ops;
	void *t;
};

#endif
