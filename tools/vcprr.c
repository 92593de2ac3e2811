/* vcprr: record/replay and deterministic pause testing for KVM VCPUs. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/inspect.h"
#include "traces/event.h"

#define VCPRR_VERSION "0.1.0"

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "run", cmd_run, "boot a guest on N VCPUs and run it" },
	{ "record", cmd_record, "run a guest and write every event to a trace" },
	{ "replay", cmd_replay, "re-drive a trace and check every event (--check: CI)" },
	{ "explore", cmd_explore, "run many seeded schedules with injected pauses; keep failures" },
	{ "minimize", cmd_minimize, "shrink a failing trace's schedule, keeping the failure" },
	{ "inspect", cmd_inspect, "summarise, dump, follow or diff traces" },
	{ "export", cmd_export, "a trace as Perfetto/Chrome JSON or an HTML timeline" },
	{ "bench", cmd_bench, "run a benchmark (vcprr bench --list)" },
};

#define NR_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: vcprr [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < NR_SUBCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\n'vcprr COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	/* A file size limit (ulimit -f) must fail the trace's writes with
	 * EFBIG, which ends the recording cleanly, not kill the recorder. */
	signal(SIGXFSZ, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("vcprr %s (trace format %d)\n", VCPRR_VERSION, TRACE_FORMAT_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NR_SUBCOMMANDS; i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "vcprr: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
