/* vcprr run: boot a guest on N VCPUs and run it to the end. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "tools/cli.h"
#include "tools/outfile.h"
#include "tools/pause-random.h"
#include "tools/pause-script.h"
#include "tools/run.h"
#include "vmm/recording.h"
#include "vmm/run-drive.h"

static const char run_usage[] =
"usage: vcprr run GUEST.elf [options]\n"
"       vcprr record -o FILE GUEST.elf [options]\n"
"\n"
"Boots GUEST.elf (an ELF64 guest built with vmm/guest/) on N VCPUs and runs it\n"
"to the end; record also writes every event to a zstd-compressed trace\n"
"that vcprr replay can re-drive.  Every VCPU starts at the entry point in 64-bit mode and calls\n"
"main(vcpu_id).  The console is line-buffered per VCPU and prefixed with the\n"
"VCPU id when there is more than one.\n"
"\n"
"options:\n"
"  -n, --vcpus N        number of VCPUs (default 1; at most KVM_CAP_MAX_VCPUS)\n"
"  -m, --mem SIZE       guest memory, e.g. 64M, 1G, 512MiB (default 64M)\n"
"  -t, --timeout DUR    stop the guest after DUR as a fault.  DUR has a unit:\n"
"                       ns, us, ms, s, m or h (500ms, 1.5s, 2m)\n"
CLI_INPUT_HELP
"  --sched MODE         parallel (default): VCPUs run concurrently;\n"
"                       serial: one VCPU at a time, switching only at VM\n"
"                       exits, so a run is a function of its inputs;\n"
"                       step: serial, single-stepping every instruction\n"
"  --policy P           serial/step scheduling policy: rr (default), random,\n"
"                       or pct:D (probabilistic concurrency testing, depth D)\n"
"  --watchdog DUR       serial/step: fault when the running VCPU makes no VM\n"
"                       exit for DUR (default 2s); busy-waits need\n"
"                       vcprr_yield()\n"
"\n"
"built-in pause controller (VCPUs take asynchronous pause requests; a signal\n"
"kicks them out of the guest, they report paused and wait to be resumed):\n"
"  --pause-every DUR    every DUR, pause a random set of VCPUs with random\n"
"                       data, wait until they are paused, then resume them\n"
"  --hold DUR           keep them paused for DUR first (default 0)\n"
"  --seed N             seed of the random masks and data, and of the\n"
"                       serial policies (default: random, printed)\n"
"  --pause-script FILE  run a pause script instead; its language:\n"
"        # comment\n"
"        pause MASK [DATA]      request a pause with DATA and kick each VCPU\n"
"        request VCPU [DATA]    store a request without kicking\n"
"        wait MASK [TIMEOUT]    wait until every VCPU of MASK is paused (5s)\n"
"        set VCPU REG VALUE     set a register (rax..r15, rip, rflags)\n"
"        print VCPU             print a paused VCPU's registers\n"
"        resume MASK [DATA]     resume the paused VCPUs of MASK\n"
"        sleep DUR\n"
"      MASK is all, a list such as 0,2-5, or a bit mask such as 0x5.\n"
"      When the script ends, each request it made is waited for and every\n"
"      VCPU still paused is resumed.\n"
"  -h, --help           show this help\n"
"\n"
"vcprr record also takes:\n"
"  -o, --output FILE    the trace to write (required; '-': stdout, the guest\n"
"                       console then goes to stderr).  FILE appears once the\n"
"                       run has started: a run that cannot start leaves none\n"
"  -f, --force          replace an existing FILE (never the guest or script)\n"
"  --lossy              drop events (counted in LOST events) rather than\n"
"                       slow the guest when the writer falls behind\n"
"  --max-trace SIZE     stop recording when the trace would grow past SIZE\n"
"                       (e.g. 100M; default: no limit but the disk's).  A\n"
"                       full disk or this limit ends the run (exit 126) and\n"
"                       keeps every event written before it\n"
"\n"
"exit status:\n"
"  0    the guest exited with 0\n"
"  the guest's exit code (vcprr_exit() or the first non-zero return from\n"
"       main) when it is 1 or 3 to 122\n"
"  2    usage error, or an output refused (it exists, or is an input)\n"
"  123  the guest exited with another code (2, 123 and up, negative):\n"
"       a message gives it; a failing guest never exits 0\n"
"  124  a guest assertion failed\n"
"  125  guest fault: triple fault, unexpected exit, unmapped I/O, timeout\n"
"  126  vcprr could not run the guest (/dev/kvm, bad ELF, bad option)\n"
"  128+N  stopped by signal N (SIGINT, SIGTERM)\n"
"\n"
"environment:\n"
"  VCPRR_KVM_DEV        KVM device path (default /dev/kvm)\n";

/* record's own options: -o, --force, --lossy, --max-trace. */
static int record_opt(const char *cmd, int c, struct run_opts *o)
{
	static const char *const names[] = { ['o'] = "-o", ['F'] = "--force",
					     ['L'] = "--lossy",
					     ['X'] = "--max-trace" };

	if (strcmp(cmd, "record"))
		return cli_usage_error(cmd, "%s is an option of vcprr record",
				       names[c]);
	if (c == 'o')
		o->output = optarg;
	else if (c == 'F')
		o->force = true;
	else if (c == 'L')
		o->lossy = true;
	else if (cli_parse_size(optarg, &o->max_trace) || o->max_trace < 4096)
		return cli_usage_error(cmd, "--max-trace '%s': expected a size "
				       "of at least 4K, such as 100M", optarg);
	return 0;
}

