/* hostile: a guest that attacks its VMM.  `--arg A` picks the attack
 * (A & 0xff) and its parameter (A >> 8).  Every attack must end the run
 * with a clear verdict and a closed trace; none may hurt vcprr.
 *
 *   0 garbage   VCPU 0 runs 4 KiB of pseudo-random bytes (seed = param)
 *   1 pio       an access to an unmapped port: param bit 0-1 size (1, 2, 4),
 *               bit 2 read, bit 3 string I/O (rep outs/ins of 16 elements)
 *   2 mmio      an access to unmapped guest-physical memory: param bit 0-1
 *               size (1, 2, 4, 8), bit 2 read, bit 3 above RAM instead of the
 *               MMIO hole, bit 4 string (rep movs of 16 elements)
 *   3 pgtables  overwrite the page tables: param 0 zeroes the PML4, 1 points
 *               the PML4 at garbage, 2 unmaps the 2 MiB page holding the code,
 *               3 zeroes the GDT and reloads a segment
 *   4 hcall     a hypercall with hostile arguments: param 0 block outside
 *               memory, 1 misaligned block, 2 unknown number, 3 log text
 *               outside memory, 4 log of 1 GiB, 5 console write of 1 GiB,
 *               6 assert with strings running to the end of memory, 7 a read
 *               of the hypercall port, 8 a 1-byte write to it
 *   5 instr     an instruction the VMM has no answer for: param 0 rdmsr of
 *               an unknown MSR, 1 wrmsr to EFER, 2 int3, 3 cli; hlt on every
 *               VCPU, 4 cr3 = garbage, 5 far jump through a bad selector
 *   6 late      VCPU 0 spins (for a controller to pause it) while VCPU 1
 *               triple-faults after param thousand iterations */
#include "vcprr_guest.h"

static u8 code[4096] __attribute__((aligned(4096)));

static u64 next_rand(u64 *s)
{
	u64 z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void garbage(u64 seed)
{
	u64 s = seed;

	for (unsigned i = 0; i < sizeof(code); i += 8) {
		u64 r = next_rand(&s);
		memcpy(code + i, &r, 8);
	}
	((void (*)(void))code)();
}

static void pio(u64 p)
{
	static const u16 port = 0x1234;
	static u8 buf[64];
	unsigned size = (p & 3) == 3 ? 4 : 1u << (p & 3);

	if (p & 8) {
		void *b = buf;
		u64 n = 16;
		if (p & 4)
			__asm__ volatile("rep insb" : "+D"(b), "+c"(n) : "d"(port) : "memory");
		else
			__asm__ volatile("rep outsb" : "+S"(b), "+c"(n) : "d"(port));
		return;
	}
	if (p & 4) {
		if (size == 1) inb(port);
		if (size == 2) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); }
		if (size == 4) inl(port);
		return;
	}
	if (size == 1) outb(port, 1);
	if (size == 2) __asm__ volatile("outw %0, %1" :: "a"((u16)2), "Nd"(port));
	if (size == 4) outl(port, 4);
}

static void mmio(u64 p)
{
	volatile struct vcprr_boot_info *bi = (void *)VCPRR_BOOT_INFO_ADDR;
	u64 gpa = p & 8 ? bi->mem_size + 0x10000 : 0xe0000000ull;
	volatile u8 *a = (volatile u8 *)gpa;
	unsigned size = 1u << (p & 3);

	if (p & 16) {
		static u8 buf[128];
		void *d = p & 4 ? (void *)buf : (void *)a;
		void *s = p & 4 ? (void *)a : (void *)buf;
		u64 n = 16;
		__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) :: "memory");
		return;
	}
	if (p & 4) {
		if (size == 1) (void)*a;
		if (size == 2) (void)*(volatile u16 *)a;
		if (size == 4) (void)*(volatile u32 *)a;
		if (size == 8) (void)*(volatile u64 *)a;
		return;
	}
	if (size == 1) *a = 1;
	if (size == 2) *(volatile u16 *)a = 2;
	if (size == 4) *(volatile u32 *)a = 4;
	if (size == 8) *(volatile u64 *)a = 8;
}

