/* Reading the sections of an untrusted ELF64 file held in memory: the
 * header and section table are checked once, and every section handed out
 * lies inside the file.  Shared by the symbol table and line table readers
 * (symbols.c, dwarf-line.c). */
#ifndef VCPRR_TOOLS_ELF_SECTIONS_H
#define VCPRR_TOOLS_ELF_SECTIONS_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_SECTIONS 4096

/* A view of a file: buf stays the caller's. */
struct elf_file {
	const uint8_t *buf;
	size_t len;
	const char *name;  /* for messages */
	unsigned shnum;    /* 0: no section table */
};

/* Checks the ELF header and the section table's place in the file.
 * Returns 0, or -1 with a message naming the file in err. */
int elf_file_open(struct elf_file *f, const void *buf, size_t len,
		  const char *name, char *err, size_t errlen);

/* Section header i (< f->shnum). */
void elf_file_section(const struct elf_file *f, unsigned i, Elf64_Shdr *sh);

/* True when [off, off + size) lies inside the file. */
int elf_file_holds(const struct elf_file *f, uint64_t off, uint64_t size);

/* The contents of the section called secname: 1 with *data and *size, 0
 * when there is none (or it has no bytes in the file), -1 with a message
 * when it or the section name table lies outside the file. */
int elf_file_find(const struct elf_file *f, const char *secname,
		  const uint8_t **data, uint64_t *size, char *err,
		  size_t errlen);

/* snprintf into err prefixed with "NAME: "; returns -1. */
int elf_file_fail(char *err, size_t errlen, const char *name,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
