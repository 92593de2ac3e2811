/*
 * vcprr's crosvm plugin compatibility library (libcrosvm_plugin).
 *
 * The crosvm plugin C API, version 0.22: the same functions, argument order,
 * structures, enums and constants as crosvm's own crosvm.h (crosvm removed
 * its plugin VMM in 2024), so a plugin program builds unchanged with
 *
 *     cc -I<dir of this header> plugin.c -lcrosvm_plugin -pthread
 *
 * What differs is where the VM lives.  crosvm ran the plugin as a child
 * process talking to the VMM over sockets; here crosvm_connect() creates the
 * VM in the calling process, on vcprr's VMM.  The plugin is the controller:
 * its pauses, resumes, register edits and answers to I/O reads are the
 * run's inputs, and with VCPRR_RECORD set they are recorded so that
 * `vcprr replay FILE` replays the run without the plugin.
 *
 * Environment
 *   VCPRR_VCPUS=N      number of VCPUs (default 1, like crosvm's default)
 *   VCPRR_MEM=SIZE     the most guest memory crosvm_create_memory may map
 *                      in all (bytes, or with a K/M/G suffix; default 3G);
 *                      beyond it crosvm_create_memory returns -ENOMEM
 *   VCPRR_RECORD=FILE  record the run to FILE (a vcprr trace)
 *   VCPRR_KVM_DEV=PATH KVM device (default /dev/kvm)
 *
 * Lifetime
 *   There is one VM per process.  It runs from crosvm_start() until the
 *   process exits (exit() or a return from main): then the VCPUs are
 *   stopped and the recording, if any, is closed with the exit status.  A
 *   guest fault (triple fault, failed entry) ends the run early; the
 *   shutdown eventfd fires when the run ends for any reason.
 *
 * Memory and ownership
 *   The `struct crosvm`, `struct crosvm_vcpu` objects and the handles
 *   returned by the create functions are owned by the library.  A
 *   `struct crosvm_vcpu` lives as long as the process.  File descriptors
 *   passed in (memfds) stay the caller's; crosvm_get_shutdown_eventfd returns
 *   a new descriptor the caller owns; descriptors returned by
 *   crosvm_io_event_fd and crosvm_irq_event_get_fd belong to their handle.
 *
 * Threads
 *   Every function may be called from any thread; VM-wide calls are
 *   serialised inside the library.  A VCPU is meant to be driven by one
 *   thread: crosvm_vcpu_wait, crosvm_vcpu_resume and the crosvm_vcpu_get_* /
 *   crosvm_vcpu_set_* calls (valid only between a wait and the matching
 *   resume) for one VCPU must not run concurrently.
 *
 * Errors
 *   Functions returning int return 0 (or a file descriptor) on success and
 *   a negative errno on failure, the same errno crosvm returned for the same
 *   situation where it had one.
 */
#ifndef VCPRR_CROSVM_H
#define VCPRR_CROSVM_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Plugin API version implemented (crosvm's semantic version numbering). */
#define CROSVM_API_MAJOR 0
#define CROSVM_API_MINOR 22
#define CROSVM_API_PATCH 0

enum crosvm_address_space {
	CROSVM_ADDRESS_SPACE_IOPORT = 0,  /* x86 I/O ports */
	CROSVM_ADDRESS_SPACE_MMIO,        /* guest-physical addresses */
};

/* Opaque handles. */
struct crosvm;         /* a connection to the VM */
struct crosvm_io;      /* an ioeventfd */
struct crosvm_memory;  /* a guest memory region */
struct crosvm_irq;     /* an irqfd (with its resample eventfd) */
struct crosvm_vcpu;    /* one VCPU */

/* Creates the VM (VCPRR_VCPUS VCPUs, no memory yet) and returns the first
 * connection.  A second call returns another connection to the same VM. */
int crosvm_connect(struct crosvm **);

/* Another connection to the same VM, for use from another thread.  Only
 * before crosvm_start. */
int crosvm_new_connection(struct crosvm *, struct crosvm **);

/* Frees a connection (the VM stays) and sets *self to NULL. */
int crosvm_destroy_connection(struct crosvm **);

/* A new eventfd (owned by the caller) sharing the VM's shutdown event: it is
 * signalled once when the run ends.  The plugin may also write it itself. */
