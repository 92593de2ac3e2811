/* The guest's identity, one rule everywhere (vmm/guest-id.h): replay,
 * minimize and inspect find the guest of a trace the same way (from the
 * trace's folder, then the recorded path, then --guest-dir), take only an
 * image with the recorded SHA-256 (--force aside), read an all-zero
 * recorded hash as "no image was recorded", and name every path they
 * tried.  Through the real CLI, run from another folder than the one the
 * trace was recorded in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"
#include "traces/trace.h"
#include "vmm/run-desc.h"

static char dir[64];

/* The tests run vcprr from other folders: the build's path made
 * absolute. */
static int setup(void **state)
{
	const char *build = getenv("VCPRR_BUILD");
	char *abs = realpath(build ? build : "build", NULL);

	if (!abs || setenv("VCPRR_BUILD", abs, 1))
		return -1;
	free(abs);
	return scratch_dir(dir, sizeof(dir), "guest-id");
}

static int teardown(void **state)
{
	return scratch_dir_remove(dir);
}

/* Records @guest (copied to DIR/NAME/g/) as DIR/NAME/t/x.trace, from
 * DIR/NAME with a relative guest path, and returns the trace's path. */
static const char *record_relative(const char *name, const char *guest,
				   const char *opts)
{
	static char trace[192];

	vcprr_sh(NULL, "mkdir -p %s/%s/g %s/%s/t && cp %s %s/%s/g/ && cd %s/%s "
		 "&& $V record -o t/x.trace g/%s.elf %s >/dev/null 2>&1", dir,
		 name, dir, name, guest_path(guest), dir, name, dir, name,
		 guest, opts);
	snprintf(trace, sizeof(trace), "%s/%s/t/x.trace", dir, name);
	assert_int_equal(access(trace, R_OK), 0);
	return trace;
}

/* The trace @in rewritten to @out with its guest's recorded SHA-256
 * zeroed. */
static void zero_hash(const char *in, const char *out)
{
	struct trace_reader *r;
	struct trace_producer *p;
	struct trace_writer *w;
	struct trace_header h;
	struct trace_event ev;
	const uint8_t *pl;
	struct run_desc d;
	char err[512];

	r = trace_reader_open(in, err, sizeof(err));
	assert_non_null(r);
	h = *trace_reader_header(r);
	assert_int_equal(run_desc_decode(&h, &d, err, sizeof(err)), 0);
	memset(d.guest.sha256, 0, sizeof(d.guest.sha256));
	assert_int_equal(run_desc_encode(&d, &h, err, sizeof(err)), 0);
	w = trace_writer_open(out, &h, NULL, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	while (trace_reader_next(r, &ev, &pl) == 1 && ev.type != TEV_VM_END)
		assert_int_equal(trace_emit_timed(p, &ev, pl), 0);
	assert_int_equal(ev.type, TEV_VM_END);
	assert_int_equal(trace_writer_close(w, ev.a0, ev.a1, ev.a2), 0);
	trace_reader_close(r);
}

/* A trace and its guest moved together replay from anywhere: the guest is
 * found from the trace's folder. */
static void test_moved_with_its_guest(void **state)
{
	char *out;

	SKIP_WITHOUT_KVM();
	record_relative("a", "hello", "--sched serial --vcpus 2");
	assert_int_equal(vcprr_sh(NULL, "mv %s/a %s/b", dir, dir), 0);
	if (vcprr_sh(&out, "cd / && $V replay %s/b/t/x.trace", dir))
		fail_msg("%s", out);
	assert_non_null(strstr(out, ": same (serial"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "cd / && $V replay --check %s/b", dir), 0);
	assert_non_null(strstr(out, "1 traces: 1 same"));
	free(out);
}

/* A trace moved without its guest: every path tried is named, with
 * --guest suggested; --guest-dir and --guest find it. */
static void test_moved_alone(void **state)
{
	const char *trace;
	char *out, want[256];

	SKIP_WITHOUT_KVM();
	trace = record_relative("c", "hello", "--sched serial");
	assert_int_equal(vcprr_sh(NULL, "mkdir %s/d && mv %s %s/d/", dir, trace,
				  dir), 0);
	assert_int_equal(vcprr_sh(&out, "cd / && $V replay %s/d/x.trace", dir),
			 126);
	snprintf(want, sizeof(want), "\n  %s/d/../g/hello.elf: cannot open", dir);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "\n  %s/d/g/hello.elf: cannot open", dir);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "\n  g/hello.elf: cannot open"));
	assert_non_null(strstr(out, "give the image with --guest PATH"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "cd / && $V replay %s/d/x.trace "
				  "--guest-dir %s/c/g", dir, dir), 0);
	free(out);
	assert_int_equal(vcprr_sh(&out, "cd / && $V replay --check %s/d "
				  "--guest-dir %s/c/g", dir, dir), 0);
	free(out);
	assert_int_equal(vcprr_sh(&out, "cd / && $V replay %s/d/x.trace "
				  "--guest %s", dir, guest_path("hello")), 0);
	free(out);
	/* inspect and export find it the same way (and symbolise) */
	assert_int_equal(vcprr_sh(&out, "cd / && $V inspect dump %s/d/x.trace",
				  dir), 0);
	assert_non_null(strstr(out, "RIPs are not symbolised"));
	assert_non_null(strstr(out, "--guest-dir DIR"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "cd / && $V inspect dump %s/d/x.trace "
				  "--guest-dir %s/c/g", dir, dir), 0);
	assert_null(strstr(out, "RIPs are not symbolised"));
	assert_non_null(strstr(out, "<vcprr_start+"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "cd / && $V export --format chrome "
				  "%s/d/x.trace -o - --guest-dir %s/c/g", dir,
				  dir), 0);
	assert_non_null(strstr(out, "\"sym\":\"vcprr_start+"));
	free(out);
}

