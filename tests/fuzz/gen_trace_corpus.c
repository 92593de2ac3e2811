/* Writes the seed corpus for fuzz_trace_reader into the directory given as
 * argv[1].  Not built by default; to regenerate:
 *   cc -O2 -I. -D_GNU_SOURCE -pthread tests/fuzz/gen_trace_corpus.c \
 *      traces/*.c -lzstd -o /tmp/gen && /tmp/gen tests/fuzz/corpus/trace_reader */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "traces/trace.h"

static void record(const char *path, int n, uint32_t frame_events, int lossy)
{
	struct trace_writer_opts o = { .frame_events = frame_events,
				       .lossy = lossy };
	struct trace_header h = { .start_time_ns = 7 };
	struct trace_writer *w;
	struct trace_producer *p;
	struct trace_event ev;
	char err[256], text[64];

	/* the reader stores the description without reading it */
	strcpy(h.desc, "desc_version=1\nmode=serial\nvcpus=2\n");
	w = trace_writer_open(path, &h, &o, err, sizeof(err));
	if (!w) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	p = trace_producer_new(w);
	for (int i = 0; i < n; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.type = 1 + (uint32_t)(i * 7) % (TEV__COUNT - 1);
		ev.vcpu = i % 5 == 4 ? TRACE_VCPU_NONE : (uint32_t)(i % 2);
		ev.exit_seq = (uint64_t)i / 2;
		ev.rip = 0x100000 + 4 * (i % 3);
		ev.digest = i % 11 ? 0 : 0x0123456789abcdefull * (uint64_t)i;
		ev.a0 = 0x3f8;
		ev.a1 = (uint64_t)i;
		ev.time_ns = 1000000 + 7000 * (uint64_t)i;
		if (i % 9 == 0) {
			ev.payload_len = (uint32_t)snprintf(text, sizeof(text),
							    "line %d\n", i);
		}
		trace_emit_timed(p, &ev, text);
	}
	trace_writer_close(w, 0, 0, 0xabc);
}

static void cut(const char *src, const char *dst, long drop)
{
	FILE *f = fopen(src, "rb");
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf), f);

	fclose(f);
	f = fopen(dst, "wb");
	fwrite(buf, 1, n - (size_t)drop, f);
	fclose(f);
}

int main(int argc, char **argv)
{
	char a[512], b[512];

	if (argc != 2)
		return 2;
	snprintf(a, sizeof(a), "%s/small.trace", argv[1]);
	record(a, 40, 16, 0);
	snprintf(b, sizeof(b), "%s/no-tail.trace", argv[1]);
	cut(a, b, 150);
	snprintf(b, sizeof(b), "%s/cut-frame.trace", argv[1]);
	cut(a, b, 300);
	snprintf(a, sizeof(a), "%s/one-frame.trace", argv[1]);
	record(a, 200, 0, 1);
	snprintf(a, sizeof(a), "%s/empty.trace", argv[1]);
	record(a, 0, 0, 0);
	return 0;
}
