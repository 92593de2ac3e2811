/* Names of trace event types and end reasons (see event.h for meanings). */
#include <string.h>

#include "traces/event.h"

static const char *const event_names[TEV__COUNT] = {
	[TEV_NONE]            = "NONE",
	[TEV_VM_START]        = "VM_START",
	[TEV_VM_END]          = "VM_END",
	[TEV_VCPU_START]      = "VCPU_START",
	[TEV_VCPU_EXIT]       = "VCPU_EXIT",
	[TEV_VCPU_ERROR]      = "VCPU_ERROR",
	[TEV_PAUSE_REQUEST]   = "PAUSE_REQUEST",
	[TEV_SIGNAL_SENT]     = "SIGNAL_SENT",
	[TEV_KICK]            = "KICK",
	[TEV_PAUSE_TAKEN]     = "PAUSE_TAKEN",
	[TEV_PAUSE_COALESCED] = "PAUSE_COALESCED",
	[TEV_RESUME_REQUEST]  = "RESUME_REQUEST",
	[TEV_RESUMED]         = "RESUMED",
	[TEV_EXIT_PIO]        = "EXIT_PIO",
	[TEV_EXIT_MMIO]       = "EXIT_MMIO",
	[TEV_EXIT_HLT]        = "EXIT_HLT",
	[TEV_EXIT_DEBUG]      = "EXIT_DEBUG",
	[TEV_SCHED_SWITCH]    = "SCHED_SWITCH",
	[TEV_HYPERCALL]       = "HYPERCALL",
	[TEV_GUEST_LOG]       = "GUEST_LOG",
	[TEV_GUEST_ASSERT]    = "GUEST_ASSERT",
	[TEV_GUEST_EXIT]      = "GUEST_EXIT",
	[TEV_CONSOLE]         = "CONSOLE",
	[TEV_LOST]            = "LOST",
	[TEV_IO_ACCESS]       = "IO_ACCESS",
	[TEV_MEM_REGION]      = "MEM_REGION",
	[TEV_MEM_DATA]        = "MEM_DATA",
	[TEV_VM_IOCTL]        = "VM_IOCTL",
	[TEV_VCPU_IOCTL]      = "VCPU_IOCTL",
	[TEV_VM_STOP]         = "VM_STOP",
	[TEV_IRQFD_SIGNAL]    = "IRQFD_SIGNAL",
};

static const char *const end_reason_names[TEND__COUNT] = {
	[TEND_GUEST_EXIT]   = "guest-exit",
	[TEND_GUEST_ASSERT] = "guest-assert",
	[TEND_GUEST_FAULT]  = "guest-fault",
	[TEND_VMM_ERROR]    = "vmm-error",
	[TEND_SIGNAL]       = "signal",
};

const char *trace_event_name(uint32_t type)
{
	if (type >= TEV__COUNT)
		return NULL;
	return event_names[type];
}

uint32_t trace_event_type_from_name(const char *name)
{
	uint32_t t;

	if (!name)
		return TEV_NONE;
	for (t = TEV_NONE + 1; t < TEV__COUNT; t++)
		if (event_names[t] && !strcasecmp(name, event_names[t]))
			return t;
	return TEV_NONE;
}

const char *trace_end_reason_name(uint32_t reason)
{
	if (reason >= TEND__COUNT)
		return "unknown";
	return end_reason_names[reason];
}

bool trace_event_same(const struct trace_event *a, const uint8_t *apl,
		      const struct trace_event *b, const uint8_t *bpl)
{
	return a->type == b->type && a->vcpu == b->vcpu &&
	       a->exit_seq == b->exit_seq && a->rip == b->rip &&
	       a->digest == b->digest && a->a0 == b->a0 && a->a1 == b->a1 &&
	       a->a2 == b->a2 && a->a3 == b->a3 &&
	       a->payload_len == b->payload_len &&
	       (!a->payload_len || !memcmp(apl, bpl, a->payload_len));
}
