/* vcprr debug: a guest under gdb.  The guest runs under the step scheduler
 * with the VMM's debug stop point; a gdb remote-protocol server (debug/)
 * serves it, and by default gdb is started attached to it with the guest's
 * symbols, the way `rr replay` starts gdb. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "debug/gdb-listen.h"
#include "debug/gdb-server.h"
#include "debug/live-target.h"
#include "debug/replay-target.h"
#include "tools/cli.h"
#include "tools/run.h"

static const char debug_usage[] =
"usage: vcprr debug [--gdb-server [HOST:]PORT|unix:PATH] [--gdb-path GDB]\n"
"                   GUEST.elf [run options] [-- GDB-ARGS]\n"
"       vcprr debug [--gdb-server ADDR] [--gdb-path GDB] TRACE\n"
"                   [--guest PATH | --guest-dir DIR] [--force] [-- GDB-ARGS]\n"
"\n"
"Runs GUEST.elf, or the replay of a step TRACE, under gdb.  The guest runs\n"
"under the step scheduler (one VCPU at a time, one instruction per step),\n"
"so it can stop between any two instructions; each VCPU is a gdb thread\n"
"('info threads' shows whether it is running, paused by a request, halted\n"
"or exited).  gdb may read registers and memory, break (break, hbreak),\n"
"watch (watch, rwatch, awatch: the VCPUs' debug registers, at most 4\n"
"words), continue and stepi.  Register and memory writes are refused: they\n"
"would change the run.  Breakpoints never patch guest memory.\n"
"\n"
"A TRACE (recorded with --sched step, or saved by explore --preempt step)\n"
"replays under gdb with reverse execution: reverse-stepi, reverse-continue\n"
"(back to the last breakpoint or watched write: a write is shown at its\n"
"store, before it ran, in its VCPU).  Going back replays the trace from\n"
"its start to the position wanted (a position is the count of instructions\n"
"run; the trace decides them all), so a step back costs a replay to there.\n"
"Every event is checked against the trace on the way; the end of the trace\n"
"is a stop to go back from.  The guest is found as vcprr replay finds it.\n"
"Parallel and serial traces are refused: reverse execution needs a step\n"
"recording.  A live GUEST.elf runs forward only.\n"
"\n"
"By default vcprr starts gdb attached to the guest with its symbols loaded\n"
"(build guests with -g); GDB-ARGS after '--' go to gdb (e.g. -batch -ex ...).\n"
"\n"
"options:\n"
"  --gdb-server ADDR    serve gdb's remote protocol on ADDR instead and wait\n"
"                       for gdb to connect ('target remote ADDR' in gdb):\n"
"                       [HOST:]PORT (HOST defaults to 127.0.0.1; PORT 0\n"
"                       picks a free one, printed) or unix:PATH (a new\n"
"                       unix socket, removed at the end)\n"
"  --gdb-path GDB       the gdb to start (default: $GDB, or gdb on PATH)\n"
"  --guest PATH, --guest-dir DIR, --force   a TRACE's guest, as for replay\n"
"  -n, -m, -a, --data, --policy, --seed, --watchdog\n"
"                       a GUEST's, as for vcprr run\n"
"  -h, --help           show this help\n"
"\n"
"monitor commands (gdb's 'monitor CMD'): where (step and trace event),\n"
"goto EVENT (a trace's event number, as vcprr inspect dump prints), \n"
"checkpoints, help.\n"
"\n"
"exit status: the run's (as vcprr run) when a GUEST's run ended under the\n"
"debugger; 0 when the debugger ended the session first (the run is stopped\n"
"there) and for a TRACE; 2 usage; 126 when the guest or trace cannot run\n"
"or gdb cannot start.\n";

struct debug_opts {
	const char *server;     /* --gdb-server */
	const char *symbols;    /* the ELF gdb loads */
	struct replay_opts replay;  /* a trace's: --guest, --guest-dir, --force */
	const char *gdb;        /* --gdb-path, $GDB or "gdb" */
	char **gdb_args;        /* after "--" */
	int ngdb_args;
	struct run_opts run;
};

