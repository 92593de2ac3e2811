/* explore --shard K/N and explore --merge on real guests: N shards merged
 * are the one explore of the same runs (same signatures, counts, failing
 * seeds, traces that replay), bad merges are refused naming the folder,
 * and the CI examples of docs/ci-examples.md run as written. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"

#define LU_OPTS "--runs 40 --seed 1"

static char dir[64];

static int setup(void **state)
{
	const char *b = getenv("VCPRR_BUILD");
	char build[PATH_MAX];

	(void)state;
	/* absolute: the commands run in other folders */
	if (!realpath(b ? b : "build", build) ||
	    setenv("VCPRR_BUILD", build, 1))
		return -1;
	return scratch_dir(dir, sizeof(dir), "shard");
}

static int teardown(void **state)
{
	(void)state;
	return scratch_dir_remove(dir);
}

/* A summary (explore.json, or --json's output) without what differs from
 * run to run: timings, the guest's path, the folder of the traces. */
static char *normalized(const char *file)
{
	char *out;

	assert_int_equal(vcprr_sh(&out, "sed -E 's/\"(guest|seconds|runs_per_s|"
				  "run_seconds)\": (\"[^\"]*\"|[0-9.]+), //g; "
				  "s#\"trace\": \"[^\"]*/#\"trace\": \"#g' %s", file), 0);
	return out;
}

static void assert_same_summary(const char *a, const char *b)
{
	char *x = normalized(a), *y = normalized(b);

	if (strcmp(x, y))
		fail_msg("%s and %s differ:\n%s\n%s", a, b, x, y);
	assert_non_null(strstr(x, "\"failed_runs\": [{"));
	free(x);
	free(y);
}

/* One explore of lost-update into dir/NAME, its JSON in dir/NAME.json. */
static void explore_whole(const char *name, const char *opts)
{
	assert_int_equal(vcprr_sh(NULL, "$V explore %s %s -o %s/%s --json > "
				  "%s/%s.json 2>/dev/null", guest_path("lost-update"),
				  opts, dir, name, dir, name), 1);
}

static void explore_shards(const char *name, const char *opts, int n)
{
	for (int k = 1; k <= n; k++) {
		int st = vcprr_sh(NULL, "$V explore %s %s --shard %d/%d -j %d -o "
				  "%s/%s%d >/dev/null 2>&1", guest_path("lost-update"),
				  opts, k, n, k % 2 + 1, dir, name, k);
		assert_in_range(st, 0, 1);
	}
}

/* 4 shards of 41 runs (uneven) merged: the one explore, in JSON and text;
 * every merged trace replays; a trace equals the one explore's. */
static void test_merge_equals_single(void **state)
{
	char a[128], b[128], *out;

	(void)state;
	SKIP_WITHOUT_KVM();
	explore_whole("all", "--runs 41 --seed 1");
	explore_shards("s", "--runs 41 --seed 1", 4);
	assert_int_equal(vcprr_sh(NULL, "$V explore --merge %s/s1 %s/s2 %s/s3 "
				  "%s/s4 -o %s/m --json --junit %s/m.xml > %s/m.json",
				  dir, dir, dir, dir, dir, dir, dir), 1);
	snprintf(a, sizeof(a), "%s/all.json", dir);
	snprintf(b, sizeof(b), "%s/m.json", dir);
	assert_same_summary(a, b);
	snprintf(a, sizeof(a), "%s/all/explore.json", dir);
	snprintf(b, sizeof(b), "%s/m/explore.json", dir);
	assert_same_summary(a, b);
	/* the same failing traces, each replays, and the same events */
	assert_int_equal(vcprr_sh(NULL, "cd %s && test \"$(ls all)\" = \"$(ls m)\"",
				  dir), 0);
	/* every trace replays the same, with as many events as the one
	 * explore's trace of that seed */
	assert_int_equal(vcprr_sh(NULL, "cd %s && for d in all m; do $V replay "
				  "--check $d | sed -E 's#^ok +[a-z]+/#ok #; s/, "
				  "[0-9.]+s[)]/)/' | sort > $d.check || exit 1; done; "
				  "diff all.check m.check && grep -c '^ok ' m.check | "
				  "grep -qx \"$(ls m/fail-*.trace | wc -l)\"", dir), 0);
	/* the text summary too, but for the timing and the folder */
	assert_int_equal(vcprr_sh(NULL, "cd %s && $V explore --merge s1 s2 s3 s4 "
				  "| sed -E 's/in [0-9.]+ s \\([0-9.]+ runs\\/s\\)//; "
				  "s#s[1-4]/#D/#g' > mt && $V explore %s --runs 41 "
				  "--seed 1 -o D --force 2>/dev/null | sed -E "
				  "'s/in [0-9.]+ s \\([0-9.]+ runs\\/s\\)//' > at; "
				  "diff at mt", dir, guest_path("lost-update")), 0);
	/* JUnit: a failing case for the signature, listing every run */
	assert_int_equal(vcprr_sh(&out, "cat %s/m.xml", dir), 0);
	assert_non_null(strstr(out, "failures=\"1\""));
	assert_non_null(strstr(out, "lost-update.c:56"));
	free(out);
}

