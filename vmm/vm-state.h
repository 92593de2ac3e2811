/* The state of a VM and its VCPUs, shared by the files of vmm/.  Data and
 * trivial accessors only: each file's functions are declared in its own
 * header (vcpu.h, handshake.h, sched-internal.h ...).
 *
 * Locks, and the order in which they are taken (never the other way):
 *   sched->lock  ->  vcpu->ctl_lock (one at a time, or all of them in id
 *   order: handshake_hold_all)  ->  vm->ctl_trace_lock  ->  the replay's
 *   locks taken in its hooks (replay/: msg_lock, land_lock);
 *   vm->region_lock  ->  vm->ctl_trace_lock;
 *   the replay's input_lock (plugin inputs, applied through vm_ioctl)
 *   comes before all of the VMM's.
 *   vm->end_lock, console_lock, scratch_lock and pool_lock are leaves:
 *   nothing is taken while one is held.
 * None is recursive.  Nothing that can end the run (vm_stop) is called
 * with sched->lock or a ctl_lock held: the event sinks report failure to
 * their caller (vm_stop_pending() after it unlocks). */
#ifndef VCPRR_VMM_VM_STATE_H
#define VCPRR_VMM_VM_STATE_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/bus.h"
#include "vmm/controller.h"
#include "vmm/debug-stop.h"
#include "vmm/pause.h"
#include "vmm/guest/abi.h"
#include "vmm/replay-hooks.h"
#include "vmm/test-hooks.h"
#include "vmm/vm.h"

#define CONSOLE_LINE_MAX 256

struct vm_mode;
struct sched;
struct sched_watchdog;
struct vm_snapshots;

/* A VCPU thread.  It starts with the VCPU it was made for.  In serial and
 * step mode the thread at a scheduling point runs the next VCPU itself
 * when that VCPU's thread only waits for its turn: the two threads trade
 * VCPUs (sched.c), so that a switch wakes nobody.  A thread's VCPU, and a
 * VCPU's thread, change only there, under the scheduler's lock, while the
 * other thread sleeps. */
struct vcpu_thread {
	unsigned idx;               /* in vm->threads (and the scheduler's) */
	pthread_t self;             /* written by the thread itself */
	struct vcpu *_Atomic vcpu;  /* the VCPU it runs (its signal handler
				       reads it) */
	/* The thread outlives a run and parks between runs (vcpu.h). */
	pthread_t handle;           /* the creator's, for pthread_join */
	bool alive;                 /* created (the creator's view) */
	bool go;                    /* a run to start (under vm->pool_lock) */
	bool resumed;               /* ... from a mid-run snapshot (same) */
};

static inline struct vcpu *thread_vcpu(struct vcpu_thread *t)
{
	return atomic_load_explicit(&t->vcpu, memory_order_relaxed);
}

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	struct vcpu_thread *_Atomic thread;  /* the thread that runs it: kicks
						go there */
	bool thread_started;        /* creator's view: its run started */
	atomic_bool kickable;       /* set by its first thread itself, cleared
				       by its last: `thread` is valid for
				       pthread_kill */
	uint64_t exit_seq;          /* returns from KVM_RUN: the position clock */
	char con_buf[CONSOLE_LINE_MAX];
	size_t con_len;
	bool done;                  /* main returned or the VM is stopping */
	bool halted;                /* executed HLT; waits for a pause or stop */
	bool io_pending;            /* last exit was PIO/MMIO: completes on entry */
	bool yielded;               /* the last exit was a yield hypercall */
	bool landing, land_stepping; /* parallel replay: breakpoint armed */
	uint64_t land_hits;
	/* a visit whose registers were the recorded ones but for the
	 * arithmetic flags: its flags, the recorded ones, the rest's digest */
	uint64_t near_hit, near_flags, near_rec_flags, near_state;
	bool replay_diverged;       /* landing failed: events no longer checked */
	uint64_t land_start_ns;     /* 0: not at a recorded pause's exit yet */

	/* Pause requests: published by controllers, read after every exit. */
	struct pause_slot pause;
	uint64_t last_taken;        /* VCPU thread only */
	atomic_uint_fast64_t taken_seq;      /* last_taken, for controllers:
						stored with `stopped` */
	atomic_uint_fast64_t published_seq;  /* the newest request published */
	atomic_uint_fast64_t next_req_seq;   /* request numbers handed out */

	/* Stop/resume handshake with controllers (handshake.c), under
	 * ctl_lock: the lock orders above. */
	pthread_mutex_t ctl_lock;
	pthread_cond_t ctl_cond;
	atomic_bool stopped;        /* also read lock-free by spinning waiters */
	atomic_bool finished;       /* the thread left its loop */
	bool event_returned;        /* vcpu_wait_event already returned it */
	struct vcpu_event event;
	uint64_t resume_gen;        /* bumped by each resume */
	uint64_t stops;             /* stops so far: names the current one */
	atomic_uint_fast64_t resume_asked;  /* serial: the stop a queued resume
					       will end (it has not yet) */
	uint64_t resume_data;
	unsigned dirty;             /* staged edits: REGS/SREGS/DEBUGREGS bits */
	unsigned fetched;           /* register sets present in the snapshot */
	unsigned fetch_wanted;      /* sets a controller asked the VCPU to fetch */
	bool regs_synced;           /* run->s.regs holds the registers */
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs dregs;

	struct trace_producer *producer;  /* this VCPU thread's, when recording */
	int exit_code;              /* main's return value (VCPU_EXIT) */

	struct {
		atomic_uint_fast64_t requests, kicks, eintr, taken, coalesced,
				     resumed;
	} stats;
};

