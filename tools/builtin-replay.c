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

static const char replay_usage[] =
"usage: vcprr replay FILE [--guest PATH | --guest-dir DIR] [--force] [--console]\n"
"                    [--timeout DUR]\n"
"       vcprr replay --check PATH... [-j N] [--shard K/N] [--junit FILE]\n"
"\n"
"Rebuilds the VM a trace was recorded on, feeds it the recorded inputs (read\n"
"data, pause requests, resumes and register edits, scheduling decisions) and\n"
"checks every event it produces against the trace.  serial and step traces\n"
"replay bit-exactly, final guest memory included; parallel traces replay each\n"
"VCPU's events with every pause landed at its recorded position (exit count,\n"
"then RIP and register digest via a hardware breakpoint).  At the first\n"
"difference replay stops and prints the expected and actual event, the last\n"
"events of that VCPU and its registers.\n"
"\n"
"options:\n"
"  --guest PATH     the guest image (default: the recorded one, found from\n"
"                   the trace's folder, then the recorded path)\n"
"  --guest-dir DIR  look for the recorded guest in DIR too\n"
"  --force          replay even if the image differs from the recorded one\n"
"  --console        show the guest's console output\n"
"  --timeout DUR    give up after DUR (default: none; 60s with --check)\n"
"  --check PATH...  replay many traces (files, or folders searched for\n"
"                   *.trace); exit status 1 if any diverged or failed\n"
"  -j N             replay N traces at a time (default: number of CPUs)\n"
"  --shard K/N      only the K-th of N equal shards of the sorted list\n"
"  --junit FILE     write a JUnit XML report\n"
"\n"
"exit status: 0 same, 1 diverged (or any failure with --check, or no trace\n"
"found), 2 usage, 3 the trace holds no run (cut right after its header, or\n"
"its VM never started): nothing to replay, 126 the trace cannot be replayed\n"
"(unreadable: a corrupt header, index or frame; guest missing or changed).\n";

struct replay_cli {
	struct replay_opts o;
	bool check;
	unsigned jobs, shard_k, shard_n;
	const char *junit;
};

/* --- one trace ---------------------------------------------------------- */

#define EXIT_NOTHING 3  /* the trace holds no run */

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

static int replay_one(const char *path, const struct replay_cli *c)
{
	struct replay_result *r = calloc(1, sizeof(*r));
	int st;

	if (!r)
		return EXIT_VMM_ERROR;
	replay_trace(path, &c->o, r);
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
	(*list)[(*n)++] = strdup(p);
	return 0;
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
	if (!dir)
		return -1;
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

static void report_line(const struct job *j)
{
	static const char *const word[] = { "ok      ", "DIVERGED", "ERROR   ",
					    "EMPTY   " };
	const char *nl = strchr(j->r.message, '\n');

	printf("%s %s (%s, %llu events, %.2fs)%s%.*s\n", word[j->r.status], j->path,
	       j->r.mode[0] ? j->r.mode : "?", (unsigned long long)j->r.events,
	       j->r.duration_ns / 1e9, j->r.status ? ": " : "",
	       j->r.status ? (int)(nl ? nl - j->r.message : (long)strlen(j->r.message)) : 0,
	       j->r.message);
	fflush(stdout);
}

static void xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
	}
}

static int write_junit(const char *path, struct job *jobs, size_t n)
{
	FILE *f = fopen(path, "w");
	size_t fails = 0, errors = 0;
	double total = 0;

	if (!f) {
		fprintf(stderr, "vcprr replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		fails += jobs[i].r.status == REPLAY_DIVERGED;
		errors += jobs[i].r.status >= REPLAY_ERROR;
		total += jobs[i].r.duration_ns / 1e9;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites><testsuite name=\"vcprr replay\" tests=\"%zu\" "
		"failures=\"%zu\" errors=\"%zu\" time=\"%.3f\">\n", n, fails, errors,
		total);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "  <testcase classname=\"replay\" name=\"");
		xml_escape(f, jobs[i].path);
		fprintf(f, "\" time=\"%.3f\">", jobs[i].r.duration_ns / 1e9);
		if (jobs[i].r.status) {
			fprintf(f, "<%s message=\"%s\">",
				jobs[i].r.status == REPLAY_DIVERGED ? "failure" : "error",
				jobs[i].r.status == REPLAY_DIVERGED ? "diverged" :
				jobs[i].r.status == REPLAY_EMPTY ? "nothing to replay" :
				"cannot replay");
			xml_escape(f, jobs[i].r.message);
			fprintf(f, "</%s>", jobs[i].r.status == REPLAY_DIVERGED ?
				"failure" : "error");
		}
		fprintf(f, "</testcase>\n");
	}
	fprintf(f, "</testsuite></testsuites>\n");
	return fclose(f) ? -1 : 0;
}