static void pgtables(u64 p)
{
	volatile u64 *pml4 = (volatile u64 *)VCPRR_PML4_ADDR;
	volatile u64 *pd = (volatile u64 *)VCPRR_PD_ADDR;
	u64 cr3;

	if (p == 0)
		for (int i = 0; i < 512; i++)
			pml4[i] = 0;
	if (p == 1)
		pml4[0] = 0xdeadbeef000ull | 3;
	if (p == 2)
		pd[0] = 0;     /* the first 2 MiB: the image and the page tables */
	if (p == 3) {
		memset((void *)VCPRR_GDT_ADDR, 0, 64);
		__asm__ volatile("mov %0, %%ds" :: "r"(0x10) : "memory");
	}
	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) :: "memory");
	printf("page tables %llu overwritten and still running\n", p);
}

static void hcall(u64 p)
{
	volatile struct vcprr_boot_info *bi = (void *)VCPRR_BOOT_INFO_ADDR;
	static struct vcprr_hc hc __attribute__((aligned(8)));
	u64 end = bi->mem_size;

	switch (p) {
	case 0: outl(VCPRR_PORT_HYPERCALL, 0xfff00000u); break;
	case 1: outl(VCPRR_PORT_HYPERCALL, (u32)(u64)&hc + 3); break;
	case 2: vcprr_hypercall(0x7777, 1, 2, 3); break;
	case 3: vcprr_hypercall(VCPRR_HC_LOG, 0xf0000000ull, 16, 0); break;
	case 4: vcprr_hypercall(VCPRR_HC_LOG, 0x100000, 1ull << 30, 0); break;
	case 5: vcprr_hypercall(VCPRR_HC_WRITE, 0x100000, 1ull << 30, 0); break;
	case 6:
		memset((void *)(end - 8), 'x', 8);
		vcprr_hypercall(VCPRR_HC_ASSERT, end - 8, end - 4, 1);
		break;
	case 7: inl(VCPRR_PORT_HYPERCALL); break;
	case 8: outb(VCPRR_PORT_HYPERCALL, 1); break;
	}
	printf("hypercall attack %llu returned\n", p);
}

static void instr(int vcpu, u64 p)
{
	switch (p) {
	case 0: __asm__ volatile("rdmsr" :: "c"(0x12345678u) : "rax", "rdx"); break;
	case 1: __asm__ volatile("wrmsr" :: "c"(0xc0000080u), "a"(0), "d"(0)); break;
	case 2: __asm__ volatile("int3"); break;
	case 3: __asm__ volatile("cli; hlt"); break;
	case 4: __asm__ volatile("mov %0, %%cr3" :: "r"(0x7ffff000ull) : "memory"); break;
	case 5: {
		static const struct { u64 off; u16 sel; } __attribute__((packed))
			far = { 0x100000, 0x78 };
		__asm__ volatile("rex64 ljmp *%0" :: "m"(far));
		break;
	}
	}
	if (vcpu == 0)
		printf("instruction attack %llu returned\n", p);
}

static void late(int vcpu, u64 p)
{
	static volatile u64 spins;

	if (vcpu == 0)
		for (;;)
			spins++;
	for (u64 i = 0; i < p * 1000; i++)
		barrier();
	__asm__ volatile("ud2");
}

int main(int vcpu)
{
	u64 a = vcprr_arg(), p = a >> 8;
	unsigned attack = a & 0xff;

	if (attack == 5 && p == 3)
		instr(vcpu, p);      /* every VCPU halts */
	if (attack == 6)
		late(vcpu, p);
	if (vcpu != 0)
		return 0;
	switch (attack) {
	case 0: garbage(p); break;
	case 1: pio(p); break;
	case 2: mmio(p); break;
	case 3: pgtables(p); break;
	case 4: hcall(p); break;
	case 5: instr(vcpu, p); break;
	default: printf("no attack %u\n", attack); return 1;
	}
	return 0;
}
