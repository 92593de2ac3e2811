/* ELF64 section access over an untrusted buffer (see elf-sections.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tools/elf-sections.h"

int elf_file_fail(char *err, size_t errlen, const char *name,
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

int elf_file_holds(const struct elf_file *f, uint64_t off, uint64_t size)
{
	return off <= f->len && size <= f->len - off;
}

int elf_file_open(struct elf_file *f, const void *buf, size_t len,
		  const char *name, char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = buf;

	*f = (struct elf_file){ buf, len, name, 0 };
	if (len < sizeof(*eh) || memcmp(buf, ELFMAG, SELFMAG))
		return elf_file_fail(err, errlen, name, "not an ELF file");
	if (f->buf[EI_CLASS] != ELFCLASS64 || f->buf[EI_DATA] != ELFDATA2LSB)
		return elf_file_fail(err, errlen, name,
				     "not a little-endian ELF64 file");
	if (!eh->e_shnum)
		return 0;
	if (eh->e_shentsize != sizeof(Elf64_Shdr))
		return elf_file_fail(err, errlen, name, "section header size "
				     "%u (expected %zu)", eh->e_shentsize,
				     sizeof(Elf64_Shdr));
	if (eh->e_shnum > ELF_MAX_SECTIONS)
		return elf_file_fail(err, errlen, name, "%u sections (at most "
				     "%u)", eh->e_shnum, ELF_MAX_SECTIONS);
	if (!elf_file_holds(f, eh->e_shoff,
			    (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)))
		return elf_file_fail(err, errlen, name, "section headers at "
				     "offset %#llx run past the end of the file "
				     "(%zu bytes)",
				     (unsigned long long)eh->e_shoff, len);
	f->shnum = eh->e_shnum;
	return 0;
}

void elf_file_section(const struct elf_file *f, unsigned i, Elf64_Shdr *sh)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f->buf;

	memcpy(sh, f->buf + eh->e_shoff + (uint64_t)i * sizeof(*sh),
	       sizeof(*sh));
}

int elf_file_find(const struct elf_file *f, const char *secname,
		  const uint8_t **data, uint64_t *size, char *err,
		  size_t errlen)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f->buf;
	size_t want = strlen(secname) + 1;
	Elf64_Shdr names, sh;

	if (!f->shnum || !eh->e_shstrndx || eh->e_shstrndx >= f->shnum)
		return 0;
	elf_file_section(f, eh->e_shstrndx, &names);
	if (!elf_file_holds(f, names.sh_offset, names.sh_size))
		return elf_file_fail(err, errlen, f->name, "section name table "
				     "at offset %#llx runs past the end of the "
				     "file", (unsigned long long)names.sh_offset);
	for (unsigned i = 1; i < f->shnum; i++) {
		elf_file_section(f, i, &sh);
		if (sh.sh_name >= names.sh_size ||
		    names.sh_size - sh.sh_name < want ||
		    memcmp(f->buf + names.sh_offset + sh.sh_name, secname, want))
			continue;
		if (sh.sh_type == SHT_NOBITS || !sh.sh_size)
			return 0;
		if (!elf_file_holds(f, sh.sh_offset, sh.sh_size))
			return elf_file_fail(err, errlen, f->name, "section %s "
					     "at offset %#llx size %#llx runs "
					     "past the end of the file", secname,
					     (unsigned long long)sh.sh_offset,
					     (unsigned long long)sh.sh_size);
		*data = f->buf + sh.sh_offset;
		*size = sh.sh_size;
		return 1;
	}
	return 0;
}