static int parse_one(const char *cmd, int c, struct run_opts *o, char **argv)
{
	uint64_t v;
	int m;

	switch (c) {
	case 'n':
		if (cli_parse_u64(optarg, &v) || v == 0 || v > VM_MAX_VCPUS)
			return cli_usage_error(cmd, "--vcpus '%s': expected 1 to %u "
					       "VCPUs", optarg, VM_MAX_VCPUS);
		o->nr_vcpus = v;
		return 0;
	case 'm':
		if (cli_parse_size(optarg, &o->mem_size))
			return cli_usage_error(cmd, "--mem '%s': expected a size "
					       "such as 64M or 1G", optarg);
		return cli_check_mem(cmd, optarg, o->mem_size);
	case 't':
		if (cli_parse_duration(optarg, &o->timeout_ns) || !o->timeout_ns)
			return cli_bad_duration(cmd, "--timeout", optarg);
		return 0;
	case 'P':
		if (cli_parse_duration(optarg, &o->pause_every_ns) ||
		    !o->pause_every_ns)
			return cli_bad_duration(cmd, "--pause-every", optarg);
		return 0;
	case 'H':
		if (cli_parse_duration(optarg, &o->hold_ns))
			return cli_bad_duration(cmd, "--hold", optarg);
		return 0;
	case 'S':
		if (cli_parse_u64(optarg, &o->seed))
			return cli_usage_error(cmd, "--seed '%s': expected a "
					       "number", optarg);
		o->seed_given = true;
		return 0;
	case 'C':
		o->pause_script = optarg;
		return 0;
	case 'M':
		m = sched_mode_parse(optarg);
		if (m < 0)
			return cli_usage_error(cmd, "--sched '%s': expected "
					       "parallel, serial or step", optarg);
		o->sched.mode = m;
		return 0;
	case 'Y':
		if (sched_policy_parse(optarg, &o->sched.policy,
				       &o->sched.pct_depth))
			return cli_usage_error(cmd, "--policy '%s': expected rr, "
					       "random or pct:D (1 <= D <= %d)",
					       optarg, SCHED_PCT_MAX_DEPTH);
		return 0;
	case 'W':
		if (cli_parse_duration(optarg, &o->sched.watchdog_ns) ||
		    !o->sched.watchdog_ns)
			return cli_bad_duration(cmd, "--watchdog", optarg);
		return 0;
	case 'a':
		return cli_add_arg(cmd, optarg, &o->input);
	case 'D':
		o->data_path = optarg;
		return cli_read_data(cmd, optarg, &o->input);
	case 'o': case 'F': case 'L': case 'X':
		return record_opt(cmd, c, o);
	case 'h':
		fputs(run_usage, stdout);
		exit(0);
	default:
		return cli_option_error(cmd, c, argv);
	}
}