int crosvm_get_shutdown_eventfd(struct crosvm *);

/* Whether the VM supports KVM_CAP_* `__extension` (KVM_CHECK_EXTENSION). */
int crosvm_check_extension(struct crosvm *, uint32_t __extension,
			   bool *has_extension);

/* VM capabilities: none can be enabled; always -EINVAL, as in crosvm. */
int crosvm_enable_capability(struct crosvm *, uint32_t __capability,
			     uint32_t __flags, uint64_t __args[4]);

/* CPUID entries KVM supports / emulates.  *__out_count receives the number
 * of entries; -E2BIG when more than __entry_count. */
int crosvm_get_supported_cpuid(struct crosvm *, uint32_t __entry_count,
			       struct kvm_cpuid_entry2 *__cpuid_entries,
			       uint32_t *__out_count);
int crosvm_get_emulated_cpuid(struct crosvm *, uint32_t __entry_count,
			      struct kvm_cpuid_entry2 *__cpuid_entries,
			      uint32_t *__out_count);

/* Hyper-V CPUID entries of a waiting VCPU (KVM_GET_SUPPORTED_HV_CPUID);
 * -E2BIG as above, -EINVAL on kernels without it. */
int crosvm_get_hyperv_cpuid(struct crosvm_vcpu *, uint32_t __entry_count,
			    struct kvm_cpuid_entry2 *__cpuid_entries,
			    uint32_t *__out_count);

/* MSR indices KVM saves and restores; -E2BIG as above. */
int crosvm_get_msr_index_list(struct crosvm *, uint32_t __entry_count,
			      uint32_t *__msr_indices, uint32_t *__out_count);

/* Network configuration of the VM's tap device. */
struct crosvm_net_config {
	int tap_fd;                   /* the caller's */
	uint32_t host_ip;             /* IPv4, network byte order */
	uint32_t netmask;             /* network byte order */
	uint8_t host_mac_address[6];
	uint8_t _padding[2];
};

#ifdef static_assert
static_assert(sizeof(struct crosvm_net_config) == 20,
	      "struct crosvm_net_config must be 20 bytes");
#endif

/* vcprr VMs have no tap device: -ENODATA, what crosvm said without one. */
int crosvm_net_get_config(struct crosvm *, struct crosvm_net_config *);

/* Reserves [__start, __start + __length) of an address space: a VCPU that
 * accesses it stops with CROSVM_VCPU_EVENT_KIND_IO_ACCESS until resumed.
 * A length of 0 releases the reservation that starts at __start.
 * -EPERM when it overlaps another reservation, -ENOENT on release of an
 * unknown one. */
int crosvm_reserve_range(struct crosvm *, uint32_t __space, uint64_t __start,
			 uint64_t __length);

/* Like crosvm_reserve_range, but only writes are reported, with no_resume
 * set: the VCPU goes on, and the plugin's next call for that VCPU is
 * crosvm_vcpu_wait, not crosvm_vcpu_resume.  Reads are ignored. */
int crosvm_reserve_async_write_range(struct crosvm *, uint32_t __space,
				     uint64_t __start, uint64_t __length);

/* Raises or lowers an interrupt line (KVM_IRQ_LINE). */
int crosvm_set_irq(struct crosvm *, uint32_t __irq_id, bool __active);

enum crosvm_irq_route_kind {
	CROSVM_IRQ_ROUTE_IRQCHIP = 0,  /* irqchip pin */
	CROSVM_IRQ_ROUTE_MSI,          /* MSI address and data */
};

/* One GSI routing entry. */
struct crosvm_irq_route {
	uint32_t irq_id;  /* the GSI */
	uint32_t kind;    /* enum crosvm_irq_route_kind: which member is valid */
	union {
		struct {
			/* KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE or _IOAPIC */
			uint32_t irqchip;
			uint32_t pin;
		} irqchip;
		struct {
			uint64_t address;
			uint32_t data;
			uint8_t _reserved[4];
		} msi;
		uint8_t _reserved[16];
	};
};

#ifdef static_assert
static_assert(sizeof(struct crosvm_irq_route) == 24,
	      "struct crosvm_irq_route must be 24 bytes");
#endif

