/* vcprr guest runtime: the <stdio.h> subset it implements.  Output goes to
 * the VM's console (line-buffered per VCPU by vcprr, one VM exit per
 * call); printf formats at most 511 bytes per call.  Conversions: d i u x
 * X c s p % with the l, ll and z lengths, a width and the 0 flag, and
 * a precision for s.  No floating point: the runtime itself is built
 * without FPU registers, so that it runs on every host. */
#ifndef VCPRR_LIBC_STDIO_H
#define VCPRR_LIBC_STDIO_H

#include <stdarg.h>
#include <stddef.h>

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int puts(const char *s);
int putchar(int c);

#endif
