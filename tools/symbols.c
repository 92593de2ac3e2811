/* ELF64 symbol table reader (see symbols.h). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/dwarf-line.h"
#include "tools/elf-sections.h"
#include "tools/symbols.h"
#include "vmm/elf.h"

struct sym {
	uint64_t addr, size;
	uint32_t name;     /* offset into symtab.names */
	uint8_t rank;      /* preference among symbols at one address */
};

struct symtab {
	struct sym *syms;
	size_t n;
	char *names;
	struct line_table *lines;  /* NULL when unreadable (lines_err says why) */
	char lines_err[256];
};

/* Index of the symbol section to use (SYMTAB, else DYNSYM), or 0. */
static unsigned find_symtab(const struct elf_file *f)
{
	unsigned dyn = 0;
	Elf64_Shdr sh;

	for (unsigned i = 1; i < f->shnum; i++) {
		elf_file_section(f, i, &sh);
		if (sh.sh_type == SHT_SYMTAB)
			return i;
		if (sh.sh_type == SHT_DYNSYM && !dyn)
			dyn = i;
	}
	return dyn;
}

/* 0 = skip, else higher is preferred when symbols share an address. */
static uint8_t sym_rank(const Elf64_Sym *s, const char *name)
{
	unsigned type = ELF64_ST_TYPE(s->st_info);
	unsigned bind = ELF64_ST_BIND(s->st_info);

	if (s->st_shndx == SHN_UNDEF || !s->st_value || !*name)
		return 0;
	if (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE)
		return 0;
	if (name[0] == '.' || name[0] == '$')
		return 0;  /* local labels and mapping symbols */
	return 1 + (type != STT_NOTYPE) * 2 + (bind == STB_GLOBAL);
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	return x->name < y->name ? -1 : x->name > y->name;
}

/* Sorts by address and keeps the preferred symbol at each address. */
static void sort_unique(struct symtab *st)
{
	size_t out = 0;

	qsort(st->syms, st->n, sizeof(*st->syms), sym_cmp);
	for (size_t i = 0; i < st->n; i++)
		if (!out || st->syms[out - 1].addr != st->syms[i].addr)
			st->syms[out++] = st->syms[i];
	st->n = out;
}

static int read_syms(struct symtab *st, const struct elf_file *f,
		     const Elf64_Shdr *symsh, const Elf64_Shdr *strsh,
		     char *err, size_t errlen)
{
	size_t nsyms = symsh->sh_size / sizeof(Elf64_Sym);
	const char *strs = (const char *)f->buf + strsh->sh_offset;
	uint64_t strsize = strsh->sh_size;

	st->names = malloc(strsize + 1);
	st->syms = calloc(nsyms ? nsyms : 1, sizeof(*st->syms));
	if (!st->names || !st->syms)
		return elf_file_fail(err, errlen, f->name, "out of memory for "
				     "%zu symbols", nsyms);
	memcpy(st->names, strs, strsize);
	st->names[strsize] = '\0';  /* a last name without NUL stays bounded */
	for (size_t i = 0; i < nsyms; i++) {
		Elf64_Sym s;
		uint8_t rank;

		memcpy(&s, f->buf + symsh->sh_offset + i * sizeof(s), sizeof(s));
		if (s.st_name >= strsize)
			continue;
		rank = sym_rank(&s, st->names + s.st_name);
		if (!rank)
			continue;
		st->syms[st->n++] = (struct sym){ s.st_value, s.st_size,
						  s.st_name, rank };
	}
	sort_unique(st);
	return 0;
}

static int load_sections(struct symtab *st, const struct elf_file *fp,
			 char *err, size_t errlen)
{
	const struct elf_file f = *fp;
	const char *name = f.name;
	Elf64_Shdr symsh, strsh;
	unsigned idx;

	idx = find_symtab(&f);
	if (!idx)
		return 0;
	elf_file_section(&f, idx, &symsh);
	if (symsh.sh_entsize != sizeof(Elf64_Sym))
		return elf_file_fail(err, errlen, name, "section %u: symbol "
				     "size %llu (expected %zu)", idx,
				     (unsigned long long)symsh.sh_entsize,
				     sizeof(Elf64_Sym));
	if (!elf_file_holds(&f, symsh.sh_offset, symsh.sh_size))
		return elf_file_fail(err, errlen, name, "section %u: symbols "
				     "at offset %#llx size %#llx run past the "
				     "end of the file", idx,
				     (unsigned long long)symsh.sh_offset,
				     (unsigned long long)symsh.sh_size);
	if (!symsh.sh_link || symsh.sh_link >= f.shnum)
		return elf_file_fail(err, errlen, name, "section %u: bad "
				     "string table link %u", idx, symsh.sh_link);
	elf_file_section(&f, symsh.sh_link, &strsh);
	if (strsh.sh_type != SHT_STRTAB ||
	    !elf_file_holds(&f, strsh.sh_offset, strsh.sh_size))
		return elf_file_fail(err, errlen, name, "section %u: string "
				     "table at offset %#llx is not a string "
				     "table inside the file", symsh.sh_link,
				     (unsigned long long)strsh.sh_offset);
	return read_syms(st, &f, &symsh, &strsh, err, errlen);
}

struct symtab *symtab_load_mem(const void *buf, size_t len, const char *name,
			       char *err, size_t errlen)
{
	struct symtab *st = calloc(1, sizeof(*st));
	struct elf_file f;

	if (!st) {
		elf_file_fail(err, errlen, name, "out of memory");
		return NULL;
	}
	if (elf_file_open(&f, buf, len, name, err, errlen) ||
	    load_sections(st, &f, err, errlen)) {
		symtab_free(st);
		return NULL;
	}
	/* Symbols without lines are still worth having. */
	st->lines = line_table_load(&f, st->lines_err, sizeof(st->lines_err));
	return st;
}

struct symtab *symtab_load(const char *path, char *err, size_t errlen)
{
	struct symtab *st;
	uint8_t *buf;
	size_t len;

	if (elf_read_file(path, &buf, &len, err, errlen))
		return NULL;
	st = symtab_load_mem(buf, len, path, err, errlen);
	free(buf);
	return st;
}

void symtab_free(struct symtab *st)
{
	if (!st)
		return;
	line_table_free(st->lines);
	free(st->syms);
	free(st->names);
	free(st);
}

const char *symtab_lookup(const struct symtab *st, uint64_t addr,
			  uint64_t *off)
{
	size_t lo = 0, hi;
	const struct sym *s;

	if (!st || !st->n || addr < st->syms[0].addr)
		return NULL;
	hi = st->n;
	while (hi - lo > 1) {  /* last symbol with s->addr <= addr */
		size_t mid = lo + (hi - lo) / 2;

		if (st->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	s = &st->syms[lo];
	/* Sized symbols cover [addr, addr+size); unsized ones (assembly
	 * labels) extend to the next symbol. */
	if (s->size ? addr - s->addr >= s->size : lo + 1 == st->n)
		return NULL;
	*off = addr - s->addr;
	return st->names + s->name;
}

size_t symtab_count(const struct symtab *st)
{
	return st ? st->n : 0;
}

int symtab_source(const struct symtab *st, uint64_t addr, const char **file,
		  unsigned *line)
{
	return st ? line_table_lookup(st->lines, addr, file, line) : -1;
}

const char *symtab_lines_error(const struct symtab *st)
{
	return st && !st->lines ? st->lines_err : "";
}
