/* vcprr replay: one trace, or a corpus for CI (--check). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replay/replay.h"
#include "tools/cli.h"
#include "tools/junit.h"
#include "tools/outfile.h"
#include "traces/event-format.h"

static const char replay_usage[] =
"usage: vcprr replay FILE [--guest PATH | --guest-dir DIR] [--force] [--console]\n"
"                    [--timeout DUR] [-q]\n"
"       vcprr replay --check PATH... [-j N] [--shard K/N] [--junit FILE]\n"
"                    [--guest-dir DIR] [--timeout DUR]\n"
"\n"
"Rebuilds the VM a trace was recorded on, feeds it the recorded inputs (read\n"
"data, pause requests, resumes and register edits, scheduling decisions) and\n"
"checks every event it produces against the trace.  serial and step traces\n"
"replay bit-exactly, final guest memory included; parallel traces replay each\n"
"VCPU's events with every pause landed at its recorded position (exit count,\n"
"then RIP and register digest via a hardware breakpoint).  At the first\n"
"difference replay stops and prints the expected and actual event, decoded\n"
"as `vcprr inspect dump` prints them, the last events of that VCPU and its\n"
"registers.  A recording cut short (a signal, --timeout, a killed recorder)\n"
"replays to where it was cut.  The trace is streamed: memory does not grow\n"
"with its length.\n"
"\n"
"A replay always ends.  When nothing happens (no event matches, no pause is\n"
"being landed) for 10 times the recorded time from the last event matched\n"
"to the next one, and at least 10s, it stops as stuck and says what each\n"
"VCPU waits for.  While it runs it shows its progress on standard error:\n"
"a line that redraws itself on a terminal, else a line every 10s.\n"
"\n"
"options:\n"
"  --guest PATH     the guest image (default: the recorded one, found from\n"
"                   the trace's folder, then the recorded path)\n"
"  --guest-dir DIR  look for the recorded guest in DIR too\n"
"  --force          replay even if the image differs from the recorded one\n"
"  --console        show the guest's console output\n"
"  --gdb [HOST:]PORT|unix:PATH\n"
"                   serve the replay of a step trace to gdb, with reverse\n"
"                   execution, instead ('target remote ...'; as vcprr debug\n"
"                   --gdb-server TRACE)\n"
"  --timeout DUR    give up after DUR (with a unit: 90s, 5m) as an error,\n"
"                   whatever the progress (default: none)\n"
"  -q, --quiet      no progress display\n"
"  --check PATH...  replay many traces (files, or folders searched for\n"
"                   *.trace), a process each, one line per trace (no\n"
"                   progress display); exit status 1 if any diverged or\n"
"                   failed, or if no trace was found\n"
"  -j N             replay N traces at a time (default: number of CPUs)\n"
"  --shard K/N      only the K-th of N equal shards of the sorted list\n"
"  --junit FILE     also write a JUnit XML report (replaced if it exists;\n"
"                   never one of the traces); '-': standard output, the\n"
"                   report lines then go to standard error\n"
"\n"
"exit status: 0 same, 1 diverged or stuck (or any failure with --check, or\n"
"no trace found), 2 usage, 3 the trace holds no run (cut right after its\n"
"header, or its VM never started): nothing to replay, 126 the trace cannot\n"
"be replayed (unreadable: a corrupt header, index or frame; guest missing or\n"
"changed; --timeout; a parallel pause no breakpoint visit could land).\n";

struct replay_cli {
	struct replay_opts o;
	bool check, quiet;
	unsigned jobs;
	struct cli_shard shard;
	const char *junit;
	FILE *lines;             /* --check's report lines */
};

/* --- one trace ---------------------------------------------------------- */

#define EXIT_NOTHING 3  /* the trace holds no run */
#define LINE_EVERY_NS (10ull * 1000000000ull)  /* progress not on a terminal */

static int exit_status(const struct replay_result *r)
{
	switch (r->status) {
	case REPLAY_SAME: return 0;
	case REPLAY_DIVERGED: return 1;
	case REPLAY_EMPTY: return EXIT_NOTHING;
	default: return EXIT_VMM_ERROR;
	}
}

/* "vcprr replay: PATH: why", the path named once. */
static void print_error(const char *path, const char *msg)
{
	if (!strstr(msg, path))
		fprintf(stderr, "vcprr replay: %s: %s\n", path, msg);
	else
		fprintf(stderr, "vcprr replay: %s\n", msg);
}

struct progress_view {
	const char *path;
	bool tty, drawn;
	uint64_t next_line_ns;
};

/* The replay's progress on stderr: one line redrawn on a terminal, else a
 * line every LINE_EVERY_NS. */
