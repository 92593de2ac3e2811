/* libFuzzer target: the guest symbol and DWARF line table readers on
 * arbitrary bytes.  Every input loads or is refused with a message naming
 * the file; a loaded table answers lookups over the whole address range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/symbols.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char err[512] = "";
	struct symtab *st = symtab_load_mem(data, len, "fuzz.elf", err,
					    sizeof(err));

	if (!st) {
		if (strncmp(err, "fuzz.elf: ", 10))
			abort();
		return 0;
	}
	if (*symtab_lines_error(st) &&
	    strncmp(symtab_lines_error(st), "fuzz.elf: ", 10))
		abort();
	for (uint64_t a = 0; a < 0x200000; a += 0x1003) {
		const char *file, *name;
		unsigned line;
		uint64_t off;

		if (!symtab_source(st, a, &file, &line) && !file)
			abort();
		name = symtab_lookup(st, a, &off);
		if (name && off > a)
			abort();
	}
	symtab_free(st);
	return 0;
}
