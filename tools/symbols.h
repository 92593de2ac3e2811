/* Guest symbols and source lines: RIP -> "function+offset" and file:line,
 * data address -> "variable+offset", for the inspect and analyze tools.
 *
 * The ELF file is untrusted input (a trace names it, a user may point at
 * anything): every offset and size is checked against the file and the
 * memory used is bounded by the file size.  A symtab is immutable once
 * loaded and may be shared between threads. */
#ifndef VCPRR_TOOLS_SYMBOLS_H
#define VCPRR_TOOLS_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

struct symtab;

/* Loads the function/object symbols of the ELF64 file at @path (.symtab, or
 * .dynsym when stripped) and its DWARF line table (dwarf-line.h).  Returns
 * NULL with a message naming the file in @err.  A file without symbols
 * loads fine and resolves nothing; a line table that cannot be read leaves
 * the symbols usable (symtab_lines_error says why). */
struct symtab *symtab_load(const char *path, char *err, size_t errlen);
/* Same over @len bytes at @buf (copied what it needs; @name is for errors). */
struct symtab *symtab_load_mem(const void *buf, size_t len, const char *name,
			       char *err, size_t errlen);
void symtab_free(struct symtab *st);

/* The symbol containing @addr and the offset into it, or NULL.  The name
 * stays valid until symtab_free. */
const char *symtab_lookup(const struct symtab *st, uint64_t addr,
			  uint64_t *off);
size_t symtab_count(const struct symtab *st);

/* The source file and line of the code at @addr: 0, or -1 when the line
 * table has no row for it.  The file name stays valid until symtab_free. */
int symtab_source(const struct symtab *st, uint64_t addr, const char **file,
		  unsigned *line);
/* Why the line table could not be read: "" when it was (or there is none). */
const char *symtab_lines_error(const struct symtab *st);

#endif