static int check_corpus(int argc, char **argv, const struct replay_cli *c)
{
	char **paths = NULL;
	size_t n = 0, cap = 0, njobs = 0, next = 0, running = 0, same = 0, div = 0;
	size_t empty = 0;
	struct job *jobs;
	int status = 0;

	for (int i = 0; i < argc; i++)
		if (collect(argv[i], &paths, &n, &cap))
			return EXIT_VMM_ERROR;
	if (!n) {
		fprintf(stderr, "vcprr replay: no trace (*.trace) in %s%s: nothing "
			"was checked\n", argv[0], argc > 1 ? " ..." : "");
		free(paths);
		return 1;
	}
	qsort(paths, n, sizeof(*paths), cmp_str);
	jobs = calloc(n ? n : 1, sizeof(*jobs));
	for (size_t i = 0; i < n; i++) {
		if (c->shard_n && i % c->shard_n != c->shard_k - 1)
			continue;
		jobs[njobs++].path = paths[i];
	}
	/* Up to c->jobs children at a time; each is reported as it ends. */
	while (next < njobs || running) {
		int st;
		pid_t pid;

		while (next < njobs && running < c->jobs) {
			struct job *j = &jobs[next++];
			start_job(j, c);
			if (j->pid > 0)
				running++;
			else
				report_line(j);
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
			report_line(&jobs[i]);
			same += jobs[i].r.status == REPLAY_SAME;
			div += jobs[i].r.status == REPLAY_DIVERGED;
			empty += jobs[i].r.status == REPLAY_EMPTY;
		}
	}
	printf("%zu traces: %zu same, %zu diverged, %zu could not be replayed",
	       njobs, same, div, njobs - same - div - empty);
	if (empty)
		printf(", %zu held no run", empty);
	putchar('\n');
	if (same != njobs)
		status = 1;
	if (c->junit && write_junit(c->junit, jobs, njobs))
		status = EXIT_VMM_ERROR;
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(jobs);
	return status;
}

int cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "guest", required_argument, NULL, 'g' },
		{ "guest-dir", required_argument, NULL, 'G' },
		{ "force", no_argument, NULL, 'f' },
		{ "console", no_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "check", no_argument, NULL, 'C' },
		{ "shard", required_argument, NULL, 's' },
		{ "junit", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct replay_cli c = { .o = { .console_fd = -1 } };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t v;
	int opt;

	c.jobs = cpus > 0 ? (unsigned)cpus : 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "j:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'g': c.o.guest = optarg; break;
		case 'G': c.o.guest_dir = optarg; break;
		case 'f': c.o.force = true; break;
		case 'c': c.o.console_fd = STDOUT_FILENO; break;
		case 'C': c.check = true; break;
		case 'J': c.junit = optarg; break;
		case 't':
			if (cli_parse_duration(optarg, &c.o.timeout_ns) || !c.o.timeout_ns)
				return cli_usage_error("replay", "--timeout '%s': expected "
						       "a duration", optarg);
			break;
		case 'j':
			if (cli_parse_u64(optarg, &v) || !v || v > 1024)
				return cli_usage_error("replay", "-j '%s': expected 1 to "
						       "1024", optarg);
			c.jobs = (unsigned)v;
			break;
		case 's':
			if (sscanf(optarg, "%u/%u", &c.shard_k, &c.shard_n) != 2 ||
			    !c.shard_n || !c.shard_k || c.shard_k > c.shard_n)
				return cli_usage_error("replay", "--shard '%s': expected "
						       "K/N with 1 <= K <= N", optarg);
			break;
		case 'h':
			fputs(replay_usage, stdout);
			return 0;
		default:
			return cli_usage_error("replay", "unknown option");
		}
	}
	if (optind == argc)
		return cli_usage_error("replay", "missing trace FILE");
	if (c.check) {
		if (!c.o.timeout_ns)
			c.o.timeout_ns = 60000000000ull;
		return check_corpus(argc - optind, argv + optind, &c);
	}
	if (optind != argc - 1)
		return cli_usage_error("replay", "one trace at a time (or --check)");
	return replay_one(argv[optind], &c);
}