#define EDIT_REGS      1u
#define EDIT_SREGS     2u
#define EDIT_DEBUGREGS 4u

/* Raw mode: a guest memory region (vm_add_memory). */
#define VM_MAX_REGIONS 32
struct vm_region {
	bool used;
	uint64_t gpa, len;
	uint8_t *host;
	unsigned flags;             /* VM_MEM_* */
};

/* A reason to end the run that a sink found under someone's lock, kept
 * (under end_lock, first one wins) until that caller has unlocked. */
struct vm_pending_stop {
	bool set;
	int reason, exit_code;
	int fault_vcpu;             /* >= 0: that VCPU's fault (its registers) */
	char why[VM_DIAG_SIZE];
};

struct vm {
	struct vm_config cfg;
	const struct vm_mode *mode;  /* parallel, serial/step, replay landing */
	const struct vm_replay_hooks *replay;  /* vm_replay_attach() */
	const struct sched_source *sched_source;
	vm_test_hook_fn test_hook;   /* vm_set_test_hook() */
	void *test_hook_arg;
	vm_debug_stop_fn debug_stop; /* vm_set_debug_stop() */
	void *debug_stop_arg;
	struct step_watch *step_watch;  /* vm_set_step_observer() */
	int kvm_fd, vm_fd;
	int end_fd;                 /* eventfd, readable once the run ended */
	size_t run_mmap_size;
	uint8_t *mem;
	uint64_t mem_size;
	uint64_t *dirty_host;       /* snapshots: pages the VMM wrote (a bit
				       per page, set atomically), which KVM's
				       dirty log does not see */
	struct vm_snapshots *snapshots;  /* vmm/snapshot.c, NULL: none yet */
	uint64_t entry;
	unsigned nr_vcpus;
	struct vcpu *vcpus;
	struct vcpu_thread *threads;  /* one per VCPU */
	pthread_mutex_t pool_lock;  /* a leaf: the threads' runs and parking */
	pthread_cond_t pool_go;     /* a thread's go, or pool_quit */
	pthread_cond_t pool_idle;   /* pool_busy dropped to 0 */
	unsigned pool_busy;         /* threads in a run */
	bool pool_quit;             /* vm_destroy(): parked threads leave */

	struct bus pio, mmio;
	struct bus_device dev_console, dev_hypercall, dev_null, dev_random,
			  dev_scratch;
	pthread_mutex_t scratch_lock;
	pthread_mutex_t console_lock; /* one whole line per write, in order */
	uint64_t scratch[VCPRR_MMIO_SCRATCH_LEN / 8];

	atomic_bool stopping;       /* set once; VCPUs leave their loops */
	atomic_uint live_vcpus;     /* VCPU threads still running */
	atomic_int first_nonzero;   /* first non-zero return from main */
	atomic_uint halted_vcpus;   /* VCPU threads parked after HLT */
	enum vm_kick_mode kick_mode;  /* resolved: never AUTO */
	bool sync_regs;             /* KVM_CAP_SYNC_REGS: regs in kvm_run */
	struct sched *sched;        /* serial/step only */
	struct sched_watchdog *watchdog;  /* serial/step: kept from run to run */
	pthread_mutex_t end_lock;   /* guards result, stop_claimed, ended,
				       pending (a leaf lock) */
	bool stop_claimed;          /* vm_stop's first caller: stopping
				       follows once VM_STOP is logged */
	struct vm_pending_stop pending;
	atomic_bool has_pending;
	struct trace_producer *ctl_producer;  /* controller events, under: */
	pthread_mutex_t ctl_trace_lock;
	bool ended, joined;
	struct vm_result result;

	/* Raw mode only (vmm/raw.c). */
	pthread_mutex_t region_lock;
	struct vm_region regions[VM_MAX_REGIONS];  /* index = KVM slot */
	bool vcpus_created;         /* KVM VCPUs exist (made by vm_start) */
};

/* Keeps a reason to end the run for a caller that holds a lock to act on
 * once it has unlocked (end.h: vm_stop_pending); the first one wins.
 * fault_vcpu >= 0 makes it that VCPU's fault, with its registers. */
static inline void vm_defer_stop(struct vm *vm, int reason, int exit_code,
				 int fault_vcpu, const char *why)
{
	struct vm_pending_stop *p = &vm->pending;

	pthread_mutex_lock(&vm->end_lock);
	if (!p->set && !vm->stop_claimed && !vm->ended) {
		p->set = true;
		p->reason = reason;
		p->exit_code = exit_code;
		p->fault_vcpu = fault_vcpu;
		snprintf(p->why, sizeof(p->why), "%s", why);
		atomic_store(&vm->has_pending, true);
	}
	pthread_mutex_unlock(&vm->end_lock);
}

static inline void vcpu_hook(struct vcpu *v, enum vcpu_hook_point p)
{
	if (__builtin_expect(v->vm->test_hook != NULL, 0))
		v->vm->test_hook(v->vm, v->id, p, v->vm->test_hook_arg);
}

/* A VCPU that is about to take a pause it has not taken yet. */
static inline bool vcpu_owes_stop(struct vcpu *v)
{
	return atomic_load(&v->published_seq) > atomic_load(&v->taken_seq);
}

#endif
