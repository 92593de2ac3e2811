/* cpustate: the CPU state a snapshot must put back.  Each VCPU first checks
 * that its state is the one a new VM starts with -- XMM registers, MXCSR,
 * the x87 control and status words and stack, CR4.OSXSAVE, FS/GS/kernel GS
 * bases, TSC_AUX (with RDTSCP), LSTAR, STAR, DR0, its MMIO scratch register -- then sets
 * every one of them to values derived from a seed (--arg, or the random
 * port when it is 0; the x87/SSE state through fxrstor, which KVM's
 * instruction emulator also knows), sets XCR0 to x87|SSE through
 * CR4.OSXSAVE (checked by the test), yields to the other VCPUs a few times, and checks that
 * everything held.
 * It leaves the values set: a VM reset to its start that did not put one
 * of them back fails the next run's first check.  Then VCPU 0 ends the run
 * while the others read their scratch register: they leave in the middle
 * of an MMIO read, which KVM finishes on the next KVM_RUN. */
#include "vcprr_guest.h"

#define MSR_STAR           0xc0000081u
#define MSR_LSTAR          0xc0000082u
#define MSR_FS_BASE        0xc0000100u
#define MSR_GS_BASE        0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_TSC_AUX        0xc0000103u
#define CR4_OSXSAVE        (1ull << 18)

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (u64)hi << 32 | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" :: "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

static inline u64 read_cr4(void)
{
	u64 v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline u64 read_dr0(void)
{
	u64 v;

	__asm__ volatile("mov %%dr0, %0" : "=r"(v));
	return v;
}

static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
			 : "a"(leaf), "c"(0));
}


/* The x87/SSE state image of fxsave/fxrstor (which even an instruction
 * emulator has, unlike stmxcsr or fld). */
struct fxstate {
	u16 fcw, fsw;
	u8 ftw, pad0;
	u16 fop;
	u64 fip, fdp;
	u32 mxcsr, mxcsr_mask;
	u8 st[8][16];
	u64 xmm[16][2];
	u8 rest[96];
} __attribute__((aligned(16)));

static void fxsave(struct fxstate *f)
{
	__asm__ volatile("fxsaveq (%0)" :: "r"(f) : "memory");
}

static void fxrstor(const struct fxstate *f)
{
	__asm__ volatile("fxrstorq (%0)" :: "r"(f) : "memory");
}

/* TSC_AUX exists with RDTSCP or RDPID. */
static int have_tsc_aux(void)
{
	u32 a, b, c, d;

	cpuid(0x80000000u, &a, &b, &c, &d);
	if (a >= 0x80000001u) {
		cpuid(0x80000001u, &a, &b, &c, &d);
		if ((d >> 27) & 1)
			return 1;
	}
	cpuid(0, &a, &b, &c, &d);
	if (a < 7)
		return 0;
	cpuid(7, &a, &b, &c, &d);
	return (c >> 22) & 1;
}

static int have_xsave(void)
{
	u32 a, b, c, d;

	cpuid(1, &a, &b, &c, &d);
	return (c >> 26) & 1;
}

/* XCR0 = x87 | SSE, which needs CR4.OSXSAVE. */
static void enable_xsave(void)
{
	u64 cr4 = read_cr4() | CR4_OSXSAVE;

	__asm__ volatile("mov %0, %%cr4" :: "r"(cr4));
	__asm__ volatile("xsetbv" :: "c"(0), "a"(3), "d"(0));
}

static void check_start(int vcpu)
{
	volatile u64 *scratch = (volatile u64 *)VCPRR_MMIO_BASE;
	struct fxstate f;

	fxsave(&f);
	for (int i = 0; i < 16; i++)
		assert(f.xmm[i][0] == 0 && f.xmm[i][1] == 0);
	assert(f.mxcsr == 0x1f80);
	assert(f.fcw == 0x37f);
	assert(f.fsw == 0 && f.ftw == 0);
	assert(!(read_cr4() & CR4_OSXSAVE));
	assert(rdmsr(MSR_FS_BASE) == 0);
	assert(rdmsr(MSR_GS_BASE) == 0);
	assert(rdmsr(MSR_KERNEL_GS_BASE) == 0);
	assert(!have_tsc_aux() || rdmsr(MSR_TSC_AUX) == 0);
	assert(rdmsr(MSR_LSTAR) == 0);
	assert(rdmsr(MSR_STAR) == 0);
	assert(read_dr0() == 0);
	assert(scratch[vcpu % 8] == 0);
}