/* Replaces the whole GSI routing table (NULL, 0: empty it). */
int crosvm_set_irq_routing(struct crosvm *, uint32_t __route_count,
			   const struct crosvm_irq_route *__routes);

/* Which register values make a hinted access also want sregs/debugregs. */
struct crosvm_hint_detail {
	bool match_rax;
	bool match_rbx;
	bool match_rcx;
	bool match_rdx;
	uint8_t _reserved[4];
	uint64_t rax;
	uint64_t rbx;
	uint64_t rcx;
	uint64_t rdx;
	bool send_sregs;
	bool send_debugregs;
	uint8_t _reserved2[6];
};

#ifdef static_assert
static_assert(sizeof(struct crosvm_hint_detail) == 48,
	      "struct crosvm_hint_detail must be 48 bytes");
#endif

#define CROSVM_MAX_HINT_COUNT 1          /* hints per crosvm_set_hypercall_hint */
#define CROSVM_MAX_HINT_DETAIL_COUNT 32  /* details per hint */
#define CROSVM_HINT_ON_WRITE 0x1

/* A hypercall port: accesses to it will likely be followed by register
 * reads. */
struct crosvm_hint {
	uint32_t hint_version;   /* 0 */
	uint32_t _reserved;      /* 0 */
	uint32_t address_space;  /* enum crosvm_address_space */
	uint16_t address_flags;  /* 0: reads, CROSVM_HINT_ON_WRITE: writes */
	uint16_t details_count;  /* entries in details */
	uint64_t address;        /* non-zero */
	union {
		struct crosvm_hint_detail *details;
		uint64_t _reserved2; /* keeps the pointer 64-bit wide */
	};
};

#ifdef static_assert
static_assert(sizeof(struct crosvm_hint) == 32,
	      "struct crosvm_hint must be 32 bytes");
#endif

/* Sets (replaces) the hypercall hint; 0 hints removes it.  The hint is
 * checked as crosvm checked it (-EINVAL) and kept; here registers are read
 * from the stopped VCPU's snapshot anyway, so it changes no behaviour. */
int crosvm_set_hypercall_hint(struct crosvm *, uint32_t __hints_count,
			      const struct crosvm_hint *__hints);

/* In-kernel PIC (primary or secondary), IOAPIC, PIT and kvmclock state. */
int crosvm_get_pic_state(struct crosvm *, bool __primary,
			 struct kvm_pic_state *__pic_state);
int crosvm_set_pic_state(struct crosvm *, bool __primary,
			 const struct kvm_pic_state *__pic_state);
int crosvm_get_ioapic_state(struct crosvm *,
			    struct kvm_ioapic_state *__ioapic_state);
int crosvm_set_ioapic_state(struct crosvm *,
			    const struct kvm_ioapic_state *__ioapic_state);
int crosvm_get_pit_state(struct crosvm *, struct kvm_pit_state2 *__pit_state);
int crosvm_set_pit_state(struct crosvm *,
			 const struct kvm_pit_state2 *__pit_state);
int crosvm_get_clock(struct crosvm *, struct kvm_clock_data *__clock_data);
int crosvm_set_clock(struct crosvm *,
		     const struct kvm_clock_data *__clock_data);

/* KVM_SET_IDENTITY_MAP_ADDR; only before crosvm_start (KVM refuses it once
 * VCPUs exist). */
int crosvm_set_identity_map_addr(struct crosvm *, uint32_t __addr);

/* Requests a pause of every VCPU in __cpu_mask and kicks them: each reports
 * CROSVM_VCPU_EVENT_KIND_PAUSED with `user` from crosvm_vcpu_wait.  A newer
 * request replaces one not yet taken; a request made while the VCPU is
 * paused is taken right after its resume. */
int crosvm_pause_vcpus(struct crosvm *, uint64_t __cpu_mask, void *__user);

/* Starts the VCPUs.  Each first reports CROSVM_VCPU_EVENT_KIND_INIT.
 * A second call returns -EINVAL. */
int crosvm_start(struct crosvm *);

/* An ioeventfd: signalled, without stopping the VCPU, when the guest
 * writes __len bytes (0: any length) at __addr, equal to *__datamatch when
 * it is not NULL.  __len must be 0, 1, 2, 4 or 8 (else -EINVAL). */
