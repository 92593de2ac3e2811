/* vcprr's VMM: a KVM virtual machine running one ELF64 guest on N VCPUs.
 *
 * Lifecycle: vm_create() -> vm_start() -> vm_wait() -> vm_destroy().
 * vm_stop() may be called from any thread (and is what SIGINT handling,
 * timeouts and the guest's exit hypercall use); everything else belongs to
 * the thread that created the VM.  The VM owns all its memory. */
#ifndef VCPRR_VMM_VM_H
#define VCPRR_VMM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "traces/event.h"
#include "vmm/sched.h"

#define VM_DEFAULT_MEM   (64ull << 20)
#define VM_MIN_MEM       (2ull << 20)
#define VM_MAX_MEM       (3ull << 30)  /* below the MMIO hole at 3.25 GiB */
#define VM_DIAG_SIZE     4096
#define VM_MAX_VCPUS     1024          /* vcprr's own limit; KVM's may be lower */
#define VM_MAX_ARGS      16            /* VCPRR_MAX_ARGS of the guest ABI */
#define VM_MAX_DATA      2048          /* VCPRR_DATA_MAX */

struct vm;
struct vm_raw_hooks;

/* How a VCPU is kicked out of KVM_RUN. */
enum vm_kick_mode {
	VM_KICK_AUTO = 0,        /* immediate_exit when KVM has it */
	VM_KICK_IMMEDIATE_EXIT,  /* signal handler sets kvm_run->immediate_exit */
	VM_KICK_SIGNAL_MASK,     /* signal blocked outside KVM_RUN
				    (KVM_SET_SIGNAL_MASK), for old hosts */
};

/* What the command line passes to a guest (vcprr run --arg N ...
 * --data FILE): an input of the run like any other, written into guest
 * memory before the start (the boot info page and VCPRR_DATA_ADDR, see
 * vmm/guest/abi.h) and recorded in the trace header.  Compare two with
 * vm_input_equal(). */
struct vm_guest_input {
	unsigned argc;
	uint64_t argv[VM_MAX_ARGS];    /* 0 past argc */
	uint32_t data_len;
	uint8_t data[VM_MAX_DATA];
	/* The boot info ends at its one argument (argv[0], or 0), as vcprr
	 * wrote it before there were several: the run of a trace of that
	 * time (run description version 1), whose guest memory must stay
	 * what was recorded.  argc is at most 1 and there is no data. */
	bool arg_only;
};

/* An initializer: the input of `--arg N` alone. */
#define VM_INPUT_ARG(n) { .argc = 1, .argv = { (n) } }

bool vm_input_equal(const struct vm_guest_input *a,
		    const struct vm_guest_input *b);

struct vm_config {
	unsigned nr_vcpus;     /* 0 means 1 */
	uint64_t mem_size;     /* bytes; 0 means VM_DEFAULT_MEM */
	const char *kvm_path;  /* NULL: $VCPRR_KVM_DEV or /dev/kvm */
	int console_fd;        /* guest console output; 0 means stdout */
	int log_fd;            /* guest log hypercalls; 0 means stderr */
	struct vm_guest_input input;  /* vcprr_arg() ... in the guest */
	enum vm_kick_mode kick_mode;
	bool controlled;       /* a controller may wake halted VCPUs; without
				  one, all VCPUs halted ends the run */
	bool init_event;       /* each VCPU stops with VCPU_EVENT_INIT first */
	struct sched_config sched;   /* parallel (default), serial or step */
	struct trace_writer *trace;  /* record every event here (NULL: off);
					the caller closes it after vm_wait */
	/* Raw mode (crosvm plugin VMs, vmm/raw.c): no guest image, no long
	 * mode, no vcprr devices.  Memory comes from vm_add_memory(), the VM
	 * has KVM's in-kernel irqchip and PIT, KVM VCPUs are created by
	 * vm_start() (so VM-wide setup such as the identity map may come
	 * first) and start in KVM's reset state.  PIO/MMIO exits go to
	 * raw->claim_io. */
	bool raw;
	const struct vm_raw_hooks *raw_hooks;
};

/* Raw mode: what happens to a PIO/MMIO exit (vm_raw_hooks.claim_io). */
enum vm_io_claim {
	VM_IO_IGNORE = 0,  /* nobody's: writes dropped, reads return 0 */
	VM_IO_STOP,        /* the VCPU stops with VCPU_EVENT_IO; a read gets
			      the resume data */
	VM_IO_NOTIFY,      /* a write seen by the claimer; the VCPU goes on */
};

#define VM_SPACE_PIO  0u
#define VM_SPACE_MMIO 1u

/* How the embedding program (the crosvm plugin library, or a replay)
 * takes part in a raw-mode VM.  Called on VCPU threads. */
