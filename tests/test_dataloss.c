/* Never lose the user's data, through the real `vcprr` command: outputs
 * that exist, outputs that are inputs (by name, hard link or symbolic
 * link), outputs in missing folders, runs that fail before they start,
 * and SIGINT/SIGKILL in the middle of record, minimize and explore. */
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"

static const char precious[] = "precious data, not a trace\n";

struct scratch {
	char dir[64];
	char guest[PATH_MAX];   /* a copy of hello.elf in dir */
};


static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	if (!f) {
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static void assert_file_is(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX], *got;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	got = read_file(path);
	if (!got || strcmp(got, text))
		fail_msg("%s changed: '%.60s'", path, got ? got : "(gone)");
	free(got);
}

static bool exists(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

/* Entries of dir (without . and ..); hidden ones are temporaries. */
static int entries(const char *dir, int *hidden)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	*hidden = 0;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		*hidden += e->d_name[0] == '.';
	}
	if (d)
		closedir(d);
	return n;
}

/* Runs a command line in dir, with $V (absolute) and $G, the guest copy. */
static int sh_in(struct scratch *s, char **out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int sh_in(struct scratch *s, char **out, const char *fmt, ...)
{
	char cmd[3000];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return vcprr_sh(out, "V=$(realpath $V); G=%s; cd %s && { %s; }", s->guest,
			s->dir, cmd);
}

/* The absolute path of build/guests/NAME.elf (commands run elsewhere). */
static const char *guest(const char *name)
{
	static char path[PATH_MAX];

	if (!realpath(guest_path(name), path))
		fail_msg("%s: not built", guest_path(name));
	return path;
}

static int setup(void **state)
{
	struct scratch *s = calloc(1, sizeof(*s));
	char cmd[PATH_MAX + 128];

	assert_int_equal(scratch_dir(s->dir, sizeof(s->dir), "dataloss"), 0);
	snprintf(s->guest, sizeof(s->guest), "%s/hello.elf", s->dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", guest_path("hello"), s->guest);
	assert_int_equal(system(cmd), 0);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct scratch *s = *state;

	scratch_dir_remove(s->dir);
	free(s);
	return 0;
}

/* A missing guest, a bad --mem, a folder as guest, no /dev/kvm: no file
 * appears, and an existing one is untouched even with --force. */
static void test_failure_before_the_run_leaves_nothing(void **state)
{
	static const char *const cases[] = {
		"$V record -o t.trace missing.elf",
		"$V record -o t.trace $G --mem 1",
		"$V record -o t.trace .",
		"VCPRR_KVM_DEV=/nonexistent $V record -o t.trace $G",
		"$V record -o t.trace $G --vcpus 100 --mem 2M",
	};
	struct scratch *s = *state;
	int hidden;

	SKIP_WITHOUT_KVM();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out;
		int st = sh_in(s, &out, "%s", cases[i]);

		if (st == 0 || exists(s->dir, "t.trace") ||
		    entries(s->dir, &hidden) != 1)
			fail_msg("%s: exit %d, left files behind:\n%s", cases[i],
				 st, out);
		free(out);
		assert_int_equal(sh_in(s, NULL, "printf '%s' > t.trace", precious), 0);
		st = sh_in(s, &out, "%s --force", cases[i]);
		assert_int_not_equal(st, 0);
		assert_file_is(s->dir, "t.trace", precious);
		assert_int_equal(entries(s->dir, &hidden), 2);
		assert_int_equal(hidden, 0);
		free(out);
		assert_int_equal(sh_in(s, NULL, "rm t.trace"), 0);
	}
}

static void test_existing_output_needs_force(void **state)
{
	struct scratch *s = *state;
	char *out;

	SKIP_WITHOUT_KVM();
	assert_int_equal(sh_in(s, NULL, "printf '%s' > t.trace", precious), 0);
	assert_int_equal(sh_in(s, &out, "$V record -o t.trace $G"), 2);
	assert_non_null(strstr(out, "t.trace exists; use --force"));
	assert_file_is(s->dir, "t.trace", precious);
	free(out);
	/* --force (-f) replaces it, whole, with the new trace */
	assert_int_equal(sh_in(s, &out, "$V record -f -o t.trace $G && "
			       "$V inspect t.trace"), 0);
	assert_non_null(strstr(out, "complete"));
	free(out);
	/* the same for export and minimize's OUT */
	assert_int_equal(sh_in(s, NULL, "printf '%s' > out.json", precious), 0);
	assert_int_equal(sh_in(s, &out, "$V export --format chrome t.trace "
			       "-o out.json"), 2);
	assert_non_null(strstr(out, "out.json exists; use --force"));
	assert_file_is(s->dir, "out.json", precious);
	free(out);
	assert_int_equal(sh_in(s, NULL, "$V export --format chrome t.trace "
			       "-o out.json --force"), 0);
	assert_int_equal(sh_in(s, &out, "$V minimize t.trace -o out.json"), 2);
	assert_non_null(strstr(out, "out.json exists; use --force"));
	free(out);
}

/* A missing input is what the user hears about, not the existing output
 * they would otherwise fix first for nothing; the output is left as is. */
static void test_missing_input_named_before_output(void **state)
{
	static const char *const cases[] = {
		"$V export --format html no.trace -o out.html",
		"$V minimize no.trace -o out.html",
		"$V analyze no.trace --html out.html",
		"$V record -o out.html no.elf",
	};
	struct scratch *s = *state;
	char *out;

	SKIP_WITHOUT_KVM();
	assert_int_equal(sh_in(s, NULL, "printf '%s' > out.html", precious), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_not_equal(sh_in(s, &out, "%s", cases[i]), 0);
		if (!strstr(out, "no.") || strstr(out, "exists"))
			fail_msg("%s: '%s'", cases[i], out);
		free(out);
		assert_file_is(s->dir, "out.html", precious);
	}
}

/* A JUnit report replaces an earlier report, never another file. */
static void test_junit_replaces_only_a_report(void **state)
{
	struct scratch *s = *state;

	SKIP_WITHOUT_KVM();
	assert_int_equal(sh_in(s, NULL, "printf '%s' > r.xml", precious), 0);
	assert_int_not_equal(sh_in(s, NULL, "$V explore $G --runs 1 -o e "
				   "--junit r.xml"), 0);
	assert_file_is(s->dir, "r.xml", precious);
	assert_int_equal(sh_in(s, NULL, "$V explore $G --runs 1 -o e "
			       "--junit j.xml && $V explore $G --runs 1 "
			       "-o e2 --junit j.xml"), 0);
}

/* Outputs that are an input, by name, hard link or symbolic link: refused
 * even with --force, the input intact. */
static void test_output_is_an_input(void **state)
{
	static const char *const cases[] = {
		"$V record -o hello.elf hello.elf",
		"$V record -o hard.elf hello.elf --force",
		"$V record -o sym.elf hello.elf --force",
		"$V record -o script hello.elf --pause-script script -f",
		"$V export --format html t.trace -o t.trace",
		"$V export --format chrome t.trace -o t.trace --force",
		"$V export --format chrome t.trace -o tsym.trace -f",
		"$V export --format html t.trace -o thard.trace -f",
		"$V export --format chrome t.trace -o - >> t.trace",
		"$V export --format html t.trace -o hello.elf --guest hello.elf -f",
		"$V minimize t.trace -o t.trace --force",
		"$V minimize t.trace -o thard.trace --force",
		"$V minimize t.trace -o hard.elf --guest hello.elf --force",
	};
	struct scratch *s = *state;
	char *before, *trace, path[PATH_MAX];

	SKIP_WITHOUT_KVM();
	assert_int_equal(sh_in(s, NULL, "$V record -o t.trace hello.elf --sched "
			       "serial && ln hello.elf hard.elf && ln -s hello.elf "
			       "sym.elf && ln t.trace thard.trace && ln -s t.trace "
			       "tsym.trace && echo 'sleep 1ms' > script"), 0);
	before = read_file(s->guest);
	snprintf(path, sizeof(path), "%s/t.trace", s->dir);
	trace = read_file(path);
	assert_non_null(before);
	assert_non_null(trace);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out, *now_guest, *now_trace;
		int st = sh_in(s, &out, "%s", cases[i]);

		now_guest = read_file(s->guest);
		now_trace = read_file(path);
		if (st != 2 || !strstr(out, "refusing") ||
		    memcmp(now_guest, before, 1 << 20) ||
		    memcmp(now_trace, trace, 1 << 20))
			fail_msg("%s: exit %d, expected 2 and the inputs intact:\n%s",
				 cases[i], st, out);
		free(now_guest);
		free(now_trace);
		free(out);
	}
	free(before);
	free(trace);
}

