/* Internal VM and VCPU state, shared by the files of vmm/. */
#ifndef VCPRR_VMM_VM_PRIV_H
#define VCPRR_VMM_VM_PRIV_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/controller.h"
#include "vmm/pause.h"
#include "vmm/prng.h"
#include "vmm/sched.h"
#include "vmm/guest/abi.h"
#include "vmm/vm.h"

#define CONSOLE_LINE_MAX 256

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;           /* written by the VCPU thread itself */
	pthread_t join_handle;      /* the creator's, for pthread_join */
	bool thread_started;        /* creator's view, for joining */
	atomic_bool kickable;       /* set by the VCPU thread itself: its
				       pthread_t is valid for pthread_kill */
	uint64_t exit_seq;          /* returns from KVM_RUN: the position clock */
	char con_buf[CONSOLE_LINE_MAX];
	size_t con_len;
	bool done;                  /* main returned or the VM is stopping */
	bool halted;                /* executed HLT; waits for a pause or stop */
	bool io_pending;            /* last exit was PIO/MMIO: completes on entry */
	bool yielded;               /* the last exit was a yield hypercall */
	bool landing, land_stepping; /* parallel replay: breakpoint armed */
	uint64_t land_hits;
	bool replay_diverged;       /* landing failed: events no longer checked */
	uint64_t land_start_ns;     /* 0: not at a recorded pause's exit yet */

	/* Pause requests: published by controllers, read after every exit. */
	struct pause_slot pause;
	uint64_t last_taken;        /* VCPU thread only */
	atomic_uint_fast64_t taken_seq;      /* last_taken, for controllers:
						stored with `stopped` */
	atomic_uint_fast64_t published_seq;  /* the newest request published */

	/* Stop/resume handshake with controllers, under ctl_lock. */
	pthread_mutex_t ctl_lock;
	pthread_cond_t ctl_cond;
	atomic_bool stopped;        /* also read lock-free by spinning waiters */
	atomic_bool finished;       /* the thread left its loop */
	bool event_returned;        /* vcpu_wait_event already returned it */
	struct vcpu_event event;
	uint64_t resume_gen;        /* bumped by each resume */
	uint64_t stops;             /* stops so far: names the current one */
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
	atomic_uint_fast64_t next_req_seq;  /* request numbers handed out */

	struct {
		atomic_uint_fast64_t requests, kicks, eintr, taken, coalesced,
				     resumed;
	} stats;
};

/* Raw mode: a guest memory region (vm_add_memory). */
#define VM_MAX_REGIONS 32
struct vm_region {
	bool used;
	uint64_t gpa, len;
	uint8_t *host;
	unsigned flags;             /* VM_MEM_* */
};

#define EDIT_REGS      1u
#define EDIT_SREGS     2u
#define EDIT_DEBUGREGS 4u

struct vm {
	struct vm_config cfg;
	int kvm_fd, vm_fd;
	int end_fd;                 /* eventfd, readable once the run ended */
	size_t run_mmap_size;
	uint8_t *mem;
	uint64_t mem_size;
	uint64_t entry;
	unsigned nr_vcpus;
	struct vcpu *vcpus;

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
	pthread_mutex_t end_lock;   /* guards result, stop_claimed, ended */
	bool stop_claimed;          /* vm_stop's first caller: stopping
				       follows once VM_STOP is logged */
	struct trace_producer *ctl_producer;  /* controller events, under: */
	pthread_mutex_t ctl_trace_lock;
	bool ended, joined;
	struct vm_result result;

	/* Raw mode only (vmm/raw.c). */
	pthread_mutex_t region_lock;
	struct vm_region regions[VM_MAX_REGIONS];  /* index = KVM slot */
	bool vcpus_created;         /* KVM VCPUs exist (made by vm_start) */
};

