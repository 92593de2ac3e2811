/* vcprr analyze through the real binary, on real KVM and real traces:
 * every scenario guest with a known bug has its failure explained (the
 * variable, the source lines on both sides, the decisive decision), every
 * fixed twin has no race (zero false positives), and a newcomer's
 * mistakes get clear errors. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return scratch_dir(dir, sizeof(dir), "analyze-cli");
}

static int teardown(void **state)
{
	(void)state;
	return scratch_dir_remove(dir);
}

/* The first failing trace explore keeps for guest with opts. */
static void failing_trace(char *path, size_t len, const char *guest,
			  const char *opts)
{
	char *out, *p;
	int st = vcprr_sh(&out, "$V explore %s -o %s/%s --force --json %s "
			  "2>/dev/null", guest_path(guest), dir, guest, opts);

	p = out ? strstr(out, "\"trace\": \"") : NULL;
	if (st != 1 || !p)
		fail_msg("%s: explore kept no failing run (status %d): %s",
			 guest, st, out);
	p += strlen("\"trace\": \"");
	snprintf(path, len, "%.*s", (int)strcspn(p, "\""), p);
	free(out);
}

/* The first decisive decision of analyze --json's output (malloc'd). */
static char *decisive(const char *json)
{
	const char *p = strstr(json, "\"decisions\":[");
	const char *d = p ? strstr(p, "\"decisive\":true") : NULL;
	const char *end;

	if (!d)
		return NULL;
	while (d > p && strncmp(d, "{\"kind\"", 7))
		d--;
	end = strstr(d, "]}");
	return strndup(d, end ? (size_t)(end - d) + 2 : strlen(d));
}

static bool has_line(const char *s, const char *file, unsigned line)
{
	char want[128];

	snprintf(want, sizeof(want), "\"file\":\"tests/guests/%s\",\"line\":%u",
		 file, line);
	return strstr(s, want) != NULL;
}

struct scenario {
	const char *guest, *opts;
	const char *var;            /* the variable in play ... */
	const char *or_var;         /* ... or this one (NULL: no other) */
	unsigned lines[3];          /* both sides (0: no more) */
	const char *race;           /* a race expected on this variable ... */
	unsigned race_lines[2];     /* ... between these lines (NULL: none) */
};

static void check_scenario(const struct scenario *sc)
{
	char trace[256], file[64], var[64], *out, *d;
	int st;

	failing_trace(trace, sizeof(trace), sc->guest, sc->opts);
	st = vcprr_sh(&out, "$V analyze --json %s 2>&1", trace);
	if (st > 1 || !strstr(out, "\"failed\":true"))
		fail_msg("%s: analyze %s (status %d): %s", sc->guest, trace, st, out);
	d = decisive(out);
	if (!d)
		fail_msg("%s: no decisive decision: %s", sc->guest, out);
	snprintf(file, sizeof(file), "%s.c", sc->guest);
	snprintf(var, sizeof(var), "\"on\":{\"addr\":");
	if (!strstr(d, var) || (!strstr(d, sc->var) &&
				(!sc->or_var || !strstr(d, sc->or_var))))
		fail_msg("%s: the decision is not about %s: %s", sc->guest,
			 sc->var, d);
	for (int i = 0; i < 3 && sc->lines[i]; i++)
		if (!has_line(d, file, sc->lines[i]))
			fail_msg("%s: no %s:%u in the decision: %s", sc->guest,
				 file, sc->lines[i], d);
	if (sc->race) {
		snprintf(var, sizeof(var), "\"variable\":\"%s\"", sc->race);
		if (!strstr(out, var) ||
		    !has_line(out, file, sc->race_lines[0]) ||
		    !has_line(out, file, sc->race_lines[1]))
			fail_msg("%s: no race on %s between lines %u and %u: %s",
				 sc->guest, sc->race, sc->race_lines[0],
				 sc->race_lines[1], out);
	}
	free(d);
	free(out);
	/* The text says it in words. */
	st = vcprr_sh(&out, "$V analyze %s", trace);
	if (!strstr(out, "decisive: VCPU ") ||
	    !strstr(out, "  Without this decision ") ||
	    !strstr(out, " the run passes.\n"))
		fail_msg("%s: %s", sc->guest, out);
	free(out);
}