static void test_output_in_a_missing_folder(void **state)
{
	static const char *const cases[] = {
		"$V record -o nodir/t.trace $G",
		"$V export --format chrome t.trace -o nodir/t.json",
		"$V minimize t.trace -o nodir/min.trace",
		"$V explore $G -o nodir/found --runs 1",
		"$V explore $G -o t.trace --runs 1",
	};
	struct scratch *s = *state;
	int hidden;

	SKIP_WITHOUT_KVM();
	assert_int_equal(sh_in(s, NULL, "$V record -o t.trace $G"), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out;
		int st = sh_in(s, &out, "%s", cases[i]);

		/* refused at once: before any run, nothing created */
		if (st != 2 || strstr(out, "calibration") ||
		    entries(s->dir, &hidden) != 2)
			fail_msg("%s: exit %d, expected 2 and nothing new:\n%s",
				 cases[i], st, out);
		free(out);
	}
}

/* explore -o checks every output location before the first run: a trace
 * of an earlier explore that a run would replace is refused. */
static void test_explore_checks_outputs_first(void **state)
{
	struct scratch *s = *state;
	char *out, *first;

	SKIP_WITHOUT_KVM();
	assert_int_equal(sh_in(s, NULL, "printf '%s' > afile", precious), 0);
	assert_int_equal(sh_in(s, &out, "$V explore %s --runs 30 --seed 1 "
			       "-o afile", guest("lost-update")), 2);
	assert_non_null(strstr(out, "afile exists and is not a folder"));
	assert_null(strstr(out, "calibration"));
	assert_file_is(s->dir, "afile", precious);
	free(out);
	assert_int_equal(sh_in(s, NULL, "$V explore %s --runs 30 --seed 1 "
			       "-o found", guest("lost-update")), 1);
	assert_int_equal(sh_in(s, &first, "ls found && cat found/*.trace | "
			       "md5sum"), 0);
	assert_int_equal(sh_in(s, &out, "$V explore %s --runs 30 --seed 1 "
			       "-o found", guest("lost-update")), 2);
	assert_non_null(strstr(out, "use another -o DIR, another --seed, or "
			       "--force"));
	free(out);
	assert_int_equal(sh_in(s, &out, "ls found && cat found/*.trace | md5sum"), 0);
	assert_string_equal(out, first);
	free(out);
	/* other seeds do not collide; --force replaces */
	assert_in_range(sh_in(s, NULL, "$V explore %s --runs 3 --seed 1000 "
			      "-o found --json", guest("lost-update")), 0, 1);
	assert_int_equal(sh_in(s, NULL, "$V explore %s --runs 30 --seed 1 "
			       "-o found --force", guest("lost-update")), 1);
	free(first);
}