/* Another image where the guest was: replay, minimize and inspect refuse
 * it alike (inspect symbolises nothing), naming both hashes in full;
 * --force (inspect: --guest) takes it. */
static void test_other_image_one_rule(void **state)
{
	const char *trace;
	char *out, *sum, guest[192];

	SKIP_WITHOUT_KVM();
	trace = record_relative("e", "assert", "--sched serial");
	snprintf(guest, sizeof(guest), "%s/e/g/assert.elf", dir);
	vcprr_sh(NULL, "printf 'X' | dd of=%s bs=1 seek=200 conv=notrunc "
		 "2>/dev/null", guest);
	assert_int_equal(vcprr_sh(&sum, "sha256sum %s | cut -c1-64 | tr -d "
				  "'\\n'", guest), 0);
	assert_int_equal(vcprr_sh(&out, "cd / && $V replay %s", trace), 126);
	assert_non_null(strstr(out, "cannot find the guest image this trace was "
			       "recorded with"));
	assert_non_null(strstr(out, "another image: sha256 "));
	assert_non_null(strstr(out, sum));
	free(out);
	assert_int_equal(vcprr_sh(&out, "cd / && $V minimize %s -o %s/e/m.trace",
				  trace, dir), 126);
	assert_non_null(strstr(out, "cannot find the guest image this trace was "
			       "recorded with"));
	assert_non_null(strstr(out, sum));
	free(out);
	assert_int_equal(vcprr_sh(&out, "cd / && $V inspect dump %s", trace), 0);
	assert_non_null(strstr(out, "cannot find the guest image"));
	assert_non_null(strstr(out, "RIPs are not symbolised"));
	assert_null(strstr(out, "<vcprr_hypercall"));
	free(out);
	/* forced */
	assert_int_equal(vcprr_sh(&out, "cd / && $V replay --force %s", trace), 0);
	free(out);
	assert_int_equal(vcprr_sh(&out, "cd / && $V minimize --force %s -o "
				  "%s/e/m.trace", trace, dir), 0);
	free(out);
	assert_int_equal(vcprr_sh(&out, "cd / && $V inspect dump %s --guest %s",
				  trace, guest), 0);
	assert_non_null(strstr(out, "symbols may be wrong"));
	assert_non_null(strstr(out, "<vcprr_hypercall"));
	free(out);
	free(sum);
}

/* An all-zero recorded hash: no image is that guest, for all three. */
static void test_zero_hash_one_rule(void **state)
{
	const char *trace;
	char *out, zeroed[192];

	SKIP_WITHOUT_KVM();
	trace = record_relative("f", "assert", "--sched serial");
	snprintf(zeroed, sizeof(zeroed), "%s/f/t/zero.trace", dir);
	zero_hash(trace, zeroed);
	assert_int_equal(vcprr_sh(&out, "cd / && $V replay %s", zeroed), 126);
	assert_non_null(strstr(out, "the trace records no guest image"));
	assert_non_null(strstr(out, "--guest PATH --force"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "cd / && $V minimize %s -o %s/f/m.trace",
				  zeroed, dir), 126);
	assert_non_null(strstr(out, "the trace records no guest image"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "cd / && $V inspect dump %s", zeroed), 0);
	assert_non_null(strstr(out, "the trace records no guest image"));
	assert_null(strstr(out, "<vcprr_hypercall"));
	free(out);
	assert_int_equal(vcprr_sh(&out, "cd / && $V replay --force %s", zeroed), 0);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_moved_with_its_guest),
		cmocka_unit_test(test_moved_alone),
		cmocka_unit_test(test_other_image_one_rule),
		cmocka_unit_test(test_zero_hash_one_rule),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
