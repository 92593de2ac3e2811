/* Guest memory of snapshots: each snapshot's memory is a persistent
 * (copy-on-write) radix tree from page number to a 4 KiB copy of the page,
 * and trees share every subtree and page copy that did not change between
 * them.  So a snapshot costs the pages written since the one it derives
 * from, plus the few tree nodes above them; an all-zero page costs nothing
 * (an empty slot); two trees differ only where their pointers do, so what
 * to write back to go from one to the other is found without reading the
 * pages that did not change.
 *
 * A tree has 64 slots per node (one 64-bit word of a page bitmap per
 * bottom node).  Nodes and copies are reference counted; a pool holds the
 * shape and the accounting for the trees of one guest memory.  Not
 * thread-safe: one thread uses a pool and its trees. */
#ifndef VCPRR_VMM_PAGE_TREE_H
#define VCPRR_VMM_PAGE_TREE_H

#include <stddef.h>
#include <stdint.h>

#define PAGE_TREE_PAGE 4096u

struct page_node;

struct page_pool {
	uint64_t npages;      /* pages of the guest memory */
	unsigned levels;      /* of nodes: 64^levels >= npages */
	uint64_t gen;         /* updates so far: a node made by the current
				 one may be changed in place */
	size_t bytes;         /* memory held by nodes and page copies */
	uint64_t copies;      /* page copies held */
	/* Copies no tree holds any more, kept (up to PAGE_POOL_SPARES) for
	 * the next ones: new memory costs a page fault per page. */
	void *spare;
	unsigned nspare;
};

#define PAGE_POOL_SPARES 4096u  /* 16 MiB */

/* A version of the memory: NULL root, every page zero. */
struct page_tree {
	struct page_node *root;
};

void page_pool_init(struct page_pool *p, uint64_t npages);
/* Frees the spare copies (the trees must be gone). */
void page_pool_release(struct page_pool *p);

/* @out = @base with every page of the bitmap @pages (bit n: page n)
 * replaced by the content of that page of @mem (npages * 4 KiB): a copy,
 * or nothing for an all-zero page; a page whose content did not change
 * keeps the copy it had.  @base is unchanged (it may be @out's old value,
 * then the caller puts it).  0, or -ENOMEM with *out unchanged. */
int page_tree_update(struct page_pool *p, const struct page_tree *base,
		     const uint64_t *pages, const uint8_t *mem,
		     struct page_tree *out);

/* Another reference to @t (for a second owner); and dropping one. */
struct page_tree page_tree_get(const struct page_tree *t);
void page_tree_put(struct page_pool *p, struct page_tree *t);

/* Sets in @pages the bit of every page that may differ between @a and @b
 * (their copies are not the same one).  Costs the changed subtrees only. */
void page_tree_diff(const struct page_pool *p, const struct page_tree *a,
		    const struct page_tree *b, uint64_t *pages);

/* Writes @t's content of every page in the bitmap @pages into @mem.
 * Returns the number of pages written. */
uint64_t page_tree_write(const struct page_pool *p, const struct page_tree *t,
			 const uint64_t *pages, uint8_t *mem);

#endif