int crosvm_create_io_event(struct crosvm *, uint32_t __space, uint64_t __addr,
			   uint32_t __len, const uint8_t *__datamatch,
			   struct crosvm_io **);
int crosvm_destroy_io_event(struct crosvm *, struct crosvm_io **);
/* The eventfd, owned by the handle. */
int crosvm_io_event_fd(struct crosvm_io *);

/* Maps __length bytes of memfd __fd from __offset at guest address __start.
 * The memfd must carry F_SEAL_SHRINK (-EPERM) and be long enough (-EINVAL);
 * offset and length must be page multiples (-EINVAL).  Guest writes to a
 * read-only region exit as MMIO writes (IO_ACCESS if reserved).  With
 * __dirty_log, crosvm_memory_get_dirty_log works on it.  The plugin may keep
 * its own mapping of the memfd: it shares the guest's memory. */
int crosvm_create_memory(struct crosvm *, int __fd, uint64_t __offset,
			 uint64_t __length, uint64_t __start, bool __read_only,
			 bool __dirty_log, struct crosvm_memory **);
int crosvm_destroy_memory(struct crosvm *, struct crosvm_memory **);

/* Pages written since the last call: one bit per page of the region (the
 * caller's buffer, length / 4096 bits rounded up to 64-bit words). */
int crosvm_memory_get_dirty_log(struct crosvm *, struct crosvm_memory *,
				uint8_t *__log);

/* An irqfd for GSI __irq_id, with a resample eventfd (level-triggered).
 * When recording, the eventfd the plugin signals is the library's, which
 * passes each signal on to KVM and records it. */
int crosvm_create_irq_event(struct crosvm *, uint32_t __irq_id,
			    struct crosvm_irq **);
int crosvm_destroy_irq_event(struct crosvm *, struct crosvm_irq **);
/* Its eventfds, owned by the handle. */
int crosvm_irq_event_get_fd(const struct crosvm_irq *);
int crosvm_irq_event_get_resample_fd(const struct crosvm_irq *);

enum crosvm_vcpu_event_kind {
	/* First event of every VCPU, before its first instruction: set up
	 * its registers here. */
	CROSVM_VCPU_EVENT_KIND_INIT = 0,
	/* An access to a reserved range. */
	CROSVM_VCPU_EVENT_KIND_IO_ACCESS,
	/* A crosvm_pause_vcpus request was taken. */
	CROSVM_VCPU_EVENT_KIND_PAUSED,
	/* Hyper-V hypercall and SynIC exits (never produced by vcprr). */
	CROSVM_VCPU_EVENT_KIND_HYPERV_HCALL,
	CROSVM_VCPU_EVENT_KIND_HYPERV_SYNIC,
};

struct crosvm_vcpu_event {
	uint32_t kind;  /* enum crosvm_vcpu_event_kind: which member is valid */
	uint8_t _padding[4];
	union {
		/* CROSVM_VCPU_EVENT_KIND_IO_ACCESS */
		struct {
			uint32_t address_space;  /* enum crosvm_address_space */
			uint8_t _padding[4];
			uint64_t address;
			/* length bytes owned by the VCPU handle, valid until
			 * the next wait: the data written, or for a read the
			 * buffer to fill before crosvm_vcpu_resume. */
			uint8_t *data;
			uint32_t length;
			uint8_t is_write;
			/* async-write range: the VCPU did not stop, call
			 * crosvm_vcpu_wait next, not crosvm_vcpu_resume */
			uint8_t no_resume;
			uint8_t _reserved[2];
		} io_access;

		/* CROSVM_VCPU_EVENT_KIND_PAUSED: crosvm_pause_vcpus's __user */
		void *user;

		/* CROSVM_VCPU_EVENT_KIND_HYPERV_HCALL */
		struct {
			uint64_t input;
			uint64_t *result;  /* set before resuming */
			uint64_t params[2];
		} hyperv_call;

		/* CROSVM_VCPU_EVENT_KIND_HYPERV_SYNIC */
		struct {
			uint32_t msr;
			uint32_t _reserved;
			uint64_t control;
			uint64_t evt_page;
			uint64_t msg_page;
		} hyperv_synic;

		uint8_t _reserved[64];
	};
};

