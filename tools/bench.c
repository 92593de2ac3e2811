/* vcprr bench NAME [--json]: the measured interfaces.  Each benchmark prints
 * one JSON object on stdout with --json, a readable table otherwise. */
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"

#include "tools/bench-trace.h"
#include "tools/inspect.h"

int bench_pause_main(int argc, char **argv);
int bench_record_main(int argc, char **argv);
int bench_replay_main(int argc, char **argv);
int bench_explore_main(int argc, char **argv);
int bench_snapshot_main(int argc, char **argv);
int bench_analyze_main(int argc, char **argv);
int bench_sched_main(int argc, char **argv);
int bench_debug_main(int argc, char **argv);

struct bench {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	bool events;              /* takes --events N */
};

static const struct bench benches[] = {
	{ "pause", bench_pause_main, "kick/pause/resume latencies, RCU vs mutex check", false },
	{ "sched", bench_sched_main, "serial/step scheduling per exit against a bare KVM_RUN loop", false },
	{ "record", bench_record_main, "recording overhead on the pio guest, trace size", false },
	{ "replay", bench_replay_main, "replay vs record time (serial), pause landing cost, a long replay's memory", true },
	{ "explore", bench_explore_main, "runs to find the lost-update race: PCT vs random; minimize", false },
	{ "snapshot", bench_snapshot_main, "VM snapshots: checkpoint and restore cost, memory held", false },
	{ "debug", bench_debug_main, "going backwards in a step trace: reverse-stepi, reverse-continue, restore", false },
	{ "analyze", bench_analyze_main, "watching every instruction: cost, and analyze on the demo", false },
	{ "reader", bench_reader_main, "trace reader speed and memory on 10M events", true },
	{ "writer", bench_writer_main, "trace writer alone on synthetic events", true },
	{ "inspect", bench_inspect_main, "vcprr inspect summary speed and RSS on 10M events", true },
	{ NULL, NULL, NULL, false },
};

static void list(FILE *f)
{
	fprintf(f, "usage: vcprr bench NAME [--json] [--events N]\n\n"
		"Each benchmark prints a readable table, or one JSON object on\n"
		"stdout with --json.  --events N (reader, writer, inspect): the\n"
		"size of the synthetic trace; (replay) of the long replay.\n\n"
		"benchmarks:\n");
	for (const struct bench *b = benches; b->name; b++)
		fprintf(f, "  %-10s %s\n", b->name, b->summary);
}

/* Every argument is checked here, so that a typo is an error rather than
 * a benchmark run with the defaults. */
static int check_args(const struct bench *b, int argc, char **argv)
{
	uint64_t n;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			continue;
		if (b->events && !strcmp(argv[i], "--events")) {
			if (++i == argc)
				return cli_usage_error("bench", "--events needs a "
						       "value");
			if (cli_parse_u64(argv[i], &n) || !n)
				return cli_usage_error("bench", "--events '%s': "
						       "expected a number >= 1",
						       argv[i]);
			continue;
		}
		return cli_usage_error("bench", "%s: unknown argument '%s' "
				       "(it takes --json%s)", b->name, argv[i],
				       b->events ? " and --events N" : "");
	}
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	if (argc < 2) {
		list(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--list") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		list(stdout);
		return 0;
	}
	for (const struct bench *b = benches; b->name; b++) {
		if (strcmp(argv[1], b->name))
			continue;
		for (int i = 2; i < argc; i++)
			if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
				printf("usage: vcprr bench %s [--json]%s\n  %s\n",
				       b->name, b->events ? " [--events N]" : "",
				       b->summary);
				return 0;
			}
		return check_args(b, argc - 1, argv + 1) ?:
		       b->fn(argc - 1, argv + 1);
	}
	return cli_usage_error("bench", "unknown benchmark '%s'", argv[1]);
}