static void show_progress(void *arg, const struct replay_progress *p)
{
	struct progress_view *v = arg;
	char line[320], d1[32], d2[32];
	int n;

	if (!v->tty && p->elapsed_ns < v->next_line_ns)
		return;
	v->next_line_ns = p->elapsed_ns + LINE_EVERY_NS;
	n = snprintf(line, sizeof(line), "%s: %.0fs, %llu of %llu events "
		     "matched", v->path, p->elapsed_ns / 1e9,
		     (unsigned long long)p->checked, (unsigned long long)p->total);
	if (p->landing && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - n, "; %u landing a pause "
			      "(vcpu %u: %llu visits of rip %#llx)", p->landing,
			      p->land_vcpu, (unsigned long long)p->land_visits,
			      (unsigned long long)p->land_rip);
	if (p->idle_ns >= 2000000000ull && n > 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, "; nothing for %s (stuck "
			 "at %s)", fmt_dur(d1, sizeof(d1), p->idle_ns),
			 fmt_dur(d2, sizeof(d2), p->stall_ns));
	if (v->tty)
		fprintf(stderr, "\r\033[Kvcprr replay: %s", line);
	else
		fprintf(stderr, "vcprr replay: %s\n", line);
	v->drawn = v->tty;
}

static int replay_one(const char *path, const struct replay_cli *c)
{
	struct replay_result *r = calloc(1, sizeof(*r));
	struct progress_view view = { .path = path,
				      .tty = cli_fancy_terminal(STDERR_FILENO),
				      .next_line_ns = LINE_EVERY_NS };
	struct replay_opts o = c->o;
	int st;

	if (!r)
		return EXIT_VMM_ERROR;
	if (!c->quiet) {
		o.progress = show_progress;
		o.progress_arg = &view;
	}
	replay_trace(path, &o, r);
	if (view.drawn)
		fputs("\r\033[K", stderr);
	if (r->status == REPLAY_SAME)
		printf("replay: %s: same (%s, %llu events%s)%s%s\n", path, r->mode,
		       (unsigned long long)r->events,
		       r->truncated ? "; the trace is truncated, its prefix replayed" : "",
		       r->end[0] ? "\n  " : "", r->end);
	else if (r->status == REPLAY_DIVERGED)
		printf("replay: %s: DIVERGED (%s) after %llu matching events\n%s\n",
		       path, r->mode, (unsigned long long)r->events, r->message);
	else
		print_error(path, r->message);
	st = exit_status(r);
	free(r);
	return st;
}

/* --- a corpus ----------------------------------------------------------- */

struct job {
	char *path;
	pid_t pid;               /* 0: not running */
	int fd;                  /* the child's result */
	struct replay_result r;
	bool done;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_path(char ***list, size_t *n, size_t *cap, const char *p)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		char **l = realloc(*list, c * sizeof(*l));
		if (!l)
			return -1;
		*list = l;
		*cap = c;
	}
	(*list)[*n] = strdup(p);
	return (*list)[(*n)++] ? 0 : -1;
}

