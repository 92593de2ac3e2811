/* libFuzzer target: the access log and the race detector on arbitrary
 * instruction streams.  The input is a sequence of records: a VCPU byte,
 * four address registers (kept near each other, so accesses collide),
 * then up to 15 instruction bytes; every stream is logged and checked
 * without a crash, and every race is between two VCPUs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/analyze-log.h"

#define NR_VCPUS 3
#define RECORD   (1 + 4 + X86_MAX_INSN_LEN)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct access_log *log = access_log_new(1u << 16);
	struct hb_config cfg = { .nr_vcpus = NR_VCPUS, .max_bytes = 8u << 20 };
	const struct hb_race *r;
	struct hb *hb;
	size_t n;

	for (size_t off = 0, step = 0; off < len; off += RECORD, step++) {
		struct analyze_sample s = { .vcpu = data[off] % NR_VCPUS,
					    .step = step };
		size_t left = len - off - 1;

		s.cpu.regs.rip = 0x100000 + 0x40 * (data[off] >> 2);
		s.cpu.regs.rdi = 0x200000 + (left > 0 ? data[off + 1] : 0);
		s.cpu.regs.rsi = 0x200000 + (left > 1 ? data[off + 2] : 0);
		s.cpu.regs.rax = 0x200000 + (left > 2 ? data[off + 3] : 0);
		s.cpu.regs.rcx = left > 3 ? data[off + 4] % 4 : 0;
		s.cpu.regs.rsp = 0x200100;
		s.cpu.regs.rdx = 0x500;
		s.nbytes = left > 4 ? (uint8_t)(left - 4 < X86_MAX_INSN_LEN ?
						left - 4 : X86_MAX_INSN_LEN) : 0;
		if (s.nbytes)
			memcpy(s.bytes, data + off + 5, s.nbytes);
		access_log_step(log, &s);
	}
	hb = access_log_races(log, &cfg);
	if (hb) {
		r = hb_races(hb, &n);
		for (size_t i = 0; i < n; i++)
			if (r[i].first.thread == r[i].second.thread ||
			    r[i].first.thread >= NR_VCPUS ||
			    r[i].second.thread >= NR_VCPUS)
				abort();
		hb_free(hb);
	}
	access_log_free(log);
	return 0;
}
