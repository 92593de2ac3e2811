/* vcprr guest runtime: the <stdlib.h> subset it implements.
 *
 * The allocator serves every VCPU from one arena per VM: the guest memory
 * between the end of the image (and the VCPUs' thread-local blocks) and
 * the lowest VCPU stack.  Blocks are powers of two (16 bytes of header
 * included), kept on free lists by size under one spinlock that yields;
 * malloc returns NULL when the arena is exhausted, free(NULL) does
 * nothing, and freeing a pointer malloc did not return, or freeing twice,
 * fails a guest assertion.  Deterministic: under the serial and step
 * schedulers the same schedule gives the same addresses. */
#ifndef VCPRR_LIBC_STDLIB_H
#define VCPRR_LIBC_STDLIB_H

#include <stddef.h>

void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void *aligned_alloc(size_t align, size_t size);
int posix_memalign(void **p, size_t align, size_t size);
void free(void *p);

/* exit() ends the whole VM with @code (vcprr_exit); abort() is a failed
 * guest assertion "abort()". */
__attribute__((noreturn)) void exit(int code);
__attribute__((noreturn)) void abort(void);

static inline int abs(int v) { return v < 0 ? -v : v; }
static inline long labs(long v) { return v < 0 ? -v : v; }
static inline long long llabs(long long v) { return v < 0 ? -v : v; }

#endif
