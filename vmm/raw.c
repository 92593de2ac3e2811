/* Raw-mode VMs: what a crosvm plugin program gets instead of vcprr's own
 * guest setup.  Memory regions are the caller's (vm_add_memory), the VM has
 * KVM's in-kernel irqchip and PIT like crosvm's plugin VMs had, and every
 * PIO/MMIO exit is offered to the embedding program (vm_raw_hooks), which
 * either stops the VCPU (a crosvm IO_ACCESS event), is notified of a write,
 * or leaves the access ignored (crosvm's behaviour for unreserved ranges).
 *
 * Recording: the regions and their non-zero pages are logged when the VM
 * starts (MEM_REGION, MEM_DATA), claimed accesses as IO_ACCESS, and a read
 * answered by the plugin is the resume data, so replay needs nothing else. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/end.h"
#include "vmm/handshake.h"
#include "vmm/memory.h"
#include "vmm/raw.h"
#include "vmm/vcpu-stop.h"

#define RAW_TSS_ADDR 0xfffbd000ul

int raw_setup(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		snprintf(err, errlen, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		snprintf(err, errlen, "KVM_CREATE_PIT2: %s", strerror(errno));
		return -1;
	}
	/* Real-mode guests need it on Intel hosts; harmless elsewhere. */
	ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, RAW_TSS_ADDR);
	return 0;
}

/* The size of an ioctl argument made of a header of @hdr bytes, whose
 * 32-bit count at @count_off says how many @ent-byte entries follow; 0 when
 * fewer than @hdr of @avail bytes are there.  (A payload read from a trace
 * need not be aligned.) */
static uint64_t array_size(const void *arg, uint64_t avail, size_t hdr,
			   size_t count_off, size_t ent)
{
	uint32_t n;

	if (avail < hdr)
		return 0;
	memcpy(&n, (const uint8_t *)arg + count_off, sizeof(n));
	return hdr + (uint64_t)n * ent;
}

/* The size of a VM-wide setting's argument, or 0 for ioctls that set
 * nothing a replay needs (queries).  @avail bytes of @arg are readable. */
static uint64_t setting_size(unsigned long req, const void *arg,
			     uint64_t avail)
{
	switch (req) {
	case KVM_SET_GSI_ROUTING:
		return array_size(arg, avail, sizeof(struct kvm_irq_routing),
				  offsetof(struct kvm_irq_routing, nr),
				  sizeof(struct kvm_irq_routing_entry));
	case KVM_IOEVENTFD: case KVM_IRQFD: case KVM_IRQ_LINE:
	case KVM_SET_IRQCHIP: case KVM_SET_PIT2: case KVM_SET_CLOCK:
	case KVM_SET_IDENTITY_MAP_ADDR:
		return _IOC_SIZE(req);
	default:
		return 0;
	}
}

bool vm_setting_valid(unsigned long req, const void *arg, uint32_t len)
{
	return len && setting_size(req, arg, len) == len;
}

/* A VM-wide input made after the start replays exactly only if no VCPU ran
 * meanwhile: then replay applies it before the next resume.  Every VCPU's
 * ctl_lock is held across the check, the input and its event, so that no
 * VCPU leaves its stop in between (handshake_hold_all: some VCPU is
 * running when it has been resumed at least once, before which it is at or
 * before its INIT stop, and is neither stopped nor finished). */
int vm_ioctl(struct vm *vm, unsigned long req, void *arg)
{
	uint64_t n = vm->cfg.trace ? setting_size(req, arg, UINT64_MAX) : 0;
	/* An irqfd's (de)assignment alone shows nothing to the guest: its
	 * signals are inputs of their own (vm_irqfd_signal). */
	bool neutral = req == KVM_IRQFD;
	bool held = n && !neutral && atomic_load(&vm->live_vcpus);
	bool running = held ? handshake_hold_all(vm) : false;
	int r = ioctl(vm->vm_fd, req, arg);

	if (r < 0) {
		r = -errno;
		goto out;
	}
	/* Settings are replay inputs (see replay/); one too large for an
	 * event is logged by its size alone, and replay refuses the trace. */
	if (n)
		vtrace_ctl_emit(vm, TRACE_VCPU_NONE, TEV_VM_IOCTL, req,
				neutral ? VM_INPUT_NEUTRAL : running ?
				VM_INPUT_RUNNING : VM_INPUT_HELD, n, 0, arg,
				n <= TRACE_MAX_PAYLOAD ? (uint32_t)n : 0);
out:
	if (held)
		handshake_release_all(vm);
	vm_stop_pending(vm, NULL);
	return r;
}

