/* A corrupt trace is unreadable, never "same" and never "DIVERGED".  Real
 * recorded traces (serial and parallel) with every byte of their header
 * frame flipped in turn, every byte of their seek index and end marker,
 * the index moved in front of the data, and traces cut right after their
 * header, through the real CLI: replay (126, naming the offset),
 * replay --check (counted as could not be replayed), inspect and export
 * (unreadable, 3). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"
#include "tools/inspect.h"
#include "traces/format.h"

#define INSPECT_UNREADABLE 3

static char dir[64];

struct rec {
	const char *name, *opts;
	uint8_t *buf;
	size_t len, hdr_len, idx_off;
};

static struct rec recs[] = {
	{ .name = "serial",
	  .opts = "--sched serial --vcpus 2 --pause-every 1ms --seed 3 --arg 400" },
	{ .name = "parallel", .opts = "--vcpus 2 --arg 400" },
};
#define NRECS (sizeof(recs) / sizeof(recs[0]))

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0 && !fstat(fd, &st));
	b = malloc(st.st_size + 1);
	assert_int_equal(read(fd, b, st.st_size), st.st_size);
	close(fd);
	*len = st.st_size;
	return b;
}

static void spit(const char *path, const uint8_t *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, len), (ssize_t)len);
	close(fd);
}

static int setup(void **state)
{
	if (scratch_dir(dir, sizeof(dir), "integrity") || !kvm_usable())
		return 0;
	for (size_t i = 0; i < NRECS; i++) {
		struct rec *r = &recs[i];
		char path[128];

		snprintf(path, sizeof(path), "%s/%s.trace", dir, r->name);
		if (vcprr_sh(NULL, "$V record -o %s %s %s >/dev/null 2>&1", path,
			     guest_path("pio"), r->opts))
			return -1;
		r->buf = slurp(path, &r->len);
		r->hdr_len = 8 + tf_le32(r->buf + 4);
		r->idx_off = tf_le64(r->buf + r->len - TF_END_FRAME + 24);
	}
	return 0;
}

static int teardown(void **state)
{
	for (size_t i = 0; i < NRECS; i++)
		free(recs[i].buf);
	return scratch_dir_remove(dir);
}

/* inspect, inspect dump and export in this process, quietly: their
 * status for @path, which must be the same for all three. */
static int inspect_status(const char *path)
{
	char out[128];
	int saved[2] = { dup(1), dup(2) }, null = open("/dev/null", O_WRONLY);
	int a, b, c;

	snprintf(out, sizeof(out), "%s/export.json", dir);
	fflush(stdout);
	dup2(null, 1);
	dup2(null, 2);
	a = cmd_inspect(2, (char *[]){ "inspect", (char *)path, NULL });
	b = cmd_inspect(3, (char *[]){ "inspect", "dump", (char *)path, NULL });
	c = cmd_export(6, (char *[]){ "export", "--format", "chrome",
				      (char *)path, "-o", out, NULL });
	fflush(stdout);
	dup2(saved[0], 1);
	dup2(saved[1], 2);
	close(saved[0]);
	close(saved[1]);
	close(null);
	unlink(out);
	if (a != b || b != c)
		fail_msg("%s: inspect %d, dump %d, export %d", path, a, b, c);
	return a;
}

/* One corrupt file: replay says it cannot be replayed, naming where. */
static void expect_unreadable(const char *path, const char *what)
{
	char *out;
	int rc = vcprr_sh(&out, "$V replay --timeout 60s %s", path);

	if (rc != 126 || !strstr(out, "offset") || strstr(out, "same") ||
	    strstr(out, "DIVERGED"))
		fail_msg("%s (%s): exit %d: %s", path, what, rc, out);
	free(out);
	if (inspect_status(path) != INSPECT_UNREADABLE)
		fail_msg("%s (%s): inspect does not call it unreadable", path,
			 what);
}

/* replay --check over @sub: every one of its @n traces could not be
 * replayed. */
static void expect_check_refuses(const char *sub, size_t n)
{
	char *out, want[96];

	assert_int_equal(vcprr_sh(&out, "$V replay --check %s -j 2", sub), 1);
	snprintf(want, sizeof(want), "%zu traces: 0 same, 0 diverged, %zu could "
		 "not be replayed\n", n, n);
	if (!strstr(out, want))
		fail_msg("expected '%s' in: %s", want, out);
	assert_null(strstr(out, "\nok "));
	assert_null(strstr(out, "DIVERGED"));
	free(out);
}

/* Every byte of [from, to) of each trace flipped (one bit), one mutant
 * file each, in folder @tag. */
