/* libFuzzer target: the ELF guest loader on arbitrary bytes.  Every input
 * must load or be refused with a message, within the window's bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/elf.h"
#include "vmm/guest/abi.h"

#define MEM (8u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static uint8_t *mem;
	const struct elf_window win = {
		.min = VCPRR_IMAGE_MIN, .max = MEM - 4 * VCPRR_STACK_SIZE,
		.mem_size = MEM,
	};
	uint64_t entry = 0;
	char err[512] = "";

	if (!mem)
		mem = calloc(1, MEM);
	if (elf_load_image("fuzz.elf", data, len, mem, &win, &entry, err,
			   sizeof(err)) == 0) {
		if (entry < win.min || entry >= win.max)
			abort();  /* an accepted entry point lies in the window */
	} else if (strncmp(err, "fuzz.elf: ", 10)) {
		abort();  /* every error names the file */
	}
	return 0;
}