/* Fewer runs than shards: an empty shard is a shard too. */
static void test_empty_shard(void **state)
{
	char a[128], b[128], *out;

	(void)state;
	SKIP_WITHOUT_KVM();
	assert_in_range(vcprr_sh(NULL, "$V explore %s --runs 3 --seed 5 -o %s/e "
				 "--json > %s/e.json 2>/dev/null",
				 guest_path("lost-update"), dir, dir), 0, 1);
	explore_shards("f", "--runs 3 --seed 5", 4);
	assert_int_equal(vcprr_sh(&out, "cat %s/f4/explore.json", dir), 0);
	assert_non_null(strstr(out, "\"runs\": 0,"));
	free(out);
	assert_in_range(vcprr_sh(NULL, "$V explore --merge %s/f1 %s/f2 %s/f3 %s/f4 "
				 "--json > %s/fm.json", dir, dir, dir, dir, dir), 0, 1);
	snprintf(a, sizeof(a), "%s/e.json", dir);
	snprintf(b, sizeof(b), "%s/fm.json", dir);
	out = normalized(a);
	assert_non_null(strstr(out, "\"runs\": 3,"));
	free(out);
	{
		char *x = normalized(a), *y = normalized(b);
		assert_string_equal(x, y);
		free(x);
		free(y);
	}
}

/* Runs `merge ARGS` in dir; expects status st and `msg` in its output. */
static void refused(int st, const char *args, const char *msg)
{
	char *out;
	int got = vcprr_sh(&out, "cd %s && $V explore --merge %s", dir, args);

	if (got != st || !strstr(out, msg))
		fail_msg("--merge %s: status %d, expected %d and \"%s\":\n%s",
			 args, got, st, msg, out);
	free(out);
}

static void refused_cmd(const char *cmd)
{
	char *out;

	assert_int_equal(vcprr_sh(&out, "%s", cmd), 2);
	assert_non_null(strstr(out, "--shard '3/2x': expected K/N"));
	free(out);
}

static void test_bad_merges(void **state)
{
	(void)state;
	SKIP_WITHOUT_KVM();
	explore_shards("b", LU_OPTS, 4);
	assert_int_equal(vcprr_sh(NULL, "cd %s && G=$VCPRR_BUILD/guests && "
				  "for o in '-o seed2 --seed 2' '-o p2 --pauses 0.02' "
				  "'-o v3 --vcpus 3'; do $V explore $G/lost-update.elf "
				  "--runs 40 --seed 1 --shard 4/4 $o >/dev/null 2>&1; "
				  "[ $? -le 1 ] || exit 1; done; $V explore "
				  "$G/lost-update-fixed.elf --runs 40 --seed 1 --shard "
				  "4/4 -o other >/dev/null 2>&1", dir), 0);
	refused(2, "b1 b2 b3", "shard 4/4 is missing");
	refused(2, "b1 b2 b3 b4 b2", "b2 is given twice");
	refused(2, "b1 b2 b3 b4 b4/../b4", "b4/../b4 is shard 4/4 again (so is b4)");
	refused(2, "b1 b2 b3 seed2", "seed2 and b1 are not shards of one explore: "
		"--seed 2 and 1");
	refused(2, "b1 b2 b3 p2", "--pauses 0.02 and 0.01");
	refused(2, "b1 b2 b3 v3", "--vcpus 3 and 2");
	refused(2, "b1 b2 b3 other", "other and b1 are not shards of one explore: "
		"different guests");
	refused(126, "b1 b2 b3 nothere", "nothere/explore.json: No such file");
	refused(2, "b1 --runs 3", "--runs does not go with --merge");
	refused(2, "", "--merge needs the folders");
	/* untrusted summaries: cut, wrong type, a trace name outside DIR */
	assert_int_equal(vcprr_sh(NULL, "cd %s && mkdir cut evil && head -c 300 "
				  "b1/explore.json > cut/explore.json && sed -E "
				  "'s#\"trace\": \"fail-[0-9]+#\"trace\": \"../../etc/x#' "
				  "b2/explore.json > evil/explore.json", dir), 0);
	refused(126, "cut", "cut/explore.json: byte ");
	refused(126, "b1 evil b3 b4", "is not the trace name of run");
	/* OUT: a file there is never replaced, an input is never an output */
	assert_int_equal(vcprr_sh(NULL, "cd %s && mkdir o1 && f=$(cd b1 && ls "
				  "fail-*.trace | head -1) && ln b1/$f o1/$f && "
				  "mkdir o2 && touch o2/$f", dir), 0);
	refused(2, "b1 b2 b3 b4 -o o1", "is the same file as");
	refused(2, "b1 b2 b3 b4 -o o2", "exists: --merge never replaces a file");
	refused(2, "b1 b2 b3 b4 -o b1", "b1/explore.json exists");
	assert_int_equal(vcprr_sh(NULL, "cd %s && test $(ls o2 | wc -l) = 1", dir), 0);
	/* --shard needs --seed; a bad K/N names it (the parser replay shares) */
	assert_int_equal(vcprr_sh(NULL, "$V explore %s --shard 1/2 -o %s/x "
				  "2>&1 | grep -q 'shard needs --seed'",
				  guest_path("lost-update"), dir), 0);
	refused_cmd("$V replay --check tests/corpus --shard 3/2x");
	refused_cmd("$V explore $VCPRR_BUILD/guests/hello.elf --seed 1 --shard 3/2x");
}