static void test_scenarios_explained(void **state)
{
	static const struct scenario sc[] = {
		/* the demo's failure: a read of total, another VCPU's writes,
		 * the stale write */
		{ "lost-update", "--runs 8 --seed 1 --pauses 0.01",
		  "\"variable\":\"total\"", NULL, { 39, 40 }, "total", { 39, 40 } },
		/* both see the lock free: its test, the other's set, its set */
		{ "tas-lock", "--runs 4 --seed 1 --policy pct:3 --preempt step "
		  "--pauses 0.01 -j 2", "\"variable\":\"lock\"", NULL, { 29, 31 }, NULL, { 0 } },
		/* the sender paused with the slot BUSY, the receiver polls */
		{ "handshake", "--runs 20 --seed 1 --policy pct:3 --preempt step -j 2", "\"variable\":\"slot\"", NULL, { 36, 48 }, NULL, { 0 } },
		/* both see state UNSET and build: the table or the flag */
		{ "check-then-act", "--runs 8 --seed 1 -j 2",
		  "\"variable\":\"table\"", "\"variable\":\"state\"", { 0 },
		  "state", { 58, 58 } },
		/* the consumer paused; the producer laps the ring */
		{ "ring-nofull", "--runs 4 --seed 1 -j 2",
		  "\"variable\":\"head\"", NULL, { 41, 33 }, NULL, { 0 } },
		/* VCPU 1 paused after it said it started; VCPU 2 reads the
		 * handler VCPU 1 would have installed */
		{ "order3", "--runs 4 --seed 1 -j 2 --vcpus 3",
		  "\"variable\":\"handler\"", NULL, { 54, 41 }, NULL, { 0 } },
	};

	(void)state;
	SKIP_WITHOUT_KVM();
	for (size_t i = 0; i < sizeof(sc) / sizeof(sc[0]); i++)
		check_scenario(&sc[i]);
}

/* Zero false positives: no fixed twin has a race, under any schedule. */
static void test_fixed_twins_race_free(void **state)
{
	static const char *const twins[] = {
		"lost-update-fixed", "xchg-lock", "handshake-fixed",
		"check-then-act-fixed", "ring-nofull-fixed", "order3-fixed",
	};
	static const char *const policies[] = { "random", "pct:3" };

	(void)state;
	SKIP_WITHOUT_KVM();
	for (size_t i = 0; i < sizeof(twins) / sizeof(twins[0]); i++)
		for (size_t p = 0; p < 2; p++)
			for (unsigned seed = 1; seed <= 2; seed++) {
				char *out;
				int st = vcprr_sh(&out, "$V analyze --races %s "
						  "--vcpus %d --policy %s --seed %u",
						  guest_path(twins[i]),
						  strstr(twins[i], "order3") ? 3 : 2,
						  policies[p], seed);
				if (st != 0 || !strstr(out, "no data race found"))
					fail_msg("%s --policy %s --seed %u (status "
						 "%d): %s", twins[i], policies[p],
						 seed, st, out);
				free(out);
			}
}

/* The race of a passing run is reported too (TSan for guests), once per
 * pair of source lines, with names on both sides. */
static void test_races_of_passing_run(void **state)
{
	char *out;
	int st;

	(void)state;
	SKIP_WITHOUT_KVM();
	st = vcprr_sh(&out, "$V analyze --races %s --vcpus 2 --policy random "
		      "--seed 3", guest_path("lost-update"));
	assert_int_equal(st, 1);
	assert_non_null(strstr(out, "the run passes"));
	assert_non_null(strstr(out, "data race on total+0"));
	assert_non_null(strstr(out, "(tests/guests/lost-update.c:39)"));
	assert_non_null(strstr(out, "(tests/guests/lost-update.c:40)"));
	assert_int_equal(count_lines(out, "data race on total+0 (0x102008), "
				     "40 times:"), 2);
	free(out);
	/* A passing step trace: its races, and no decision to tell. */
	st = vcprr_sh(&out, "$V record %s --sched step --policy random --seed 1 "
		      "--vcpus 2 -o %s/fixed.trace >/dev/null && "
		      "$V analyze %s/fixed.trace", guest_path("lost-update-fixed"),
		      dir, dir);
	assert_int_equal(st, 0);
	assert_non_null(strstr(out, "the run passes"));
	assert_non_null(strstr(out, "no data race found"));
	free(out);
}

