/* vcprr explore: many seeded schedules of one guest, each with injected
 * pauses; the runs that fail are kept as traces that replay the failure.
 *
 * Runs execute in worker processes (-j N): worker w takes runs w, w+N ...,
 * and the parent only collects results, so a run is a function of its seed
 * alone, whatever -j is.  The parent never touches KVM or liburcu, so that
 * forking it is safe.  Ctrl-C (SIGINT, SIGTERM) stops the workers; the
 * parent then reports what ran.  Traces are unnamed until kept, so a
 * stopped worker leaves no file behind. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/explore-cli.h"
#include "tools/junit.h"
#include "tools/outfile.h"
#include "traces/clock.h"
#include "traces/sha256.h"
#include "vmm/vm.h"

#define MAX_JOBS 64
#define CALIBRATION_SEED 0

static const char explore_usage[] =
"usage: vcprr explore GUEST.elf [options]\n"
"       vcprr explore --merge DIR... [-o OUT] [--json] [--junit FILE]\n"
"\n"
"Runs GUEST.elf many times, each run under its own seeded schedule (one VCPU\n"
"at a time) with seeded pause/resume injections, and keeps every run that\n"
"fails as a trace that replays the failure exactly.  A run fails on a guest\n"
"assertion, a non-zero exit, a fault, or a hang.  Run i uses seed S+i, and\n"
"`--runs 1 --seed S+i` repeats it alone.\n"
"\n"
"options:\n"
"  --runs N             how many runs (default 100)\n"
"  --seed S             the first run's seed (default: random, printed)\n"
"  --policy P           schedule policy: random, or pct:D (probabilistic\n"
"                       concurrency testing with depth D; default pct:3)\n"
"  --preempt WHERE      exit: switch VCPUs only at VM exits (fast); step:\n"
"                       after any instruction (finds races in loops without\n"
"                       exits; default)\n"
"  --pauses RATE        inject a pause of a random VCPU, with random data, at\n"
"                       each scheduling point with this chance (default\n"
"                       0.01; 0 for none)\n"
"  --max-hold N         an injected pause lasts 1..N scheduling points\n"
"                       (default 256)\n"
"  -j, --jobs N         runs in N processes at once (default 1)\n"
"  -o, --output DIR     the folder where failing runs' traces go, as\n"
"                       DIR/fail-SEED.trace (default vcprr-explore)\n"
"  -f, --force          replace traces of earlier explores in DIR\n"
"  -n, --vcpus N        VCPUs (default 2)\n"
"  -m, --mem SIZE       guest memory (default 64M)\n"
CLI_INPUT_HELP
"  --budget STEPS       a run taking more scheduling points is a hang\n"
"                       (default: 50 times a calibration run, at least 100000)\n"
"  -t, --timeout DUR    a run taking longer is a hang (default 30s)\n"
"  --json               the summary as JSON on stdout\n"
"  --races              watch every instruction of every run (step mode)\n"
"                       and add the data races seen to the summary, once\n"
"                       per pair of source lines, with the runs they were\n"
"                       seen in (as vcprr analyze --races finds them)\n"
"  --shard K/N          only the runs i with i % N == K-1 (with --seed: the\n"
"                       N shards make exactly the runs of one explore)\n"
"  --junit FILE         also write a JUnit XML report (replaced if it\n"
"                       exists): a failing test case per signature\n"
"  --merge DIR...       join the summaries of shards' folders into one, as\n"
"                       one explore of all runs prints it; -o OUT: a new\n"
"                       folder that gets the failing traces too\n"
"  -h, --help           show this help\n"
"  (--sched P and --hold N are the old, deprecated names of --policy and\n"
"  --max-hold)\n"
"\n"
"Before the runs, one calibration run (PCT depth 1, no pauses, a fixed seed)\n"
"measures the guest's length in scheduling points: PCT draws its priority\n"
"change points over it.  When it fails already, that failure does not\n"
"depend on the schedule, and the summary says so.\n"
"\n"
"DIR is checked before the first run: a file that is not a folder, or a\n"
"trace of an earlier explore that a run would replace, is refused.\n"
"Ctrl-C stops the runs and prints the summary of those that ended.\n"
"DIR/explore.json, written whole at the end (also after Ctrl-C), is the\n"
"summary --merge reads; it replaces the one of an earlier explore.\n"
"\n"
"exit status: 0 no run failed, 1 some failed, 2 usage (or DIR refused),\n"
"126 the guest could not be run at all, 130 interrupted.  --merge: 0 every\n"
"run ran and passed, 1 some failed or a shard was interrupted, 2 usage or\n"
"shards that do not belong together, 126 a summary cannot be read.\n";

static int parse_policy(const char *arg, struct explore_opts *o)
{
	struct sched_config *sc = &o->cfg.sched;

	if (sched_policy_parse(arg, &sc->policy, &sc->pct_depth) ||
	    sc->policy == VM_POLICY_RR)
		return cli_usage_error("explore", "--policy '%s': expected random "
				       "or pct:D (1 <= D <= %d)", arg,
				       SCHED_PCT_MAX_DEPTH);
	o->policy_arg = arg;
	return 0;
}

static int parse_number(const char *opt, const char *arg, uint64_t max,
			const char *what, uint64_t *v)
{
	if (cli_parse_u64(arg, v) || !*v || *v > max)
		return cli_usage_error("explore", "%s '%s': expected %s", opt, arg,
				       what);
	return 0;
}

static int parse_one(int c, struct explore_opts *o, char **argv)
{
	struct sched_config *sc = &o->cfg.sched;
	uint8_t digest[32];
	uint64_t v = 0;
	char *end;
	int r = 0;

	switch (c) {
	case 'R':
		r = parse_number("--runs", optarg, 100000000, "a number of runs "
				 ">= 1", &v);
		o->runs = (unsigned)v;
		return r;
	case 'S':
		if (cli_parse_u64(optarg, &o->seed))
			return cli_usage_error("explore", "--seed '%s': expected a "
					       "number", optarg);
		return 0;
	case 'P':
		cli_deprecated("explore", "--sched", "--policy");
		/* fall through */
	case 'Y':
		return parse_policy(optarg, o);
	case 'E':
		if (strcmp(optarg, "exit") && strcmp(optarg, "step"))
			return cli_usage_error("explore", "--preempt '%s': "
					       "expected exit or step", optarg);
		sc->mode = optarg[0] == 'e' ? VM_SCHED_SERIAL : VM_SCHED_STEP;
		return 0;
	case 'Z':
		errno = 0;
		o->pause_rate = strtod(optarg, &end);
		if (errno || end == optarg || *end || !(o->pause_rate >= 0) ||
		    o->pause_rate > 1)
			return cli_usage_error("explore", "--pauses '%s': expected "
					       "a chance between 0 and 1, such as "
					       "0.01", optarg);
		return 0;
	case 'H':
		cli_deprecated("explore", "--hold", "--max-hold");
		/* fall through */
	case 'X':
		r = parse_number("--max-hold", optarg, 1000000000, "a number of "
				 "scheduling points >= 1", &v);
		sc->max_hold = (uint32_t)v;
		return r;
	case 'j':
		r = parse_number("-j", optarg, MAX_JOBS, "1 to 64", &v);
		o->jobs = (unsigned)v;
		return r;
	case 'o':
		o->dir = optarg;
		return 0;
	case 'f':
		o->force = true;
		return 0;
	case 'n':
		r = parse_number("--vcpus", optarg, VM_MAX_VCPUS, "1 to 1024", &v);
		o->cfg.nr_vcpus = (unsigned)v;
		return r;
	case 'm':
		if (cli_parse_size(optarg, &o->cfg.mem_size))
			return cli_usage_error("explore", "--mem '%s': expected a "
					       "size such as 64M", optarg);
		return cli_check_mem("explore", optarg, o->cfg.mem_size);
	case 'a':
		return cli_add_arg("explore", optarg, &o->cfg.input);
	case 'D':
		o->data_path = optarg;
		if (cli_read_data("explore", optarg, &o->cfg.input))
			return EXIT_USAGE;
		sha256(o->cfg.input.data, o->cfg.input.data_len, digest);
		sha256_hex(digest, o->data_sha256);
		return 0;
	case 'B':
		o->budget_set = true;
		return parse_number("--budget", optarg, UINT64_MAX, "a number of "
				    "steps", &sc->step_budget);
	case 't':
		if (cli_parse_duration(optarg, &o->cfg.timeout_ns) ||
		    !o->cfg.timeout_ns)
			return cli_bad_duration("explore", "--timeout", optarg);
		return 0;
	case 'J':
		o->json = true;
		return 0;
	case 'W':
		if (!o->races && !(o->races = explore_races_new()))
			return cli_usage_error("explore", "out of memory");
		return 0;
	case 'K':
		return cli_parse_shard("explore", optarg, &o->shard);
	case 'U':
		o->junit = optarg;
		return 0;
	case 'h':
		fputs(explore_usage, stdout);
		exit(0);
	default:
		return cli_option_error("explore", c, argv);
	}
}

