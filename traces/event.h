/* Trace events: the schema every part of vcprr speaks.
 *
 * An event is a fixed record plus an optional byte payload.  The fixed part
 * carries the global sequence number, a CLOCK_MONOTONIC timestamp, the VCPU
 * id and, for VCPU events, the VCPU's position (exit_seq, rip and, for
 * pauses, a digest of the general registers).  The meaning of a0..a3 and of
 * the payload depends on the type; see the table in event.c.
 *
 * This header is plain data: no allocation, no threads. */
#ifndef VCPRR_TRACES_EVENT_H
#define VCPRR_TRACES_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#define TRACE_FORMAT_VERSION 2
#define TRACE_VCPU_NONE      0xffffffffu  /* VM-wide or controller event */
#define TRACE_MAX_PAYLOAD    4096u        /* bytes; longer payloads are refused */

enum trace_event_type {
	TEV_NONE = 0,
	/* lifecycle */
	TEV_VM_START,        /* a0 = nr_vcpus, a1 = mem_size */
	TEV_VM_END,          /* a0 = enum trace_end_reason, a1 = exit code,
	                        a2 = final guest memory digest (0 if unknown) */
	TEV_VCPU_START,      /* VCPU thread entered its run loop */
	TEV_VCPU_EXIT,       /* a0 = guest return code; parallel runs:
	                        position+digest where the end caught it
	                        (no digest in traces before vcprr logged it) */
	TEV_VCPU_ERROR,      /* a0 = KVM exit reason, payload = diagnostic text */
	/* pause protocol */
	TEV_PAUSE_REQUEST,   /* a0 = user data, a1 = req_seq (per VCPU) */
	TEV_SIGNAL_SENT,     /* a0 = req_seq the signal is for */
	TEV_KICK,            /* KVM_RUN returned EINTR */
	TEV_PAUSE_TAKEN,     /* a0 = user data, a1 = req_seq; position+digest */
	TEV_PAUSE_COALESCED, /* a0 = superseded req_seq, a1 = req_seq it merged into */
	TEV_RESUME_REQUEST,  /* a0 = resume data, a1 = edit mask
	                        (bit0 regs, bit1 sregs, bit2 debugregs),
	                        payload = the edited register blocks in order */
	TEV_RESUMED,         /* a0 = resume data */
	/* VM exits */
	TEV_EXIT_PIO,        /* a0 = port, a1 = tev_access(size, out),
	                        a2 = data (reads: the value given to the guest) */
	TEV_EXIT_MMIO,       /* a0 = gpa, a1 = tev_access(len, write), a2 = data */
	TEV_EXIT_HLT,
	TEV_EXIT_DEBUG,      /* a0 = dr6, a1 = exception */
	/* scheduler */
	TEV_SCHED_SWITCH,    /* vcpu = the VCPU now running, a0 = previous VCPU */
	/* guest runtime */
	TEV_HYPERCALL,       /* a0 = number, a1..a3 = first arguments */
	TEV_GUEST_LOG,       /* payload = text */
	TEV_GUEST_ASSERT,    /* a0 = line, payload = "file\0expr\0" */
	TEV_GUEST_EXIT,      /* a0 = exit code */
	TEV_CONSOLE,         /* payload = one line of console output */
	/* recording */
	TEV_LOST,            /* a0 = number of events dropped in lossy mode */
	/* raw-mode VMs (crosvm plugins) */
	TEV_IO_ACCESS,       /* a PIO/MMIO access claimed by the plugin:
	                        a0 = space (0 PIO, 1 MMIO), a1 = address,
	                        a2 = tev_io_access(len, write, async),
	                        a3 = data written */
	TEV_MEM_REGION,      /* guest memory as of VM start: a0 = slot,
	                        a1 = gpa, a2 = length, a3 = flags
	                        (1 read-only, 2 dirty log) */
	TEV_MEM_DATA,        /* a0 = gpa, payload = initial contents of the
	                        page(s) there (all-zero pages are left out) */
	TEV_VM_IOCTL,        /* raw mode: a VM-wide setting the plugin made
	                        (irqchip, routing, ioeventfd ...): a0 = ioctl
	                        request, a1 = enum vm_input_when, a2 = the
	                        argument's size, payload = the argument (none
	                        when larger than TRACE_MAX_PAYLOAD: such a
	                        trace cannot be replayed).  Replay applies those
	                        made after the start before the next resume */
	TEV_VCPU_IOCTL,      /* raw mode: VCPU state set by the plugin while
	                        the VCPU was stopped (FPU, MSRs, LAPIC, CPUID
	                        ...): vcpu, a0 = ioctl request, a2 and payload
	                        as for VM_IOCTL; replay applies it before the
	                        resume */
	TEV_VM_STOP,         /* the run is being stopped (a fault, an exit, a
	                        signal, a timeout; in raw mode also the plugin
	                        exiting): a0 = reason, a1 = code.  What VCPUs
	                        log after it is their way out */
	TEV_IRQFD_SIGNAL,    /* raw mode: the plugin signalled an irqfd:
	                        a0 = its eventfd as in the KVM_IRQFD setting,
	                        a1 = enum vm_input_when, a2 = the eventfd
	                        count; replayed like a VM_IOCTL */
	TEV__COUNT
};