/* Options that vcprr run takes and a debug session cannot honour yet. */
static int refuse_run_options(const struct run_opts *o, bool sched_given)
{
	if (sched_given && o->sched.mode != VM_SCHED_STEP)
		return cli_usage_error("debug", "--sched %s: vcprr debug runs "
				       "the guest under --sched step (a stop "
				       "point at every instruction)",
				       sched_mode_name(o->sched.mode));
	if (o->pause_every_ns || o->pause_script || o->timeout_ns)
		return cli_usage_error("debug", "--pause-every, --pause-script "
				       "and --timeout are not supported by vcprr "
				       "debug");
	return 0;
}

/* Takes debug's own options out of argv, passes the rest to the run
 * option parser. */
static int parse(int argc, char **argv, struct debug_opts *d)
{
	char **rest = calloc((size_t)argc + 1, sizeof(*rest));
	bool sched_given = false;
	int n = 0, r;

	if (!rest)
		return EXIT_VMM_ERROR;
	d->gdb = getenv("GDB") && *getenv("GDB") ? getenv("GDB") : "gdb";
	rest[n++] = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(debug_usage, stdout);
			free(rest);
			exit(0);
		}
		if (!strcmp(a, "--")) {
			d->gdb_args = argv + i + 1;
			d->ngdb_args = argc - i - 1;
			break;
		}
		if ((!strcmp(a, "--gdb-server") || !strcmp(a, "--gdb-path")) &&
		    i + 1 == argc) {
			free(rest);
			return cli_usage_error("debug", "%s needs a value", a);
		}
		if (!strcmp(a, "--gdb-server"))
			d->server = argv[++i];
		else if (!strncmp(a, "--gdb-server=", 13))
			d->server = a + 13;
		else if (!strcmp(a, "--gdb-path"))
			d->gdb = argv[++i];
		else if (!strcmp(a, "--guest") && i + 1 < argc)
			d->replay.guest = argv[++i];
		else if (!strcmp(a, "--guest-dir") && i + 1 < argc)
			d->replay.guest_dir = argv[++i];
		else if (!strcmp(a, "--force"))
			d->replay.force = true;
		else if (!strncmp(a, "--gdb-path=", 11))
			d->gdb = a + 11;
		else
			rest[n++] = argv[i];
		sched_given |= !strncmp(a, "--sched", 7);
	}
	r = run_opts_parse("debug", n, rest, &d->run);
	free(rest);
	if (r)
		return r;
	r = refuse_run_options(&d->run, sched_given);
	d->run.sched.mode = VM_SCHED_STEP;
	return r;
}

/* The gdb to start, found before anything runs: -1 with a message. */
static int find_gdb(const char *gdb)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (strchr(gdb, '/'))
		goto check;
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t len = strcspn(p, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, p, gdb);
		if (access(buf, X_OK) == 0)
			return 0;
		p += len + (p[len] == ':');
	}
	goto missing;
check:
	if (access(gdb, X_OK) == 0)
		return 0;
missing:
	fprintf(stderr, "vcprr debug: cannot start gdb '%s': not found or not "
		"executable. Install gdb (apt-get install gdb), or name one with "
		"--gdb-path or $GDB; --gdb-server serves a gdb started "
		"elsewhere\n", gdb);
	return -1;
}

/* gdb GUEST.elf -ex 'target remote ADDR' GDB-ARGS, with the signals it
 * expects (ours are blocked for the signalfd). */
static pid_t start_gdb(const struct debug_opts *d, const char *target)
{
	char ex[256];
	char **args = calloc((size_t)d->ngdb_args + 8, sizeof(*args));
	sigset_t none;
	int n = 0;
	pid_t pid;

	if (!args)
		return -1;
	snprintf(ex, sizeof(ex), "target remote %s", target);
	args[n++] = (char *)d->gdb;
	args[n++] = "-q";
	args[n++] = (char *)d->symbols;
	args[n++] = "-ex";
	args[n++] = ex;
	for (int i = 0; i < d->ngdb_args; i++)
		args[n++] = d->gdb_args[i];
	pid = fork();
	if (pid == 0) {
		sigemptyset(&none);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		signal(SIGINT, SIG_DFL);
		execvp(d->gdb, args);
		fprintf(stderr, "vcprr debug: %s: %s\n", d->gdb, strerror(errno));
		_exit(127);
	}
	free(args);
	return pid;
}

