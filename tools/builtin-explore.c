/* vcprr explore: many seeded schedules of one guest, each with injected
 * pauses; the runs that fail are kept as traces that replay the failure.
 *
 * Runs execute in worker processes (-j N): worker w takes runs w, w+N ...,
 * and the parent only collects results, so a run is a function of its seed
 * alone, whatever -j is.  The parent never touches KVM or liburcu, so that
 * forking it is safe. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/explore.h"
#include "vmm/vm.h"

#define MAX_JOBS 64
#define CALIBRATION_SEED 0

static const char explore_usage[] =
"usage: vcprr explore GUEST.elf [options]\n"
"\n"
"Runs GUEST.elf many times, each run under its own seeded schedule (one VCPU\n"
"at a time) with seeded pause/resume injections, and keeps every run that\n"
"fails as a trace that replays the failure exactly.  A run fails on a guest\n"
"assertion, a non-zero exit, a fault, or a hang.  Run i uses seed S+i, and\n"
"`--runs 1 --seed S+i` repeats it alone.\n"
"\n"
"options:\n"
"  --runs N             how many runs (default 100)\n"
"  --seed S             the first run's seed (default: time)\n"
"  --sched P            schedule policy: random, or pct:D (probabilistic\n"
"                       concurrency testing with depth D; default pct:3)\n"
"  --preempt WHERE      exit: switch VCPUs only at VM exits (fast); step:\n"
"                       after any instruction (finds races in loops without\n"
"                       exits; default)\n"
"  --pauses RATE        inject a pause of a random VCPU, with random data, at\n"
"                       each scheduling point with this chance (default\n"
"                       0.01; 0 for none)\n"
"  --hold N             an injected pause lasts 1..N scheduling points\n"
"                       (default 256)\n"
"  -j, --jobs N         runs in N processes at once (default 1)\n"
"  -o, --output DIR     where failing runs' traces go (default\n"
"                       vcprr-explore)\n"
"  -n, --vcpus N        VCPUs (default 2)\n"
"  -m, --mem SIZE       guest memory (default 64M)\n"
"  -a, --arg N          the guest's vcprr_arg()\n"
"  --budget STEPS       a run taking more scheduling points is a hang\n"
"                       (default: 50 times a calibration run, at least 100000)\n"
"  -t, --timeout DUR    a run taking longer is a hang (default 30s)\n"
"  --json               the summary as JSON on stdout\n"
"  -h, --help           show this help\n"
"\n"
"Before the runs, one calibration run (PCT depth 1, no pauses, a fixed seed)\n"
"measures the guest's length in scheduling points: PCT draws its priority\n"
"change points over it.\n"
"\n"
"exit status: 0 no run failed, 1 some failed, 2 usage, 126 the guest could\n"
"not be run at all.\n";

struct explore_opts {
	struct explore_config cfg;
	unsigned runs, jobs;
	uint64_t seed;
	double pause_rate;
	const char *policy_arg, *dir;
	bool json, budget_set;
};

/* One result from a worker; written to a pipe whole (< PIPE_BUF). */
struct run_record {
	uint32_t index;
	int32_t error;              /* the guest could not be run */
	struct explore_result res;
	char text[512];             /* error message, or the kept trace */
};

