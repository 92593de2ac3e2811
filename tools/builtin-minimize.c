/* vcprr minimize: shrink the schedule of a failing trace. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/minimize.h"
#include "tools/outfile.h"

static const char minimize_usage[] =
"usage: vcprr minimize FILE -o OUT [options]\n"
"\n"
"Shrinks the schedule of a failing serial or step run (a trace kept by vcprr\n"
"explore, or recorded with --sched serial|step): drops scheduling decisions\n"
"and injected pauses, a chunk at a time, for as long as the run still fails\n"
"with the same signature and no more preemptions or pauses.  Writes the\n"
"smallest failing run found to OUT, a trace that vcprr replay replays, and\n"
"reports the schedule before and after.  OUT is written as soon as the\n"
"recorded schedule has failed again, and replaced (whole, in one rename) by\n"
"each smaller failing run: Ctrl-C, an error or --max-runs leave the\n"
"smallest failing run found so far in OUT.\n"
"\n"
"options:\n"
"  -o, --output OUT     the minimized trace (required; '-': stdout, at the end)\n"
"  --max-runs N         run at most N schedules, the recorded one included\n"
"                       (default 500)\n"
"  --guest PATH         the guest, when not at the recorded path\n"
"  -f, --force          replace an existing OUT, and run a guest whose SHA-256\n"
"                       differs from the recorded one\n"
"  --json               the report as JSON on stdout\n"
"  -h, --help           show this help\n"
"\n"
"exit status: 0 minimized, 1 the trace's schedule does not fail (again),\n"
"2 usage (or OUT refused: it exists, or is FILE), 126 error (bad trace, guest\n"
"cannot run), 130 interrupted (OUT holds the smallest failing run so far).\n";

/* The report goes to stdout, or to stderr when stdout takes the trace. */
static FILE *report_to;

static void print_size(const char *label, const struct schedule_size *z)
{
	fprintf(report_to, "  %-7s %llu steps, %llu preemptions, %llu switches, "
		"%llu injected pauses (%zu decisions and %zu injections in the "
		"plan)\n", label, (unsigned long long)z->steps,
		(unsigned long long)z->preemptions,
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
		printf("{\"runs\": %u, \"seconds\": %.3f, \"interrupted\": %s, ",
		       rep->runs, rep->seconds, rep->interrupted ? "true" : "false");
		json_size("before", &rep->before);
		printf(", ");
		json_size("after", &rep->after);
		printf("}\n");
		return;
	}
	fprintf(report_to, "minimize: %s: %s\n", in, rep->signature);
	print_size("before", &rep->before);
	print_size("after", &rep->after);
	fprintf(report_to, "  %u schedules run in %.1f s%s\n", rep->runs,
		rep->seconds, rep->interrupted ? "; interrupted: the smallest "
		"failing schedule found so far is kept" : "");
	if (strcmp(out, "-"))
		fprintf(report_to, "  replay: vcprr replay %s\n", out);
}

/* SIGINT and SIGTERM stay pending (blocked) while a run goes on; the
 * search looks for them between runs. */
static sigset_t stop_signals;
static int stop_signal;

static bool interrupted(void)
{
	struct timespec zero = { 0, 0 };
	int sig = sigtimedwait(&stop_signals, NULL, &zero);

	if (sig > 0 && !stop_signal) {
		stop_signal = sig;
		fprintf(stderr, "\nvcprr minimize: %s: keeping the smallest "
			"failing schedule found so far\n", strsignal(sig));
	}
	return stop_signal != 0;
}

/* -o -: the runs go to a temporary file, copied to stdout at the end. */
static int stdout_temp(char *path, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, len, "%s/vcprr-minimize-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int copy_to_stdout(const char *path)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, n, stdout) != (size_t)n)
			r = -1;
	close(fd);
	return n < 0 || fflush(stdout) ? -1 : r;
}

struct minimize_cli {
	struct minimize_opts o;
	const char *in, *out;
	bool json;
};

static int parse(int argc, char **argv, struct minimize_cli *c)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "max-runs", required_argument, NULL, 'R' },
		{ "guest", required_argument, NULL, 'g' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t v;
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:fh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			c->out = optarg;
			break;
		case 'R':
			if (cli_parse_u64(optarg, &v) || !v || v > 1000000)
				return cli_usage_error("minimize", "--max-runs '%s': "
						       "expected a number >= 1", optarg);
			c->o.max_runs = (unsigned)v;
			break;
		case 'g':
			c->o.guest = optarg;
			break;
		case 'f':
			c->o.force = c->o.replace = true;
			break;
		case 'J':
			c->json = true;
			break;
		case 'h':
			fputs(minimize_usage, stdout);
			exit(0);
		default:
			return cli_option_error("minimize", ch, argv);
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("minimize", optind == argc ? "missing FILE" :
				       "too many arguments");
	c->in = argv[optind];
	if (!c->out)
		return cli_usage_error("minimize", "missing -o OUT");
	if (c->json && !strcmp(c->out, "-"))
		return cli_usage_error("minimize", "--json and -o - would both "
				       "write to stdout");
	return 0;
}

static int minimize(struct minimize_cli *c, const char *out)
{
	struct minimize_report rep;
	char err[1024];
	int r;

	r = minimize_trace(c->in, out, &c->o, &rep, err, sizeof(err));
	if (rep.written && !strcmp(c->out, "-") && copy_to_stdout(out)) {
		fprintf(stderr, "vcprr minimize: writing to stdout failed\n");
		return EXIT_VMM_ERROR;
	}
	if (r == MINIMIZE_OK) {
		report(c->in, c->out, &rep, c->json);
		return stop_signal ? 128 + stop_signal : 0;
	}
	fprintf(stderr, "vcprr minimize: %s\n", err);
	if (rep.written)
		fprintf(stderr, "vcprr minimize: %s holds the smallest failing "
			"schedule found before that\n", c->out);
	return r == MINIMIZE_NO_FAILURE ? 1 : EXIT_VMM_ERROR;
}

int cmd_minimize(int argc, char **argv)
{
	struct minimize_cli c = { .o = { .progress = cli_fancy_terminal(2),
					 .interrupted = interrupted } };
	const char *inputs[2];
	char tmp[4096];
	const char *out;
	int r;

	r = parse(argc, argv, &c);
	if (r)
		return r;
	inputs[0] = c.in;
	inputs[1] = c.o.guest;
	if (outfile_check("minimize", c.out, inputs, 2, c.o.replace))
		return EXIT_USAGE;
	report_to = strcmp(c.out, "-") ? stdout : stderr;
	if (c.json)
		c.o.progress = false;
	out = c.out;
	if (!strcmp(c.out, "-")) {
		if (stdout_temp(tmp, sizeof(tmp))) {
			fprintf(stderr, "vcprr minimize: cannot create a temporary "
				"file: %s\n", strerror(errno));
			return EXIT_VMM_ERROR;
		}
		out = tmp;
		c.o.replace = true;
	}
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop_signals, NULL);  /* VM threads inherit it */
	r = minimize(&c, out);
	if (out != c.out)
		unlink(out);
	return r;
}
