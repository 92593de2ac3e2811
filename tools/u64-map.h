/* A hash map from 64-bit keys to 64-bit values (open addressing), for the
 * analysis's shadow state: memory cost is what is touched, not what could
 * be.  Not thread-safe. */
#ifndef VCPRR_TOOLS_U64_MAP_H
#define VCPRR_TOOLS_U64_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64_map {
	uint64_t *keys, *vals;
	uint8_t *used;
	size_t cap, n;
};

/* The value slot of key, or NULL when absent (create false) or when memory
 * runs out (create true).  A created slot holds 0.  Slots move when the
 * map grows: use one before the next create. */
uint64_t *u64_map_slot(struct u64_map *m, uint64_t key, bool create);
/* Bytes the map holds. */
size_t u64_map_bytes(const struct u64_map *m);
void u64_map_free(struct u64_map *m);

#endif
