/* The allocator: one arena per VM, shared by every VCPU (rt_heap_start()
 * to rt_heap_end()).  Blocks are powers of two carved from the arena's
 * bottom, and go to a free list per size when freed, for malloc to take
 * again; one spinlock guards the lists and the carving point.  A header
 * of 16 bytes before each pointer says the block's size and where the
 * block starts (aligned_alloc puts the pointer further in). */
#include "rt.h"
#include "vcprr_guest.h"

#define HDR        16u
#define MIN_CLASS  5     /* 32-byte blocks */
#define NR_CLASSES 40    /* the largest, 2^39, is beyond any guest memory */
#define MAGIC_USED 0x6b6f6c62u
#define MAGIC_FREE 0x65657266u

struct hdr {
	u32 magic;
	u32 class;
	u64 offset;      /* from the block's start to the pointer */
};

struct free_block {  /* a free block: its link after the header's magic */
	u64 pad;
	struct free_block *next;
};

static vcprr_spinlock_t lock = VCPRR_SPINLOCK_INIT;
static struct free_block *free_list[NR_CLASSES];
static uintptr_t top;  /* carving point; 0: the arena's start */

static unsigned class_of(size_t need)
{
	unsigned c = MIN_CLASS;

	while (c < NR_CLASSES && ((size_t)1 << c) < need)
		c++;
	return c;
}

static void *take_block(unsigned c)
{
	uintptr_t end, start;
	void *b = NULL;

	vcprr_spin_lock(&lock);
	if (free_list[c]) {
		b = free_list[c];
		free_list[c] = free_list[c]->next;
		goto out;
	}
	start = top ? top : rt_heap_start();
	end = start + ((uintptr_t)1 << c);
	if (end > rt_heap_end() || end < start)
		goto out;
	top = end;
	b = (void *)start;
out:
	vcprr_spin_unlock(&lock);
	return b;
}

/* A block for @size bytes at a multiple of @align (a power of two). */
static void *alloc(size_t size, size_t align)
{
	size_t need = size + HDR + (align > HDR ? align : 0);
	unsigned c;
	char *b, *p;
	struct hdr *h;

	if (need < size || (c = class_of(need)) >= NR_CLASSES)
		return NULL;
	b = take_block(c);
	if (!b)
		return NULL;
	p = b + HDR;
	if (align > HDR)
		p = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	h = (struct hdr *)(p - HDR);
	*h = (struct hdr){ .magic = MAGIC_USED, .class = c,
			   .offset = (u64)(p - b) };
	return p;
}

/* The header of @p, given to free() or realloc(): a bad one fails an
 * assertion that says what is wrong. */
static struct hdr *header(void *p)
{
	struct hdr *h = (struct hdr *)((char *)p - HDR);

	if ((uintptr_t)p < rt_heap_start() + HDR || (uintptr_t)p >= rt_heap_end())
		vcprr_assert_fail("free/realloc: a pointer outside the heap",
				  __FILE__, __LINE__);
	if (h->magic == MAGIC_FREE)
		vcprr_assert_fail("free/realloc: a block freed already",
				  __FILE__, __LINE__);
	if (h->magic != MAGIC_USED || h->class >= NR_CLASSES)
		vcprr_assert_fail("free/realloc: not a pointer malloc returned",
				  __FILE__, __LINE__);
	return h;
}

void *malloc(size_t size)
{
	return alloc(size, HDR);
}

void *aligned_alloc(size_t align, size_t size)
{
	if (!align || (align & (align - 1)))
		return NULL;
	return alloc(size, align);
}

int posix_memalign(void **p, size_t align, size_t size)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return 22;  /* EINVAL */
	*p = alloc(size, align);
	return *p ? 0 : 12;  /* ENOMEM */
}

void *calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > (size_t)-1 / size)
		return NULL;
	p = malloc(n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

void free(void *p)
{
	struct hdr *h;
	struct free_block *b;

	if (!p)
		return;
	h = header(p);
	b = (struct free_block *)((char *)p - h->offset);
	h->magic = MAGIC_FREE;
	vcprr_spin_lock(&lock);
	b->next = free_list[h->class];
	free_list[h->class] = b;
	vcprr_spin_unlock(&lock);
}

void *realloc(void *p, size_t size)
{
	struct hdr *h;
	size_t room;
	void *q;

	if (!p)
		return malloc(size);
	h = header(p);
	room = ((size_t)1 << h->class) - h->offset;
	if (size <= room)
		return p;
	q = malloc(size);
	if (!q)
		return NULL;
	memcpy(q, p, room);
	free(p);
	return q;
}
