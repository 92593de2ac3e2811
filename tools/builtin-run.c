/* vcprr run: boot a guest on N VCPUs and run it to the end. */
#include <errno.h>
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
"  -m, --mem SIZE       guest memory, e.g. 64M, 1G (default 64M)\n"
"  -t, --timeout DUR    stop the guest after DUR (e.g. 500ms, 2s) as a fault\n"
"  -a, --arg N          a number for the guest (vcprr_arg()), e.g. a size\n"
"  --sched MODE         parallel (default): VCPUs run concurrently;\n"
"                       serial: one VCPU at a time, switching only at VM\n"
"                       exits, so a run is a function of its inputs;\n"
"                       step: serial, single-stepping every instruction\n"
"  --policy P           serial/step scheduling policy: rr (default), random,\n"
"                       or pct:D (probabilistic concurrency testing, depth D)\n"
"  --watchdog DUR       serial/step: fault when the running VCPU makes no VM\n"
"                       exit for DUR (default 2s); busy-waits need yield()\n"
"\n"
"built-in pause controller (VCPUs take asynchronous pause requests; a signal\n"
"kicks them out of the guest, they report paused and wait to be resumed):\n"
"  --pause-every DUR    every DUR, pause a random set of VCPUs with random\n"
"                       data, wait until they are paused, then resume them\n"
"  --hold DUR           keep them paused for DUR first (default 0)\n"
"  --seed N             seed of the random masks and data (default: time)\n"
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
"      VCPUs still paused when the script ends are resumed.\n"
"  -h, --help           show this help\n"
"\n"
"vcprr record also takes:\n"
"  -o, --output FILE    the trace to write (required)\n"
"  --lossy              drop events (counted in LOST events) rather than\n"
"                       slow the guest when the writer falls behind\n"
"  --max-trace SIZE     stop recording when the trace would grow past SIZE\n"
"                       (e.g. 100M; default: no limit but the disk's).  A\n"
"                       full disk or this limit ends the run (exit 126) and\n"
"                       keeps every event written before it\n"
"\n"
"exit status:\n"
"  the guest's exit code (exit() or the first non-zero return from main)\n"
"  2    usage error\n"
"  124  a guest assertion failed\n"
"  125  guest fault: triple fault, unexpected exit, unmapped I/O, timeout\n"
"  126  vcprr could not run the guest (/dev/kvm, bad ELF, bad option)\n"
"  128+N  stopped by signal N (SIGINT, SIGTERM)\n"
"\n"
"environment:\n"
"  VCPRR_KVM_DEV        KVM device path (default /dev/kvm)\n";

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
		{ "arg", required_argument, NULL, 'a' },
		{ "sched", required_argument, NULL, 'M' },
		{ "policy", required_argument, NULL, 'Y' },
		{ "watchdog", required_argument, NULL, 'W' },
		{ "lossy", no_argument, NULL, 'L' },
		{ "max-trace", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->nr_vcpus = 1;
	o->mem_size = VM_DEFAULT_MEM;
	o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	optind = 1;
	while ((c = getopt_long(argc, argv, "n:m:t:o:a:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (cli_parse_u64(optarg, &v) || v == 0 || v > VM_MAX_VCPUS)
				return cli_usage_error(cmd, "--vcpus '%s': expected 1 "
						       "to %u VCPUs", optarg,
						       VM_MAX_VCPUS);
			o->nr_vcpus = v;
			break;
		case 'm':
			if (cli_parse_size(optarg, &o->mem_size))
				return cli_usage_error(cmd, "--mem '%s': expected a size "
						       "such as 64M or 1G", optarg);
			break;
		case 't':
			if (cli_parse_duration(optarg, &o->timeout_ns) || !o->timeout_ns)
				return cli_usage_error(cmd, "--timeout '%s': expected a "
						       "duration such as 500ms or 2s",
						       optarg);
			break;
		case 'P':
			if (cli_parse_duration(optarg, &o->pause_every_ns) ||
			    !o->pause_every_ns)
				return cli_usage_error(cmd, "--pause-every '%s': expected "
						       "a duration such as 10ms", optarg);
			break;
		case 'H':
			if (cli_parse_duration(optarg, &o->hold_ns))
				return cli_usage_error(cmd, "--hold '%s': expected a "
						       "duration such as 1ms", optarg);
			break;
		case 'S':
			if (cli_parse_u64(optarg, &o->seed))
				return cli_usage_error(cmd, "--seed '%s': expected a "
						       "number", optarg);
			break;
		case 'C':
			o->pause_script = optarg;
			break;
		case 'M': {
			int m = sched_mode_parse(optarg);
			if (m < 0)
				return cli_usage_error(cmd, "--sched '%s': expected "
						       "parallel, serial or step", optarg);
			o->sched.mode = m;
			break;
		}
		case 'Y':
			if (sched_policy_parse(optarg, &o->sched.policy,
					       &o->sched.pct_depth))
				return cli_usage_error(cmd, "--policy '%s': expected rr, "
						       "random or pct:D (1 <= D <= %d)",
						       optarg, SCHED_PCT_MAX_DEPTH);
			break;
		case 'W':
			if (cli_parse_duration(optarg, &o->sched.watchdog_ns) ||
			    !o->sched.watchdog_ns)
				return cli_usage_error(cmd, "--watchdog '%s': expected a "
						       "duration", optarg);
			break;
		case 'a':
			if (cli_parse_u64(optarg, &o->guest_arg))
				return cli_usage_error(cmd, "--arg '%s': expected a "
						       "number", optarg);
			break;
		case 'o':
		case 'L':
		case 'X':
			if (strcmp(cmd, "record"))
				return cli_usage_error(cmd, "%s is an option of vcprr "
						       "record", c == 'o' ? "-o" :
						       c == 'L' ? "--lossy" : "--max-trace");
			if (c == 'o')
				o->output = optarg;
			else if (c == 'L')
				o->lossy = true;
			else if (cli_parse_size(optarg, &o->max_trace) ||
				 o->max_trace < 4096)
				return cli_usage_error(cmd, "--max-trace '%s': expected "
						       "a size of at least 4K, such as "
						       "100M", optarg);
			break;
		case 'h':
			fputs(run_usage, stdout);
			exit(0);
		default:
			return cli_usage_error(cmd, "unknown option");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(cmd, optind == argc ? "missing GUEST.elf"
					    : "too many arguments");
	o->guest = argv[optind];
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
};

static void *controller_thread(void *arg)
{
	struct controller *c = arg;
	int r;

	if (c->o->pause_script)
		r = pause_script_run(&c->script, c->vm, stdout, c->err, sizeof(c->err));
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
	d->guest_arg = o->guest_arg;
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

int run_guest(const struct run_opts *o)
{
	struct controller ctl = { .o = o };
	struct run_drive drive = { .timeout_ns = o->timeout_ns,
				   .started = start_controller, .arg = &ctl };
	struct vm_result res = { .reason = TEND_VMM_ERROR, .exit_code = 1 };
	struct trace_writer *trace = NULL;
	struct run_desc desc;
	struct vm_config cfg;
	struct vm *vm = NULL;
	uint64_t mem_digest = 0;
	char err[1024];
	sigset_t sigs;
	int status;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);  /* VCPU threads inherit it */
	drive.signal_fd = signalfd(-1, &sigs, SFD_CLOEXEC);

	if (o->pause_script &&
	    pause_script_load(o->pause_script, &ctl.script, err, sizeof(err))) {
		fprintf(stderr, "vcprr: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	ctl.random = (struct pause_random){ .every_ns = o->pause_every_ns,
					    .hold_ns = o->hold_ns, .seed = o->seed };
	if (describe_run(o, &desc, err, sizeof(err)) ||
	    (o->output && !(trace = recording_open(o->output, &desc, o->guest,
						   err, sizeof(err))))) {
		fprintf(stderr, "vcprr: %s\n", err);
		status = EXIT_VMM_ERROR;
		goto out;
	}
	run_desc_vm_config(&desc, &cfg);
	cfg.trace = drive.trace = trace;
	vm = vm_create(&cfg, o->guest, err, sizeof(err));
	if (!vm) {
		snprintf(res.diag, sizeof(res.diag), "%s", err);
	} else if (run_drive(vm, &drive)) {
		snprintf(res.diag, sizeof(res.diag), "cannot start VCPU threads");
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
	status = cli_exit_status(&res);
out:
	/* The VM first: its threads are the trace's producers. */
	vm_destroy(vm);
	if (trace && recording_close(trace, o->output, res.reason, res.exit_code,
				     mem_digest, res.diag, err, sizeof(err))) {
		fprintf(stderr, "vcprr: %s\n", err);
		if (status == 0)
			status = EXIT_VMM_ERROR;
	}
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