static void flip_range(const char *tag, bool header)
{
	char sub[128], path[192];
	size_t n = 0;

	snprintf(sub, sizeof(sub), "%s/%s", dir, tag);
	assert_int_equal(mkdir(sub, 0755), 0);
	for (size_t k = 0; k < NRECS; k++) {
		struct rec *r = &recs[k];
		uint8_t *c = malloc(r->len);
		size_t from = header ? 0 : r->idx_off;
		size_t to = header ? r->hdr_len : r->len;

		for (size_t i = from; i < to; i++, n++) {
			memcpy(c, r->buf, r->len);
			c[i] ^= (uint8_t)(1u << (i % 8));
			snprintf(path, sizeof(path), "%s/%s-%zu.trace", sub,
				 r->name, i);
			spit(path, c, r->len);
			expect_unreadable(path, tag);
		}
		free(c);
	}
	expect_check_refuses(sub, n);
}

static void test_header_flips(void **state)
{
	SKIP_WITHOUT_KVM();
	flip_range("header", true);
}

static void test_tail_flips(void **state)
{
	SKIP_WITHOUT_KVM();
	flip_range("tail", false);
}

/* The seek index moved in front of the data frames, with the end marker
 * still there (it points at data) or gone (the index is followed by
 * frames): misplaced frames, whichever way. */
static void test_index_moved(void **state)
{
	SKIP_WITHOUT_KVM();
	char sub[128], path[192];

	snprintf(sub, sizeof(sub), "%s/moved", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	for (size_t k = 0; k < NRECS; k++) {
		const struct rec *r = &recs[k];
		size_t ilen = r->len - TF_END_FRAME - r->idx_off;
		uint8_t *c = malloc(r->len);
		size_t o = 0;

		memcpy(c, r->buf, r->hdr_len);
		o += r->hdr_len;
		memcpy(c + o, r->buf + r->idx_off, ilen);
		o += ilen;
		memcpy(c + o, r->buf + r->hdr_len, r->idx_off - r->hdr_len);
		o += r->idx_off - r->hdr_len;
		memcpy(c + o, r->buf + r->len - TF_END_FRAME, TF_END_FRAME);
		snprintf(path, sizeof(path), "%s/%s-with-end.trace", sub, r->name);
		spit(path, c, r->len);
		expect_unreadable(path, "index moved");
		snprintf(path, sizeof(path), "%s/%s-no-end.trace", sub, r->name);
		spit(path, c, r->len - TF_END_FRAME);
		expect_unreadable(path, "index moved, no end marker");
		free(c);
	}
	expect_check_refuses(sub, 2 * NRECS);
}

/* Cut right after the header: no events, no run.  Not "same", not
 * "DIVERGED": a status of its own, and --check counts it apart. */
static void test_cut_after_header(void **state)
{
	SKIP_WITHOUT_KVM();
	char sub[128], path[192], *out;

	snprintf(sub, sizeof(sub), "%s/cut", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	for (size_t k = 0; k < NRECS; k++) {
		snprintf(path, sizeof(path), "%s/%s.trace", sub, recs[k].name);
		spit(path, recs[k].buf, recs[k].hdr_len);
		assert_int_equal(vcprr_sh(&out, "$V replay %s", path), 3);
		assert_non_null(strstr(out, path));
		assert_non_null(strstr(out, "the trace holds no events: it was "
				       "cut right after its header"));
		free(out);
	}
	assert_int_equal(vcprr_sh(&out, "$V replay --check %s", sub), 1);
	assert_non_null(strstr(out, "EMPTY    "));
	assert_non_null(strstr(out, "2 traces: 0 same, 0 diverged, 0 could not "
			       "be replayed, 2 held no run\n"));
	free(out);
}

/* Zero traces checked is no success; an empty file names itself. */
static void test_nothing_to_check(void **state)
{
	char sub[128], path[192], *out;

	snprintf(sub, sizeof(sub), "%s/none", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(vcprr_sh(&out, "$V replay --check %s", sub), 1);
	assert_non_null(strstr(out, "no trace (*.trace) in"));
	assert_null(strstr(out, "0 traces"));
	free(out);
	snprintf(path, sizeof(path), "%s/empty.trace", sub);
	spit(path, (const uint8_t *)"", 0);
	assert_int_equal(vcprr_sh(&out, "$V replay %s", path), 126);
	assert_non_null(strstr(out, "vcprr replay: "));
	assert_non_null(strstr(out, path));
	assert_non_null(strstr(out, "offset 0"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_flips),
		cmocka_unit_test(test_tail_flips),
		cmocka_unit_test(test_index_moved),
		cmocka_unit_test(test_cut_after_header),
		cmocka_unit_test(test_nothing_to_check),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