static struct vm *create_vm(const struct run_opts *o)
{
	struct vm_config cfg = {
		.nr_vcpus = o->nr_vcpus,
		.mem_size = o->mem_size,
		.input = o->input,
		.sched = o->sched,
	};
	char err[512];
	struct vm *vm = vm_create(&cfg, o->guest, err, sizeof(err));

	if (!vm)
		fprintf(stderr, "vcprr debug: %s\n", err);
	return vm;
}

/* The session is over: the run goes on to its end when gdb detached, or
 * is stopped here.  The exit status. */
static int finish(struct vm *vm, struct live_target *lt,
		  enum gdb_serve_end end)
{
	bool ended;

	live_target_release(lt);
	if (!live_target_started(lt)) {
		fprintf(stderr, "vcprr debug: the session ended before the guest "
			"ran\n");
		return 0;
	}
	if (end != GDB_SERVE_DETACHED)
		vm_stop(vm, TEND_SIGNAL, SIGINT, "the debugger ended the session");
	vm_wait(vm, -1);
	ended = vm_result(vm)->reason != TEND_SIGNAL || end == GDB_SERVE_DETACHED;
	if (!ended)
		fprintf(stderr, "vcprr debug: the session ended; the run was "
			"stopped there\n");
	else if (vm_result(vm)->diag[0])
		fprintf(stderr, "vcprr debug: %s\n", vm_result(vm)->diag);
	return ended ? cli_exit_status(vm_result(vm)) : 0;
}

