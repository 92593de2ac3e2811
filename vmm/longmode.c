/* Long-mode setup: the VCPU starts directly in 64-bit mode, paging on, with
 * the low 4 GiB identity-mapped by 2 MiB pages, and x87, SSE and (where the
 * host has it) AVX enabled as an OS would, so that ordinary -O2 code runs.
 * There is no IDT on purpose: any exception escalates to a triple fault,
 * which vcprr reports. */
#include <stdbool.h>
#include <string.h>

#include "vmm/guest/abi.h"
#include "vmm/vm.h"
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
#define CR4_OSXSAVE    (1ull << 18)
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

void longmode_setup_sregs(struct kvm_sregs *sregs, bool xsave)
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
	if (xsave)
		sregs->cr4 |= CR4_OSXSAVE;
	sregs->efer = EFER_LME | EFER_LMA;
}

/* --- CPUID and XCR0 ------------------------------------------------------ */

#define CPUID1_ECX_FMA    (1u << 12)
#define CPUID1_ECX_XSAVE  (1u << 26)
#define CPUID1_ECX_AVX    (1u << 28)
#define CPUID1_ECX_F16C   (1u << 29)
#define CPUID7_EBX_AVX2   (1u << 5)
/* AVX-512 (F, DQ, IFMA, PF, ER, CD, BW, VL; VBMI, VBMI2, VNNI, BITALG,
 * VPOPCNTDQ; 4VNNIW, 4FMAPS, VP2INTERSECT, FP16) and AMX (BF16, TILE,
 * INT8): states a guest cannot enable here. */
#define CPUID7_EBX_AVX512 0xdc230000u
#define CPUID7_ECX_AVX512 0x00005842u
#define CPUID7_EDX_AVX512_AMX 0x03c0010cu
#define CPUID71_EAX_AVX_VNNI   (1u << 4)
#define CPUID71_EAX_AVX512_BF16 (1u << 5)
#define XSAVE_LEGACY_SIZE 576u  /* legacy area + XSAVE header */

static struct kvm_cpuid_entry2 *leaf(struct kvm_cpuid_entry2 *e, uint32_t n,
				     uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < n; i++)
		if (e[i].function == function && e[i].index == index)
			return &e[i];
	return NULL;
}

/* Hides what needs a state beyond @xcr0 (AVX without YMM, AVX-512, AMX). */
static void hide_features(struct kvm_cpuid_entry2 *e, uint32_t n, uint64_t xcr0)
{
	struct kvm_cpuid_entry2 *l1 = leaf(e, n, 1, 0), *l7 = leaf(e, n, 7, 0);
	struct kvm_cpuid_entry2 *l71 = leaf(e, n, 7, 1);
	bool avx = xcr0 & LONGMODE_XCR0_AVX;

	if (l1 && !xcr0)
		l1->ecx &= ~CPUID1_ECX_XSAVE;
	if (l1 && !avx)
		l1->ecx &= ~(CPUID1_ECX_AVX | CPUID1_ECX_FMA | CPUID1_ECX_F16C);
	if (l7) {
		l7->ebx &= ~(CPUID7_EBX_AVX512 | (avx ? 0 : CPUID7_EBX_AVX2));
		l7->ecx &= ~CPUID7_ECX_AVX512;
		l7->edx &= ~CPUID7_EDX_AVX512_AMX;
	}
	if (l71)
		l71->eax &= ~(CPUID71_EAX_AVX512_BF16 |
			      (avx ? 0 : CPUID71_EAX_AVX_VNNI));
}

uint64_t longmode_setup_cpuid(struct kvm_cpuid_entry2 *e, uint32_t *nent)
{
	struct kvm_cpuid_entry2 *l1 = leaf(e, *nent, 1, 0);
	struct kvm_cpuid_entry2 *d0 = leaf(e, *nent, 0xd, 0);
	struct kvm_cpuid_entry2 *d1 = leaf(e, *nent, 0xd, 1);
	uint64_t xcr0 = 0;
	uint32_t size = XSAVE_LEGACY_SIZE, n = 0;

	if (l1 && (l1->ecx & CPUID1_ECX_XSAVE) && d0)
		xcr0 = (((uint64_t)d0->edx << 32) | d0->eax) & LONGMODE_XCR0_GUEST;
	if ((xcr0 & LONGMODE_XCR0_BASE) != LONGMODE_XCR0_BASE)
		xcr0 = 0;
	/* Keep the subleaves of 0xd for the states enabled only; the largest
	 * XSAVE area (0xd.0 ECX) is what they need. */
	for (uint32_t i = 0; i < *nent; i++) {
		if (e[i].function == 0xd && e[i].index >= 2 && e[i].index < 64) {
			if (!(xcr0 & (1ull << e[i].index)))
				continue;
			if (e[i].ebx + e[i].eax > size)
				size = e[i].ebx + e[i].eax;
		}
		e[n++] = e[i];
	}
	*nent = n;
	d0 = leaf(e, n, 0xd, 0);
	d1 = leaf(e, n, 0xd, 1);
	if (d0) {
		d0->eax = (uint32_t)xcr0;
		d0->edx = 0;
		d0->ecx = xcr0 ? size : 0;
	}
	if (d1)  /* no supervisor states (IA32_XSS) */
		d1->ecx = d1->edx = 0;
	hide_features(e, n, xcr0);
	return xcr0;
}

bool longmode_insn_uses_fpu(const uint8_t *insn, unsigned len)
{
	unsigned i = 0;
	uint8_t op, op2;

	/* operand-size, rep and REX prefixes */
	while (i < len && (insn[i] == 0x66 || insn[i] == 0xf2 ||
			   insn[i] == 0xf3 || (insn[i] & 0xf0) == 0x40))
		i++;
	if (i >= len)
		return false;
	op = insn[i];
	if ((op >= 0xd8 && op <= 0xdf) || op == 0xc4 || op == 0xc5)
		return true;  /* x87, VEX (AVX) */
	if (op != 0x0f || i + 1 >= len)
		return false;
	op2 = insn[i + 1];  /* SSE and MMX: 0f 10-17, 28-2f, 38, 3a, 50-7f ... */
	return (op2 >= 0x10 && op2 <= 0x17) || (op2 >= 0x28 && op2 <= 0x2f) ||
	       op2 == 0x38 || op2 == 0x3a || (op2 >= 0x50 && op2 <= 0x7f) ||
	       op2 == 0xae || op2 == 0xc2 || (op2 >= 0xc4 && op2 <= 0xc6) ||
	       op2 >= 0xd0;
}

/* The guest's per-VCPU arrays (VCPRR_PER_VCPU) hold every VCPU. */
_Static_assert(VCPRR_MAX_VCPUS == VM_MAX_VCPUS, "guest and VMM VCPU limits");
