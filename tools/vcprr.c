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
	{ "debug", cmd_debug, "run a guest under gdb (breakpoints, watchpoints, stepi)" },
	{ "analyze", cmd_analyze, "the data races of a step run, and why a failing one fails" },
	{ "inspect", cmd_inspect, "summarise, dump, follow or diff traces" },
	{ "export", cmd_export, "a trace as Perfetto/Chrome JSON or an HTML timeline" },
	{ "bench", cmd_bench, "run a benchmark (vcprr bench --list)" },
};

#define NR_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: vcprr [-V|--version] [-h|--help] COMMAND [ARGS]\n"
		"       vcprr help COMMAND\n\ncommands:\n");
	for (size_t i = 0; i < NR_SUBCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\n'vcprr COMMAND --help' (or 'vcprr help COMMAND') describes "
		"each command.\nA FILE or -o OUT of '-' is standard input or "
		"output.  No command replaces an\nexisting output without "
		"--force, nor ever writes over one of its inputs.\n");
}

static const struct subcommand *lookup(const char *name)
{
	for (size_t i = 0; i < NR_SUBCOMMANDS; i++)
		if (!strcmp(name, subcommands[i].name))
			return &subcommands[i];
	return NULL;
}

static int unknown(const char *name)
{
	fprintf(stderr, "vcprr: unknown command '%s'\n", name);
	usage(stderr);
	return EXIT_USAGE;
}

/* vcprr help CMD [SUB]: CMD's own --help (SUB: inspect dump ...). */
static int help(int argc, char **argv)
{
	const struct subcommand *c;
	char *args[4] = { NULL };
	int n = 0;

	if (argc < 3) {
		usage(stdout);
		return 0;
	}
	c = lookup(argv[2]);
	if (!c)
		return unknown(argv[2]);
	args[n++] = argv[2];
	if (argc > 3)
		args[n++] = argv[3];
	args[n++] = "--help";
	return c->fn(n, args);
}

int main(int argc, char **argv)
{
	const struct subcommand *c;

	/* A file size limit (ulimit -f) must fail the trace's writes with
	 * EFBIG, which ends the recording cleanly, not kill the recorder. */
	signal(SIGXFSZ, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") ||
	    !strcmp(argv[1], "version")) {
		printf("vcprr %s (trace format %d)\n", VCPRR_VERSION, TRACE_FORMAT_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))  {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "help"))
		return help(argc, argv);
	c = lookup(argv[1]);
	return c ? c->fn(argc - 1, argv + 1) : unknown(argv[1]);
}
