/* Guest runtime: hypercall wrappers, a tiny printf, string helpers. */
#include <stdarg.h>
#include "vcprr_guest.h"

unsigned long long vcprr_hypercall(unsigned long long nr, unsigned long long a0,
				   unsigned long long a1, unsigned long long a2)
{
	volatile struct vcprr_hc hc = { .nr = nr, .arg = { a0, a1, a2 } };

	/* The stack is identity-mapped and below 4 GiB, so its address fits. */
	outl(VCPRR_PORT_HYPERCALL, (u32)(unsigned long)&hc);
	return hc.ret;
}

void vcprr_exit(int code)
{
	vcprr_hypercall(VCPRR_HC_EXIT, (unsigned)code, 0, 0);
	for (;;)
		__asm__ volatile("hlt");
}

void vcprr_assert_fail(const char *expr, const char *file, int line)
{
	vcprr_hypercall(VCPRR_HC_ASSERT, (unsigned long)expr, (unsigned long)file,
			(unsigned)line);
	for (;;)
		__asm__ volatile("hlt");
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

void *memset(void *d, int c, size_t n)
{
	u8 *p = d;

	while (n--)
		*p++ = (u8)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	u8 *p = d;
	const u8 *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

void vcprr_log(const char *msg)
{
	vcprr_hypercall(VCPRR_HC_LOG, (unsigned long)msg, strlen(msg), 0);
}

void vcprr_yield(void) { vcprr_hypercall(VCPRR_HC_YIELD, 0, 0, 0); }
int vcprr_vcpu_id(void) { return (int)vcprr_hypercall(VCPRR_HC_VCPU_ID, 0, 0, 0); }
int vcprr_nr_vcpus(void) { return (int)vcprr_hypercall(VCPRR_HC_NR_VCPUS, 0, 0, 0); }

void vcprr_start(unsigned long vcpu, unsigned long nr_vcpus)
{
	int rc = main((int)vcpu);

	(void)nr_vcpus;
	vcprr_hypercall(VCPRR_HC_DONE, (unsigned)rc, 0, 0);
}

/* --- printf ---------------------------------------------------------- */

struct out { char *buf; size_t size, len; };

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_num(struct out *o, unsigned long long v, unsigned base,
		    int neg, int width, char pad)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	while (width-- > n)
		put(o, pad);
	while (n)
		put(o, tmp[--n]);
}

static int format(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		int lng = 0, width = 0;
		char pad = ' ';

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case 'd': {
			long long v = lng ? va_arg(ap, long long) : va_arg(ap, int);
			put_num(&o, v < 0 ? -(unsigned long long)v : (unsigned long long)v,
				10, v < 0, width, pad);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v = lng ? va_arg(ap, unsigned long long)
						   : va_arg(ap, unsigned);
			put_num(&o, v, *fmt == 'x' ? 16 : 10, 0, width, pad);
			break;
		}
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_num(&o, (unsigned long)va_arg(ap, void *), 16, 0, width, pad);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			while (s && *s)
				put(&o, *s++);
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case '%':
			put(&o, '%');
			break;
		default:
			return -1;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = format(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = format(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return n;
	vcprr_hypercall(VCPRR_HC_WRITE, (unsigned long)buf,
			n < (int)sizeof(buf) ? (unsigned)n : sizeof(buf) - 1, 0);
	return n;
}

void puts(const char *s)
{
	vcprr_hypercall(VCPRR_HC_WRITE, (unsigned long)s, strlen(s), 0);
	vcprr_hypercall(VCPRR_HC_WRITE, (unsigned long)"\n", 1, 0);
}