#ifdef static_assert
static_assert(sizeof(struct crosvm_vcpu_event) == 72,
	      "struct crosvm_vcpu_event must be 72 bytes");
#endif

/* The handle of VCPU __cpu_id (the same pointer every time); -ENOENT past
 * the last VCPU, so a loop from 0 finds them all. */
int crosvm_get_vcpu(struct crosvm *, uint32_t __cpu_id, struct crosvm_vcpu **);

/* Blocks until the VCPU's next event and describes it.  Unless the event
 * has no_resume set, the VCPU stays stopped until crosvm_vcpu_resume, and
 * its state may be read and written meanwhile.  -EINVAL once the run has
 * ended. */
int crosvm_vcpu_wait(struct crosvm_vcpu *, struct crosvm_vcpu_event *);

/* Resumes the VCPU: staged register edits are applied, and a reserved read
 * returns the bytes the plugin wrote into io_access.data. */
int crosvm_vcpu_resume(struct crosvm_vcpu *);

/* VCPU state, valid between crosvm_vcpu_wait and crosvm_vcpu_resume
 * (-EBUSY otherwise).  regs, sregs and debugregs edits are applied on
 * resume; the other sets are applied at once. */
int crosvm_vcpu_get_regs(struct crosvm_vcpu *, struct kvm_regs *);
int crosvm_vcpu_set_regs(struct crosvm_vcpu *, const struct kvm_regs *);
int crosvm_vcpu_get_sregs(struct crosvm_vcpu *, struct kvm_sregs *);
int crosvm_vcpu_set_sregs(struct crosvm_vcpu *, const struct kvm_sregs *);
int crosvm_vcpu_get_fpu(struct crosvm_vcpu *, struct kvm_fpu *);
int crosvm_vcpu_set_fpu(struct crosvm_vcpu *, const struct kvm_fpu *);
int crosvm_vcpu_get_debugregs(struct crosvm_vcpu *, struct kvm_debugregs *);
int crosvm_vcpu_set_debugregs(struct crosvm_vcpu *,
			      const struct kvm_debugregs *);
int crosvm_vcpu_get_xcrs(struct crosvm_vcpu *, struct kvm_xcrs *);
int crosvm_vcpu_set_xcrs(struct crosvm_vcpu *, const struct kvm_xcrs *);

/* MSRs named by each entry's index; *__out_count receives how many were
 * read (-E2BIG when KVM returned more than __msr_count). */
int crosvm_vcpu_get_msrs(struct crosvm_vcpu *, uint32_t __msr_count,
			 struct kvm_msr_entry *__msr_entries,
			 uint32_t *__out_count);
int crosvm_vcpu_set_msrs(struct crosvm_vcpu *, uint32_t __msr_count,
			 const struct kvm_msr_entry *__msr_entries);

/* The CPUID the VCPU's guest sees (KVM_SET_CPUID2). */
int crosvm_vcpu_set_cpuid(struct crosvm_vcpu *, uint32_t __cpuid_count,
			  const struct kvm_cpuid_entry2 *__cpuid_entries);

/* Only KVM_CAP_HYPERV_SYNIC and KVM_CAP_HYPERV_SYNIC2 with zero flags and
 * args, as in crosvm; anything else is -EINVAL. */
int crosvm_vcpu_enable_capability(struct crosvm_vcpu *, uint32_t __capability,
				  uint32_t __flags, uint64_t __args[4]);

int crosvm_vcpu_get_lapic_state(struct crosvm_vcpu *,
				struct kvm_lapic_state *__lapic_state);
int crosvm_vcpu_set_lapic_state(struct crosvm_vcpu *,
				const struct kvm_lapic_state *__lapic_state);
int crosvm_vcpu_get_mp_state(struct crosvm_vcpu *,
			     struct kvm_mp_state *__mp_state);
int crosvm_vcpu_set_mp_state(struct crosvm_vcpu *,
			     const struct kvm_mp_state *__mp_state);
int crosvm_vcpu_get_vcpu_events(struct crosvm_vcpu *,
				struct kvm_vcpu_events *);
int crosvm_vcpu_set_vcpu_events(struct crosvm_vcpu *,
				const struct kvm_vcpu_events *);

#ifdef __cplusplus
}
#endif

#endif