/* A failing export leaves no output (not even an empty one). */
static void test_failed_export_leaves_nothing(void **state)
{
	struct scratch *s = *state;
	char *out;
	int hidden;

	SKIP_WITHOUT_KVM();
	assert_int_equal(sh_in(s, NULL, "$V record -o t.trace $G && head -c 300 "
			       "t.trace > bad.trace"), 0);
	assert_int_equal(sh_in(s, &out, "$V export --format html t.trace -o x.html "
			       "--guest missing.elf"), 3);
	free(out);
	assert_int_equal(sh_in(s, &out, "$V export --format chrome bad.trace "
			       "-o x.json"), 3);
	free(out);
	assert_false(exists(s->dir, "x.html"));
	assert_false(exists(s->dir, "x.json"));
	assert_int_equal(entries(s->dir, &hidden), 3);
	assert_int_equal(hidden, 0);
	/* with --force, a failure keeps the file it would have replaced */
	assert_int_equal(sh_in(s, NULL, "printf '%s' > x.html", precious), 0);
	assert_int_equal(sh_in(s, NULL, "$V export --format html t.trace "
			       "-o x.html --guest missing.elf --force"), 3);
	assert_file_is(s->dir, "x.html", precious);
}

/* The trace is named when the run starts: a SIGKILL mid-run leaves the
 * readable prefix under FILE, and nothing else. */
