/* Trace format benchmarks, run as `vcprr bench trace-writer|trace-reader`.
 * argv[0] is the bench name; flags: --json (one JSON object on stdout),
 * --events N.  Return 0 on success, non-zero with a message on stderr. */
#ifndef VCPRR_TOOLS_BENCH_TRACE_H
#define VCPRR_TOOLS_BENCH_TRACE_H

int bench_writer_main(int argc, char **argv);
int bench_reader_main(int argc, char **argv);

#endif
