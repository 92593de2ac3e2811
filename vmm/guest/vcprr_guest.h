/* vcprr guest runtime: the one header guest programs include.
 *
 * A guest defines `int main(int vcpu)`.  Every VCPU starts in 64-bit long
 * mode at _start with its own stack and calls main with its id.  Returning
 * from main ends that VCPU; the run ends when every VCPU has returned (exit
 * status: the first non-zero return value, else 0) or when any VCPU calls
 * vcprr_exit().  Guests are freestanding: no libc, no SSE. */
#ifndef VCPRR_GUEST_H
#define VCPRR_GUEST_H

#include "abi.h"

typedef unsigned char      u8;
typedef unsigned short     u16;
typedef unsigned int       u32;
typedef unsigned long long u64;
typedef unsigned long      size_t;

int main(int vcpu);

/* Hypercalls. */
unsigned long long vcprr_hypercall(unsigned long long nr, unsigned long long a0,
				   unsigned long long a1, unsigned long long a2);
__attribute__((noreturn)) void vcprr_exit(int code);
__attribute__((noreturn)) void vcprr_assert_fail(const char *expr,
						 const char *file, int line);
void vcprr_log(const char *msg);
void vcprr_yield(void);
int vcprr_vcpu_id(void);
int vcprr_nr_vcpus(void);
/* The number given with `vcprr run --arg N` (0 when absent). */
static inline u64 vcprr_arg(void)
{
	return ((volatile struct vcprr_boot_info *)VCPRR_BOOT_INFO_ADDR)->arg;
}

#define vcprr_assert(e) \
	((e) ? (void)0 : vcprr_assert_fail(#e, __FILE__, __LINE__))
#define assert(e) ((e) ? (void)0 : vcprr_assert_fail(#e, __FILE__, __LINE__))

/* Console output: buffered per call, one exit per printf. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void puts(const char *s);
size_t strlen(const char *s);
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

/* Port I/O. */
static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* Atomics (sequentially consistent) and a spin hint. */
#define atomic_load(p)        __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define atomic_store(p, v)    __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define atomic_add(p, v)      __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define atomic_xchg(p, v)     __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define atomic_cas(p, old, new) \
	({ __typeof__(*(p)) __o = (old); \
	   __atomic_compare_exchange_n((p), &__o, (new), 0, \
				       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); })
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

#endif