struct vm_raw_hooks {
	void *arg;
	/* A PIO/MMIO access of len bytes (data: what is written). */
	enum vm_io_claim (*claim_io)(void *arg, unsigned vcpu, unsigned space,
				     uint64_t addr, uint32_t len, bool is_write,
				     const uint8_t *data);
	/* Optional: the VCPU has just stopped (vcpu_wait_event would return). */
	void (*stopped)(void *arg, unsigned vcpu);
};

/* How a run ended.  reason is an enum trace_end_reason; exit_code is the
 * guest's code for TEND_GUEST_EXIT. diag explains faults and assertions. */
struct vm_result {
	int reason;
	int exit_code;
	char diag[VM_DIAG_SIZE];
};

/* Opens KVM, creates the VM and its VCPUs and loads the guest.  Returns NULL
 * with a message in err (naming the file or option at fault). */
struct vm *vm_create(const struct vm_config *cfg, const char *guest_path,
		     char *err, size_t errlen);

/* Starts the run on every VCPU thread.  The threads outlive the run: made
 * by the first start, they park after each run until the next start (a VM
 * reset from a snapshot, vmm/snapshot.h) or vm_destroy().  Returns 0 or
 * -errno. */
int vm_start(struct vm *vm);

/* Waits until the run has ended or timeout_ms passed (-1: forever).
 * Returns 0 when ended, -ETIMEDOUT otherwise.  Once it returned 0 no VCPU
 * thread runs (each has parked) and the scheduler's watchdog is joined. */
int vm_wait(struct vm *vm, int timeout_ms);

/* Ends the run (first caller wins): records reason, code and a message, and
 * kicks every VCPU out of the guest.  Thread-safe, async-signal-unsafe. */
void vm_stop(struct vm *vm, int reason, int exit_code, const char *why);

/* True once vm_stop() was called: the run is ending.  Thread-safe. */
bool vm_stopping(const struct vm *vm);

/* A file descriptor that becomes readable when the run has ended (for poll). */
int vm_end_fd(const struct vm *vm);

const struct vm_result *vm_result(const struct vm *vm);
unsigned vm_nr_vcpus(const struct vm *vm);

/* Guest memory, for tests and replay: a host pointer to [gpa, gpa + len), or
 * NULL when the range is not RAM. */
void *vm_guest_ptr(const struct vm *vm, uint64_t gpa, uint64_t len);

/* A 64-bit digest of all guest memory (the end state replay compares). */
uint64_t vm_memory_digest(const struct vm *vm);

/* Raw mode guest memory (vmm/raw.c).  host (len bytes, page aligned) stays
 * the caller's and must outlive the region.  Returns the slot (>= 0) or
 * -errno (KVM's: -EEXIST on overlap).  Thread-safe. */
#define VM_MEM_READONLY  1u
#define VM_MEM_DIRTY_LOG 2u
int vm_add_memory(struct vm *vm, uint64_t gpa, uint64_t len, void *host,
		  unsigned flags);
int vm_remove_memory(struct vm *vm, int slot);
/* KVM_GET_DIRTY_LOG of a slot: one bit per page, bitmap sized by caller. */
int vm_get_dirty_log(struct vm *vm, int slot, void *bitmap);

/* Raw mode escape hatches: an ioctl on the VM fd or on the /dev/kvm fd.
 * Return the ioctl's non-negative result or -errno. */
int vm_ioctl(struct vm *vm, unsigned long req, void *arg);
/* Whether @len bytes at @arg are a VM-wide (resp. VCPU) setting of the
 * kinds a raw-mode recording logs, of exactly the size the request takes.
 * Replay applies nothing else from a trace: trace files are untrusted. */
bool vm_setting_valid(unsigned long req, const void *arg, uint32_t len);
bool vcpu_setting_valid(unsigned long req, const void *arg, uint32_t len);
int vm_kvm_ioctl(struct vm *vm, unsigned long req, void *arg);

/* Raw mode: adds count to eventfd fd, an irqfd given to KVM_IRQFD through
 * vm_ioctl, so that a recording has the interrupt as an input
 * (IRQFD_SIGNAL).  0 or -errno.  Thread-safe. */
int vm_irqfd_signal(struct vm *vm, int fd, uint64_t count);

/* The next run of a VM that has not started (just created, or restored to
 * a snapshot taken before its start, vmm/snapshot.h): its scheduling
 * (mode, policy, seed ...; a plan must outlive the run) and its recording
 * (@trace, NULL for none: as vm_config.trace, the caller closes it after
 * vm_wait).  0, or -1 with a message; the VM cannot run after a failure.
 * Long-mode VMs. */
int vm_set_run(struct vm *vm, const struct sched_config *sched,
	       struct trace_writer *trace, char *err, size_t errlen);

/* Stops the run if needed, joins the threads and frees everything. */
void vm_destroy(struct vm *vm);

#endif
