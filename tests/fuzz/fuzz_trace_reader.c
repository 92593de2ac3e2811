/* libFuzzer target: the trace reader on arbitrary bytes.  Opens from
 * memory, decodes the run description, reads every event, then seeks
 * around using targets taken from the input's last bytes.  Any crash,
 * sanitizer report or hang is a bug.
 *
 * Mutations cannot forge the checksums of the header and the end marker,
 * so for inputs of even size a copy with them made right is read instead:
 * mutations reach what the checksums guard (lengths, the description, the
 * index's place) as well as the checksums themselves. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "traces/format.h"
#include "traces/trace.h"
#include "vmm/run-desc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t tail_u64(const uint8_t *data, size_t size, size_t k)
{
	uint64_t v = 0;

	if (size >= 8 * (k + 1))
		memcpy(&v, data + size - 8 * (k + 1), 8);
	return v;
}

static void fix_checks(uint8_t *b, size_t size)
{
	uint32_t len;

	if (size < 8 + TF_HDR_FIXED + TF_CHECK_BYTES)
		return;
	len = tf_le32(b + 4);
	if (len >= TF_HDR_FIXED + TF_CHECK_BYTES && 8 + (uint64_t)len <= size)
		tf_check(b + 8, len - TF_CHECK_BYTES, b + len);
	if (size >= 8 + len + TF_END_FRAME) {
		uint8_t *e = b + size - TF_END_FRAME;

		tf_check(e + 8, TF_END_BYTES - TF_CHECK_BYTES,
			 e + TF_END_FRAME - TF_CHECK_BYTES);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_reader *r;
	struct trace_event ev;
	struct run_desc desc;
	uint8_t *copy = NULL;
	const uint8_t *pl;
	volatile uint64_t sink = 0;
	char err[256];
	int ret;

	if (size % 2 == 0 && (copy = malloc(size ? size : 1))) {
		memcpy(copy, data, size);
		fix_checks(copy, size);
		data = copy;
	}
	r = trace_reader_open_mem(data, size, err, sizeof(err));
	if (!r) {
		free(copy);
		return 0;
	}
	if (!run_desc_decode(trace_reader_header(r), &desc, err, sizeof(err)))
		sink += desc.sched.seed + desc.guest.path[0];
	while ((ret = trace_reader_next(r, &ev, &pl)) == 1)
		if (ev.payload_len)
			sink += pl[ev.payload_len - 1];   /* must be readable */
	if (ret < 0 && !trace_reader_error(r))
		__builtin_trap();
	trace_reader_truncation(r);
	for (size_t k = 0; k < 3; k++) {
		if (trace_reader_seek_seq(r, tail_u64(data, size, k) % 4096) == 1)
			trace_reader_next(r, &ev, &pl);
		if (trace_reader_seek_time(r, tail_u64(data, size, k)) == 1)
			trace_reader_next(r, &ev, &pl);
	}
	trace_reader_seek_seq(r, 0);
	while (trace_reader_next(r, &ev, &pl) == 1)
		sink += ev.seq;
	trace_reader_close(r);
	free(copy);
	(void)sink;
	return 0;
}