static int parse_opts(int argc, char **argv, struct explore_opts *o)
{
	static const struct option longopts[] = {
		{ "runs", required_argument, NULL, 'R' },
		{ "seed", required_argument, NULL, 'S' },
		{ "policy", required_argument, NULL, 'Y' },
		{ "sched", required_argument, NULL, 'P' },
		{ "preempt", required_argument, NULL, 'E' },
		{ "pauses", required_argument, NULL, 'Z' },
		{ "max-hold", required_argument, NULL, 'X' },
		{ "hold", required_argument, NULL, 'H' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "vcpus", required_argument, NULL, 'n' },
		{ "mem", required_argument, NULL, 'm' },
		{ "arg", required_argument, NULL, 'a' },
		{ "data", required_argument, NULL, 'D' },
		{ "budget", required_argument, NULL, 'B' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'J' },
		{ "races", no_argument, NULL, 'W' },
		{ "shard", required_argument, NULL, 'K' },
		{ "junit", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sched_config *sc = &o->cfg.sched;
	bool seed_given = false;
	int c, r;

	memset(o, 0, sizeof(*o));
	o->cfg.nr_vcpus = 2;
	o->cfg.mem_size = VM_DEFAULT_MEM;
	o->runs = 100;
	o->jobs = 1;
	o->pause_rate = 0.01;
	o->policy_arg = "pct:3";
	o->dir = "vcprr-explore";
	sc->mode = VM_SCHED_STEP;
	sc->policy = VM_POLICY_PCT;
	sc->pct_depth = 3;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":j:o:fn:m:a:t:h", longopts,
				NULL)) != -1) {
		seed_given |= c == 'S';
		if ((r = parse_one(c, o, argv)))
			return r;
	}
	if (optind != argc - 1)
		return cli_usage_error("explore", optind == argc ? "missing GUEST.elf"
				       : "too many arguments");
	if (!strcmp(o->dir, "-"))
		return cli_usage_error("explore", "-o -: explore writes a folder of "
				       "traces, not one stream; give a folder");
	o->cfg.guest = argv[optind];
	if (o->races && sc->mode != VM_SCHED_STEP)
		return cli_usage_error("explore", "--races watches every "
				       "instruction: it needs --preempt step");
	if (o->races)
		explore_races_symbols(o->races, o->cfg.guest);
	if (o->shard.n && !seed_given)
		return cli_usage_error("explore", "--shard needs --seed: every "
				       "shard must explore the same seeds");
	if (!seed_given)
		o->seed = cli_random_seed();
	o->todo = explore_shard_size(o);
	sc->pause_ppm = (uint32_t)(o->pause_rate * 1e6 + 0.5);
	o->fancy = cli_fancy_terminal(2) && !o->json;
	return 0;
}