int run_opts_parse(const char *cmd, int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "vcpus", required_argument, NULL, 'n' },
		{ "mem", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "pause-every", required_argument, NULL, 'P' },
		{ "hold", required_argument, NULL, 'H' },
		{ "seed", required_argument, NULL, 'S' },
		{ "pause-script", required_argument, NULL, 'C' },
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'F' },
		{ "arg", required_argument, NULL, 'a' },
		{ "data", required_argument, NULL, 'D' },
		{ "sched", required_argument, NULL, 'M' },
		{ "policy", required_argument, NULL, 'Y' },
		{ "watchdog", required_argument, NULL, 'W' },
		{ "lossy", no_argument, NULL, 'L' },
		{ "max-trace", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, r;

	memset(o, 0, sizeof(*o));
	o->nr_vcpus = 1;
	o->mem_size = VM_DEFAULT_MEM;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:m:t:o:fa:h", longopts,
				NULL)) != -1)
		if ((r = parse_one(cmd, c == 'f' ? 'F' : c, o, argv)))
			return r;
	if (optind != argc - 1)
		return cli_usage_error(cmd, optind == argc ? "missing GUEST.elf"
					    : "too many arguments");
	o->guest = argv[optind];
	if (!o->seed_given)
		o->seed = cli_random_seed();
	o->sched.seed = o->seed;
	if (!strcmp(cmd, "record") && !o->output)
		return cli_usage_error(cmd, "missing -o FILE");
	if (o->pause_script && o->pause_every_ns)
		return cli_usage_error(cmd, "--pause-script and --pause-every "
				       "cannot be combined");
	if (o->hold_ns && !o->pause_every_ns)
		return cli_usage_error(cmd, "--hold needs --pause-every");
	return 0;
}

static bool output_is_stdout(const struct run_opts *o)
{
	return o->output && !strcmp(o->output, "-");
}

/* The built-in controller runs on its own thread while the main thread
 * waits for the end of the run. */
struct controller {
	const struct run_opts *o;
	struct vm *vm;
	pthread_t thread;
	struct pause_script script;
	struct pause_random random;
	char err[512];
	int failed;
	bool started;
	struct trace_writer *trace;  /* named once the run has started */
	struct held_stdout *held;    /* record -o -: released then too */
};

static void *controller_thread(void *arg)
{
	struct controller *c = arg;
	int r;

	if (c->o->pause_script)
		r = pause_script_run(&c->script, c->vm,
				     output_is_stdout(c->o) ? stderr : stdout,
				     c->err, sizeof(c->err));
	else
		r = pause_random_run(&c->random, c->vm, c->err, sizeof(c->err));
	if (r < 0) {
		c->failed = 1;
		vm_stop(c->vm, TEND_VMM_ERROR, 1, c->err);
	}
	return NULL;
}

static bool wants_controller(const struct run_opts *o)
{
	return o->pause_script || o->pause_every_ns;
}

static void controller_summary(const struct controller *c)
{
	if (c->o->pause_every_ns)
		fprintf(stderr, "vcprr: controller: %llu pause rounds, %llu VCPU "
			"pauses (--seed %llu)\n",
			(unsigned long long)c->random.rounds,
			(unsigned long long)c->random.vcpu_pauses,
			(unsigned long long)c->o->seed);
}

static void start_controller(struct vm *vm, void *arg)
{
	struct controller *ctl = arg;

	ctl->vm = vm;
	if (wants_controller(ctl->o) &&
	    pthread_create(&ctl->thread, NULL, controller_thread, ctl) == 0)
		ctl->started = true;
}