/* The signal that ended the session (0: none pending). */
static int quit_signal(int sfd)
{
	struct signalfd_siginfo si;
	struct pollfd p = { .fd = sfd, .events = POLLIN };

	if (poll(&p, 1, 0) != 1 || read(sfd, &si, sizeof(si)) != sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

/* The signals that end a session, read through a signalfd.  With gdb in
 * the terminal Ctrl-C is gdb's (it interrupts the guest); alone, it ends
 * the session.  SIGCHLD: the gdb we started is gone. */
static int session_signals(bool alone)
{
	sigset_t sigs;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGCHLD);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (!alone)
		sigdelset(&sigs, SIGINT);
	return signalfd(-1, &sigs, SFD_CLOEXEC);
}

/* Listens on --gdb-server, or for the gdb we start on a socket in a new
 * private folder (dir; only we can reach it).  0 or an exit status. */
static int open_listener(const struct debug_opts *d, struct gdb_listener *l,
			 char *dir)
{
	char err[512], spec[64];

	if (!d->server && !mkdtemp(dir)) {
		fprintf(stderr, "vcprr debug: %s: %s\n", dir, strerror(errno));
		return EXIT_VMM_ERROR;
	}
	snprintf(spec, sizeof(spec), "unix:%s/gdb.sock", dir);
	if (gdb_listen(l, d->server ? d->server : spec, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "vcprr debug: --gdb-server %s\n", err);
	if (!d->server)
		rmdir(dir);
	return EXIT_USAGE;
}

static void close_listener(const struct debug_opts *d, struct gdb_listener *l,
			   const char *dir)
{
	gdb_listen_close(l);
	if (!d->server)
		rmdir(dir);
}

/* Serves @target to gdb until the session ends: the way it ended, the
 * signal that ended it in *sig (0: none), -1 when gdb could not start. */
static int serve(struct debug_opts *d, struct debug_target target,
		 struct debug_points *points, int *sig)
{
	struct gdb_listener l;
	enum gdb_serve_end end = GDB_SERVE_QUIT;
	char dir[] = "/tmp/vcprr-debug-XXXXXX";
	pid_t gdb = -1;
	int sfd = session_signals(d->server != NULL), conn, status = 0, r;

	*sig = 0;
	r = open_listener(d, &l, dir);
	if (r) {
		close(sfd);
		return -r;
	}
	if (d->server) {
		fprintf(stderr, "vcprr debug: waiting for gdb: target remote %s\n",
			l.gdb_target);
	} else if ((gdb = start_gdb(d, l.gdb_target)) < 0) {
		fprintf(stderr, "vcprr debug: fork: %s\n", strerror(errno));
		close_listener(d, &l, dir);
		close(sfd);
		return -EXIT_VMM_ERROR;
	}
	conn = gdb_accept(&l, sfd);
	if (conn >= 0) {
		end = gdb_serve(conn, &target, points, sfd);
		close(conn);
	}
	close_listener(d, &l, dir);
	if (gdb > 0)
		waitpid(gdb, &status, 0);
	*sig = end == GDB_SERVE_QUIT ? quit_signal(sfd) : 0;
	close(sfd);
	if (gdb > 0 && conn < 0 && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 127)
		return -EXIT_VMM_ERROR;  /* it could not start: it said why */
	return (int)end;
}

/* The exit status of a session that served @r (serve's value). */
static int session_status(int r, int sig, int status)
{
	if (r < 0)
		return -r;
	return sig == SIGINT || sig == SIGTERM ? 128 + sig : status;
}

/* A trace: its replay under gdb, with reverse execution.  The status is
 * 0 (the session's end is not the run's: the trace says how it ended). */
static int debug_trace(struct debug_opts *d, struct debug_points *points)
{
	struct replay_target *rt;
	char err[4096];
	int r, sig;

	d->replay.console_fd = -1;
	rt = replay_target_create(d->run.guest, &d->replay, points, err,
				  sizeof(err));
	if (!rt) {
		fprintf(stderr, "vcprr debug: %s\n", err);
		return EXIT_VMM_ERROR;
	}
	d->symbols = replay_target_guest(rt);
	r = serve(d, replay_target_of(rt), points, &sig);
	replay_target_destroy(rt);
	return session_status(r, sig, 0);
}

/* Whether @path is a trace rather than a guest (an ELF file). */
static bool is_trace(const char *path)
{
	unsigned char magic[4] = { 0 };
	FILE *f = fopen(path, "rb");

	if (!f)
		return false;
	if (fread(magic, 1, sizeof(magic), f) != sizeof(magic))
		magic[0] = 0;
	fclose(f);
	return memcmp(magic, "\177ELF", 4) != 0;
}

int cmd_debug(int argc, char **argv)
{
	struct debug_opts d = { 0 };
	struct debug_points points = { 0 };
	struct live_target *lt;
	struct vm *vm;
	char err[512];
	int r, sig;

	r = parse(argc, argv, &d);
	if (r)
		return r;
	if (!d.server && find_gdb(d.gdb))
		return EXIT_VMM_ERROR;
	if (is_trace(d.run.guest))
		return debug_trace(&d, &points);
	if (d.replay.guest || d.replay.guest_dir || d.replay.force)
		return cli_usage_error("debug", "--guest, --guest-dir and --force "
				       "are for a trace, not a guest");
	d.symbols = d.run.guest;
	vm = create_vm(&d.run);
	if (!vm)
		return EXIT_VMM_ERROR;
	lt = live_target_create(vm, &points, err, sizeof(err));
	if (!lt) {
		fprintf(stderr, "vcprr debug: %s\n", err);
		vm_destroy(vm);
		return EXIT_VMM_ERROR;
	}
	r = serve(&d, live_target_of(lt), &points, &sig);
	if (r >= 0)
		r = finish(vm, lt, (enum gdb_serve_end)r);
	r = session_status(r, sig, r < 0 ? 0 : r);
	live_target_release(lt);
	vm_destroy(vm);
	live_target_destroy(lt);
	return r;
}