static int parse_opts(int argc, char **argv, struct explore_opts *o)
{
	static const struct option longopts[] = {
		{ "runs", required_argument, NULL, 'R' },
		{ "seed", required_argument, NULL, 'S' },
		{ "sched", required_argument, NULL, 'P' },
		{ "preempt", required_argument, NULL, 'E' },
		{ "pauses", required_argument, NULL, 'Z' },
		{ "hold", required_argument, NULL, 'H' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "vcpus", required_argument, NULL, 'n' },
		{ "mem", required_argument, NULL, 'm' },
		{ "arg", required_argument, NULL, 'a' },
		{ "budget", required_argument, NULL, 'B' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sched_config *sc = &o->cfg.sched;
	uint64_t v;
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->cfg.nr_vcpus = 2;
	o->cfg.mem_size = VM_DEFAULT_MEM;
	o->runs = 100;
	o->jobs = 1;
	o->seed = (uint64_t)time(NULL);
	o->pause_rate = 0.01;
	o->policy_arg = "pct:3";
	o->dir = "vcprr-explore";
	sc->mode = VM_SCHED_STEP;
	sc->policy = VM_POLICY_PCT;
	sc->pct_depth = 3;
	optind = 1;
	while ((c = getopt_long(argc, argv, "j:o:n:m:a:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			if (cli_parse_u64(optarg, &v) || !v || v > 100000000)
				return cli_usage_error("explore", "--runs '%s': expected "
						       "a number of runs >= 1", optarg);
			o->runs = (unsigned)v;
			break;
		case 'S':
			if (cli_parse_u64(optarg, &o->seed))
				return cli_usage_error("explore", "--seed '%s': expected "
						       "a number", optarg);
			break;
		case 'P':
			if (sched_policy_parse(optarg, &sc->policy, &sc->pct_depth) ||
			    sc->policy == VM_POLICY_RR)
				return cli_usage_error("explore", "--sched '%s': expected "
						       "random or pct:D (1 <= D <= %d)",
						       optarg, SCHED_PCT_MAX_DEPTH);
			o->policy_arg = optarg;
			break;
		case 'E':
			if (!strcmp(optarg, "exit"))
				sc->mode = VM_SCHED_SERIAL;
			else if (!strcmp(optarg, "step"))
				sc->mode = VM_SCHED_STEP;
			else
				return cli_usage_error("explore", "--preempt '%s': "
						       "expected exit or step", optarg);
			break;
		case 'Z':
			errno = 0;
			o->pause_rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->pause_rate >= 0) ||
			    o->pause_rate > 1)
				return cli_usage_error("explore", "--pauses '%s': expected "
						       "a chance between 0 and 1, such "
						       "as 0.01", optarg);
			break;
		case 'H':
			if (cli_parse_u64(optarg, &v) || !v || v > 1000000000)
				return cli_usage_error("explore", "--hold '%s': expected "
						       "a number of points >= 1", optarg);
			sc->max_hold = (uint32_t)v;
			break;
		case 'j':
			if (cli_parse_u64(optarg, &v) || !v || v > MAX_JOBS)
				return cli_usage_error("explore", "-j '%s': expected 1 "
						       "to %d", optarg, MAX_JOBS);
			o->jobs = (unsigned)v;
			break;
		case 'o':
			o->dir = optarg;
			break;
		case 'n':
			if (cli_parse_u64(optarg, &v) || !v || v > VM_MAX_VCPUS)
				return cli_usage_error("explore", "--vcpus '%s': expected "
						       "1 to %d", optarg, VM_MAX_VCPUS);
			o->cfg.nr_vcpus = (unsigned)v;
			break;
		case 'm':
			if (cli_parse_size(optarg, &o->cfg.mem_size))
				return cli_usage_error("explore", "--mem '%s': expected a "
						       "size such as 64M", optarg);
			break;
		case 'a':
			if (cli_parse_u64(optarg, &o->cfg.guest_arg))
				return cli_usage_error("explore", "--arg '%s': expected a "
						       "number", optarg);
			break;
		case 'B':
			if (cli_parse_u64(optarg, &sc->step_budget) || !sc->step_budget)
				return cli_usage_error("explore", "--budget '%s': expected "
						       "a number of steps", optarg);
			o->budget_set = true;
			break;
		case 't':
			if (cli_parse_duration(optarg, &o->cfg.timeout_ns) ||
			    !o->cfg.timeout_ns)
				return cli_usage_error("explore", "--timeout '%s': "
						       "expected a duration", optarg);
			break;
		case 'J':
			o->json = true;
			break;
		case 'h':
			fputs(explore_usage, stdout);
			exit(0);
		default:
			return cli_usage_error("explore", "unknown option");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("explore", optind == argc ? "missing GUEST.elf"
				       : "too many arguments");
	o->cfg.guest = argv[optind];
	sc->pause_ppm = (uint32_t)(o->pause_rate * 1e6 + 0.5);
	return 0;
}

/* --- worker processes ------------------------------------------------------ */

static void send_record(int fd, const struct run_record *rec)
{
	ssize_t n = write(fd, rec, sizeof(*rec));

	(void)n;  /* the parent reads whole records or sees the worker die */
}

/* Runs `index`; when it fails, runs it again recorded (a run is a function
 * of its seed, so recording only failures costs passing runs nothing) and
 * keeps that trace in dir.  The second run must fail the same way. */
static void do_run(const struct explore_opts *o, uint32_t index,
		   struct run_record *rec)
{
	uint64_t seed = o->seed + index;
	struct explore_result again;
	char tmp[400], kept[400], err[512];

	memset(rec, 0, sizeof(*rec));
	rec->index = index;
	if (explore_run(&o->cfg, seed, NULL, &rec->res, err, sizeof(err)))
		goto error;
	if (!rec->res.failed)
		return;
	snprintf(tmp, sizeof(tmp), "%s/.run-%llu.tmp", o->dir, (unsigned long long)seed);
	snprintf(kept, sizeof(kept), "%s/fail-%llu.trace", o->dir,
		 (unsigned long long)seed);
	if (explore_run(&o->cfg, seed, tmp, &again, err, sizeof(err))) {
		unlink(tmp);
		goto error;
	}
	if (strcmp(again.signature, rec->res.signature)) {
		unlink(tmp);
		snprintf(rec->text, sizeof(rec->text), "(not kept: run again, it "
			 "%s%s; the guest is not deterministic under this schedule)",
			 again.failed ? "failed with " : "passed",
			 again.failed ? again.signature : "");
		return;
	}
	if (rename(tmp, kept)) {
		snprintf(rec->text, sizeof(rec->text), "(not kept: %s: %s)", kept,
			 strerror(errno));
		return;
	}
	snprintf(rec->text, sizeof(rec->text), "%s", kept);
	return;
error:
	rec->error = 1;
	snprintf(rec->text, sizeof(rec->text), "%s", err);
}

static void worker(const struct explore_opts *o, unsigned w, int fd)
{
	for (uint32_t i = w; i < o->runs; i += o->jobs) {
		struct run_record rec;
		do_run(o, i, &rec);
		send_record(fd, &rec);
		if (rec.error)
			break;
	}
}

/* The calibration run, in a child of its own: its length in steps. */
static int calibrate(struct explore_opts *o, char *err, size_t errlen)
{
	struct explore_config c = o->cfg;
	struct run_record rec;
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	c.sched.policy = VM_POLICY_PCT;
	c.sched.pct_depth = 1;
	c.sched.pause_ppm = 0;
	/* A guest that never ends ends the calibration here. */
	c.sched.step_budget = o->budget_set ? c.sched.step_budget : 1000000;
	if (pipe(fds) || (pid = fork()) < 0) {
		snprintf(err, errlen, "cannot start a worker: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		memset(&rec, 0, sizeof(rec));
		if (explore_run(&c, CALIBRATION_SEED, NULL, &rec.res, rec.text,
				sizeof(rec.text)))
			rec.error = 1;
		send_record(fds[1], &rec);
		_exit(0);
	}
	close(fds[1]);
	n = read(fds[0], &rec, sizeof(rec));
	close(fds[0]);
	waitpid(pid, &status, 0);
	if (n != (ssize_t)sizeof(rec)) {
		snprintf(err, errlen, "%s: the calibration run died", o->cfg.guest);
		return -1;
	}
	if (rec.error) {
		snprintf(err, errlen, "%s", rec.text);
		return -1;
	}
	o->cfg.sched.pct_steps = rec.res.stats.steps ? rec.res.stats.steps : 1;
	if (!o->budget_set) {
		uint64_t b = 50 * o->cfg.sched.pct_steps;
		o->cfg.sched.step_budget = b > 100000 ? b : 100000;
	}
	return 0;
}

/* --- collecting results ---------------------------------------------------- */

struct signature {
	char text[EXPLORE_SIG_MAX];
	unsigned count;
	struct run_record first;
};

struct tally {
	struct run_record *failures;  /* by arrival; sorted at the end */
	unsigned nfail, done;
	struct signature *sigs;
	unsigned nsigs;
	double run_seconds;
	char error[512];
	bool errored;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress(const struct explore_opts *o, const struct tally *t,
		     double t0, bool tty)
{
	double el = now_s() - t0, rate = el > 0 ? t->done / el : 0;
	unsigned width = 30, fill = (unsigned)((uint64_t)t->done * width / o->runs);
	char bar[64];

	if (!tty) {
		/* Plain lines: about every tenth of the runs. */
		unsigned step = o->runs >= 10 ? o->runs / 10 : 1;
		if (t->done % step && t->done != o->runs)
			return;
		fprintf(stderr, "explore: %u/%u runs, %u failed, %.1f runs/s\n",
			t->done, o->runs, t->nfail, rate);
		return;
	}
	memset(bar, '#', fill);
	memset(bar + fill, '.', width - fill);
	bar[width] = 0;
	fprintf(stderr, "\r[%s] %u/%u runs  %u failed  %.1f runs/s  ETA %.0fs \033[K",
		bar, t->done, o->runs, t->nfail, rate,
		rate > 0 ? (o->runs - t->done) / rate : 0.0);
}

static void add_result(struct tally *t, const struct run_record *rec,
		       bool tty)
{
	struct signature *s = NULL;

	t->done++;
	t->run_seconds += rec->res.seconds;
	if (rec->error) {
		if (!t->errored)
			snprintf(t->error, sizeof(t->error), "%s", rec->text);
		t->errored = true;
		return;
	}
	if (!rec->res.failed)
		return;
	t->failures[t->nfail++] = *rec;
	for (unsigned i = 0; i < t->nsigs; i++)
		if (!strcmp(t->sigs[i].text, rec->res.signature))
			s = &t->sigs[i];
	if (!s) {
		s = &t->sigs[t->nsigs++];
		snprintf(s->text, sizeof(s->text), "%s", rec->res.signature);
		s->first = *rec;
	} else if (rec->index < s->first.index) {
		s->first = *rec;
	}
	s->count++;
	fprintf(stderr, "%srun %u (seed %llu): %s\n", tty ? "\r\033[K" : "",
		rec->index, (unsigned long long)rec->res.seed, rec->res.signature);
}

/* Reads every worker's records until all pipes close. */
static void collect(const struct explore_opts *o, int *fds, unsigned n,
		    struct tally *t)
{
	bool tty = isatty(2) && !o->json;
	double t0 = now_s();
	unsigned open = n;

	while (open) {
		struct pollfd pfd[MAX_JOBS];
		for (unsigned i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(pfd, n, -1) < 0) {
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
			add_result(t, &rec, tty);
			progress(o, t, t0, tty);
		}
	}
	if (tty)
		fputc('\n', stderr);
}

static int by_index(const void *a, const void *b)
{
	const struct run_record *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* --- the summary ------------------------------------------------------------ */

static void rerun_command(const struct explore_opts *o, uint64_t seed, FILE *f)
{
	fprintf(f, "vcprr explore %s --runs 1 --seed %llu --sched %s --preempt %s "
		"--pauses %g --vcpus %u", o->cfg.guest, (unsigned long long)seed,
		o->policy_arg, o->cfg.sched.mode == VM_SCHED_STEP ? "step" : "exit",
		o->pause_rate, o->cfg.nr_vcpus);
	if (o->cfg.sched.max_hold)
		fprintf(f, " --hold %u", o->cfg.sched.max_hold);
	if (o->cfg.guest_arg)
		fprintf(f, " --arg %llu", (unsigned long long)o->cfg.guest_arg);
	if (o->cfg.mem_size != VM_DEFAULT_MEM)
		fprintf(f, " --mem %lluK", (unsigned long long)o->cfg.mem_size >> 10);
	if (o->budget_set)
		fprintf(f, " --budget %llu", (unsigned long long)o->cfg.sched.step_budget);
	fprintf(f, " -o %s\n", o->dir);
}

static void summary_text(const struct explore_opts *o, const struct tally *t,
			 double wall)
{
	printf("explore: %u runs in %.1f s (%.1f runs/s), %u failed, %u "
	       "signature%s\n", t->done, wall, wall > 0 ? t->done / wall : 0.0,
	       t->nfail, t->nsigs, t->nsigs == 1 ? "" : "s");
	for (unsigned i = 0; i < t->nsigs; i++) {
		const struct signature *s = &t->sigs[i];
		const struct explore_result *r = &s->first.res;
		printf("\n  %u x  %s\n", s->count, s->text);
		printf("     first: run %u, seed %llu, %llu steps, %llu preemptions, "
		       "%llu injected pauses\n", s->first.index,
		       (unsigned long long)r->seed, (unsigned long long)r->stats.steps,
		       (unsigned long long)r->stats.preemptions,
		       (unsigned long long)r->stats.injected);
		printf("     replay:   vcprr replay %s\n", s->first.text);
		printf("     minimize: vcprr minimize %s -o %s/min-%llu.trace\n",
		       s->first.text, o->dir, (unsigned long long)r->seed);
		printf("     rerun:    ");
		rerun_command(o, r->seed, stdout);
	}
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void summary_json(const struct explore_opts *o, const struct tally *t,
			 double wall)
{
	printf("{\"guest\": ");
	json_string(o->cfg.guest);
	printf(", \"seed\": %llu, \"runs\": %u, \"failures\": %u, \"signatures\": %u, "
	       "\"seconds\": %.3f, \"runs_per_s\": %.2f, \"calibration_steps\": %llu, "
	       "\"failed_runs\": [", (unsigned long long)o->seed, t->done, t->nfail,
	       t->nsigs, wall, wall > 0 ? t->done / wall : 0.0,
	       (unsigned long long)o->cfg.sched.pct_steps);
	for (unsigned i = 0; i < t->nfail; i++) {
		const struct run_record *r = &t->failures[i];
		printf("%s{\"run\": %u, \"seed\": %llu, \"steps\": %llu, "
		       "\"preemptions\": %llu, \"injected\": %llu, \"signature\": ",
		       i ? ", " : "", r->index, (unsigned long long)r->res.seed,
		       (unsigned long long)r->res.stats.steps,
		       (unsigned long long)r->res.stats.preemptions,
		       (unsigned long long)r->res.stats.injected);
		json_string(r->res.signature);
		printf(", \"trace\": ");
		json_string(r->text);
		printf("}");
	}
	printf("]}\n");
}

/* --- driver ------------------------------------------------------------------ */

static int start_workers(const struct explore_opts *o, pid_t *pids, int *fds,
			 unsigned n)
{
	for (unsigned w = 0; w < n; w++) {
		int p[2];
		if (pipe(p) || (pids[w] = fork()) < 0)
			return -1;
		if (pids[w] == 0) {
			close(p[0]);
			for (unsigned i = 0; i < w; i++)
				close(fds[i]);
			worker(o, w, p[1]);
			_exit(0);
		}
		close(p[1]);
		fds[w] = p[0];
	}
	return 0;
}

int cmd_explore(int argc, char **argv)
{
	struct explore_opts o;
	struct tally t = { 0 };
	pid_t pids[MAX_JOBS];
	int fds[MAX_JOBS], status = 0, r;
	unsigned n;
	char err[512];
	double t0;

	r = parse_opts(argc, argv, &o);
	if (r)
		return r;
	if (mkdir(o.dir, 0777) && errno != EEXIST) {
		fprintf(stderr, "vcprr explore: %s: %s\n", o.dir, strerror(errno));
		return EXIT_VMM_ERROR;
	}
	if (calibrate(&o, err, sizeof(err))) {
		fprintf(stderr, "vcprr explore: %s\n", err);
		return EXIT_VMM_ERROR;
	}
	n = o.jobs < o.runs ? o.jobs : o.runs;
	o.jobs = n;
	t.failures = calloc(o.runs, sizeof(*t.failures));
	t.sigs = calloc(o.runs, sizeof(*t.sigs));
	if (!t.failures || !t.sigs) {
		fprintf(stderr, "vcprr explore: out of memory\n");
		status = EXIT_VMM_ERROR;
		goto out;
	}
	if (!o.json)
		fprintf(stderr, "explore: %s, %u runs from seed %llu, %s, preempt at "
			"%s, pauses %g per point; calibration: %llu steps\n",
			o.cfg.guest, o.runs, (unsigned long long)o.seed, o.policy_arg,
			o.cfg.sched.mode == VM_SCHED_STEP ? "every instruction" :
			"VM exits", o.pause_rate,
			(unsigned long long)o.cfg.sched.pct_steps);
	t0 = now_s();
	fflush(NULL);
	if (start_workers(&o, pids, fds, n)) {
		fprintf(stderr, "vcprr explore: cannot start workers: %s\n",
			strerror(errno));
		status = EXIT_VMM_ERROR;
		goto out;
	}
	collect(&o, fds, n, &t);
	for (unsigned w = 0; w < n; w++)
		waitpid(pids[w], NULL, 0);
	qsort(t.failures, t.nfail, sizeof(*t.failures), by_index);
	if (t.errored) {
		fprintf(stderr, "vcprr explore: %s\n", t.error);
		status = EXIT_VMM_ERROR;
		goto out;
	}
	if (o.json)
		summary_json(&o, &t, now_s() - t0);
	else
		summary_text(&o, &t, now_s() - t0);
	status = t.nfail ? 1 : 0;
out:
	free(t.failures);
	free(t.sigs);
	return status;
}
