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

#include "vmm/vtrace.h"

#define RAW_TSS_ADDR 0xfffbd000ul
#define PAGE 4096u

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
 * VCPU leaves its stop in between.  Returns true when some VCPU is running:
 * it has been resumed at least once (before that it is at or before its
 * INIT stop) and is neither stopped nor finished. */
static bool hold_vcpus(struct vm *vm)
{
	bool running = false;

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		pthread_mutex_lock(&v->ctl_lock);
		if (v->resume_gen && !atomic_load(&v->stopped) &&
		    !atomic_load(&v->finished))
			running = true;
	}
	return running;
}

static void release_vcpus(struct vm *vm)
{
	for (unsigned i = vm->nr_vcpus; i-- > 0; )
		pthread_mutex_unlock(&vm->vcpus[i].ctl_lock);
}

int vm_ioctl(struct vm *vm, unsigned long req, void *arg)
{
	uint64_t n = vm->cfg.trace ? setting_size(req, arg, UINT64_MAX) : 0;
	/* An irqfd's (de)assignment alone shows nothing to the guest: its
	 * signals are inputs of their own (vm_irqfd_signal). */
	bool neutral = req == KVM_IRQFD;
	bool held = n && !neutral && atomic_load(&vm->live_vcpus);
	bool running = held ? hold_vcpus(vm) : false;
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
		release_vcpus(vm);
	return r;
}

int vm_irqfd_signal(struct vm *vm, int fd, uint64_t count)
{
	bool held = vm->cfg.trace && atomic_load(&vm->live_vcpus);
	bool running = held ? hold_vcpus(vm) : false;
	int r = 0;

	if (write(fd, &count, sizeof(count)) != sizeof(count))
		r = -errno;
	else if (vm->cfg.trace)
		vtrace_ctl_emit(vm, TRACE_VCPU_NONE, TEV_IRQFD_SIGNAL, fd,
				running ? VM_INPUT_RUNNING : VM_INPUT_HELD,
				count, 0, NULL, 0);
	if (held)
		release_vcpus(vm);
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
	/* Holding ctl_lock keeps a stopped VCPU stopped: it needs the lock to
	 * leave its wait. */
	pthread_mutex_lock(&v->ctl_lock);
	if (atomic_load(&v->stopped) && v->fd >= 0) {
		r = ioctl(v->fd, req, arg);
		if (r < 0)
			r = -errno;
		n = r >= 0 && vm->cfg.trace ?
		    vcpu_setting_size(req, arg, UINT64_MAX) : 0;
		if (n)
			vtrace_ctl_emit(vm, id, TEV_VCPU_IOCTL, req, 0, n, 0, arg,
					n <= TRACE_MAX_PAYLOAD ? (uint32_t)n : 0);
	}
	pthread_mutex_unlock(&v->ctl_lock);
	return r;
}

static void trace_region(struct vm *vm, int slot)
{
	const struct vm_region *g = &vm->regions[slot];
	static const uint8_t zero[PAGE];

	vtrace_ctl_emit(vm, TRACE_VCPU_NONE, TEV_MEM_REGION, slot, g->gpa,
			g->len, g->flags, NULL, 0);
	for (uint64_t off = 0; off < g->len; off += PAGE) {
		uint32_t n = g->len - off < PAGE ? g->len - off : PAGE;

		if (!memcmp(g->host + off, zero, n))
			continue;
		vtrace_ctl_emit(vm, TRACE_VCPU_NONE, TEV_MEM_DATA, g->gpa + off,
				0, 0, 0, g->host + off, n);
	}
}

void raw_trace_memory(struct vm *vm)
{
	if (!vm->cfg.trace)
		return;
	pthread_mutex_lock(&vm->region_lock);
	for (int i = 0; i < VM_MAX_REGIONS; i++)
		if (vm->regions[i].used)
			trace_region(vm, i);
	pthread_mutex_unlock(&vm->region_lock);
}

