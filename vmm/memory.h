/* Guest memory inside vmm/ (the public part, vm_guest_ptr, vm_add_memory
 * ..., is in vm.h). */
#ifndef VCPRR_VMM_MEMORY_H
#define VCPRR_VMM_MEMORY_H

#include "vmm/vm-state.h"

/* The long-mode guest's memory, page tables and boot info; its image.
 * 0, or -1 with a message naming the file. */
int memory_setup(struct vm *vm, char *err, size_t errlen);
int memory_load_guest(struct vm *vm, const char *path, char *err, size_t errlen);
/* Raw mode, recording: a region and its non-zero pages (MEM_REGION,
 * MEM_DATA).  With region_lock held. */
void memory_trace_region(struct vm *vm, int slot);

/* Dirty pages, for snapshots (vmm/snapshot.c).  memory_track_dirty()
 * turns on KVM's dirty log for the guest's memory (KVM_MEM_LOG_DIRTY_PAGES)
 * and a bitmap of the pages the VMM itself writes.  0, or -1 with a
 * message.  Long-mode VMs only. */
int memory_track_dirty(struct vm *vm, char *err, size_t errlen);
/* The VMM wrote [gpa, gpa + len) of guest memory: any thread. */
static inline void memory_mark_dirty(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (!vm->dirty_host || !len)
		return;
	for (uint64_t p = gpa / 4096; p <= (gpa + len - 1) / 4096; p++)
		__atomic_fetch_or(&vm->dirty_host[p / 64], 1ull << (p % 64),
				  __ATOMIC_RELAXED);
}
/* Words of a bitmap of every guest page (bit p: page p). */
static inline size_t memory_bitmap_words(const struct vm *vm)
{
	return (vm->mem_size / 4096 + 63) / 64;
}
/* Fills @bitmap (memory_bitmap_words) with the pages written since the
 * last call, KVM's dirty log and the VMM's writes, and clears both.  Only
 * while no VCPU runs.  0 or -errno. */
int memory_take_dirty(struct vm *vm, uint64_t *bitmap);

#endif
