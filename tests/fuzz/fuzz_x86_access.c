/* libFuzzer target: the x86 memory-access decoder on arbitrary bytes.  The
 * input's first bytes are the registers, the rest the instruction: every
 * input decodes to a well-formed instruction or is reported invalid. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/x86-access.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct x86_cpu cpu;
	struct x86_insn in;
	size_t head = len < sizeof(cpu) ? len : sizeof(cpu);
	uint8_t *code;

	memset(&cpu, 0, sizeof(cpu));
	memcpy(&cpu, data, head);
	/* the instruction in a buffer of its own length: ASan sees overreads */
	code = malloc(len - head + 1);
	memcpy(code, data + head, len - head);
	if (x86_decode(code, len - head, &cpu, &in) == 0) {
		if (!in.length || in.length > X86_MAX_INSN_LEN ||
		    in.length > len - head || in.naccess > X86_MAX_ACCESSES ||
		    in.cls == X86_INSN_INVALID || !in.mnemonic)
			abort();
		for (unsigned i = 0; i < in.naccess; i++)
			if (!in.acc[i].size || !in.acc[i].rw)
				abort();
	} else if (in.cls != X86_INSN_INVALID || in.naccess || in.length) {
		abort();
	}
	free(code);
	return 0;
}