/* --- where the traces go --------------------------------------------------- */

static void kept_name(const struct explore_opts *o, uint64_t seed, char *buf,
		      size_t len)
{
	snprintf(buf, len, "%s/fail-%llu.trace", o->dir, (unsigned long long)seed);
}

/* A trace of an earlier explore that a run of this one would replace, or
 * NULL (the folder is read once, however many runs there are). */
static char *earlier_trace(const struct explore_opts *o)
{
	DIR *d = opendir(o->dir);
	struct dirent *e;
	char *found = NULL;

	while (d && !found && (e = readdir(d))) {
		unsigned long long seed;
		int n = 0;

		if (sscanf(e->d_name, "fail-%llu.trace%n", &seed, &n) == 1 &&
		    !e->d_name[n] && seed - o->seed < o->runs &&
		    cli_shard_has(&o->shard, seed - o->seed))
			found = strdup(e->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

/* Every output location is checked before the first run. */
static int check_output(struct explore_opts *o)
{
	char *old;

	if (o->junit && junit_check_output("explore", o->junit, &o->cfg.guest,
					   1, o->force))
		return -1;
	if (outfile_check_dir("explore", o->dir, &o->created_dir))
		return -1;
	if (o->force || !(old = earlier_trace(o)))
		return 0;
	fprintf(stderr, "vcprr explore: %s/%s is there from an earlier explore "
		"and a run of this one would replace it; use another -o DIR, "
		"another --seed, or --force\n", o->dir, old);
	free(old);
	return -1;
}

/* --- stopping ----------------------------------------------------------------- */

/* SIGINT and SIGTERM are blocked in the parent except while it waits in
 * ppoll(), so a stop is never missed between a check and a wait. */
static volatile sig_atomic_t stop_signal;
static sigset_t waiting_mask;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static void catch_stop_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop };
	sigset_t stops;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigprocmask(SIG_BLOCK, &stops, &waiting_mask);
	sigdelset(&waiting_mask, SIGINT);
	sigdelset(&waiting_mask, SIGTERM);
}

/* Waits until a pipe is readable or a stop signal came (-1, EINTR). */
static int wait_readable(struct pollfd *pfd, unsigned n)
{
	return ppoll(pfd, n, NULL, &waiting_mask);
}

static void stop_children(const pid_t *pids, unsigned n, bool *stopped)
{
	if (*stopped || !stop_signal)
		return;
	*stopped = true;
	for (unsigned i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
}

/* --- worker processes ------------------------------------------------------ */

static void send_record(int fd, const struct run_record *rec)
{
	ssize_t n = write(fd, rec, sizeof(*rec));

	(void)n;  /* the parent reads whole records or sees the worker die */
}

static bool same_failure(const struct explore_result *r, void *first)
{
	return !strcmp(r->signature, ((const struct explore_result *)first)->signature);
}

/* Runs `index`; when it fails, runs it again recorded (a run is a function
 * of its seed, so recording only failures costs passing runs nothing) and
 * keeps that trace in dir if it fails the same way. */
static void do_run(const struct explore_opts *o, uint32_t index,
		   struct run_record *rec)
{
	uint64_t seed = o->seed + index;
	struct explore_result again;
	struct explore_trace t = { .replace = o->force, .keep = same_failure,
				   .hold_stops = true };
	char kept[400], err[512];

	memset(rec, 0, sizeof(*rec));
	rec->index = index;
	if (o->races ? explore_races_run(&o->cfg, seed, o->races->st, &rec->res,
					 &rec->races, err, sizeof(err)) :
	    explore_run(&o->cfg, seed, NULL, &rec->res, err, sizeof(err)))
		goto error;
	if (!rec->res.failed)
		return;
	kept_name(o, seed, kept, sizeof(kept));
	t.path = kept;
	t.arg = &rec->res;
	if (explore_run(&o->cfg, seed, &t, &again, err, sizeof(err)))
		goto error;
	if (t.kept)
		snprintf(rec->text, sizeof(rec->text), "%s", kept);
	else if (t.problem[0])
		snprintf(rec->text, sizeof(rec->text), "(not kept: %.480s)", t.problem);
	else
		snprintf(rec->text, sizeof(rec->text), "(not kept: run again, it "
			 "%s%s; the guest is not deterministic under this schedule)",
			 again.failed ? "failed with " : "passed",
			 again.failed ? again.signature : "");
	return;
error:
	rec->error = 1;
	snprintf(rec->text, sizeof(rec->text), "%s", err);
}

static void worker(const struct explore_opts *o, unsigned w, int fd)
{
	for (unsigned nth = w; nth < o->todo; nth += o->jobs) {
		struct run_record rec;
		do_run(o, explore_shard_run(o, nth), &rec);
		send_record(fd, &rec);
		/* a kept trace held SIGTERM off until it was reported */
		sigprocmask(SIG_SETMASK, &waiting_mask, NULL);
		if (rec.error)
			break;
	}
}

/* A child that the parent stops with SIGTERM (a terminal's Ctrl-C, sent to
 * the whole process group, is the parent's to handle). */
static pid_t start_child(int *fd)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		sigprocmask(SIG_SETMASK, &waiting_mask, NULL);
		*fd = p[1];
		return 0;
	}
	close(p[1]);
	*fd = p[0];
	return pid;
}

