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
	char names[96][48];
	double values[96];
};
void bench_report_add(struct bench_report *r, const char *name, double v);
/* A value that could not be measured: null in JSON. */
#define BENCH_NONE (__builtin_nan(""))
void bench_report_print(const struct bench_report *r);

/* One sample of a side: wall-clock time and the CPU time of the whole
 * process (every thread; guest time included) for the same work, in the
 * same unit.  On a loaded machine the CPU time varies less: waiting for a
 * core is not in it, while what the side's threads do (wake-ups, the trace
 * writer) is. */
struct bench_sample {
	double wall, cpu;
};
uint64_t bench_process_cpu_ns(void);

/* An on/off ratio measured as alternating pairs (off, on, off, on ...), so
 * that drift in the machine's speed (other jobs on shared cores) hits both
 * sides alike.  measure(arg, on, &sample) takes one sample of a side. */
struct bench_pairs {
	double off, on;         /* the median of each side's wall samples */
	double ratio;           /* the median of the pairs' on/off ratios */
	double spread;          /* the largest minus the smallest of them */
	double cpu_off, cpu_on, cpu_ratio, cpu_spread;  /* the same, CPU */
};
#define BENCH_MAX_PAIRS 16
int bench_alternate(int pairs,
		    int (*measure)(void *arg, bool on, struct bench_sample *s),
		    void *arg, struct bench_pairs *out);
/* The median of n values (sorts them in place). */
double bench_median(double *v, int n);
/* The median of n ratios of pairs, and their spread (sorts them). */
double bench_ratios(double *ratio, int n, double *spread);

/* build/guests/NAME.elf next to the running vcprr binary, else
 * ../share/vcprr/guests/NAME.elf (an installed vcprr); $VCPRR_GUESTS
 * overrides the folder.  Static buffer. */
const char *bench_guest_path(const char *name);
#endif
