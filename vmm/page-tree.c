/* Persistent radix trees of page copies (see page-tree.h).
 *
 * The root is at level `levels - 1`; a node at level 0 (a bottom node)
 * holds page copies, one per bit of a bitmap word, so bottom node w holds
 * pages 64w .. 64w + 63 and is reached through the digits of w in base 64.
 * A reference count is the number of slots and trees pointing at a node or
 * copy.  An update path-copies: it clones every node on the way to a
 * changed page, unless it made that node itself (its gen). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/page-tree.h"

#define FANOUT 64

struct page_copy {
	uint8_t data[PAGE_TREE_PAGE];
	uint32_t refs;
};

struct page_node {
	uint32_t refs;
	uint64_t gen;
	void *slot[FANOUT];  /* page_node above level 0, page_copy at it */
};

void page_pool_init(struct page_pool *p, uint64_t npages)
{
	uint64_t span = FANOUT;

	memset(p, 0, sizeof(*p));
	p->npages = npages;
	p->levels = 1;
	while (span < npages) {
		span *= FANOUT;
		p->levels++;
	}
}

void page_pool_release(struct page_pool *p)
{
	while (p->spare) {
		struct page_copy *c = p->spare;

		memcpy(&p->spare, c->data, sizeof(p->spare));
		free(c);
	}
	p->nspare = 0;
}

static struct page_copy *copy_new(struct page_pool *p)
{
	struct page_copy *c = p->spare;

	if (c) {
		memcpy(&p->spare, c->data, sizeof(p->spare));
		p->nspare--;
	} else if (!(c = malloc(sizeof(*c)))) {
		return NULL;
	}
	c->refs = 1;
	p->bytes += sizeof(*c);
	p->copies++;
	return c;
}

static void copy_put(struct page_pool *p, struct page_copy *c)
{
	if (!c || --c->refs)
		return;
	p->bytes -= sizeof(*c);
	p->copies--;
	if (p->nspare == PAGE_POOL_SPARES) {
		free(c);
		return;
	}
	memcpy(c->data, &p->spare, sizeof(p->spare));  /* the list's link */
	p->spare = c;
	p->nspare++;
}

static void node_put(struct page_pool *p, struct page_node *n, unsigned level)
{
	if (!n || --n->refs)
		return;
	for (int i = 0; i < FANOUT; i++) {
		if (level)
			node_put(p, n->slot[i], level - 1);
		else
			copy_put(p, n->slot[i]);
	}
	free(n);
	p->bytes -= sizeof(*n);
}

struct page_tree page_tree_get(const struct page_tree *t)
{
	if (t->root)
		t->root->refs++;
	return *t;
}

void page_tree_put(struct page_pool *p, struct page_tree *t)
{
	node_put(p, t->root, p->levels - 1);
	t->root = NULL;
}

/* The node at *at, made by this update: a clone of the one there (which
 * keeps its other owners), or a new empty one. */
static struct page_node *own(struct page_pool *p, struct page_node **at,
			     unsigned level)
{
	struct page_node *n = *at, *c;

	if (n && n->gen == p->gen)
		return n;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	p->bytes += sizeof(*c);
	c->refs = 1;
	c->gen = p->gen;
	if (n) {
		memcpy(c->slot, n->slot, sizeof(c->slot));
		for (int i = 0; i < FANOUT; i++) {
			if (!c->slot[i])
				continue;
			if (level)
				((struct page_node *)c->slot[i])->refs++;
			else
				((struct page_copy *)c->slot[i])->refs++;
		}
		node_put(p, n, level);
	}
	*at = c;
	return c;
}

static unsigned digit(uint64_t word, unsigned level)
{
	return (word >> (6 * (level - 1))) % FANOUT;
}

/* Bottom node `word` of the tree at *root, made by this update. */
static struct page_node *own_path(struct page_pool *p, struct page_node **root,
				  uint64_t word)
{
	struct page_node **at = root;

	for (unsigned level = p->levels - 1;; level--) {
		struct page_node *n = own(p, at, level);

		if (!n || level == 0)
			return n;
		at = (struct page_node **)&n->slot[digit(word, level)];
	}
}

