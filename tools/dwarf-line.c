/* DWARF .debug_line reader (see dwarf-line.h).  Every read goes through a
 * cursor bounded by its unit; a malformed unit stops the load with the
 * section offset where it went wrong. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/dwarf-line.h"

#define DW_LNS_copy               1
#define DW_LNS_advance_pc         2
#define DW_LNS_advance_line       3
#define DW_LNS_set_file           4
#define DW_LNS_const_add_pc       8
#define DW_LNS_fixed_advance_pc   9
#define DW_LNE_end_sequence       1
#define DW_LNE_set_address        2
#define DW_LNCT_path              1
#define DW_LNCT_directory_index   2
#define NO_FILE                   UINT32_MAX

struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

struct row {
	uint64_t addr;
	uint32_t file, line;
	uint32_t ord;   /* load order: ties keep it */
	uint32_t end;   /* end of a sequence: no line from here */
};

struct line_table {
	struct row *rows;
	size_t nrows, cap;
	char **files;
	size_t nfiles, fcap, path_bytes;
};

/* The string sections DWARF 5 names point into. */
struct strsecs {
	const uint8_t *line_str, *str;
	uint64_t line_str_size, str_size;
};

struct unit {
	const uint8_t *start;     /* the unit's first byte, for messages */
	unsigned version, offset_size;
	uint8_t min_inst, line_range, opcode_base, default_stmt;
	int8_t line_base;
	const uint8_t *std_lengths;
	uint32_t file_base, nfiles;  /* global index of file 0 (v5) or 1 */
	const char **dirs;
	size_t ndirs;
};

static uint64_t rd_u(struct cursor *c, unsigned n)
{
	uint64_t v = 0;

	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = true;
		return 0;
	}
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	return v;
}

static uint64_t rd_uleb(struct cursor *c)
{
	uint64_t v = 0;

	for (unsigned shift = 0; !c->bad; shift += 7) {
		uint8_t b = (uint8_t)rd_u(c, 1);

		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	return 0;
}

static int64_t rd_sleb(struct cursor *c)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		b = (uint8_t)rd_u(c, 1);
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while ((b & 0x80) && !c->bad);
	if (shift < 64 && (b & 0x40))
		v |= ~0ull << shift;
	return (int64_t)v;
}

static void skip(struct cursor *c, uint64_t n)
{
	if (c->bad || (uint64_t)(c->end - c->p) < n)
		c->bad = true;
	else
		c->p += n;
}

/* A NUL-terminated string inside the cursor's bounds, or NULL. */
static const char *rd_str(struct cursor *c)
{
	const char *s = (const char *)c->p;
	const uint8_t *nul;

	if (c->bad || !(nul = memchr(c->p, 0, c->end - c->p))) {
		c->bad = true;
		return NULL;
	}
	c->p = nul + 1;
	return s;
}

static const char *str_at(const uint8_t *sec, uint64_t size, uint64_t off)
{
	if (!sec || off >= size || !memchr(sec + off, 0, size - off))
		return NULL;
	return (const char *)sec + off;
}

static int fail_at(const struct elf_file *f, const uint8_t *sec,
		   const uint8_t *at, char *err, size_t errlen, const char *what)
{
	return elf_file_fail(err, errlen, f->name, ".debug_line at offset "
			     "0x%llx: %s", (unsigned long long)(at - sec), what);
}