/* explore --races: 4 shards merged tell the races of the one explore,
 * in the same order with the same counts (JSON, the saved summary, text,
 * JUnit); a shard without --races, or whose races do not add up, is
 * refused. */
static void test_merge_races(void **state)
{
	char a[128], b[128], *out;
	const char *opts = "--races --runs 12 --seed 1";

	(void)state;
	SKIP_WITHOUT_KVM();
	assert_int_equal(vcprr_sh(NULL, "$V explore %s %s -o %s/r --json > "
				  "%s/r.json 2>/dev/null", guest_path("lost-update"),
				  opts, dir, dir), 1);
	explore_shards("rs", opts, 4);
	assert_int_equal(vcprr_sh(NULL, "$V explore --merge %s/rs1 %s/rs2 %s/rs3 "
				  "%s/rs4 -o %s/rm --json --junit %s/rm.xml > "
				  "%s/rm.json", dir, dir, dir, dir, dir, dir, dir), 1);
	snprintf(a, sizeof(a), "%s/r.json", dir);
	snprintf(b, sizeof(b), "%s/rm.json", dir);
	assert_same_summary(a, b);
	out = normalized(b);
	/* two pairs of lines, each in every run that had the race */
	assert_non_null(strstr(out, "\"races\": [{"));
	assert_non_null(strstr(out, "\"line\": 39}"));
	free(out);
	snprintf(a, sizeof(a), "%s/r/explore.json", dir);
	snprintf(b, sizeof(b), "%s/rm/explore.json", dir);
	assert_same_summary(a, b);
	assert_int_equal(vcprr_sh(NULL, "cd %s && $V explore --merge rs1 rs2 rs3 "
				  "rs4 | sed -n '/^data races/,$p' > rmt && $V explore "
				  "%s %s -o r2 2>/dev/null | sed -n '/^data races/,$p' "
				  "> rt; test -s rt && diff rt rmt", dir,
				  guest_path("lost-update"), opts), 0);
	assert_int_equal(vcprr_sh(&out, "cat %s/rm.xml", dir), 0);
	assert_non_null(strstr(out, "<system-out>data races (every instruction "
			       "watched): 2 pairs of source lines"));
	free(out);
	/* a shard of the same runs without --races; races that do not add up */
	assert_in_range(vcprr_sh(NULL, "cd %s && $V explore %s --runs 12 --seed 1 "
				 "--shard 4/4 -o plain >/dev/null 2>&1; mkdir bad && "
				 "sed -E 's/\"runs\": [0-9]+, \"failed_runs\": [0-9]+, "
				 "\"first_run/\"runs\": 99, \"failed_runs\": 0, "
				 "\"first_run/' rs2/explore.json > bad/explore.json",
				 dir, guest_path("lost-update")), 0, 1);
	refused(2, "rs1 rs2 rs3 plain", "not shards of one explore: --races in "
		"rs1 only");
	refused(126, "rs1 bad rs3 rs4", "bad/explore.json: byte ");
	refused(126, "rs1 bad rs3 rs4", "a race's counts do not add up");
}

/* Ctrl-C: the summary is written with what ran, and a merge says that
 * not every run ran (status 1 even without a failure). */
