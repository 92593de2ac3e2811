/* Trace format benchmarks, run as `vcprr bench trace-writer|trace-reader`.
 * argv[0] is the bench name; flags: --json (one JSON object on stdout),
 * --events N.  Return 0 on success, non-zero with a message on stderr. */
#ifndef VCPRR_TOOLS_BENCH_TRACE_H
#define VCPRR_TOOLS_BENCH_TRACE_H

#include <stdint.h>

int bench_writer_main(int argc, char **argv);
/* The writer alone on n synthetic events: throughput and size. */
int bench_writer_measure(uint64_t n, double *events_per_s,
			 double *bytes_per_event, uint64_t *file_bytes);
int bench_reader_main(int argc, char **argv);
/* Writes the synthetic stream (@n events + VM_END) to @path as a trace,
 * for other benchmarks.  0, or -1 with a message on stderr. */
int bench_trace_write(const char *path, uint64_t n);

#endif
