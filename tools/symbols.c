/* ELF64 symbol table reader (see symbols.h). */
#include <elf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/symbols.h"
#include "vmm/elf.h"

#define SYMTAB_MAX_SECTIONS 4096

struct sym {
	uint64_t addr, size;
	uint32_t name;     /* offset into symtab.names */
	uint8_t rank;      /* preference among symbols at one address */
};

struct symtab {
	struct sym *syms;
	size_t n;
	char *names;
};

static int fail(char *err, size_t errlen, const char *name,
		const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s: ", name);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static bool in_file(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

static int check_ehdr(const uint8_t *buf, size_t len, const char *name,
		      char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;

	if (len < sizeof(*eh) || memcmp(buf, ELFMAG, SELFMAG))
		return fail(err, errlen, name, "not an ELF file");
	if (buf[EI_CLASS] != ELFCLASS64 || buf[EI_DATA] != ELFDATA2LSB)
		return fail(err, errlen, name, "not a little-endian ELF64 file");
	if (!eh->e_shnum)
		return 0;
	if (eh->e_shentsize != sizeof(Elf64_Shdr))
		return fail(err, errlen, name, "section header size %u "
			    "(expected %zu)", eh->e_shentsize,
			    sizeof(Elf64_Shdr));
	if (eh->e_shnum > SYMTAB_MAX_SECTIONS)
		return fail(err, errlen, name, "%u sections (at most %u)",
			    eh->e_shnum, SYMTAB_MAX_SECTIONS);
	if (!in_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr),
		     len))
		return fail(err, errlen, name, "section headers at offset "
			    "%#llx run past the end of the file (%zu bytes)",
			    (unsigned long long)eh->e_shoff, len);
	return 0;
}

static void get_shdr(const uint8_t *buf, unsigned i, Elf64_Shdr *sh)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;

	memcpy(sh, buf + eh->e_shoff + (uint64_t)i * sizeof(*sh), sizeof(*sh));
}

/* Index of the symbol section to use (SYMTAB, else DYNSYM), or 0. */
static unsigned find_symtab(const uint8_t *buf)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	unsigned dyn = 0;
	Elf64_Shdr sh;

	for (unsigned i = 1; i < eh->e_shnum; i++) {
		get_shdr(buf, i, &sh);
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

static int read_syms(struct symtab *st, const uint8_t *buf, size_t len,
		     const Elf64_Shdr *symsh, const Elf64_Shdr *strsh,
		     const char *name, char *err, size_t errlen)
{
	size_t nsyms = symsh->sh_size / sizeof(Elf64_Sym);
	const char *strs = (const char *)buf + strsh->sh_offset;
	uint64_t strsize = strsh->sh_size;

	st->names = malloc(strsize + 1);
	st->syms = calloc(nsyms ? nsyms : 1, sizeof(*st->syms));
	if (!st->names || !st->syms)
		return fail(err, errlen, name, "out of memory for %zu symbols",
			    nsyms);
	memcpy(st->names, strs, strsize);
	st->names[strsize] = '\0';  /* a last name without NUL stays bounded */
	for (size_t i = 0; i < nsyms; i++) {
		Elf64_Sym s;
		uint8_t rank;

		memcpy(&s, buf + symsh->sh_offset + i * sizeof(s), sizeof(s));
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

static int load_sections(struct symtab *st, const uint8_t *buf, size_t len,
			 const char *name, char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	Elf64_Shdr symsh, strsh;
	unsigned idx;

	if (check_ehdr(buf, len, name, err, errlen))
		return -1;
	idx = eh->e_shnum ? find_symtab(buf) : 0;
	if (!idx)
		return 0;
	get_shdr(buf, idx, &symsh);
	if (symsh.sh_entsize != sizeof(Elf64_Sym))
		return fail(err, errlen, name, "section %u: symbol size %llu "
			    "(expected %zu)", idx,
			    (unsigned long long)symsh.sh_entsize,
			    sizeof(Elf64_Sym));
	if (!in_file(symsh.sh_offset, symsh.sh_size, len))
		return fail(err, errlen, name, "section %u: symbols at offset "
			    "%#llx size %#llx run past the end of the file",
			    idx, (unsigned long long)symsh.sh_offset,
			    (unsigned long long)symsh.sh_size);
	if (!symsh.sh_link || symsh.sh_link >= eh->e_shnum)
		return fail(err, errlen, name, "section %u: bad string table "
			    "link %u", idx, symsh.sh_link);
	get_shdr(buf, symsh.sh_link, &strsh);
	if (strsh.sh_type != SHT_STRTAB ||
	    !in_file(strsh.sh_offset, strsh.sh_size, len))
		return fail(err, errlen, name, "section %u: string table at "
			    "offset %#llx is not a string table inside the file",
			    symsh.sh_link, (unsigned long long)strsh.sh_offset);
	return read_syms(st, buf, len, &symsh, &strsh, name, err, errlen);
}

struct symtab *symtab_load_mem(const void *buf, size_t len, const char *name,
			       char *err, size_t errlen)
{
	struct symtab *st = calloc(1, sizeof(*st));

	if (!st) {
		fail(err, errlen, name, "out of memory");
		return NULL;
	}
	if (load_sections(st, buf, len, name, err, errlen)) {
		symtab_free(st);
		return NULL;
	}
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