static void test_interrupted(void **state)
{
	char *out;

	(void)state;
	SKIP_WITHOUT_KVM();
	assert_int_equal(vcprr_sh(NULL, "cd %s && ($V explore %s --runs 100000 "
				  "--seed 1 --pauses 0 -o i >/dev/null 2>err & p=$!; "
				  "while ! grep -q calibration err; do sleep 0.05; "
				  "done; sleep 0.3; kill -INT $p; wait $p; echo $? > st)",
				  dir, guest_path("lost-update-fixed")), 0);
	assert_int_equal(vcprr_sh(&out, "cat %s/st %s/i/explore.json", dir, dir), 0);
	assert_non_null(strstr(out, "130\n"));
	assert_non_null(strstr(out, "\"interrupted\": true"));
	assert_non_null(strstr(out, "\"failures\": 0,"));
	free(out);
	refused(1, "i", "i was interrupted after");
	assert_in_range(vcprr_sh(NULL, "$V explore %s --runs 40 --seed 1 "
				 "--pauses 0 -o %s/h "
				 ">/dev/null 2>&1", guest_path("lost-update-fixed"),
				 dir), 0, 1);
	refused(2, "i h", "h and i are not shards of one explore: --runs 40 "
		"and 100000");
}

/* The commands of docs/ci-examples.md's YAML block number `block`, in
 * order (malloc'd, NULL-terminated). */
static char **ci_commands(int block)
{
	FILE *f = fopen("docs/ci-examples.md", "r");
	char line[1024], **cmds = calloc(16, sizeof(*cmds));
	int n = 0, in = -1, seen = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *p;

		if (!strncmp(line, "```", 3)) {
			in = in < 0 && !strncmp(line, "```yaml", 7) ? seen++ : -1;
			continue;
		}
		if (in != block || !strstr(line, "build/vcprr "))
			continue;
		p = line + strspn(line, " -");
		if (!strncmp(p, "run: ", 5))
			p += 5;
		p[strcspn(p, "\n")] = 0;
		assert_null(strchr(p, '\''));
		assert_in_range(n, 0, 14);
		cmds[n] = malloc(strlen(p) + 64);
		/* GitHub's matrix value is the shell's CI_NODE_INDEX here */
		for (char *d = cmds[n], *q = p; *q;) {
			if (!strncmp(q, "${{ matrix.shard }}", 19)) {
				d += sprintf(d, "$CI_NODE_INDEX");
				q += 19;
			} else {
				*d++ = *q++;
			}
			*d = 0;
		}
		n++;
	}
	fclose(f);
	assert_int_equal(seen, 2);
	return cmds;
}

/* Runs one block's commands as CI would (shard lines for 1..4, then the
 * merge) in a folder of its own, and checks the merge against one explore. */
static void run_ci_block(int block, const char *single)
{
	char **cmds = ci_commands(block), work[128], build[PATH_MAX], a[160];
	int shard_cmds = 0, merges = 0;

	assert_non_null(realpath(getenv("VCPRR_BUILD"), build));
	snprintf(work, sizeof(work), "%s/ci%d", dir, block);
	assert_int_equal(vcprr_sh(NULL, "mkdir -p %s/tests && ln -s %s %s/build && "
				  "ln -s $PWD/tests/corpus %s/tests/corpus", work,
				  build, work, work), 0);
	for (int i = 0; cmds[i]; i++) {
		bool sharded = strstr(cmds[i], "$CI_NODE_INDEX");
		for (int k = 1; k <= (sharded ? 4 : 1); k++) {
			char *out;
			int st = vcprr_sh(&out, "cd %s && CI_NODE_INDEX=%d "
					  "CI_NODE_TOTAL=4 sh -c '%s'", work, k,
					  cmds[i]);
			/* the merge finds lost-update's race: 1 */
			if (st != (strstr(cmds[i], "--merge") ? 1 : 0))
				fail_msg("%s (shard %d): status %d\n%s", cmds[i],
					 k, st, out);
			free(out);
		}
		shard_cmds += sharded && strstr(cmds[i], "explore");
		merges += !!strstr(cmds[i], "--merge");
		free(cmds[i]);
	}
	free(cmds);
	assert_int_equal(shard_cmds, 1);
	assert_int_equal(merges, 1);
	snprintf(a, sizeof(a), "%s/explore-merged/explore.json", work);
	assert_same_summary(single, a);
	assert_int_equal(vcprr_sh(NULL, "cd %s && grep -q 'failures=\"1\"' "
				  "explore.xml && for k in 1 2 3 4; do grep -q "
				  "'<testcase' replay-$k.xml || exit 1; done", work), 0);
}

static void test_ci_examples(void **state)
{
	char single[128];

	(void)state;
	SKIP_WITHOUT_KVM();
	explore_whole("ci-single", LU_OPTS);
	snprintf(single, sizeof(single), "%s/ci-single/explore.json", dir);
	run_ci_block(0, single);
	run_ci_block(1, single);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_equals_single),
		cmocka_unit_test(test_merge_races),
		cmocka_unit_test(test_empty_shard),
		cmocka_unit_test(test_bad_merges),
		cmocka_unit_test(test_interrupted),
		cmocka_unit_test(test_ci_examples),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
