/* vcprr analyze: the data races of a step-mode run, and why a failing
 * one fails. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/analyze.h"
#include "tools/cli.h"
#include "tools/export-html.h"
#include "tools/outfile.h"
#include "vmm/vm.h"

static const char analyze_usage[] =
"usage: vcprr analyze TRACE [options]\n"
"       vcprr analyze --races GUEST.elf [run options]\n"
"\n"
"Explains a failing step-mode run (a trace kept by vcprr explore, or\n"
"recorded with --sched step): shrinks its schedule as vcprr minimize does,\n"
"finds the preemptions and injected pauses without which the run passes,\n"
"and runs the smallest failing schedule once more watching every\n"
"instruction: each memory access is decoded, a happens-before detector\n"
"(vector clocks: locked instructions, atomics, hypercalls and pauses\n"
"synchronise) reports the data races, once per pair of source lines, with\n"
"the variable, file:line and function of both sides; and each decisive\n"
"decision is told: who was preempted after which access, what the others\n"
"did to the variable meanwhile, what the preempted VCPU did next.\n"
"A serial trace cannot be analysed (its VCPUs switch only at VM exits):\n"
"find the failure with vcprr explore GUEST --preempt step.\n"
"\n"
"With --races, runs GUEST.elf once in step mode and reports its races,\n"
"whether the run passes or fails (ThreadSanitizer for guests).\n"
"\n"
"options:\n"
"  --json               one JSON object on stdout\n"
"  --html OUT           also the timeline of the run watched (the smallest\n"
"                       failing schedule, or the --races run) as an HTML\n"
"                       page (vcprr export --format html) with the racing\n"
"                       accesses marked on their VCPUs' lanes, each pair\n"
"                       linked, and the decisions' windows shaded\n"
"  --guest PATH         the guest, when not at the recorded path\n"
"  --guest-dir DIR      a folder to look for the recorded guest in, too\n"
"  -f, --force          run a guest whose SHA-256 differs from the recorded\n"
"                       one, and replace an existing --html OUT\n"
"  --max-runs N         schedules the shrinking may run (default 200)\n"
"run options (--races):\n"
"  -n, --vcpus N        VCPUs (default 1)\n"
"  -m, --mem SIZE       guest memory (default 64M)\n"
"  --seed N             the scheduler's seed (default 1)\n"
"  --policy P           rr, random or pct:D (default rr)\n"
CLI_INPUT_HELP
"  -t, --timeout D      stop the run after D (default 30s)\n"
"  -h, --help           show this help\n"
"\n"
"exit status: 0 no data race found, 1 data races found, 2 usage,\n"
"126 error (bad trace, guest not found or cannot run), 130 interrupted.\n";

struct analyze_cli {
	struct analyze_opts o;
	struct explore_config cfg;
	uint64_t seed;
	bool races, json;
	const char *input, *html;
};

static sigset_t stop_signals;
static int stop_signal;

static bool interrupted(void)
{
	struct timespec zero = { 0, 0 };
	int sig = sigtimedwait(&stop_signals, NULL, &zero);

	if (sig > 0 && !stop_signal)
		stop_signal = sig;
	return stop_signal != 0;
}

static int parse_run_option(int ch, struct analyze_cli *c)
{
	uint64_t v;

	switch (ch) {
	case 'n':
		if (cli_parse_u64(optarg, &v) || !v || v > VM_MAX_VCPUS)
			return cli_usage_error("analyze", "--vcpus '%s': expected "
					       "1 to %u", optarg, VM_MAX_VCPUS);
		c->cfg.nr_vcpus = (unsigned)v;
		return 0;
	case 'm':
		if (cli_parse_size(optarg, &c->cfg.mem_size))
			return cli_usage_error("analyze", "--mem '%s': expected "
					       "a size such as 64M", optarg);
		return cli_check_mem("analyze", optarg, c->cfg.mem_size);
	case 'S':
		if (cli_parse_u64(optarg, &c->seed))
			return cli_usage_error("analyze", "--seed '%s': expected "
					       "a number", optarg);
		return 0;
	case 'Y':
		if (sched_policy_parse(optarg, &c->cfg.sched.policy,
				       &c->cfg.sched.pct_depth) ||
		    c->cfg.sched.policy == VM_POLICY_PLAN)
			return cli_usage_error("analyze", "--policy '%s': "
					       "expected rr, random or pct:D",
					       optarg);
		return 0;
	case 'a':
		return cli_add_arg("analyze", optarg, &c->cfg.input);
	case 'T':
		return cli_read_data("analyze", optarg, &c->cfg.input);
	case 't':
		if (cli_parse_duration(optarg, &c->cfg.timeout_ns))
			return cli_bad_duration("analyze", "--timeout", optarg);
		return 0;
	}
	return -1;
}

static int parse(int argc, char **argv, struct analyze_cli *c)
{
	static const struct option longopts[] = {
		{ "races", no_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'J' },
		{ "html", required_argument, NULL, 'H' },
		{ "guest", required_argument, NULL, 'g' },
		{ "guest-dir", required_argument, NULL, 'D' },
		{ "force", no_argument, NULL, 'f' },
		{ "max-runs", required_argument, NULL, 'R' },
		{ "vcpus", required_argument, NULL, 'n' },
		{ "mem", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 'S' },
		{ "policy", required_argument, NULL, 'Y' },
		{ "arg", required_argument, NULL, 'a' },
		{ "data", required_argument, NULL, 'T' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool run_opt = false;
	uint64_t v;
	int ch, r;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":fn:m:a:t:h", longopts,
				 NULL)) != -1) {
		switch (ch) {
		case 'r':
			c->races = true;
			break;
		case 'J':
			c->json = true;
			break;
		case 'H':
			c->html = optarg;
			break;
		case 'g':
			c->o.guest = optarg;
			break;
		case 'D':
			c->o.guest_dir = optarg;
			break;
		case 'f':
			c->o.force = true;
			break;
		case 'R':
			if (cli_parse_u64(optarg, &v) || !v || v > 1000000)
				return cli_usage_error("analyze", "--max-runs '%s': "
						       "expected a number >= 1", optarg);
			c->o.max_runs = (unsigned)v;
			break;
		case 'h':
			fputs(analyze_usage, stdout);
			exit(0);
		default:
			r = parse_run_option(ch, c);
			if (r < 0)
				return cli_option_error("analyze", ch, argv);
			if (r)
				return r;
			run_opt = true;
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("analyze", optind == argc ?
				       "missing TRACE (or --races GUEST.elf)" :
				       "too many arguments");
	c->input = argv[optind];
	if (!strcmp(c->input, "-"))
		return cli_usage_error("analyze", "TRACE '-': analyze reads the "
				       "trace more than once; give a file");
	if (run_opt && !c->races)
		return cli_usage_error("analyze", "run options (--vcpus, --seed "
				       "...) go with --races GUEST.elf; a trace "
				       "brings its own");
	if (c->html && outfile_check("analyze", c->html, &c->input, 1,
				     c->o.force))
		return EXIT_USAGE;
	if (c->races && (c->o.guest || c->o.guest_dir || c->o.max_runs))
		return cli_usage_error("analyze", "--guest, --guest-dir and "
				       "--max-runs go with a TRACE, not --races");
	return 0;
}

/* The page of the watched run, with the result on it. */
static int write_html(const struct analyze_cli *c, const struct analyze_result *res)
{
	char title[4200];

	if (!c->html)
		return 0;
	snprintf(title, sizeof(title), "%s, as vcprr analyze watched it%s",
		 c->input, res->minimized ? " (its smallest failing schedule)"
		 : "");
	if (export_html_file("analyze", c->o.watched, c->html, c->o.force,
			     res->st, res, title))
		return -1;
	if (!c->json)
		printf("timeline: %s\n", c->html);
	return 0;
}