/* The x87/SSE image that set_all loads for v. */
static void fx_for(struct fxstate *f, u64 v)
{
	memset(f, 0, sizeof(*f));
	f->fcw = 0x27f;                  /* double precision */
	f->fsw = 7 << 11;                /* one value pushed: TOP = 7 */
	f->ftw = 0x80;                   /* st(0) (register 7) in use */
	f->mxcsr = 0x1f80 | 0x6000;      /* round toward zero */
	for (int i = 0; i < 8; i++)
		f->st[7][i] = (u8)(v >> (8 * i));
	f->st[7][8] = 0xff;
	f->st[7][9] = 0x3f;              /* exponent: a normal number */
	for (int i = 0; i < 16; i++) {
		f->xmm[i][0] = v + i;
		f->xmm[i][1] = ~(v + i);
	}
}

/* Everything set from v; checked by check_set. */
static void set_all(int vcpu, u64 v)
{
	volatile u64 *scratch = (volatile u64 *)VCPRR_MMIO_BASE;
	struct fxstate f;

	fx_for(&f, v);
	fxrstor(&f);
	wrmsr(MSR_FS_BASE, v & 0x7fffffffffffull);
	wrmsr(MSR_GS_BASE, (v >> 8) & 0x7fffffffffffull);
	wrmsr(MSR_KERNEL_GS_BASE, (v >> 16) & 0x7fffffffffffull);
	if (have_tsc_aux())
		wrmsr(MSR_TSC_AUX, (u32)v);
	wrmsr(MSR_LSTAR, (v >> 4) & 0x7fffffffffffull);
	wrmsr(MSR_STAR, v & 0xffffffff00000000ull);
	__asm__ volatile("mov %0, %%dr0" :: "r"(v & 0x7ffffffffff8ull));
	scratch[vcpu % 8] = v;
	if (have_xsave())
		enable_xsave();
}

static void check_set(int vcpu, u64 v)
{
	volatile u64 *scratch = (volatile u64 *)VCPRR_MMIO_BASE;
	struct fxstate f, want;

	fxsave(&f);
	fx_for(&want, v);
	for (int i = 0; i < 16; i++)
		assert(f.xmm[i][0] == want.xmm[i][0] &&
		       f.xmm[i][1] == want.xmm[i][1]);
	assert(f.mxcsr == want.mxcsr);
	assert(f.fcw == want.fcw);
	assert(f.fsw == want.fsw);
	assert(f.ftw == want.ftw);
	for (int i = 0; i < 10; i++)
		assert(f.st[7][i] == want.st[7][i]);
	assert(rdmsr(MSR_FS_BASE) == (v & 0x7fffffffffffull));
	assert(rdmsr(MSR_GS_BASE) == ((v >> 8) & 0x7fffffffffffull));
	assert(rdmsr(MSR_KERNEL_GS_BASE) == ((v >> 16) & 0x7fffffffffffull));
	assert(!have_tsc_aux() || rdmsr(MSR_TSC_AUX) == (u32)v);
	assert(rdmsr(MSR_LSTAR) == ((v >> 4) & 0x7fffffffffffull));
	assert(rdmsr(MSR_STAR) == (v & 0xffffffff00000000ull));
	assert(read_dr0() == (v & 0x7ffffffffff8ull));
	assert(scratch[vcpu % 8] == v);
	/* XCR0 is read back by the test (KVM_GET_XCRS): an instruction
	 * emulator may know xsetbv and not xgetbv. */
}

static u32 checked;

int main(int vcpu)
{
	volatile u64 *scratch = (volatile u64 *)VCPRR_MMIO_BASE;
	u64 seed = vcprr_arg() ? vcprr_arg() : inl(VCPRR_PORT_RANDOM);
	u64 v = (seed * 0x9e3779b97f4a7c15ull + (u64)vcpu) | 1;
	u64 sink = 0;

	check_start(vcpu);
	set_all(vcpu, v);
	for (int i = 0; i < 3; i++)
		vcprr_yield();
	check_set(vcpu, v);
	printf("cpustate: vcpu %d set %llx\n", vcpu, v);
	atomic_add(&checked, 1);
	if (vcpu != 0)  /* until the exit stops it inside an MMIO read */
		for (;;)
			sink += scratch[vcpu % 8];
	while (atomic_load(&checked) != (u32)vcprr_nr_vcpus())
		vcprr_yield();
	vcprr_exit((int)(sink & 0));
}
