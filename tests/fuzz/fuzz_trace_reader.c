/* libFuzzer target: the trace reader on arbitrary bytes.  Opens from
 * memory, reads every event, then seeks around using targets taken from
 * the input's last bytes.  Any crash, sanitizer report or hang is a bug. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "traces/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t tail_u64(const uint8_t *data, size_t size, size_t k)
{
	uint64_t v = 0;

	if (size >= 8 * (k + 1))
		memcpy(&v, data + size - 8 * (k + 1), 8);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace_reader *r;
	struct trace_event ev;
	const uint8_t *pl;
	volatile uint64_t sink = 0;
	char err[256];
	int ret;

	r = trace_reader_open_mem(data, size, err, sizeof(err));
	if (!r)
		return 0;
	sink += trace_reader_header(r)->seed;
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
	(void)sink;
	return 0;
}