/* vcpu.c */
int vcpu_init(struct vm *vm, struct vcpu *v, unsigned id, char *err, size_t errlen);
int vcpu_spawn(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
void vcpu_kick_install_handler(void);
/* Ends the run as a guest fault, with the VCPU's registers in the message.
 * Only from the VCPU's own thread. */
void vcpu_fault(struct vcpu *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vcpu_free(struct vcpu *v);

/* controller.c: the VCPU side of the stop/resume handshake.  Blocks until
 * resumed or the run ends; applies staged edits.  Returns the resume data. */
uint64_t vcpu_stop_with_event(struct vcpu *v, struct vcpu_event *ev);
void vcpu_ctl_init(struct vcpu *v);
void vcpu_ctl_destroy(struct vcpu *v);
/* Wakes stopped VCPUs and waiting controllers because the run is ending. */
void vcpu_ctl_wake_all(struct vcpu *v);

static inline void vcpu_hook(struct vcpu *v, enum vcpu_hook_point p)
{
	if (__builtin_expect(v->vm->cfg.test_hook != NULL, 0))
		v->vm->cfg.test_hook(v->vm, v->id, p, v->vm->cfg.test_hook_arg);
}

/* Another thread is about to wait for v to stop (no lock held). */
static inline void vcpu_hook_await(struct vcpu *v)
{
	vcpu_hook(v, VCPU_HOOK_AWAIT);
}

/* controller.c: the actions themselves, applied now (serial mode: by the
 * scheduler at a scheduling point, with its lock held).  ctl_new_seq()
 * numbers a request when it is made; ctl_publish() makes it visible.
 * ctl_resume_now() ends stop number `stop` (0: whichever it is in). */
uint64_t ctl_new_seq(struct vcpu *v);
int ctl_publish(struct vm *vm, unsigned id, uint64_t seq, uint64_t data,
		uint64_t step, int where);
int64_t ctl_request_now(struct vm *vm, unsigned id, uint64_t data);
int ctl_resume_now(struct vm *vm, unsigned id, uint64_t data, uint64_t stop,
		   uint64_t step, int where);
/* A pause was published that the VCPU has not taken yet. */
static inline bool vcpu_owes_stop(struct vcpu *v)
{
	return atomic_load(&v->published_seq) > atomic_load(&v->taken_seq);
}

/* sched.c */
int sched_create(struct vm *vm, const struct sched_config *c, char *err,
		 size_t errlen);
int sched_start(struct vm *vm);
void sched_destroy(struct vm *vm);
bool sched_wait_turn(struct vcpu *v);
void sched_enter_guest(struct vcpu *v, bool entering);
void sched_point(struct vcpu *v, bool yielded);
void sched_block(struct vcpu *v);
void sched_settle(struct vm *vm);
void sched_wake_all(struct vm *vm);
void sched_wake_all_locked(struct vm *vm);
void sched_make_runnable(struct vm *vm, unsigned vcpu);
void sched_await_stop(struct vm *vm, unsigned id);
bool sched_is_applier(struct vm *vm, unsigned id);
void sched_apply_pause(struct vm *vm, unsigned id, uint64_t seq, uint64_t data,
		       uint64_t step, int where);
int64_t sched_submit_pause(struct vm *vm, unsigned vcpu, uint64_t data);
int sched_submit_resume(struct vm *vm, unsigned vcpu, uint64_t data,
			uint64_t stop);

/* console.c / hypercall.c / devices.c */
void console_write(struct vcpu *v, const char *buf, size_t len);
void console_flush(struct vcpu *v);
void console_register(struct vm *vm);
void hypercall_register(struct vm *vm);
void devices_register(struct vm *vm);

/* raw.c */
int raw_setup(struct vm *vm, char *err, size_t errlen);
void raw_trace_memory(struct vm *vm);
void raw_io(struct vcpu *v, unsigned space, uint64_t addr, uint8_t *data,
	    uint32_t len, bool is_write);
uint64_t raw_memory_digest(const struct vm *vm);
void *raw_guest_ptr(const struct vm *vm, uint64_t gpa, uint64_t len);
/* vcpu.c: the KVM side of a VCPU (raw mode: at vm_start). */
int vcpu_create_kvm(struct vm *vm, struct vcpu *v, char *err, size_t errlen);

/* vm.c: a VCPU thread leaving its loop calls this. */
void vm_vcpu_finished(struct vm *vm);
/* Every VCPU still running is halted and nothing can wake them (no
 * controller): ends the run as a VM-wide guest fault. */
void vm_stop_all_halted(struct vm *vm);

#endif
