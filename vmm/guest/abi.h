/* The guest <-> VMM ABI: ports, the hypercall block and the memory layout.
 * Included by the guest runtime and by the VMM, so it is freestanding. */
#ifndef VCPRR_GUEST_ABI_H
#define VCPRR_GUEST_ABI_H

/* Guest-physical layout (identity-mapped, 2 MiB pages over the low 4 GiB). */
#define VCPRR_GDT_ADDR        0x1000ull
#define VCPRR_PML4_ADDR       0x2000ull
#define VCPRR_PDPT_ADDR       0x3000ull
#define VCPRR_PD_ADDR         0x4000ull   /* 4 page directories */
#define VCPRR_BOOT_INFO_ADDR  0x8000ull
#define VCPRR_DATA_ADDR       0x10000ull  /* vcprr run --data FILE's bytes */
#define VCPRR_IMAGE_MIN       0x100000ull /* guest images load at or above */
#define VCPRR_STACK_SIZE      0x8000ull   /* per VCPU, at the top of memory */
#define VCPRR_MAX_VCPUS       1024        /* VM_MAX_VCPUS */
#define VCPRR_MMIO_BASE       0xd0000000ull

/* What the command line passes (vcprr run --arg N ... --data FILE).  The
 * data travels in the trace header, hence its small size. */
#define VCPRR_MAX_ARGS        16          /* --arg given at most this often */
#define VCPRR_DATA_MAX        2048        /* bytes of --data */

/* I/O ports. */
#define VCPRR_PORT_CONSOLE    0x3f8  /* byte writes: console output */
#define VCPRR_PORT_HYPERCALL  0x500  /* 32-bit write: GPA of a vcprr_hc */
#define VCPRR_PORT_NULL       0x510  /* writes discarded, reads 0 (pio bench) */
#define VCPRR_PORT_RANDOM     0x520  /* reads: host randomness (a replay input) */

/* MMIO scratch device: 8 64-bit registers at VCPRR_MMIO_BASE. */
#define VCPRR_MMIO_SCRATCH_LEN 64

/* The boot info page, read-only for the guest.  Fields are only ever
 * added at its end, so a guest built against an older one still reads
 * its own. */
struct vcprr_boot_info {
	unsigned long long nr_vcpus;
	unsigned long long mem_size;
	unsigned long long arg;      /* the first --arg N (0 without) */
	unsigned long long argc;     /* how many --arg were given */
	unsigned long long argv[VCPRR_MAX_ARGS];  /* their values in order,
						     0 past argc */
	unsigned long long data_len; /* bytes of --data at VCPRR_DATA_ADDR */
};

enum vcprr_hypercall {
	VCPRR_HC_EXIT = 1,   /* arg0 = exit code: ends the whole VM */
	VCPRR_HC_DONE,       /* arg0 = main's return value: this VCPU is done */
	VCPRR_HC_ASSERT,     /* arg0 = expr, arg1 = file, arg2 = line */
	VCPRR_HC_LOG,        /* arg0 = text, arg1 = length */
	VCPRR_HC_WRITE,      /* arg0 = bytes, arg1 = length: console output */
	VCPRR_HC_YIELD,      /* a scheduling point; no effect in parallel mode */
	VCPRR_HC_VCPU_ID,    /* ret = this VCPU's id */
	VCPRR_HC_NR_VCPUS,   /* ret = number of VCPUs */
};

#define VCPRR_HC_MAX_TEXT 4096  /* longest string a hypercall may pass */

/* The guest fills this (on its stack) and writes its address to
 * VCPRR_PORT_HYPERCALL; the VMM reads the arguments and writes ret. */
struct vcprr_hc {
	unsigned long long nr;
	unsigned long long arg[3];
	unsigned long long ret;
};

#endif
