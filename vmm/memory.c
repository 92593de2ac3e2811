/* Guest memory: the long-mode guest's one slot with its image, page tables
 * and boot info; a raw-mode VM's regions (vm_add_memory: the caller's
 * memory); reading it (vm_guest_ptr) and its digest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vmm/elf.h"
#include "vmm/end.h"
#include "vmm/longmode.h"
#include "vmm/memory.h"
#include "vmm/vtrace.h"

#define TSS_ADDR 0xfffbd000ul
#define PAGE 4096u

_Static_assert(VM_MAX_ARGS == VCPRR_MAX_ARGS && VM_MAX_DATA == VCPRR_DATA_MAX,
	       "the VMM's and the guest's input limits");
_Static_assert(VCPRR_DATA_ADDR + VCPRR_DATA_MAX <= VCPRR_IMAGE_MIN &&
	       VCPRR_BOOT_INFO_ADDR + sizeof(struct vcprr_boot_info) <=
	       VCPRR_DATA_ADDR, "the boot info and the data below the image");

bool vm_input_equal(const struct vm_guest_input *a,
		    const struct vm_guest_input *b)
{
	return a->argc == b->argc && a->arg_only == b->arg_only &&
	       !memcmp(a->argv, b->argv, sizeof(a->argv)) &&
	       a->data_len == b->data_len &&
	       !memcmp(a->data, b->data, a->data_len);
}

/* The boot info page and the command line's data: inputs of the run,
 * written before any VCPU starts. */
static void write_boot_info(struct vm *vm)
{
	const struct vm_guest_input *in = &vm->cfg.input;
	struct vcprr_boot_info *b = (void *)(vm->mem + VCPRR_BOOT_INFO_ADDR);
	unsigned argc = in->argc < VM_MAX_ARGS ? in->argc : VM_MAX_ARGS;
	uint32_t len = in->data_len < VM_MAX_DATA ? in->data_len : VM_MAX_DATA;

	*b = (struct vcprr_boot_info){ .nr_vcpus = vm->nr_vcpus,
				       .mem_size = vm->mem_size,
				       .arg = argc ? in->argv[0] : 0 };
	if (in->arg_only)
		return;
	b->argc = argc;
	memcpy(b->argv, in->argv, argc * sizeof(in->argv[0]));
	b->data_len = len;
	memcpy(vm->mem + VCPRR_DATA_ADDR, in->data, len);
}

int memory_setup(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = vm->mem_size,
	};

	vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		snprintf(err, errlen, "cannot map %llu MiB of guest memory: %s",
			 (unsigned long long)vm->mem_size >> 20, strerror(errno));
		return -1;
	}
	region.userspace_addr = (uintptr_t)vm->mem;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		return -1;
	}
	/* Needed on Intel hosts only; harmless elsewhere. */
	ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR);
	longmode_setup_memory(vm->mem);
	write_boot_info(vm);
	return 0;
}

int memory_load_guest(struct vm *vm, const char *path, char *err, size_t errlen)
{
	struct elf_window win = {
		.min = VCPRR_IMAGE_MIN,
		.max = vm->mem_size - (uint64_t)vm->nr_vcpus * VCPRR_STACK_SIZE,
		.mem_size = vm->mem_size,
	};
	uint8_t *buf;
	size_t len;
	int r;

	if (elf_read_file(path, &buf, &len, err, errlen))
		return -1;
	r = elf_load_image(path, buf, len, vm->mem, &win, &vm->entry, err, errlen);
	free(buf);
	return r;
}

void memory_trace_region(struct vm *vm, int slot)
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
		memory_trace_region(vm, slot);
	ret = slot;
out:
	pthread_mutex_unlock(&vm->region_lock);
	vm_stop_pending(vm, NULL);
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

int memory_track_dirty(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
		.guest_phys_addr = 0, .memory_size = vm->mem_size,
		.userspace_addr = (uintptr_t)vm->mem,
	};

	if (vm->dirty_host)
		return 0;
	vm->dirty_host = calloc(memory_bitmap_words(vm), sizeof(uint64_t));
	if (!vm->dirty_host) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		snprintf(err, errlen, "turning on KVM's dirty log "
			 "(KVM_MEM_LOG_DIRTY_PAGES): %s", strerror(errno));
		free(vm->dirty_host);
		vm->dirty_host = NULL;
		return -1;
	}
	return 0;
}

int memory_take_dirty(struct vm *vm, uint64_t *bitmap)
{
	struct kvm_dirty_log d = { .slot = 0, .dirty_bitmap = bitmap };

	/* KVM fills it, clears its log and write-protects those pages again. */
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0)
		return -errno;
	for (size_t i = 0; i < memory_bitmap_words(vm); i++)
		bitmap[i] |= __atomic_exchange_n(&vm->dirty_host[i], 0,
						 __ATOMIC_RELAXED);
	return 0;
}

static void *region_ptr(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < VM_MAX_REGIONS; i++) {
		const struct vm_region *g = &vm->regions[i];
		if (g->used && gpa >= g->gpa && gpa - g->gpa <= g->len &&
		    len <= g->len - (gpa - g->gpa))
			return g->host + (gpa - g->gpa);
	}
	return NULL;
}

static uint64_t regions_digest(const struct vm *vm)
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

void *vm_guest_ptr(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (vm->cfg.raw)
		return region_ptr(vm, gpa, len);
	if (gpa >= vm->mem_size || len > vm->mem_size - gpa)
		return NULL;
	return vm->mem + gpa;
}

uint64_t vm_memory_digest(const struct vm *vm)
{
	const uint64_t *w = (const uint64_t *)vm->mem;
	uint64_t h = vm->mem_size;

	if (vm->cfg.raw)
		return regions_digest(vm);
	for (uint64_t i = 0; i < vm->mem_size / 8; i++) {
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return h;
}

