/* Races in words: code addresses as function+offset and file:line, data
 * addresses as variable+offset, from the guest's symbols and DWARF line
 * table (symbols.h).  Guest strings are printed escaped (fput_text). */
#ifndef VCPRR_TOOLS_ANALYZE_NAMES_H
#define VCPRR_TOOLS_ANALYZE_NAMES_H

#include <stdint.h>
#include <stdio.h>

#include "tools/race-hb.h"
#include "tools/symbols.h"

/* "main+0x48 (tests/guests/lost-update.c:39)", or the parts known. */
void analyze_put_code(FILE *f, const struct symtab *st, uint64_t rip);
/* "total+0 (0x102008)", or the address alone. */
void analyze_put_data(FILE *f, const struct symtab *st, uint64_t addr);
/* hb_config.site with a struct symtab as arg: the source line of rip
 * (file and line), so that races are kept once per pair of lines. */
uint64_t analyze_site(void *symtab, uint64_t rip);
/* A race: the variable, then each side (VCPU, step, kind, where). */
void analyze_put_race(FILE *f, const struct symtab *st,
		      const struct hb_race *r);

#endif