/* When a raw-mode VM input (VM_IOCTL, IRQFD_SIGNAL a1) was made. */
enum vm_input_when {
	VM_INPUT_HELD = 0,   /* before the start, or while every VCPU was
	                        stopped: replay applies it at the same point */
	VM_INPUT_RUNNING,    /* while a VCPU ran: where it reached the guest
	                        is unknown, the trace cannot be replayed */
	VM_INPUT_NEUTRAL,    /* nothing the guest sees (an irqfd assignment):
	                        applied before the next resume */
};

/* Why a trace ended (TEV_VM_END a0). */
enum trace_end_reason {
	TEND_GUEST_EXIT = 0, /* guest called exit or every VCPU returned */
	TEND_GUEST_ASSERT,   /* guest assertion failed */
	TEND_GUEST_FAULT,    /* triple fault, bad exit, all VCPUs halted ... */
	TEND_VMM_ERROR,      /* vcprr itself failed */
	TEND_SIGNAL,         /* SIGINT/SIGTERM */
	TEND__COUNT
};

struct trace_event {
	uint64_t seq;       /* global, dense, assigned by the writer API */
	uint64_t time_ns;   /* CLOCK_MONOTONIC, assigned by the writer API */
	uint32_t type;      /* enum trace_event_type */
	uint32_t vcpu;      /* VCPU id or TRACE_VCPU_NONE */
	uint64_t exit_seq;  /* position: returns from KVM_RUN on this VCPU */
	uint64_t rip;       /* position: guest RIP (0 when not known) */
	uint64_t digest;    /* position: general-register digest (pauses) */
	uint64_t a0, a1, a2, a3;
	uint32_t payload_len;
};

/* The access word of EXIT_PIO and EXIT_MMIO (a1) and IO_ACCESS (a2): the
 * size in bytes (bits 0-7), whether it writes (bit 8; a PIO out is a
 * write) and, for IO_ACCESS, whether the plugin took it without stopping
 * the VCPU (bit 9, async). */
static inline uint64_t tev_access(uint32_t len, bool write)
{
	return len | (uint64_t)write << 8;
}

static inline uint64_t tev_io_access(uint32_t len, bool write, bool async)
{
	return tev_access(len, write) | (uint64_t)async << 9;
}

static inline uint32_t tev_access_len(uint64_t a)
{
	return (uint32_t)(a & 0xff);
}

static inline bool tev_access_write(uint64_t a)
{
	return (a >> 8) & 1;
}

static inline bool tev_access_async(uint64_t a)
{
	return (a >> 9) & 1;
}

/* Short upper-case name ("PAUSE_TAKEN"), or NULL for an unknown type. */
const char *trace_event_name(uint32_t type);
/* Type from its name, or TEV_NONE. */
uint32_t trace_event_type_from_name(const char *name);
const char *trace_end_reason_name(uint32_t reason);
/* Whether two events say the same (type, VCPU, position, a0..a3 and the
 * payload at @apl, @bpl), whatever their sequence numbers and times. */
bool trace_event_same(const struct trace_event *a, const uint8_t *apl,
		      const struct trace_event *b, const uint8_t *bpl);

#endif
