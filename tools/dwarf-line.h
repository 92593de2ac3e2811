/* Source lines of a guest: address -> file:line from the ELF's DWARF line
 * table (.debug_line, versions 2 to 5, 32- and 64-bit DWARF).
 *
 * Our own reader rather than libdw: the line program is a small, fully
 * specified state machine, the guest is untrusted input, and a reader of
 * our own is bounded (rows, path bytes, every length checked against its
 * section) and fuzzed with the rest of vcprr, where a crash inside libdw
 * would be a crash of vcprr we could not fix.  Function names come from
 * the symbol table (symbols.h), which already reads the same file.
 *
 * A line table is immutable once loaded and may be shared between
 * threads. */
#ifndef VCPRR_TOOLS_DWARF_LINE_H
#define VCPRR_TOOLS_DWARF_LINE_H

#include <stddef.h>
#include <stdint.h>

#include "tools/elf-sections.h"

#define LINE_MAX_ROWS       (4u << 20)   /* rows kept at most */
#define LINE_MAX_PATH_BYTES (16u << 20)  /* bytes of file names at most */

struct line_table;

/* Reads the line table of f (no .debug_line: an empty table).  On a
 * malformed unit, returns NULL with a message naming the file, the section
 * and the offset in err. */
struct line_table *line_table_load(const struct elf_file *f, char *err,
				   size_t errlen);
void line_table_free(struct line_table *lt);

/* The source line holding addr: 0 with *file (valid until
 * line_table_free) and *line, or -1 when no row covers it. */
int line_table_lookup(const struct line_table *lt, uint64_t addr,
		      const char **file, unsigned *line);
size_t line_table_rows(const struct line_table *lt);

#endif