int vm_irqfd_signal(struct vm *vm, int fd, uint64_t count)
{
	bool held = vm->cfg.trace && atomic_load(&vm->live_vcpus);
	bool running = held ? handshake_hold_all(vm) : false;
	int r = 0;

	if (write(fd, &count, sizeof(count)) != sizeof(count))
		r = -errno;
	else if (vm->cfg.trace)
		vtrace_ctl_emit(vm, TRACE_VCPU_NONE, TEV_IRQFD_SIGNAL, fd,
				running ? VM_INPUT_RUNNING : VM_INPUT_HELD,
				count, 0, NULL, 0);
	if (held)
		handshake_release_all(vm);
	vm_stop_pending(vm, NULL);
	return r;
}

int vm_kvm_ioctl(struct vm *vm, unsigned long req, void *arg)
{
	int r = ioctl(vm->kvm_fd, req, arg);

	return r < 0 ? -errno : r;
}

/* The argument size of a VCPU state setting (replay input), else 0.
 * @avail bytes of @arg are readable. */
static uint64_t vcpu_setting_size(unsigned long req, const void *arg,
				  uint64_t avail)
{
	switch (req) {
	case KVM_SET_MSRS:
		return array_size(arg, avail, sizeof(struct kvm_msrs),
				  offsetof(struct kvm_msrs, nmsrs),
				  sizeof(struct kvm_msr_entry));
	case KVM_SET_CPUID2:
		return array_size(arg, avail, sizeof(struct kvm_cpuid2),
				  offsetof(struct kvm_cpuid2, nent),
				  sizeof(struct kvm_cpuid_entry2));
	case KVM_SET_FPU: case KVM_SET_XCRS: case KVM_SET_LAPIC:
	case KVM_SET_MP_STATE: case KVM_SET_VCPU_EVENTS: case KVM_ENABLE_CAP:
		return _IOC_SIZE(req);
	default:
		return 0;
	}
}

bool vcpu_setting_valid(unsigned long req, const void *arg, uint32_t len)
{
	return len && vcpu_setting_size(req, arg, len) == len;
}

int vcpu_ioctl_stopped(struct vm *vm, unsigned id, unsigned long req, void *arg)
{
	struct vcpu *v;
	uint64_t n;
	int r = -EBUSY;

	if (id >= vm->nr_vcpus)
		return -EINVAL;
	v = &vm->vcpus[id];
	/* Held, a stopped VCPU stays stopped: it needs the lock to leave. */
	if (handshake_hold(v) && v->fd >= 0) {
		r = ioctl(v->fd, req, arg);
		if (r < 0)
			r = -errno;
		n = r >= 0 && vm->cfg.trace ?
		    vcpu_setting_size(req, arg, UINT64_MAX) : 0;
		if (n)
			vtrace_ctl_emit(vm, id, TEV_VCPU_IOCTL, req, 0, n, 0, arg,
					n <= TRACE_MAX_PAYLOAD ? (uint32_t)n : 0);
	}
	handshake_release(v);
	vm_stop_pending(vm, NULL);
	return r;
}

void raw_trace_memory(struct vm *vm)
{
	if (!vm->cfg.trace)
		return;
	pthread_mutex_lock(&vm->region_lock);
	for (int i = 0; i < VM_MAX_REGIONS; i++)
		if (vm->regions[i].used)
			memory_trace_region(vm, i);
	pthread_mutex_unlock(&vm->region_lock);
}

/* One PIO element or MMIO access of a raw-mode VCPU. */
void raw_io(struct vcpu *v, unsigned space, uint64_t addr, uint8_t *data,
	    uint32_t len, bool is_write)
{
	const struct vm_raw_hooks *h = v->vm->cfg.raw_hooks;
	uint32_t n = len < 8 ? len : 8;
	enum vm_io_claim c = VM_IO_IGNORE;
	uint64_t val = 0;

	if (h && h->claim_io)
		c = h->claim_io(h->arg, v->id, space, addr, len, is_write, data);
	if (is_write)
		memcpy(&val, data, n);
	if (c != VM_IO_IGNORE && vtrace_on(v->vm))
		vcpu_event(v, TEV_IO_ACCESS, space, addr,
			   tev_io_access(len, is_write, c == VM_IO_NOTIFY),
			   is_write ? val : 0, NULL, 0);
	if (c == VM_IO_STOP) {
		struct vcpu_event ev = { .kind = VCPU_EVENT_IO, .io = {
			.space = space, .len = len, .addr = addr,
			.is_write = is_write } };
		uint64_t r;

		if (is_write)
			memcpy(ev.io.data, data, n);
		r = vcpu_stop(v, &ev);
		if (!is_write)
			memcpy(data, &r, n);
	} else if (!is_write) {
		memset(data, 0, len);
	}
	if (!is_write) {
		vtrace_read_input(v, space == VM_SPACE_PIO ? TEV_EXIT_PIO :
				  TEV_EXIT_MMIO, addr, tev_access(len, false),
				  data, n);
		memcpy(&val, data, n);
	}
	if (vtrace_on(v->vm))
		vcpu_event(v, space == VM_SPACE_PIO ? TEV_EXIT_PIO :
			   TEV_EXIT_MMIO, addr,
			   tev_access(len, is_write), val, 0, NULL, 0);
}
