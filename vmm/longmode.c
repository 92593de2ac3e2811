/* Long-mode setup: the VCPU starts directly in 64-bit mode, paging on, with
 * the low 4 GiB identity-mapped by 2 MiB pages.  There is no IDT on purpose:
 * any exception escalates to a triple fault, which vcprr reports. */
#include <string.h>

#include "vmm/guest/abi.h"
#include "vmm/longmode.h"

#define PTE_PRESENT  (1ull << 0)
#define PTE_RW       (1ull << 1)
#define PTE_PS       (1ull << 7)

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_PG (1ull << 31)
#define CR4_PAE        (1ull << 5)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define GDT_CODE64 0x08
#define GDT_DATA   0x10
#define GDT_TSS    0x18

void longmode_setup_memory(uint8_t *mem)
{
	uint64_t *pml4 = (uint64_t *)(mem + VCPRR_PML4_ADDR);
	uint64_t *pdpt = (uint64_t *)(mem + VCPRR_PDPT_ADDR);
	uint64_t *pd = (uint64_t *)(mem + VCPRR_PD_ADDR);
	uint64_t *gdt = (uint64_t *)(mem + VCPRR_GDT_ADDR);

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = VCPRR_PDPT_ADDR | PTE_PRESENT | PTE_RW;
	for (int i = 0; i < 4; i++)
		pdpt[i] = (VCPRR_PD_ADDR + i * 4096ull) | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_PRESENT | PTE_RW | PTE_PS;

	/* null, 64-bit code, data, and a (never loaded) TSS descriptor. */
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull;
	gdt[2] = 0x00cf93000000ffffull;
	gdt[3] = 0x00008b0000000067ull;
	gdt[4] = 0;
}

static void set_segment(struct kvm_segment *s, uint16_t sel, uint8_t type,
			int code64)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = !code64, .s = 1, .l = code64, .g = 1,
	};
}

void longmode_setup_sregs(struct kvm_sregs *sregs)
{
	set_segment(&sregs->cs, GDT_CODE64, 11, 1);
	set_segment(&sregs->ds, GDT_DATA, 3, 0);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->tr = (struct kvm_segment){
		.base = 0, .limit = 0x67, .selector = GDT_TSS, .type = 11,
		.present = 1,
	};
	sregs->ldt = (struct kvm_segment){ .type = 2, .present = 1, .unusable = 1,
					   .limit = 0xffff };
	sregs->gdt.base = VCPRR_GDT_ADDR;
	sregs->gdt.limit = 5 * 8 - 1;
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	sregs->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
	sregs->cr3 = VCPRR_PML4_ADDR;
	sregs->cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs->efer = EFER_LME | EFER_LMA;
}