static void test_record_killed_keeps_prefix(void **state)
{
	struct scratch *s = *state;
	char *out;
	int hidden;

	SKIP_WITHOUT_KVM();
	assert_int_equal(sh_in(s, NULL, "$V record -o t.trace %s --vcpus 2 & "
			       "p=$!; sleep 0.5; kill -KILL $p; wait $p",
			       guest("spin")), 137);
	assert_int_equal(sh_in(s, &out, "$V inspect t.trace"), 0);
	assert_non_null(strstr(out, "truncated"));
	free(out);
	assert_int_equal(entries(s->dir, &hidden), 2);
	assert_int_equal(hidden, 0);
}

/* Waits up to 20 s for dir/name to appear. */
static bool wait_for(const char *dir, const char *name)
{
	for (int i = 0; i < 2000; i++) {
		if (exists(dir, name))
			return true;
		usleep(10000);
	}
	return false;
}

/* Waits until process @pid blocks @sig (SigBlk in /proc/PID/status). */
static bool wait_blocked(pid_t pid, int sig)
{
	char path[64], line[256];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	for (int i = 0; i < 2000; i++) {
		FILE *f = fopen(path, "r");
		unsigned long long mask = 0;

		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "SigBlk: %llx", &mask) == 1)
				break;
		if (f)
			fclose(f);
		if (mask & (1ull << (sig - 1)))
			return true;
		usleep(1000);
	}
	return false;
}

/* Starts vcprr with @args in s->dir, stdout to @out_name, stderr to "log",
 * with the default signal dispositions (a shell's background job would
 * ignore SIGINT). */
