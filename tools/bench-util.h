/* Small helpers for the benchmarks: clocks, percentiles, JSON output. */
#ifndef VCPRR_TOOLS_BENCH_UTIL_H
#define VCPRR_TOOLS_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t bench_now_ns(void);
uint64_t bench_thread_cpu_ns(void);
/* The p-th percentile (0..100) of n samples; sorts them in place. */
double bench_percentile(uint64_t *samples, size_t n, double p);
/* True when argv holds --json. */
bool bench_want_json(int argc, char **argv);

/* Accumulates "name": value pairs and prints them as one JSON object (or a
 * table without --json). */
struct bench_report {
	bool json;
	int n;
	char names[48][48];
	double values[48];
};
void bench_report_add(struct bench_report *r, const char *name, double v);
/* A value that could not be measured: null in JSON. */
#define BENCH_NONE (__builtin_nan(""))
void bench_report_print(const struct bench_report *r);



/* build/guests/NAME.elf next to the running vcprr binary, else
 * ../share/vcprr/guests/NAME.elf (an installed vcprr); $VCPRR_GUESTS
 * overrides the folder.  Static buffer. */
const char *bench_guest_path(const char *name);
#endif