/* Undecodable bytes are reported, never a crash. */
static void test_undecodable_reported(void **state)
{
	char *out;
	int st;

	(void)state;
	SKIP_WITHOUT_KVM();
	/* hostile --arg 0x200: VCPU 0 jumps into pseudo-random bytes */
	st = vcprr_sh(&out, "$V analyze --races %s --arg 0x200 --json",
		      guest_path("hostile"));
	assert_int_equal(st, 0);
	assert_non_null(strstr(out, "\"failed\":true"));
	assert_non_null(strstr(out, "\"undecodable\":1,"));
	free(out);
	st = vcprr_sh(&out, "$V analyze --races %s --arg 0x200",
		      guest_path("hostile"));
	assert_non_null(strstr(out, "1 instructions could not be decoded"));
	free(out);
}

static void expect_error(const char *cmd, int status, const char *msg)
{
	char *out;
	int st = vcprr_sh(&out, "%s", cmd);

	if (st != status || !strstr(out, msg))
		fail_msg("%s: status %d (want %d), no '%s' in: %s", cmd, st,
			 status, msg, out);
	free(out);
}

/* Wrong paths, the wrong kind of trace, a corrupt one, a guest moved. */
static void test_newcomer_errors(void **state)
{
	char cmd[1024], trace[256];

	(void)state;
	SKIP_WITHOUT_KVM();
	expect_error("$V analyze", 2, "missing TRACE (or --races GUEST.elf)");
	expect_error("$V analyze - </dev/null", 2, "give a file");
	snprintf(cmd, sizeof(cmd), "$V analyze %s/none.trace", dir);
	expect_error(cmd, 126, "none.trace: No such file");
	snprintf(cmd, sizeof(cmd), "$V analyze --races %s/none.elf", dir);
	expect_error(cmd, 126, "none.elf: cannot open");
	snprintf(cmd, sizeof(cmd), "head -c 3000 /dev/urandom > %s/junk.trace; "
		 "$V analyze %s/junk.trace", dir, dir);
	expect_error(cmd, 126, "junk.trace: not a vcprr trace");
	snprintf(cmd, sizeof(cmd), "$V record %s --vcpus 2 -o %s/par.trace "
		 ">/dev/null; $V analyze %s/par.trace", guest_path("lost-update"),
		 dir, dir);
	expect_error(cmd, 126, "par.trace: a parallel trace has no schedule");
	snprintf(cmd, sizeof(cmd), "$V record %s --vcpus 2 --sched serial -o "
		 "%s/ser.trace >/dev/null; $V analyze %s/ser.trace",
		 guest_path("lost-update"), dir, dir);
	expect_error(cmd, 126, "--preempt step");
	snprintf(cmd, sizeof(cmd), "$V analyze %s/ser.trace --vcpus 2", dir);
	expect_error(cmd, 2, "go with --races GUEST.elf");
	/* The guest found like replay finds it: moved away, then given a
	 * folder to look in. */
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/g %s/moved && cp %s %s/g/lu.elf "
		 "&& $V explore %s/g/lu.elf --runs 30 --seed 1 --pauses 0.01 -o "
		 "%s/g/ex >/dev/null; mv %s/g/lu.elf %s/moved/",
		 dir, dir, guest_path("lost-update"), dir, dir, dir, dir, dir);
	assert_int_equal(vcprr_sh(NULL, "%s", cmd), 0);
	snprintf(cmd, sizeof(cmd), "ls %s/g/ex/fail-*.trace | head -n 1", dir);
	{
		FILE *f = popen(cmd, "r");

		assert_non_null(f);
		assert_non_null(fgets(trace, sizeof(trace), f));
		trace[strcspn(trace, "\n")] = 0;
		pclose(f);
	}
	snprintf(cmd, sizeof(cmd), "$V analyze %s", trace);
	expect_error(cmd, 126, "--guest-dir DIR");
	snprintf(cmd, sizeof(cmd), "$V analyze %s --guest-dir %s/moved", trace, dir);
	expect_error(cmd, 1, "decisive: VCPU");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios_explained),
		cmocka_unit_test(test_fixed_twins_race_free),
		cmocka_unit_test(test_races_of_passing_run),
		cmocka_unit_test(test_undecodable_reported),
		cmocka_unit_test(test_newcomer_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