/* The run @o describes, for the VM and the trace header. */
static int describe_run(const struct run_opts *o, struct run_desc *d,
			char *err, size_t errlen)
{
	run_desc_init(d);
	d->nr_vcpus = o->nr_vcpus;
	d->mem_size = o->mem_size;
	d->input = o->input;
	d->sched = o->sched;
	d->timeout_ns = o->timeout_ns;
	d->pause_every_ns = o->pause_every_ns;
	d->hold_ns = o->hold_ns;
	d->lossy = o->lossy;
	d->max_trace = o->max_trace;
	if (o->pause_script && snprintf(d->pause_script, sizeof(d->pause_script),
					"%s", o->pause_script) >=
			       (int)sizeof(d->pause_script)) {
		snprintf(err, errlen, "%s: a path longer than %zu bytes cannot be "
			 "recorded", o->pause_script, sizeof(d->pause_script) - 1);
		return -1;
	}
	return 0;
}

/* Everything that can be refused is refused before a trace exists. */
static int check_before_run(const struct run_opts *o, struct controller *ctl)
{
	const char *inputs[] = { o->guest, o->pause_script, o->data_path };
	char err[1024];

	if (o->pause_script &&
	    (pause_script_load(o->pause_script, &ctl->script, err, sizeof(err)) ||
	     pause_script_check(&ctl->script, o->nr_vcpus, err, sizeof(err)))) {
		fprintf(stderr, "vcprr: %s\n", err);
		return EXIT_USAGE;
	}
	if (o->output && outfile_check("record", o->output, inputs, 3, o->force))
		return EXIT_USAGE;
	return 0;
}

/* The seed decides the controller's pauses and the serial policies. */
static void note_seed(const struct run_opts *o)
{
	if (!o->seed_given && (o->pause_every_ns ||
	    (o->sched.mode != VM_SCHED_PARALLEL && o->sched.policy != VM_POLICY_RR)))
		fprintf(stderr, "vcprr: seed %llu (--seed %llu repeats it)\n",
			(unsigned long long)o->seed, (unsigned long long)o->seed);
}

/* The trace gets its name now that the run has started (or starts
 * streaming to stdout); when it cannot (someone created the file
 * meanwhile), the run ends at once. */
static void publish_or_stop(struct vm *vm, struct trace_writer *trace,
			    struct held_stdout *held)
{
	char err[512], why[600];
	int r = trace_writer_publish(trace, err, sizeof(err));

	if (held)
		held_stdout_release(held);
	if (!r)
		return;
	snprintf(why, sizeof(why), "%s%s", err, r == -EEXIST ?
		 "; use --force to replace it" : "");
	vm_stop(vm, TEND_VMM_ERROR, 1, why);
}

static int exit_status(const struct vm_result *res)
{
	int status = cli_exit_status(res);

	if (res->reason == TEND_GUEST_EXIT && status == EXIT_GUEST_CODE)
		fprintf(stderr, "vcprr: the guest exited with code %d; vcprr "
			"exits with %d for any code but 1 and 3-122\n",
			res->exit_code, EXIT_GUEST_CODE);
	return status;
}

/* The VM has started: the trace gets its name, then the controller
 * starts. */
static void run_started(struct vm *vm, void *arg)
{
	struct controller *ctl = arg;

	if (ctl->trace)
		publish_or_stop(vm, ctl->trace, ctl->held);
	note_seed(ctl->o);
	start_controller(vm, ctl);
}

/* The trace, unnamed (or held back from stdout) until the run starts. */
static struct trace_writer *open_trace(const struct run_opts *o,
				       struct run_desc *desc,
				       struct held_stdout *held, char *err,
				       size_t errlen)
{
	struct recording_target t = { .path = o->output, .fd = -1,
				      .publish_later = true,
				      .no_replace = !o->force };
	struct trace_writer *w;

	if (!output_is_stdout(o))
		return recording_open_target(&t, desc, o->guest, err, errlen);
	if (held_stdout_open(held)) {
		snprintf(err, errlen, "cannot relay the trace to stdout: %s",
			 strerror(errno));
		held->fd = -1;
		return NULL;
	}
	t.path = "standard output";
	t.fd = held->fd;
	w = recording_open_target(&t, desc, o->guest, err, errlen);
	/* The writer closes the fd, even when it fails; a failure before it
	 * got the fd leaves it open, and the relay would wait for it. */
	if (!w && fcntl(held->fd, F_GETFD) != -1)
		close(held->fd);
	return w;
}