int vm_add_memory(struct vm *vm, uint64_t gpa, uint64_t len, void *host,
		  unsigned flags)
{
	struct kvm_userspace_memory_region r = {
		.guest_phys_addr = gpa, .memory_size = len,
		.userspace_addr = (uintptr_t)host,
	};
	int slot, ret = -ENOSPC;

	if (flags & VM_MEM_READONLY)
		r.flags |= KVM_MEM_READONLY;
	if (flags & VM_MEM_DIRTY_LOG)
		r.flags |= KVM_MEM_LOG_DIRTY_PAGES;
	pthread_mutex_lock(&vm->region_lock);
	for (slot = 0; slot < VM_MAX_REGIONS; slot++)
		if (!vm->regions[slot].used)
			break;
	if (slot == VM_MAX_REGIONS)
		goto out;
	r.slot = slot;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		ret = -errno;
		goto out;
	}
	vm->regions[slot] = (struct vm_region){ .used = true, .gpa = gpa,
		.len = len, .host = host, .flags = flags };
	/* Added while running: logged now (replay maps it from the start). */
	if (vm->cfg.trace && atomic_load(&vm->live_vcpus))
		trace_region(vm, slot);
	ret = slot;
out:
	pthread_mutex_unlock(&vm->region_lock);
	return ret;
}

int vm_remove_memory(struct vm *vm, int slot)
{
	struct kvm_userspace_memory_region r = { .slot = slot };
	int ret = 0;

	if (slot < 0 || slot >= VM_MAX_REGIONS)
		return -EINVAL;
	pthread_mutex_lock(&vm->region_lock);
	if (!vm->regions[slot].used)
		ret = -ENOENT;
	else if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		ret = -errno;
	else
		vm->regions[slot].used = false;
	pthread_mutex_unlock(&vm->region_lock);
	return ret;
}

int vm_get_dirty_log(struct vm *vm, int slot, void *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	if (slot < 0 || slot >= VM_MAX_REGIONS)
		return -EINVAL;
	return ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0 ? -errno : 0;
}

void *raw_guest_ptr(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < VM_MAX_REGIONS; i++) {
		const struct vm_region *g = &vm->regions[i];
		if (g->used && gpa >= g->gpa && gpa - g->gpa <= g->len &&
		    len <= g->len - (gpa - g->gpa))
			return g->host + (gpa - g->gpa);
	}
	return NULL;
}

uint64_t raw_memory_digest(const struct vm *vm)
{
	uint64_t h = 0x52415721;  /* "RAW!" */

	for (int i = 0; i < VM_MAX_REGIONS; i++) {
		const struct vm_region *g = &vm->regions[i];
		if (!g->used)
			continue;
		h = (h ^ g->gpa ^ g->len) * 0x9e3779b97f4a7c15ull;
		for (uint64_t o = 0; o + 8 <= g->len; o += 8) {
			uint64_t w;
			memcpy(&w, g->host + o, 8);
			h = (h ^ w) * 0x9e3779b97f4a7c15ull;
			h ^= h >> 29;
		}
	}
	return h;
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
		vtrace_vcpu_emit(v, TEV_IO_ACCESS, space, addr,
				 len | (uint64_t)is_write << 8 |
				 (uint64_t)(c == VM_IO_NOTIFY) << 9,
				 is_write ? val : 0, NULL, 0);
	if (c == VM_IO_STOP) {
		struct vcpu_event ev = { .kind = VCPU_EVENT_IO, .io = {
			.space = space, .len = len, .addr = addr,
			.is_write = is_write } };
		uint64_t r;

		if (is_write)
			memcpy(ev.io.data, data, n);
		r = vcpu_stop_with_event(v, &ev);
		if (!is_write)
			memcpy(data, &r, n);
	} else if (!is_write) {
		memset(data, 0, len);
	}
	if (!is_write) {
		vtrace_read_input(v, space == VM_SPACE_PIO ? TEV_EXIT_PIO :
				  TEV_EXIT_MMIO, addr, len, data, n);
		memcpy(&val, data, n);
	}
	if (vtrace_on(v->vm))
		vtrace_vcpu_emit(v, space == VM_SPACE_PIO ? TEV_EXIT_PIO :
				 TEV_EXIT_MMIO, addr,
				 len | (uint64_t)is_write << 8, val, 0, NULL, 0);
}