static int finish(const struct analyze_cli *c, struct analyze_result *res)
{
	int status;

	if (c->json)
		analyze_print_json(stdout, res);
	else
		analyze_print(stdout, res);
	status = res->nraces ? 1 : 0;
	if (write_html(c, res))
		status = EXIT_VMM_ERROR;
	analyze_result_free(res);
	if (fflush(stdout)) {
		fprintf(stderr, "vcprr analyze: writing the report failed\n");
		return EXIT_VMM_ERROR;
	}
	return stop_signal ? 128 + stop_signal : status;
}

int cmd_analyze(int argc, char **argv)
{
	struct analyze_cli c = { .o = { .interrupted = interrupted },
				 .cfg = { .nr_vcpus = 1, .mem_size = VM_DEFAULT_MEM },
				 .seed = 1 };
	struct analyze_result res;
	char err[2048], dir[ANALYZE_SCRATCH_MAX], watched[ANALYZE_SCRATCH_MAX + 32];
	int r;

	c.cfg.sched.mode = VM_SCHED_STEP;
	r = parse(argc, argv, &c);
	if (r)
		return r;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL);  /* VM threads inherit it */
	if (c.html) {
		if (analyze_scratch_make(dir, sizeof(dir), err, sizeof(err))) {
			fprintf(stderr, "vcprr analyze: %s\n", err);
			return EXIT_VMM_ERROR;
		}
		snprintf(watched, sizeof(watched), "%s/watched.trace", dir);
		c.o.watched = watched;
	}
	if (c.races) {
		c.cfg.guest = c.input;
		c.cfg.sched.seed = c.seed;
		r = analyze_guest(&c.cfg, c.seed, &c.o, &res, err, sizeof(err));
	} else {
		r = analyze_trace(c.input, &c.o, &res, err, sizeof(err));
	}
	if (r) {
		fprintf(stderr, "vcprr analyze: %s\n", err);
		analyze_result_free(&res);
		r = interrupted() ? 128 + stop_signal : EXIT_VMM_ERROR;
	} else {
		r = finish(&c, &res);
	}
	if (c.html) {
		unlink(watched);
		analyze_scratch_remove(dir);
	}
	return r;
}
