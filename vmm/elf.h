/* ELF64 guest loader.  The file is hostile input: every header field,
 * offset and size is checked, and a bad file gives a message naming the file
 * and the problem. */
#ifndef VCPRR_VMM_ELF_H
#define VCPRR_VMM_ELF_H

#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_FILE_SIZE (256u << 20)  /* larger files are refused */
#define ELF_MAX_PHDRS     64

/* Where a guest image may be placed: [min, max) in guest-physical memory. */
struct elf_window {
	uint64_t min, max;
	uint64_t mem_size;
};

/* Reads a whole file into a malloc'd buffer the caller frees.  Refuses
 * files over ELF_MAX_FILE_SIZE and anything but a regular file (a FIFO or
 * device is refused at once, never waited on). */
int elf_read_file(const char *path, uint8_t **buf, size_t *len,
		  char *err, size_t errlen);

/* Validates the image in buf and copies its PT_LOAD segments into mem
 * (the guest's memory, win->mem_size bytes), zeroing .bss.  `name` is used in
 * messages.  Returns 0 and the entry point, or -1 with a message. */
int elf_load_image(const char *name, const uint8_t *buf, size_t len,
		   uint8_t *mem, const struct elf_window *win,
		   uint64_t *entry, char *err, size_t errlen);

#endif
