/* vcprr guest runtime: the one header guest programs include.
 *
 * A guest defines `int main(int vcpu)`.  Every VCPU starts in 64-bit long
 * mode at _start with its own 32 KiB stack and calls main with its id.  Returning from
 * main ends that VCPU; the run ends when every VCPU has returned (exit
 * status: the first non-zero return value, else 0) or when any VCPU calls
 * vcprr_exit() (or exit()).
 *
 * Guests are freestanding C: no libc, no system calls, no interrupts.  The
 * runtime gives the C11 freestanding headers (<stdint.h>, <stddef.h>,
 * <stdbool.h>, <stdatomic.h>, <stdarg.h> ... from the compiler), a libc
 * subset under its own <string.h>, <stdlib.h>, <stdio.h> and <assert.h>
 * (what they declare is all there is), the hypercalls below, and the locks
 * of <vcprr_sync.h>.  x87, SSE and (where the host has it) AVX are
 * enabled.  Everything here is safe to call from any VCPU at any time. */
#ifndef VCPRR_GUEST_H
#define VCPRR_GUEST_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"

/* Short names (u64 is unsigned long long, printed with %llu). */
typedef unsigned char      u8;
typedef unsigned short     u16;
typedef unsigned int       u32;
typedef unsigned long long u64;

int main(int vcpu);

/* Hypercalls.  Each is one VM exit, so also a scheduling point of the
 * serial and step schedulers. */
unsigned long long vcprr_hypercall(unsigned long long nr, unsigned long long a0,
				   unsigned long long a1, unsigned long long a2);
__attribute__((noreturn)) void vcprr_exit(int code);  /* ends the whole VM */
__attribute__((noreturn)) void vcprr_assert_fail(const char *expr,
						 const char *file, int line);
void vcprr_log(const char *msg);  /* a GUEST_LOG event in the trace */
void vcprr_yield(void);           /* let another VCPU run (serial, step) */
int vcprr_vcpu_id(void);
int vcprr_nr_vcpus(void);

#define vcprr_assert(e) \
	((e) ? (void)0 : vcprr_assert_fail(#e, __FILE__, __LINE__))

/* The boot info the VMM wrote before the start: reading it is no exit. */
static inline const struct vcprr_boot_info *vcprr_boot_info(void)
{
	return (const struct vcprr_boot_info *)VCPRR_BOOT_INFO_ADDR;
}

/* The command line's input (vcprr run GUEST --arg N ... --data FILE),
 * which the VMM wrote before the start and a trace records: reading it is
 * no VM exit.  vcprr_arg() is the first --arg (0 when absent),
 * vcprr_argv(i) the i-th from 0 (0 when i >= vcprr_argc()). */
static inline u64 vcprr_arg(void) { return vcprr_boot_info()->arg; }
static inline unsigned vcprr_argc(void)
{
	u64 n = vcprr_boot_info()->argc;

	return n < VCPRR_MAX_ARGS ? (unsigned)n : VCPRR_MAX_ARGS;
}
static inline u64 vcprr_argv(unsigned i)
{
	return i < vcprr_argc() ? vcprr_boot_info()->argv[i] : 0;
}

/* The bytes of --data FILE (at most VCPRR_DATA_MAX), at VCPRR_DATA_ADDR;
 * *len (when len is not NULL) gets their number, 0 without --data.  The
 * memory is the guest's like any other: treat it as read-only. */
static inline const void *vcprr_data(size_t *len)
{
	u64 n = vcprr_boot_info()->data_len;

	if (len)
		*len = n < VCPRR_DATA_MAX ? (size_t)n : VCPRR_DATA_MAX;
	return (const void *)VCPRR_DATA_ADDR;
}

/* This VCPU's id, computed from the stack pointer: no VM exit (unlike
 * vcprr_vcpu_id()), so no scheduling point either. */
int vcprr_this_vcpu(void);

/* Per-VCPU data: VCPRR_PER_VCPU(type, name) defines one cache-line
 * aligned slot per VCPU; vcprr_this(name) is this VCPU's, vcprr_of(name,
 * i) VCPU i's.  (_Thread_local is not available: the link fails.) */
#define VCPRR_PER_VCPU(type, name) \
	struct { type v; } __attribute__((aligned(64))) name[VCPRR_MAX_VCPUS]
#define vcprr_of(name, i) ((name)[(i)].v)
#define vcprr_this(name)  vcprr_of(name, vcprr_this_vcpu())

/* Port I/O. */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* Shorthands over the compiler's atomics (sequentially consistent) on
 * plain objects, next to <stdatomic.h>'s: atomic_add returns the new
 * value, atomic_cas whether it swapped. */
#define atomic_add(p, v)      __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define atomic_xchg(p, v)     __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define atomic_cas(p, old, new) \
	({ __typeof__(*(p)) __o = (old); \
	   __atomic_compare_exchange_n((p), &__o, (new), 0, \
				       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); })
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

#include "vcprr_sync.h"

#endif
