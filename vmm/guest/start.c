/* Guest start, and where each VCPU finds its own things without a VM exit:
 * the VMM puts VCPU i's stack at the top of memory, i stacks down, so the
 * stack pointer says which VCPU runs. */
#include "rt.h"
#include "vcprr_guest.h"

/* From guest.ld: the end of the image (.bss included). */
extern const char _end[];

uintptr_t rt_heap_start(void)
{
	return ((uintptr_t)_end + 4095) & ~(uintptr_t)4095;
}

uintptr_t rt_heap_end(void)
{
	const struct vcprr_boot_info *b = vcprr_boot_info();

	return (uintptr_t)(b->mem_size - b->nr_vcpus * VCPRR_STACK_SIZE);
}

int vcprr_this_vcpu(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	return (int)((vcprr_boot_info()->mem_size - 1 - sp) / VCPRR_STACK_SIZE);
}

/* Called by _start with the VCPU id the VMM put in rdi. */
void vcprr_start(unsigned long vcpu)
{
	int rc = main((int)vcpu);

	vcprr_hypercall(VCPRR_HC_DONE, (unsigned)rc, 0, 0);
}