int run_guest(const struct run_opts *o)
{
	struct held_stdout held = { .fd = -1 };
	struct controller ctl = { .o = o };
	struct run_drive drive = { .timeout_ns = o->timeout_ns,
				   .started = run_started, .arg = &ctl };
	struct vm_result res = { .reason = TEND_VMM_ERROR, .exit_code = 1 };
	struct trace_writer *trace = NULL;
	struct run_desc desc;
	struct vm_config cfg;
	struct vm *vm = NULL;
	uint64_t mem_digest = 0;
	char err[1024];
	sigset_t sigs;
	int status, r;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);  /* VCPU threads inherit it */
	drive.signal_fd = signalfd(-1, &sigs, SFD_CLOEXEC);

	status = check_before_run(o, &ctl);
	if (status)
		goto out;
	ctl.random = (struct pause_random){ .every_ns = o->pause_every_ns,
					    .hold_ns = o->hold_ns, .seed = o->seed };
	/* Unnamed until the run has started: a run that cannot start leaves
	 * no file, and an existing one untouched. */
	if (describe_run(o, &desc, err, sizeof(err)) ||
	    (o->output && !(trace = open_trace(o, &desc, &held, err,
					       sizeof(err))))) {
		fprintf(stderr, "vcprr: %s\n", err);
		status = EXIT_VMM_ERROR;
		goto out;
	}
	run_desc_vm_config(&desc, &cfg);
	cfg.trace = drive.trace = trace;
	cfg.controlled = wants_controller(o);
	if (output_is_stdout(o))
		cfg.console_fd = 2;
	ctl.trace = trace;
	ctl.held = held.fd >= 0 ? &held : NULL;
	vm = vm_create(&cfg, o->guest, err, sizeof(err));
	if (!vm) {
		snprintf(res.diag, sizeof(res.diag), "%s", err);
	} else if ((r = run_drive(vm, &drive))) {
		/* The VMM's own reason, when it gave one. */
		snprintf(res.diag, sizeof(res.diag), "%s", vm_result(vm)->diag);
		if (!res.diag[0])
			snprintf(res.diag, sizeof(res.diag), "cannot start the VCPU "
				 "threads: %s", strerror(-r));
	} else {
		if (ctl.started) {
			pthread_join(ctl.thread, NULL);
			controller_summary(&ctl);
		}
		res = *vm_result(vm);
		if (trace)
			mem_digest = vm_memory_digest(vm);
	}
	if (res.diag[0])
		fprintf(stderr, "vcprr: %s\n", res.diag);
	status = exit_status(&res);
out:
	/* The VM first: its threads are the trace's producers. */
	vm_destroy(vm);
	if (trace && recording_close(trace, o->output, res.reason, res.exit_code,
				     mem_digest, res.diag, err, sizeof(err))) {
		fprintf(stderr, "vcprr: %s\n", err);
		if (status == 0)
			status = EXIT_VMM_ERROR;
	}
	if (held.fd >= 0 && held_stdout_close(&held, "record") && status == 0)
		status = EXIT_VMM_ERROR;
	pause_script_free(&ctl.script);
	if (drive.signal_fd >= 0)
		close(drive.signal_fd);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	return status;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	int r = run_opts_parse("run", argc, argv, &o);

	return r ? r : run_guest(&o);
}

int cmd_record(int argc, char **argv)
{
	struct run_opts o;
	int r = run_opts_parse("record", argc, argv, &o);

	return r ? r : run_guest(&o);
}