/* --- calibration -------------------------------------------------------------- */

/* The calibration run, in a child of its own: its length in steps, and
 * whether it fails already. */
static int calibrate(struct explore_opts *o, char *err, size_t errlen)
{
	struct explore_config c = o->cfg;
	struct run_record rec;
	bool stopped = false;
	int fd;
	pid_t pid;
	ssize_t n;

	c.sched.policy = VM_POLICY_PCT;
	c.sched.pct_depth = 1;
	c.sched.pause_ppm = 0;
	/* A guest that never ends ends the calibration here. */
	c.sched.step_budget = o->budget_set ? c.sched.step_budget : 1000000;
	pid = start_child(&fd);
	if (pid < 0) {
		snprintf(err, errlen, "cannot start a worker: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		memset(&rec, 0, sizeof(rec));
		if (explore_run(&c, CALIBRATION_SEED, NULL, &rec.res, rec.text,
				sizeof(rec.text)))
			rec.error = 1;
		send_record(fd, &rec);
		_exit(0);
	}
	do {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		stop_children(&pid, 1, &stopped);
		n = wait_readable(&pfd, 1);
	} while (n < 0 && errno == EINTR);
	n = read(fd, &rec, sizeof(rec));
	close(fd);
	waitpid(pid, NULL, 0);
	if (stop_signal) {
		snprintf(err, errlen, "interrupted (%s) during the calibration run",
			 strsignal(stop_signal));
		return -1;
	}
	if (n != (ssize_t)sizeof(rec)) {
		snprintf(err, errlen, "%s: the calibration run died", o->cfg.guest);
		return -1;
	}
	if (rec.error) {
		snprintf(err, errlen, "%s", rec.text);
		return -1;
	}
	snprintf(o->calibration_sig, sizeof(o->calibration_sig), "%s",
		 rec.res.signature);
	o->cfg.sched.pct_steps = rec.res.stats.steps ? rec.res.stats.steps : 1;
	if (!o->budget_set) {
		uint64_t b = 50 * o->cfg.sched.pct_steps;
		o->cfg.sched.step_budget = b > 100000 ? b : 100000;
	}
	return 0;
}

/* --- collecting results ---------------------------------------------------- */

/* Reads every worker's records until all pipes close; on Ctrl-C stops the
 * workers and keeps what they sent. */
static void collect(const struct explore_opts *o, const pid_t *pids, int *fds,
		    unsigned n, struct tally *t)
{
	double t0 = mono_s();
	unsigned open = n;
	bool stopped = false;

	while (open) {
		struct pollfd pfd[MAX_JOBS];
		for (unsigned i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		stop_children(pids, n, &stopped);
		if (wait_readable(pfd, n) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (unsigned i = 0; i < n; i++) {
			struct run_record rec;
			if (!(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (read(fds[i], &rec, sizeof(rec)) != (ssize_t)sizeof(rec)) {
				close(fds[i]);
				fds[i] = -1;
				open--;
				continue;
			}
			explore_add_result(o, t, &rec);
			explore_progress(o, t, t0);
		}
	}
	if (o->fancy)
		fputc('\n', stderr);
	t->stopped_by = stop_signal;
}

/* --- driver ------------------------------------------------------------------ */

static int start_workers(const struct explore_opts *o, pid_t *pids, int *fds,
			 unsigned n)
{
	for (unsigned w = 0; w < n; w++) {
		int fd;

		pids[w] = start_child(&fd);
		if (pids[w] < 0)
			return -1;
		if (pids[w] == 0) {
			for (unsigned i = 0; i < w; i++)
				close(fds[i]);
			worker(o, w, fd);
			_exit(0);
		}
		fds[w] = fd;
	}
	return 0;
}

static void announce(const struct explore_opts *o)
{
	if (o->json)
		return;
	fprintf(stderr, "explore: %s, %u runs from seed %llu, %s, preempt at "
		"%s, pauses %g per point; calibration: %llu steps\n",
		o->cfg.guest, o->runs, (unsigned long long)o->seed, o->policy_arg,
		o->cfg.sched.mode == VM_SCHED_STEP ? "every instruction" :
		"VM exits", o->pause_rate,
		(unsigned long long)o->cfg.sched.pct_steps);
	explore_calibration_note(o);
}

static int explore(struct explore_opts *o, struct tally *t)
{
	pid_t pids[MAX_JOBS];
	int fds[MAX_JOBS];
	char err[512];
	unsigned n;
	double t0, wall;

	catch_stop_signals();
	if (calibrate(o, err, sizeof(err))) {
		fprintf(stderr, "vcprr explore: %s\n", err);
		return stop_signal ? 128 + stop_signal : EXIT_VMM_ERROR;
	}
	n = o->jobs < o->todo ? o->jobs : o->todo;
	o->jobs = n;
	announce(o);
	t0 = mono_s();
	fflush(NULL);
	if (start_workers(o, pids, fds, n)) {
		fprintf(stderr, "vcprr explore: cannot start workers: %s\n",
			strerror(errno));
		return EXIT_VMM_ERROR;
	}
	collect(o, pids, fds, n, t);
	for (unsigned w = 0; w < n; w++)
		waitpid(pids[w], NULL, 0);
	if (t->errored) {
		fprintf(stderr, "vcprr explore: %s\n", t->error);
		return EXIT_VMM_ERROR;
	}
	wall = mono_s() - t0;
	explore_summary(o, t, wall);
	if (explore_save(o, t, wall) ||
	    (o->junit && explore_junit("explore", o->junit, o, t, wall)))
		return EXIT_VMM_ERROR;
	if (t->stopped_by)
		return 128 + t->stopped_by;
	return t->nfail ? 1 : 0;
}

int cmd_explore(int argc, char **argv)
{
	struct explore_opts o;
	struct tally t = { 0 };
	int status;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--merge"))
			return explore_merge_main(argc, argv);
	status = parse_opts(argc, argv, &o);
	if (!status && check_output(&o))
		status = EXIT_USAGE;
	if (status) {
		explore_races_free(o.races);
		return status;
	}
	explore_guest_hash(&o);
	t.failures = calloc(o.todo + 1, sizeof(*t.failures));
	t.sigs = calloc(o.todo + 1, sizeof(*t.sigs));
	if (!t.failures || !t.sigs) {
		fprintf(stderr, "vcprr explore: out of memory\n");
		status = EXIT_VMM_ERROR;
	} else {
		status = explore(&o, &t);
	}
	free(t.failures);
	free(t.sigs);
	explore_races_free(o.races);
	if (o.created_dir)
		rmdir(o.dir);   /* only when no trace was kept in it */
	return status;
}