static int add_file(struct line_table *lt, const char *dir, const char *name)
{
	size_t n;
	char *path;

	if (!dir || name[0] == '/' || !dir[0] || !strcmp(dir, "."))
		dir = NULL;
	while (!strncmp(name, "./", 2))
		name += 2;
	n = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
	if (lt->path_bytes + n > LINE_MAX_PATH_BYTES)
		return -1;
	if (lt->nfiles == lt->fcap) {
		size_t cap = lt->fcap ? lt->fcap * 2 : 64;
		char **f = realloc(lt->files, cap * sizeof(*f));
		if (!f)
			return -1;
		lt->files = f;
		lt->fcap = cap;
	}
	if (!(path = malloc(n)))
		return -1;
	snprintf(path, n, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
	lt->files[lt->nfiles++] = path;
	lt->path_bytes += n;
	return 0;
}

/* One attribute of a DWARF 5 directory or file entry: a string (*s) or a
 * number (*v).  False for a form we cannot size. */
static bool rd_form(struct cursor *c, uint64_t form, const struct unit *u,
		    const struct strsecs *ss, const char **s, uint64_t *v)
{
	switch (form) {
	case 0x08: *s = rd_str(c); return true;                     /* string */
	case 0x1f: *s = str_at(ss->line_str, ss->line_str_size,     /* line_strp */
			       rd_u(c, u->offset_size)); return true;
	case 0x0e: *s = str_at(ss->str, ss->str_size,               /* strp */
			       rd_u(c, u->offset_size)); return true;
	case 0x0b: *v = rd_u(c, 1); return true;                    /* data1 */
	case 0x05: *v = rd_u(c, 2); return true;                    /* data2 */
	case 0x06: *v = rd_u(c, 4); return true;                    /* data4 */
	case 0x07: *v = rd_u(c, 8); return true;                    /* data8 */
	case 0x0f: *v = rd_uleb(c); return true;                    /* udata */
	case 0x1e: skip(c, 16); return true;                        /* data16 */
	case 0x09: skip(c, rd_uleb(c)); return true;                /* block */
	default: return false;
	}
}

/* DWARF 5 entry formats and entries.  dirs != NULL: directories (kept in
 * u->dirs), else file names (added to lt). */
static const char *read_entries_v5(struct cursor *c, struct unit *u,
				   const struct strsecs *ss,
				   struct line_table *lt, bool dirs)
{
	uint8_t nfmt = (uint8_t)rd_u(c, 1);
	uint64_t fmt[2 * 255], count;

	for (unsigned i = 0; i < 2u * nfmt; i++)
		fmt[i] = rd_uleb(c);
	count = rd_uleb(c);
	if (c->bad || count > (uint64_t)(c->end - c->p))
		return "entry table runs past its unit";
	if (dirs && !(u->dirs = calloc(count ? count : 1, sizeof(*u->dirs))))
		return "out of memory";
	for (uint64_t e = 0; e < count && !c->bad; e++) {
		const char *path = NULL;
		uint64_t dir = 0;

		for (unsigned i = 0; i < nfmt; i++) {
			const char *s = NULL;
			uint64_t v = 0;

			if (!rd_form(c, fmt[2 * i + 1], u, ss, &s, &v))
				return "unknown attribute form";
			if (fmt[2 * i] == DW_LNCT_path)
				path = s;
			else if (fmt[2 * i] == DW_LNCT_directory_index)
				dir = v;
		}
		if (dirs) {
			u->dirs[u->ndirs++] = path ? path : "";
		} else {
			if (add_file(lt, dir < u->ndirs ? u->dirs[dir] : NULL,
				     path ? path : "?"))
				return "file names too long or too many";
			u->nfiles++;
		}
	}
	return c->bad ? "entry table runs past its unit" : NULL;
}

/* DWARF 2-4: include_directories and file_names, both ending in 0. */
static const char *read_entries_v4(struct cursor *c, struct unit *u,
				   struct line_table *lt)
{
	const struct cursor start = *c;

	while (!c->bad && rd_u(c, 1))
		u->ndirs++;
	*c = start;
	if (!(u->dirs = calloc(u->ndirs + 1, sizeof(*u->dirs))))
		return "out of memory";
	u->dirs[0] = NULL;  /* directory 0: the compilation's own */
	for (size_t i = 1; i <= u->ndirs; i++)
		u->dirs[i] = rd_str(c);
	u->ndirs++;
	skip(c, 1);
	while (!c->bad && c->p < c->end && *c->p) {
		const char *name = rd_str(c);
		uint64_t dir = rd_uleb(c);

		rd_uleb(c);  /* modification time */
		rd_uleb(c);  /* length */
		if (c->bad)
			break;
		if (add_file(lt, dir < u->ndirs ? u->dirs[dir] : NULL, name))
			return "file names too long or too many";
		u->nfiles++;
	}
	skip(c, 1);
	return c->bad ? "file table runs past its unit" : NULL;
}

static const char *read_header(struct cursor *c, struct unit *u,
			       const struct strsecs *ss, struct line_table *lt)
{
	uint64_t hlen;
	struct cursor h;
	const char *why;

	u->version = (unsigned)rd_u(c, 2);
	if (u->version < 2 || u->version > 5)
		return "unsupported line table version";
	if (u->version == 5)
		skip(c, 2);  /* address size, segment selector size */
	hlen = rd_u(c, u->offset_size);
	if (c->bad || hlen > (uint64_t)(c->end - c->p))
		return "header runs past its unit";
	h = (struct cursor){ c->p, c->p + hlen, false };
	c->p += hlen;  /* the program starts after the header */
	u->min_inst = (uint8_t)rd_u(&h, 1);
	if (u->version >= 4)
		rd_u(&h, 1);  /* maximum operations per instruction */
	u->default_stmt = (uint8_t)rd_u(&h, 1);
	u->line_base = (int8_t)rd_u(&h, 1);
	u->line_range = (uint8_t)rd_u(&h, 1);
	u->opcode_base = (uint8_t)rd_u(&h, 1);
	if (h.bad || !u->line_range || !u->opcode_base)
		return "bad header (line range or opcode base 0)";
	u->std_lengths = h.p;
	skip(&h, u->opcode_base - 1u);
	u->file_base = (uint32_t)lt->nfiles;
	if (u->version == 5) {
		why = read_entries_v5(&h, u, ss, lt, true);
		return why ? why : read_entries_v5(&h, u, ss, lt, false);
	}
	return read_entries_v4(&h, u, lt);
}

static int add_row(struct line_table *lt, uint64_t addr, uint32_t file,
		   uint32_t line, bool end)
{
	if (lt->nrows == lt->cap) {
		size_t cap = lt->cap ? lt->cap * 2 : 1024;
		struct row *r;

		if (lt->nrows >= LINE_MAX_ROWS ||
		    !(r = realloc(lt->rows, cap * sizeof(*r))))
			return -1;
		lt->rows = r;
		lt->cap = cap;
	}
	lt->rows[lt->nrows] = (struct row){ addr, file, line,
					    (uint32_t)lt->nrows, end };
	lt->nrows++;
	return 0;
}

static uint32_t file_id(const struct unit *u, uint64_t f)
{
	if (u->version < 5) {
		if (!f)
			return NO_FILE;
		f--;
	}
	return f < u->nfiles ? u->file_base + (uint32_t)f : NO_FILE;
}

/* The line number program: rows of whole sequences (a sequence at address
 * 0 is code the linker dropped; one without its end is not kept). */
static const char *run_program(struct cursor *c, const struct unit *u,
			       struct line_table *lt)
{
	uint64_t addr = 0, file = 1, line = 1;
	size_t seq_start = lt->nrows;

	while (c->p < c->end && !c->bad) {
		uint8_t op = (uint8_t)rd_u(c, 1);
		bool emit = false, end = false;

		if (op >= u->opcode_base) {
			unsigned adj = op - u->opcode_base;

			addr += (uint64_t)(adj / u->line_range) * u->min_inst;
			line += (int64_t)u->line_base + adj % u->line_range;
			emit = true;
		} else if (op == 0) {
			uint64_t len = rd_uleb(c);
			struct cursor e;

			if (c->bad || !len || len > (uint64_t)(c->end - c->p))
				return "extended opcode runs past its unit";
			e = (struct cursor){ c->p, c->p + len, false };
			c->p += len;
			op = (uint8_t)rd_u(&e, 1);
			if (op == DW_LNE_end_sequence)
				emit = end = true;
			else if (op == DW_LNE_set_address)
				addr = rd_u(&e, len - 1 > 8 ? 8 : (unsigned)len - 1);
		} else if (op == DW_LNS_copy) {
			emit = true;
		} else if (op == DW_LNS_advance_pc) {
			addr += rd_uleb(c) * u->min_inst;
		} else if (op == DW_LNS_advance_line) {
			line += rd_sleb(c);
		} else if (op == DW_LNS_set_file) {
			file = rd_uleb(c);
		} else if (op == DW_LNS_const_add_pc) {
			addr += (uint64_t)((255 - u->opcode_base) / u->line_range) *
				u->min_inst;
		} else if (op == DW_LNS_fixed_advance_pc) {
			addr += rd_u(c, 2);
		} else {
			for (unsigned i = 0; i < u->std_lengths[op - 1]; i++)
				rd_uleb(c);
		}
		if (!emit || c->bad)
			continue;
		if (add_row(lt, addr, file_id(u, file), (uint32_t)line, end))
			return "more line rows than vcprr keeps";
		if (!end)
			continue;
		if (lt->rows[seq_start].addr == 0)
			lt->nrows = seq_start;
		seq_start = lt->nrows;
		addr = 0;
		file = 1;
		line = 1;
	}
	lt->nrows = seq_start;
	return c->bad ? "line program runs past its unit" : NULL;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Same address: the order of the line programs, so that a sequence
	 * ending where the next starts gives way to it, and a last, empty
	 * row of a sequence to that sequence's end. */
	return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static int read_units(struct line_table *lt, const struct elf_file *f,
		      const uint8_t *sec, uint64_t size,
		      const struct strsecs *ss, char *err, size_t errlen)
{
	struct cursor all = { sec, sec + size, false };

	while (all.p < all.end) {
		struct unit u = { .start = all.p, .offset_size = 4 };
		uint64_t len = rd_u(&all, 4);
		struct cursor c;
		const char *why;

		if (len == 0xffffffff) {
			u.offset_size = 8;
			len = rd_u(&all, 8);
		}
		if (all.bad || len > (uint64_t)(all.end - all.p))
			return fail_at(f, sec, u.start, err, errlen,
				       "unit runs past the end of the section");
		c = (struct cursor){ all.p, all.p + len, false };
		all.p += len;
		why = read_header(&c, &u, ss, lt);
		if (!why)
			why = run_program(&c, &u, lt);
		free(u.dirs);
		if (why)
			return fail_at(f, sec, u.start, err, errlen, why);
	}
	return 0;
}

struct line_table *line_table_load(const struct elf_file *f, char *err,
				   size_t errlen)
{
	struct line_table *lt = calloc(1, sizeof(*lt));
	struct strsecs ss = { 0 };
	const uint8_t *sec;
	uint64_t size;
	int found;

	if (!lt) {
		elf_file_fail(err, errlen, f->name, "out of memory");
		return NULL;
	}
	found = elf_file_find(f, ".debug_line", &sec, &size, err, errlen);
	if (found > 0 &&
	    (elf_file_find(f, ".debug_line_str", &ss.line_str,
			   &ss.line_str_size, err, errlen) < 0 ||
	     elf_file_find(f, ".debug_str", &ss.str, &ss.str_size, err,
			   errlen) < 0 ||
	     read_units(lt, f, sec, size, &ss, err, errlen)))
		found = -1;
	if (found < 0) {
		line_table_free(lt);
		return NULL;
	}
	if (lt->nrows)
		qsort(lt->rows, lt->nrows, sizeof(*lt->rows), row_cmp);
	return lt;
}

void line_table_free(struct line_table *lt)
{
	if (!lt)
		return;
	for (size_t i = 0; i < lt->nfiles; i++)
		free(lt->files[i]);
	free(lt->files);
	free(lt->rows);
	free(lt);
}

int line_table_lookup(const struct line_table *lt, uint64_t addr,
		      const char **file, unsigned *line)
{
	size_t lo = 0, hi;
	const struct row *r;

	if (!lt || !lt->nrows || addr < lt->rows[0].addr)
		return -1;
	hi = lt->nrows;
	while (hi - lo > 1) {  /* the last row at or below addr */
		size_t mid = lo + (hi - lo) / 2;

		if (lt->rows[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	r = &lt->rows[lo];
	if (r->end)
		return -1;
	*file = r->file < lt->nfiles ? lt->files[r->file] : "??";
	*line = r->line;
	return 0;
}

size_t line_table_rows(const struct line_table *lt)
{
	return lt ? lt->nrows : 0;
}