static pid_t spawn_in(struct scratch *s, const char *out_name,
		      const char *const args[])
{
	const char *build = getenv("VCPRR_BUILD");
	char bin[PATH_MAX], rel[PATH_MAX];
	const char *argv[24] = { bin };
	pid_t pid;

	snprintf(rel, sizeof(rel), "%s/vcprr", build ? build : "build");
	assert_non_null(realpath(rel, bin));
	for (int i = 0; args[i] && i < 22; i++)
		argv[i + 1] = args[i];
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (chdir(s->dir) ||
		    !freopen(out_name, "w", stdout) || !freopen("log", "w", stderr))
			_exit(127);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* The child's exit status (128+N for signal N); fails the test when it
 * does not end within 60 s. */
static int wait_status(pid_t pid)
{
	int st;

	for (int i = 0; i < 6000; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	fail_msg("pid %d did not end within 60 s of the signal", (int)pid);
	return -1;
}

/* SIGINT while minimize shrinks: OUT holds the smallest failing schedule
 * found so far, it says so, exits 130, and leaves no temporary. */
static void test_minimize_sigint_keeps_progress(void **state)
{
	struct scratch *s = *state;
	char *out;
	int hidden;
	pid_t pid;

	SKIP_WITHOUT_KVM();
	assert_int_equal(sh_in(s, NULL, "$V explore %s --runs 30 --seed 1 "
			       "--preempt step -o found >/dev/null 2>&1; "
			       "mv $(ls found/fail-*.trace | head -1) failing.trace "
			       "&& rm -r found", guest("lost-update")), 0);
	pid = spawn_in(s, "report", (const char *[]){ "minimize", "failing.trace",
			"-o", "min.trace", NULL });
	/* minimize blocks SIGINT and looks for it between two runs: sent once
	 * it is blocked, it is seen after the recorded schedule failed again
	 * (min.trace written), at the first run of the search, however fast
	 * the runs are */
	assert_true(wait_blocked(pid, SIGINT));
	kill(pid, SIGINT);
	assert_int_equal(wait_status(pid), 130);
	assert_int_equal(sh_in(s, &out, "cat report log"), 0);
	if (!strstr(out, "interrupted: the smallest failing schedule found so "
		    "far is kept") || !strstr(out, "after "))
		fail_msg("minimize after SIGINT:\n%s", out);
	free(out);
	assert_int_equal(sh_in(s, &out, "$V replay min.trace"), 0);
	assert_non_null(strstr(out, "same"));
	free(out);
	assert_int_equal(entries(s->dir, &hidden), 5);  /* + report, log */
	assert_int_equal(hidden, 0);
}

/* SIGINT while explore -j 2 runs: the summary of what ran, exit 130, every
 * kept trace complete and listed, no temporaries. */
static void test_explore_sigint_summary(void **state)
{
	struct scratch *s = *state;
	char *out, *files;
	bool json = false;
	pid_t pid;

	SKIP_WITHOUT_KVM();
	/* text, then JSON (whose list names every failing run) */
	for (int round = 0; round < 2; round++, json = true) {
		const char *dir = json ? "found" : "found-text";
		char first[64];

		pid = spawn_in(s, "report", (const char *[]){ "explore",
				guest("lost-update"), "--runs", "100000", "--seed",
				"1", "-j", "2", "-o", dir, json ? "--json" : NULL,
				NULL });
		snprintf(first, sizeof(first), "%s/fail-6.trace", dir);
		assert_true(wait_for(s->dir, first));
		usleep(300000);
		kill(pid, SIGINT);
		assert_int_equal(wait_status(pid), 130);
		assert_int_equal(sh_in(s, &out, "cat report"), 0);
		if (json ? !strstr(out, "\"interrupted\": true") ||
			   !strstr(out, "\"signatures\": 1,") :
			   !strstr(out, "explore: interrupted (Interrupt) after") ||
			   !strstr(out, " failed, 1 signature"))
			fail_msg("explore after SIGINT:\n%s", out);
		free(out);
	}
	/* the summary file tells the same, and every trace in found/ is
	 * complete and in the summary's list */
	assert_int_equal(sh_in(s, &out, "cat found/explore.json"), 0);
	assert_non_null(strstr(out, "\"interrupted\": true"));
	free(out);
	assert_int_equal(sh_in(s, &files, "cd found && ls *.trace"), 0);
	for (char *f = strtok(files, "\n"); f; f = strtok(NULL, "\n")) {
		char *o;

		assert_int_equal(sh_in(s, &o, "$V inspect found/%s | head -1; "
				       "grep -c '\"found/%s\"' report", f, f), 0);
		assert_non_null(strstr(o, "complete"));
		free(o);
	}
	free(files);
	assert_int_equal(sh_in(s, &out, "ls -A found | grep -c '^\\.' || true"), 0);
	assert_string_equal(out, "0\n");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failure_before_the_run_leaves_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_existing_output_needs_force,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_input_named_before_output,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_junit_replaces_only_a_report,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_is_an_input, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_output_in_a_missing_folder,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_explore_checks_outputs_first,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_export_leaves_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_killed_keeps_prefix,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_minimize_sigint_keeps_progress,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_explore_sigint_summary, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
