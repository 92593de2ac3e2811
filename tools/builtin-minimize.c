/* vcprr minimize: shrink the schedule of a failing trace. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/minimize.h"

static const char minimize_usage[] =
"usage: vcprr minimize FILE -o OUT [options]\n"
"\n"
"Shrinks the schedule of a failing serial or step run (a trace kept by vcprr\n"
"explore, or recorded with --sched serial|step): drops scheduling decisions\n"
"and injected pauses, a chunk at a time, for as long as the run still fails\n"
"with the same signature and no more preemptions or pauses.  Writes the\n"
"smallest failing run found to OUT, a trace that vcprr replay replays, and\n"
"reports the schedule before and after.\n"
"\n"
"options:\n"
"  -o, --output OUT     the minimized trace (required)\n"
"  --max-runs N         try at most N schedules (default 500)\n"
"  --guest PATH         the guest, when not at the recorded path\n"
"  --force              run a guest whose SHA-256 differs from the recorded one\n"
"  --json               the report as JSON on stdout\n"
"  -h, --help           show this help\n"
"\n"
"exit status: 0 minimized, 1 the trace's schedule does not fail (again),\n"
"2 usage, 126 error (bad trace, guest cannot run).\n";

static void print_size(const char *label, const struct schedule_size *z)
{
	printf("  %-7s %llu steps, %llu preemptions, %llu switches, %llu injected "
	       "pauses (%zu decisions and %zu injections in the plan)\n", label,
	       (unsigned long long)z->steps, (unsigned long long)z->preemptions,
	       (unsigned long long)z->switches, (unsigned long long)z->injected,
	       z->decisions, z->injections);
}

static void json_size(const char *name, const struct schedule_size *z)
{
	printf("\"%s\": {\"steps\": %llu, \"preemptions\": %llu, \"switches\": %llu, "
	       "\"injected\": %llu, \"decisions\": %zu, \"injections\": %zu}", name,
	       (unsigned long long)z->steps, (unsigned long long)z->preemptions,
	       (unsigned long long)z->switches, (unsigned long long)z->injected,
	       z->decisions, z->injections);
}

static void report(const char *in, const char *out,
		   const struct minimize_report *rep, bool json)
{
	if (json) {
		printf("{\"runs\": %u, \"seconds\": %.3f, ", rep->runs, rep->seconds);
		json_size("before", &rep->before);
		printf(", ");
		json_size("after", &rep->after);
		printf("}\n");
		return;
	}
	printf("minimize: %s: %s\n", in, rep->signature);
	print_size("before", &rep->before);
	print_size("after", &rep->after);
	printf("  %u schedules tried in %.1f s\n", rep->runs, rep->seconds);
	printf("  replay: vcprr replay %s\n", out);
}

int cmd_minimize(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "max-runs", required_argument, NULL, 'R' },
		{ "guest", required_argument, NULL, 'g' },
		{ "force", no_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct minimize_opts o = { .progress = isatty(2) };
	struct minimize_report rep;
	const char *out = NULL;
	bool json = false;
	char err[1024];
	uint64_t v;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'R':
			if (cli_parse_u64(optarg, &v) || !v || v > 1000000)
				return cli_usage_error("minimize", "--max-runs '%s': "
						       "expected a number >= 1", optarg);
			o.max_runs = (unsigned)v;
			break;
		case 'g':
			o.guest = optarg;
			break;
		case 'F':
			o.force = true;
			break;
		case 'J':
			json = true;
			break;
		case 'h':
			fputs(minimize_usage, stdout);
			exit(0);
		default:
			return cli_usage_error("minimize", "unknown option");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("minimize", optind == argc ? "missing FILE" :
				       "too many arguments");
	if (!out)
		return cli_usage_error("minimize", "missing -o OUT");
	if (json)
		o.progress = false;
	r = minimize_trace(argv[optind], out, &o, &rep, err, sizeof(err));
	if (r == MINIMIZE_OK) {
		report(argv[optind], out, &rep, json);
		return 0;
	}
	fprintf(stderr, "vcprr minimize: %s\n", err);
	return r == MINIMIZE_NO_FAILURE ? 1 : EXIT_VMM_ERROR;
}
