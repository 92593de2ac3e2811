/* The <string.h> subset.  Built with -fno-tree-loop-distribute-patterns:
 * the compiler would otherwise turn these very loops into calls to
 * themselves.  Copies go by 8 bytes when both sides are aligned, which
 * matters under single-stepping (one step per instruction). */
#define VCPRR_RUNTIME
#include "vcprr_guest.h"

typedef u64 __attribute__((may_alias)) word;

static bool aligned(const void *a, const void *b)
{
	return !(((uintptr_t)a | (uintptr_t)b) & 7);
}

void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
	u8 *p = d;
	const u8 *q = s;

	if (aligned(p, q))
		for (; n >= 8; n -= 8, p += 8, q += 8)
			*(word *)p = *(const word *)q;
	while (n--)
		*p++ = *q++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	u8 *p = d;
	const u8 *q = s;

	if (p <= q || p >= q + n)
		return memcpy(d, s, n);
	while (n--)  /* overlapping, destination above: from the end */
		p[n] = q[n];
	return d;
}

void *memset(void *d, int c, size_t n)
{
	u8 *p = d;

	if (aligned(p, p)) {
		word w = 0x0101010101010101ull * (u8)c;

		for (; n >= 8; n -= 8, p += 8)
			*(word *)p = w;
	}
	while (n--)
		*p++ = (u8)c;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p < *q ? -1 : 1;
	return 0;
}

void *memchr(const void *s, int c, size_t n)
{
	const u8 *p = s;

	for (; n; n--, p++)
		if (*p == (u8)c)
			return (void *)p;
	return NULL;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	return strncmp(a, b, (size_t)-1);
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (u8)*a < (u8)*b ? -1 : 1;
		if (!*a)
			break;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

char *strcpy(char *restrict d, const char *restrict s)
{
	return memcpy(d, s, strlen(s) + 1);
}
