/* ELF64 loader for guest images. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/elf.h"

static int fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s: ", name);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

int elf_read_file(const char *path, uint8_t **buf, size_t *len,
		  char *err, size_t errlen)
{
	struct stat st;
	uint8_t *data = NULL;
	size_t got = 0;
	/* O_NONBLOCK: a FIFO (a trace may name anything as its guest) must
	 * not block the open; fstat then refuses it */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return fail(err, errlen, path, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fail(err, errlen, path, "not a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size > ELF_MAX_FILE_SIZE) {
		fail(err, errlen, path, "file is %lld bytes; guest images are limited "
		     "to %u MiB", (long long)st.st_size, ELF_MAX_FILE_SIZE >> 20);
		goto out;
	}
	data = malloc(st.st_size ? st.st_size : 1);
	if (!data) {
		fail(err, errlen, path, "out of memory");
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, data + got, st.st_size - got);
		if (r <= 0) {
			fail(err, errlen, path, "read failed: %s",
			     r < 0 ? strerror(errno) : "file shrank while reading");
			free(data);
			data = NULL;
			goto out;
		}
		got += r;
	}
	*buf = data;
	*len = got;
out:
	close(fd);
	return data ? 0 : -1;
}

static int check_ehdr(const char *name, const uint8_t *buf, size_t len,
		      char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;

	if (len < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG))
		return fail(err, errlen, name, "not an ELF file (bad magic)");
	if (buf[EI_CLASS] != ELFCLASS64)
		return fail(err, errlen, name, "not a 64-bit ELF file (class %u); "
			    "guests must be ELF64", buf[EI_CLASS]);
	if (buf[EI_DATA] != ELFDATA2LSB)
		return fail(err, errlen, name, "not a little-endian ELF file");
	if (len < sizeof(Elf64_Ehdr))
		return fail(err, errlen, name, "truncated ELF header (%zu of %zu bytes)",
			    len, sizeof(Elf64_Ehdr));
	if (eh->e_machine != EM_X86_64)
		return fail(err, errlen, name, "wrong machine %u; guests must be "
			    "x86-64 (EM_X86_64)", eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return fail(err, errlen, name, "ELF type %u is not an executable "
			    "(ET_EXEC); link the guest with vmm/guest/guest.ld",
			    eh->e_type);
	if (eh->e_phnum == 0)
		return fail(err, errlen, name, "no program headers");
	if (eh->e_phnum > ELF_MAX_PHDRS)
		return fail(err, errlen, name, "%u program headers (at most %u)",
			    eh->e_phnum, ELF_MAX_PHDRS);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return fail(err, errlen, name, "program header size %u (expected %zu)",
			    eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phoff > len || len - eh->e_phoff < (uint64_t)eh->e_phnum *
	    sizeof(Elf64_Phdr))
		return fail(err, errlen, name, "program headers at offset %#llx "
			    "run past the end of the file (%zu bytes)",
			    (unsigned long long)eh->e_phoff, len);
	return 0;
}

static int check_segment(const char *name, int i, const Elf64_Phdr *ph,
			 size_t len, const struct elf_window *win,
			 char *err, size_t errlen)
{
	uint64_t start = ph->p_paddr;

	if (ph->p_filesz > ph->p_memsz)
		return fail(err, errlen, name, "segment %d: file size %#llx exceeds "
			    "memory size %#llx", i, (unsigned long long)ph->p_filesz,
			    (unsigned long long)ph->p_memsz);
	if (ph->p_offset > len || len - ph->p_offset < ph->p_filesz)
		return fail(err, errlen, name, "segment %d: data at offset %#llx "
			    "size %#llx runs past the end of the file (%zu bytes)", i,
			    (unsigned long long)ph->p_offset,
			    (unsigned long long)ph->p_filesz, len);
	if (ph->p_memsz > win->mem_size)
		return fail(err, errlen, name, "segment %d: absurd size %#llx "
			    "(guest memory is %#llx bytes)", i,
			    (unsigned long long)ph->p_memsz,
			    (unsigned long long)win->mem_size);
	if (start < win->min)
		return fail(err, errlen, name, "segment %d at %#llx overlaps the "
			    "VMM's page tables and GDT (images load at or above %#llx)",
			    i, (unsigned long long)start, (unsigned long long)win->min);
	if (start >= win->mem_size || win->mem_size - start < ph->p_memsz)
		return fail(err, errlen, name, "segment %d [%#llx, +%#llx) lies "
			    "outside guest memory (%llu MiB)", i,
			    (unsigned long long)start, (unsigned long long)ph->p_memsz,
			    (unsigned long long)(win->mem_size >> 20));
	if (start + ph->p_memsz > win->max)
		return fail(err, errlen, name, "segment %d [%#llx, %#llx) overlaps "
			    "the VCPU stacks at %#llx", i, (unsigned long long)start,
			    (unsigned long long)(start + ph->p_memsz),
			    (unsigned long long)win->max);
	return 0;
}

static int segments_overlap(const Elf64_Phdr *a, const Elf64_Phdr *b)
{
	return a->p_paddr < b->p_paddr + b->p_memsz &&
	       b->p_paddr < a->p_paddr + a->p_memsz;
}

int elf_load_image(const char *name, const uint8_t *buf, size_t len,
		   uint8_t *mem, const struct elf_window *win,
		   uint64_t *entry, char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
	Elf64_Phdr ph[ELF_MAX_PHDRS];
	int nload = 0, entry_ok = 0;

	if (check_ehdr(name, buf, len, err, errlen))
		return -1;
	for (int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr p;

		memcpy(&p, buf + eh->e_phoff + i * sizeof(p), sizeof(p));
		if (p.p_type != PT_LOAD || p.p_memsz == 0)
			continue;
		if (check_segment(name, i, &p, len, win, err, errlen))
			return -1;
		for (int j = 0; j < nload; j++)
			if (segments_overlap(&p, &ph[j]))
				return fail(err, errlen, name, "segment %d overlaps "
					    "another loadable segment at %#llx", i,
					    (unsigned long long)ph[j].p_paddr);
		if ((p.p_flags & PF_X) && eh->e_entry >= p.p_paddr &&
		    eh->e_entry < p.p_paddr + p.p_memsz)
			entry_ok = 1;
		ph[nload++] = p;
	}
	if (!nload)
		return fail(err, errlen, name, "no loadable segments");
	if (!entry_ok)
		return fail(err, errlen, name, "entry point %#llx is not inside an "
			    "executable loadable segment",
			    (unsigned long long)eh->e_entry);
	for (int i = 0; i < nload; i++) {
		memcpy(mem + ph[i].p_paddr, buf + ph[i].p_offset, ph[i].p_filesz);
		memset(mem + ph[i].p_paddr + ph[i].p_filesz, 0,
		       ph[i].p_memsz - ph[i].p_filesz);
	}
	*entry = eh->e_entry;
	return 0;
}
