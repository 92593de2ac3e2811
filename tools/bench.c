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

struct bench {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct bench benches[] = {
	{ "pause", bench_pause_main, "kick/pause/resume latencies, RCU vs mutex check" },
	{ "record", bench_record_main, "recording overhead on the pio guest, trace size" },
	{ "replay", bench_replay_main, "replay vs record time (serial), pause landing cost" },
	{ "explore", bench_explore_main, "runs to find the lost-update race: PCT vs random; minimize" },
	{ "reader", bench_reader_main, "trace reader speed and memory on 10M events" },
	{ "writer", bench_writer_main, "trace writer alone on synthetic events" },
	{ "inspect", bench_inspect_main, "vcprr inspect summary speed and RSS on 10M events" },
	{ NULL, NULL, NULL },
};

int cmd_bench(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--list") || !strcmp(argv[1], "--help")) {
		printf("usage: vcprr bench NAME [--json]\n\nbenchmarks:\n");
		for (const struct bench *b = benches; b->name; b++)
			printf("  %-10s %s\n", b->name, b->summary);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	for (const struct bench *b = benches; b->name; b++)
		if (!strcmp(argv[1], b->name))
			return b->fn(argc - 1, argv + 1);
	return cli_usage_error("bench", "unknown benchmark '%s'", argv[1]);
}