static bool page_is_zero(const uint8_t *page)
{
	const uint64_t *w = (const uint64_t *)page;
	uint64_t any = 0;

	for (unsigned i = 0; i < PAGE_TREE_PAGE / 8; i++)
		any |= w[i];
	return !any;
}

static int set_page(struct page_pool *p, struct page_node *bottom, unsigned i,
		    const uint8_t *src)
{
	struct page_copy *old = bottom->slot[i], *c = NULL;

	if (old ? !memcmp(old->data, src, PAGE_TREE_PAGE) : page_is_zero(src))
		return 0;  /* written, but as it was */
	if (!page_is_zero(src)) {
		c = copy_new(p);
		if (!c)
			return -ENOMEM;
		memcpy(c->data, src, PAGE_TREE_PAGE);
	}
	bottom->slot[i] = c;
	copy_put(p, old);
	return 0;
}

int page_tree_update(struct page_pool *p, const struct page_tree *base,
		     const uint64_t *pages, const uint8_t *mem,
		     struct page_tree *out)
{
	struct page_tree t = page_tree_get(base);
	uint64_t words = (p->npages + 63) / 64;

	p->gen++;
	for (uint64_t w = 0; w < words; w++) {
		struct page_node *bottom;
		uint64_t bits = pages[w];

		if (!bits)
			continue;
		bottom = own_path(p, &t.root, w);
		if (!bottom)
			goto nomem;
		for (; bits; bits &= bits - 1) {
			unsigned i = __builtin_ctzll(bits);
			uint64_t page = w * 64 + i;

			if (page >= p->npages)
				break;
			if (set_page(p, bottom, i, mem + page * PAGE_TREE_PAGE))
				goto nomem;
		}
	}
	*out = t;
	return 0;
nomem:
	page_tree_put(p, &t);
	return -ENOMEM;
}

/* Nodes a and b at `level`, covering bottom nodes from `first` on. */
static void diff(const struct page_node *a, const struct page_node *b,
		 unsigned level, uint64_t first, uint64_t *pages)
{
	uint64_t span = 1;

	if (a == b)
		return;
	for (unsigned l = 1; l < level; l++)
		span *= FANOUT;
	for (unsigned i = 0; i < FANOUT; i++) {
		const void *x = a ? a->slot[i] : NULL, *y = b ? b->slot[i] : NULL;

		if (x == y)
			continue;
		if (level == 0)
			pages[first] |= 1ull << i;
		else
			diff(x, y, level - 1, first + i * span, pages);
	}
}

void page_tree_diff(const struct page_pool *p, const struct page_tree *a,
		    const struct page_tree *b, uint64_t *pages)
{
	diff(a->root, b->root, p->levels - 1, 0, pages);
}

static const struct page_node *bottom_of(const struct page_pool *p,
					 const struct page_tree *t, uint64_t word)
{
	const struct page_node *n = t->root;

	for (unsigned level = p->levels - 1; n && level > 0; level--)
		n = n->slot[digit(word, level)];
	return n;
}

uint64_t page_tree_write(const struct page_pool *p, const struct page_tree *t,
			 const uint64_t *pages, uint8_t *mem)
{
	uint64_t words = (p->npages + 63) / 64, written = 0;

	for (uint64_t w = 0; w < words; w++) {
		const struct page_node *bottom;
		uint64_t bits = pages[w];

		if (!bits)
			continue;
		bottom = bottom_of(p, t, w);
		for (; bits; bits &= bits - 1) {
			unsigned i = __builtin_ctzll(bits);
			uint64_t page = w * 64 + i;
			const struct page_copy *c = bottom ? bottom->slot[i] : NULL;
			uint8_t *dst = mem + page * PAGE_TREE_PAGE;

			if (page >= p->npages)
				break;
			if (c)
				memcpy(dst, c->data, PAGE_TREE_PAGE);
			else
				memset(dst, 0, PAGE_TREE_PAGE);
			written++;
		}
	}
	return written;
}
