/* Open-addressing hash map of 64-bit keys (see u64-map.h). */
#include <stdlib.h>

#include "tools/u64-map.h"

static size_t hash(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

static size_t find(const struct u64_map *m, uint64_t key)
{
	size_t i = hash(key, m->cap);

	while (m->used[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static int grow(struct u64_map *m)
{
	struct u64_map g = { .cap = m->cap ? m->cap * 2 : 64 };

	g.keys = malloc(g.cap * sizeof(*g.keys));
	g.vals = malloc(g.cap * sizeof(*g.vals));
	g.used = calloc(g.cap, 1);
	if (!g.keys || !g.vals || !g.used) {
		u64_map_free(&g);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->used[i])
			continue;
		j = find(&g, m->keys[i]);
		g.used[j] = 1;
		g.keys[j] = m->keys[i];
		g.vals[j] = m->vals[i];
	}
	g.n = m->n;
	u64_map_free(m);
	*m = g;
	return 0;
}

uint64_t *u64_map_slot(struct u64_map *m, uint64_t key, bool create)
{
	size_t i;

	if (m->cap) {
		i = find(m, key);
		if (m->used[i])
			return &m->vals[i];
	}
	if (!create)
		return NULL;
	if (2 * (m->n + 1) > m->cap && grow(m))
		return NULL;
	i = find(m, key);
	m->used[i] = 1;
	m->keys[i] = key;
	m->vals[i] = 0;
	m->n++;
	return &m->vals[i];
}

size_t u64_map_bytes(const struct u64_map *m)
{
	return m->cap * (2 * sizeof(uint64_t) + 1);
}

void u64_map_free(struct u64_map *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	*m = (struct u64_map){ 0 };
}