static int collect(const char *path, char ***list, size_t *n, size_t *cap)
{
	struct stat st;
	struct dirent *d;
	DIR *dir;

	if (stat(path, &st)) {
		fprintf(stderr, "vcprr replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return add_path(list, n, cap, path);
	dir = opendir(path);
	if (!dir) {
		fprintf(stderr, "vcprr replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((d = readdir(dir))) {
		char sub[4096];
		size_t len = strlen(d->d_name);
		if (d->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, d->d_name);
		if (stat(sub, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			collect(sub, list, n, cap);
		else if (len > 6 && !strcmp(d->d_name + len - 6, ".trace"))
			add_path(list, n, cap, sub);
	}
	closedir(dir);
	return 0;
}

static void start_job(struct job *j, const struct replay_cli *c)
{
	int p[2];

	if (pipe(p) || (j->pid = fork()) < 0) {
		j->pid = 0;
		j->done = true;
		j->r.status = REPLAY_ERROR;
		snprintf(j->r.message, sizeof(j->r.message), "cannot start a replay "
			 "process: %s", strerror(errno));
		return;
	}
	if (j->pid == 0) {
		struct replay_result r;
		close(p[0]);
		replay_trace(j->path, &c->o, &r);
		if (write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(3);
		_exit(0);
	}
	close(p[1]);
	j->fd = p[0];
}

/* Reads the result of a child that exited; a child that died says so. */
static void finish_job(struct job *j, int st)
{
	size_t got = 0;

	while (got < sizeof(j->r)) {
		ssize_t n = read(j->fd, (char *)&j->r + got, sizeof(j->r) - got);
		if (n <= 0)
			break;
		got += n;
	}
	close(j->fd);
	j->pid = 0;
	j->done = true;
	if (got == sizeof(j->r))
		return;
	memset(&j->r, 0, sizeof(j->r));
	j->r.status = REPLAY_ERROR;
	snprintf(j->r.message, sizeof(j->r.message), "replay process %s %d",
		 WIFSIGNALED(st) ? "killed by signal" : "exited with",
		 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

static void report_line(FILE *f, const struct job *j)
{
	static const char *const word[] = { "ok      ", "DIVERGED", "ERROR   ",
					    "EMPTY   " };
	const char *nl = strchr(j->r.message, '\n');

	fprintf(f, "%s %s (%s, %llu events, %.2fs)%s%.*s\n", word[j->r.status],
		j->path, j->r.mode[0] ? j->r.mode : "?",
		(unsigned long long)j->r.events, j->r.duration_ns / 1e9,
		j->r.status ? ": " : "",
		j->r.status ? (int)(nl ? nl - j->r.message :
				    (long)strlen(j->r.message)) : 0,
		j->r.message);
	fflush(f);
}

static void junit_case(FILE *f, const struct job *j)
{
	bool failed = j->r.status == REPLAY_DIVERGED;

	fprintf(f, "  <testcase classname=\"replay\" name=\"");
	junit_escape(f, j->path);
	fprintf(f, "\" time=\"%.3f\">", j->r.duration_ns / 1e9);
	if (j->r.status) {
		fprintf(f, "<%s message=\"%s\">", failed ? "failure" : "error",
			failed ? "diverged" : j->r.status == REPLAY_EMPTY ?
			"nothing to replay" : "cannot replay");
		junit_escape(f, j->r.message);
		fprintf(f, "</%s>", failed ? "failure" : "error");
	}
	fprintf(f, "</testcase>\n");
}

/* The report, written whole under its name (or to stdout for "-"). */
static int write_junit(const char *path, struct job *jobs, size_t n)
{
	struct outfile out;
	size_t fails = 0, errors = 0;
	double total = 0;

	if (outfile_open(&out, "replay", path, true))
		return -1;
	for (size_t i = 0; i < n; i++) {
		fails += jobs[i].r.status == REPLAY_DIVERGED;
		errors += jobs[i].r.status >= REPLAY_ERROR;
		total += jobs[i].r.duration_ns / 1e9;
	}
	fprintf(out.f, JUNIT_HEAD "><testsuite name=\"vcprr replay\" tests=\"%zu\" "
		"failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", n, fails,
		errors, total);
	for (size_t i = 0; i < n; i++)
		junit_case(out.f, &jobs[i]);
	fprintf(out.f, "</testsuite></testsuites>\n");
	return outfile_commit(&out);
}

/* Up to c->jobs children at a time; each is reported as it ends. */
static void run_jobs(struct job *jobs, size_t njobs, const struct replay_cli *c)
{
	size_t next = 0, running = 0;

	while (next < njobs || running) {
		int st;
		pid_t pid;

		while (next < njobs && running < c->jobs) {
			struct job *j = &jobs[next++];
			start_job(j, c);
			if (j->pid > 0)
				running++;
			else
				report_line(c->lines, j);
		}
		if (!running)
			continue;
		pid = waitpid(-1, &st, 0);
		if (pid < 0)
			break;
		for (size_t i = 0; i < next; i++) {
			if (jobs[i].pid != pid)
				continue;
			finish_job(&jobs[i], st);
			running--;
			report_line(c->lines, &jobs[i]);
		}
	}
}

static int check_corpus(int argc, char **argv, const struct replay_cli *c)
{
	char **paths = NULL;
	size_t n = 0, cap = 0, njobs = 0, same = 0, div = 0, empty = 0;
	struct job *jobs = NULL;
	int status = EXIT_VMM_ERROR;

	for (int i = 0; i < argc; i++)
		if (collect(argv[i], &paths, &n, &cap))
			goto out;
	if (!n) {
		fprintf(stderr, "vcprr replay: no trace (*.trace) in %s%s: nothing "
			"was checked\n", argv[0], argc > 1 ? " ..." : "");
		status = 1;
		goto out;
	}
	qsort(paths, n, sizeof(*paths), cmp_str);
	/* (before any work: the report must not replace a trace) */
	if (c->junit && junit_check_output("replay", c->junit,
					   (const char *const *)paths, (int)n,
					   false))
		goto out;
	jobs = calloc(n, sizeof(*jobs));
	if (!jobs)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (cli_shard_has(&c->shard, i))
			jobs[njobs++].path = paths[i];
	run_jobs(jobs, njobs, c);
	for (size_t i = 0; i < njobs; i++) {
		same += jobs[i].r.status == REPLAY_SAME;
		div += jobs[i].r.status == REPLAY_DIVERGED;
		empty += jobs[i].r.status == REPLAY_EMPTY;
	}
	fprintf(c->lines, "%zu traces: %zu same, %zu diverged, %zu could not be "
		"replayed", njobs, same, div, njobs - same - div - empty);
	if (empty)
		fprintf(c->lines, ", %zu held no run", empty);
	fputc('\n', c->lines);
	status = same != njobs;
	if (c->junit && write_junit(c->junit, jobs, njobs))
		status = EXIT_VMM_ERROR;
out:
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(jobs);
	return status;
}

static int parse_option(int opt, struct replay_cli *c, char **argv)
{
	uint64_t v;

	switch (opt) {
	case 'g': c->o.guest = optarg; return 0;
	case 'G': c->o.guest_dir = optarg; return 0;
	case 'f': c->o.force = true; return 0;
	case 'c': c->o.console_fd = STDOUT_FILENO; return 0;
	case 'C': c->check = true; return 0;
	case 'q': c->quiet = true; return 0;
	case 'J': c->junit = optarg; return 0;
	case 't':
		if (cli_parse_duration(optarg, &c->o.timeout_ns) || !c->o.timeout_ns)
			return cli_bad_duration("replay", "--timeout", optarg);
		return 0;
	case 'j':
		if (cli_parse_u64(optarg, &v) || !v || v > 1024)
			return cli_usage_error("replay", "-j '%s': expected 1 to "
					       "1024", optarg);
		c->jobs = (unsigned)v;
		return 0;
	case 's':
		return cli_parse_shard("replay", optarg, &c->shard);
	default:
		return cli_option_error("replay", opt, argv);
	}
}

/* Options of --check alone, and the one trace of a plain replay. */
static int check_args(int argc, char **argv, const struct replay_cli *c)
{
	struct stat st;

	if (optind == argc)
		return cli_usage_error("replay", c->check ? "--check needs a "
				       "trace or a folder of traces" :
				       "missing trace FILE");
	if (c->check)
		return 0;
	if (c->junit || c->shard.n)
		return cli_usage_error("replay", "%s goes with --check",
				       c->junit ? "--junit" : "--shard");
	if (!stat(argv[optind], &st) && S_ISDIR(st.st_mode))
		return cli_usage_error("replay", "%s is a folder: to replay the "
				       "traces in it, use --check %s",
				       argv[optind], argv[optind]);
	if (optind != argc - 1)
		return cli_usage_error("replay", "one trace at a time (or --check "
				       "for many)");
	return 0;
}

/* replay --gdb ADDR TRACE ...: the replay served to gdb, as `vcprr debug
 * --gdb-server ADDR TRACE ...` does.  -1 when --gdb is not given. */
static int replay_gdb(int argc, char **argv)
{
	char **args = calloc((size_t)argc + 2, sizeof(*args));
	int n = 0, r = -1;

	if (!args)
		return EXIT_VMM_ERROR;
	args[n++] = "debug";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--gdb") && i + 1 < argc) {
			args[n++] = "--gdb-server";
			args[n++] = argv[++i];
			r = 0;
		} else if (!strncmp(argv[i], "--gdb=", 6)) {
			args[n++] = "--gdb-server";
			args[n++] = argv[i] + 6;
			r = 0;
		} else {
			args[n++] = argv[i];
		}
	}
	if (!r)
		r = cmd_debug(n, args);
	free(args);
	return r;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "guest", required_argument, NULL, 'g' },
		{ "guest-dir", required_argument, NULL, 'G' },
		{ "force", no_argument, NULL, 'f' },
		{ "console", no_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "check", no_argument, NULL, 'C' },
		{ "shard", required_argument, NULL, 's' },
		{ "junit", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct replay_cli c = { .o = { .console_fd = -1 }, .lines = stdout };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int opt, r;

	c.jobs = cpus > 0 ? (unsigned)cpus : 1;
	optind = 1;
	opterr = 0;
	if ((r = replay_gdb(argc, argv)) >= 0)
		return r;
	while ((opt = getopt_long(argc, argv, ":j:qh", longopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(replay_usage, stdout);
			return 0;
		}
		if ((r = parse_option(opt, &c, argv)))
			return r;
	}
	if ((r = check_args(argc, argv, &c)))
		return r;
	if (!c.check)
		return replay_one(argv[optind], &c);
	if (c.junit && !strcmp(c.junit, "-"))
		c.lines = stderr;  /* stdout is the report */
	return check_corpus(argc - optind, argv + optind, &c);
}
