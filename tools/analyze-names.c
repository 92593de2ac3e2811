/* Races in words (see analyze-names.h). */
#include <inttypes.h>

#include "tools/analyze-names.h"
#include "tools/inspect-priv.h"

void analyze_put_code(FILE *f, const struct symtab *st, uint64_t rip)
{
	const char *fn = NULL, *file;
	uint64_t off = 0;
	unsigned line;

	if (st)
		fn = symtab_lookup(st, rip, &off);
	if (fn) {
		fput_text(f, fn);
		fprintf(f, "+0x%" PRIx64, off);
	} else {
		fprintf(f, "0x%" PRIx64, rip);
	}
	if (!symtab_source(st, rip, &file, &line)) {
		fputs(" (", f);
		fput_text(f, file);
		fprintf(f, ":%u)", line);
	}
}

void analyze_put_data(FILE *f, const struct symtab *st, uint64_t addr)
{
	uint64_t off = 0;
	const char *var = st ? symtab_lookup(st, addr, &off) : NULL;

	if (!var) {
		fprintf(f, "0x%" PRIx64, addr);
		return;
	}
	fput_text(f, var);
	fprintf(f, "+%" PRIu64 " (0x%" PRIx64 ")", off, addr);
}

uint64_t analyze_site(void *symtab, uint64_t rip)
{
	const char *file;
	unsigned line;
	uint64_t h = 0xcbf29ce484222325ull;  /* FNV-1a of the file name */

	if (symtab_source(symtab, rip, &file, &line))
		return rip;
	for (; *file; file++)
		h = (h ^ (uint8_t)*file) * 0x100000001b3ull;
	return (h ^ line) | 1ull << 63;  /* apart from bare rips */
}

static void put_side(FILE *f, const struct symtab *st,
		     const struct hb_side *s)
{
	fprintf(f, "  vcpu %u, step %" PRIu64 ": %s%s of %u bytes at ",
		s->thread, s->step, s->atomic ? "atomic " : "",
		s->rw == (HB_READ | HB_WRITE) ? "read-modify-write" :
		s->rw & HB_WRITE ? "write" : "read", s->size);
	analyze_put_code(f, st, s->rip);
	fputc('\n', f);
}

void analyze_put_race(FILE *f, const struct symtab *st,
		      const struct hb_race *r)
{
	fputs("data race on ", f);
	analyze_put_data(f, st, r->addr);
	if (r->count > 1)
		fprintf(f, ", %" PRIu64 " times", r->count);
	fputs(":\n", f);
	put_side(f, st, &r->first);
	put_side(f, st, &r->second);
}
