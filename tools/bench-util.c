#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/bench-util.h"
#include "traces/clock.h"

uint64_t bench_now_ns(void)
{
	return mono_ns();
}

uint64_t bench_thread_cpu_ns(void)
{
	return thread_cpu_ns();
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

double bench_percentile(uint64_t *s, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	qsort(s, n, sizeof(*s), cmp_u64);
	i = (size_t)(p / 100.0 * (n - 1) + 0.5);
	return (double)s[i < n ? i : n - 1];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
	if (n <= 0)
		return BENCH_NONE;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

uint64_t bench_process_cpu_ns(void)
{
	return clock_ns_of(CLOCK_PROCESS_CPUTIME_ID);
}

int bench_alternate(int pairs,
		    int (*measure)(void *arg, bool on, struct bench_sample *s),
		    void *arg, struct bench_pairs *out)
{
	double off[BENCH_MAX_PAIRS], on[BENCH_MAX_PAIRS], ratio[BENCH_MAX_PAIRS];
	double coff[BENCH_MAX_PAIRS], con[BENCH_MAX_PAIRS], cratio[BENCH_MAX_PAIRS];
	struct bench_sample a, b;

	if (pairs < 1 || pairs > BENCH_MAX_PAIRS)
		return -1;
	for (int i = 0; i < pairs; i++) {
		if (measure(arg, false, &a) || measure(arg, true, &b))
			return -1;
		off[i] = a.wall;
		on[i] = b.wall;
		ratio[i] = b.wall / a.wall;
		coff[i] = a.cpu;
		con[i] = b.cpu;
		cratio[i] = b.cpu / a.cpu;
	}
	out->off = bench_median(off, pairs);
	out->on = bench_median(on, pairs);
	out->ratio = bench_ratios(ratio, pairs, &out->spread);
	out->cpu_off = bench_median(coff, pairs);
	out->cpu_on = bench_median(con, pairs);
	out->cpu_ratio = bench_ratios(cratio, pairs, &out->cpu_spread);
	return 0;
}

double bench_ratios(double *ratio, int n, double *spread)
{
	double m = bench_median(ratio, n);  /* sorted: the ends are min, max */

	*spread = n > 0 ? ratio[n - 1] - ratio[0] : BENCH_NONE;
	return m;
}

bool bench_want_json(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--json"))
			return true;
	return false;
}

void bench_report_add(struct bench_report *r, const char *name, double v)
{
	if (r->n == (int)(sizeof(r->values) / sizeof(r->values[0])))
		return;
	snprintf(r->names[r->n], sizeof(r->names[0]), "%s", name);
	r->values[r->n++] = v;
}

void bench_report_print(const struct bench_report *r)
{
	/* NaN (BENCH_NONE) is a value that could not be measured. */
	if (!r->json) {
		for (int i = 0; i < r->n; i++)
			if (r->values[i] != r->values[i])
				printf("%-36s %14s\n", r->names[i], "-");
			else
				printf("%-36s %14.3f\n", r->names[i], r->values[i]);
		return;
	}
	printf("{");
	for (int i = 0; i < r->n; i++)
		if (r->values[i] != r->values[i])
			printf("%s\"%s\": null", i ? ", " : "", r->names[i]);
		else
			printf("%s\"%s\": %.6g", i ? ", " : "", r->names[i], r->values[i]);
	printf("}\n");
}

const char *bench_guest_path(const char *name)
{
	static char path[4096];
	char exe[2048];
	const char *dir = getenv("VCPRR_GUESTS");
	ssize_t n;

	if (dir) {
		snprintf(path, sizeof(path), "%s/%s.elf", dir, name);
		return path;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(path, sizeof(path), "%s/guests/%s.elf", n > 0 ? exe : ".", name);
	if (n > 0 && access(path, F_OK))  /* installed: PREFIX/share/vcprr */
		snprintf(path, sizeof(path), "%s/../share/vcprr/guests/%s.elf",
			 exe, name);
	return path;
}
