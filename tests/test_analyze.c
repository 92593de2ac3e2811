/* The analysis end to end, short of the run loop: instruction samples
 * (registers and the bytes at RIP) -> decoder -> access log ->
 * synchronisation variables -> race detector -> names.  The lost-update
 * samples are the real instructions of lost-update.elf, loaded by the
 * guest loader, at the addresses its symbols and line table give. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers/testutil.h"
#include "tools/analyze-log.h"
#include "tools/analyze-names.h"
#include "tools/symbols.h"
#include "vmm/elf.h"
#include "vmm/guest/abi.h"

#define MEM_SIZE (8u << 20)

/* --- a guest image, as the VMM loads it ----------------------------------- */

struct image {
	uint8_t *mem;
	struct symtab *st;
};

static struct image load(const char *guest)
{
	const struct elf_window win = { VCPRR_IMAGE_MIN,
					MEM_SIZE - 4 * VCPRR_STACK_SIZE, MEM_SIZE };
	struct image im = { calloc(1, MEM_SIZE), NULL };
	const char *path = guest_path(guest);
	uint64_t entry;
	uint8_t *buf;
	size_t len;
	char err[256];

	if (elf_read_file(path, &buf, &len, err, sizeof(err)) ||
	    elf_load_image(path, buf, len, im.mem, &win, &entry, err, sizeof(err)))
		fail_msg("%s", err);
	free(buf);
	im.st = symtab_load(path, err, sizeof(err));
	assert_non_null(im.st);
	return im;
}

static void unload(struct image *im)
{
	free(im->mem);
	symtab_free(im->st);
}

/* The address of a symbol (searched in the image's range). */
static uint64_t sym_addr(const struct image *im, const char *name)
{
	for (uint64_t a = VCPRR_IMAGE_MIN; a < VCPRR_IMAGE_MIN + 0x10000; a++) {
		uint64_t off;
		const char *s = symtab_lookup(im->st, a, &off);

		if (s && !strcmp(s, name) && off == 0)
			return a;
	}
	fail_msg("no symbol %s", name);
	return 0;
}

static struct analyze_sample at(const struct image *im, unsigned vcpu,
				uint64_t step, uint64_t rip)
{
	struct analyze_sample s = { .vcpu = vcpu, .step = step,
				    .nbytes = X86_MAX_INSN_LEN };

	s.cpu.regs.rip = rip;
	s.cpu.regs.rsp = MEM_SIZE - vcpu * VCPRR_STACK_SIZE - 64;
	s.cpu.regs.rdx = VCPRR_PORT_HYPERCALL;
	memcpy(s.bytes, im->mem + rip, X86_MAX_INSN_LEN);
	return s;
}

/* The first instruction of function fn that accesses addr as wanted
 * (X86_READ or X86_WRITE only, or locked), or 0. */
static uint64_t find_insn(const struct image *im, const char *fn,
			  uint64_t addr, uint8_t rw, bool locked)
{
	uint64_t rip = sym_addr(im, fn), off;
	const char *s;

	while ((s = symtab_lookup(im->st, rip, &off)) && !strcmp(s, fn)) {
		struct analyze_sample smp = at(im, 0, 0, rip);
		struct x86_insn in;

		if (x86_decode(smp.bytes, smp.nbytes, &smp.cpu, &in))
			fail_msg("%s+%#llx: undecodable", fn,
				 (unsigned long long)off);
		for (unsigned i = 0; i < in.naccess; i++)
			if (in.acc[i].addr == addr && in.acc[i].rw == rw &&
			    (in.cls == X86_INSN_LOCKED) == locked)
				return rip;
		rip += in.length;
	}
	return 0;
}

static void step(struct access_log *log, const struct image *im,
		 unsigned vcpu, uint64_t *stepno, uint64_t rip)
{
	struct analyze_sample s = at(im, vcpu, ++*stepno, rip);

	assert_int_equal(access_log_step(log, &s), 0);
}

/* The races as text, and their number. */
static char *races_text(const struct access_log *log, const struct symtab *st,
			unsigned nr_vcpus, size_t *n)
{
	struct hb_config cfg = { .nr_vcpus = nr_vcpus, .site = analyze_site,
				 .site_arg = (void *)st };
	struct hb *hb = access_log_races(log, &cfg);
	const struct hb_race *r;
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(hb);
	r = hb_races(hb, n);
	for (size_t i = 0; i < *n; i++)
		analyze_put_race(f, st, &r[i]);
	fclose(f);
	hb_free(hb);
	return text;
}

/* The line of the source file holding text (tests run from the tree). */
static unsigned source_line(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	char buf[512];
	unsigned n = 0;

	if (!f)
		return 0;
	while (fgets(buf, sizeof(buf), f)) {
		n++;
		if (strstr(buf, text)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	return 0;
}

/* lost-update: VCPU 0 loads total, VCPU 1 adds to it, VCPU 0 stores its
 * stale sum.  The race names total and the load and store lines. */
static void test_lost_update_chain(void **state)
{
	struct image im = load("lost-update");
	struct access_log *log = access_log_new(0);
	uint64_t total = sym_addr(&im, "total"), n_step = 0;
	uint64_t ld = find_insn(&im, "main", total, X86_READ, false);
	uint64_t stq = find_insn(&im, "main", total, X86_WRITE, false);
	unsigned ld_line = source_line("tests/guests/lost-update.c",
				       "u64 t = *(volatile u64 *)&total;");
	unsigned st_line = source_line("tests/guests/lost-update.c",
				       "*(volatile u64 *)&total = t + 1;");
	char want[128], *text;
	size_t n;

	(void)state;
	assert_true(ld && stq);
	/* both VCPUs ask for the VCPU count (a hypercall) first */
	for (uint64_t rip = sym_addr(&im, "vcprr_hypercall");; ) {
		struct analyze_sample s = at(&im, 0, 0, rip);
		struct x86_insn in;

		assert_int_equal(x86_decode(s.bytes, s.nbytes, &s.cpu, &in), 0);
		if (in.cls == X86_INSN_IO) {
			step(log, &im, 0, &n_step, rip);
			step(log, &im, 1, &n_step, rip);
			break;
		}
		rip += in.length;
	}
	step(log, &im, 0, &n_step, ld);
	step(log, &im, 1, &n_step, ld);
	step(log, &im, 1, &n_step, stq);
	step(log, &im, 1, &n_step, ld);
	step(log, &im, 1, &n_step, stq);
	step(log, &im, 0, &n_step, stq);
	text = races_text(log, im.st, 2, &n);
	/* load 0 vs store 1, store 1 vs store 0 (a line pair each) */
	if (n != 2 || !strstr(text, "data race on total+0 (0x"))
		fail_msg("%zu races:\n%s", n, text);
	if (getenv("VCPRR_TEST_VERBOSE"))
		fputs(text, stderr);
	assert_non_null(strstr(text, "vcpu 0, step 3: read of 8 bytes at main+0x"));
	assert_non_null(strstr(text, "vcpu 1, step 5: write of 8 bytes at main+0x"));
	assert_non_null(strstr(text, "vcpu 0, step 8: write of 8 bytes"));
	if (ld_line && st_line) {
		snprintf(want, sizeof(want), "(tests/guests/lost-update.c:%u)", ld_line);
		assert_non_null(strstr(text, want));
		snprintf(want, sizeof(want), "(tests/guests/lost-update.c:%u)", st_line);
		assert_non_null(strstr(text, want));
	}
	free(text);
	access_log_free(log);
	unload(&im);
}

/* lost-update-fixed: locked adds, and VCPU 0's plain load of the total at
 * the end (an atomic load: total is a synchronisation variable). */
static void test_lost_update_fixed_chain(void **state)
{
	struct image im = load("lost-update-fixed");
	struct access_log *log = access_log_new(0);
	uint64_t total = sym_addr(&im, "total"), n_step = 0;
	uint64_t add = find_insn(&im, "main", total, X86_READ | X86_WRITE, true);
	uint64_t ld = find_insn(&im, "main", total, X86_READ, false);
	char *text;
	size_t n;

	(void)state;
	assert_true(add && ld);
	for (int i = 0; i < 3; i++) {
		step(log, &im, 0, &n_step, add);
		step(log, &im, 1, &n_step, add);
	}
	step(log, &im, 0, &n_step, ld);
	text = races_text(log, im.st, 2, &n);
	if (n)
		fail_msg("%s", text);
	free(text);
	access_log_free(log);
	unload(&im);
}

/* --- synchronisation variables from x86 idioms ---------------------------- */

#define FLAG 0x300000ull
#define DATA 0x300100ull

static void raw(struct access_log *log, unsigned vcpu, uint64_t *stepno,
		uint64_t rip, const char *hex, uint64_t rdi)
{
	struct analyze_sample s = { .vcpu = vcpu, .step = ++*stepno };
	size_t n = 0;

	s.cpu.regs.rip = rip;
	s.cpu.regs.rdi = rdi;
	s.cpu.regs.rsi = DATA + 0x40;
	s.cpu.regs.rcx = 4;
	s.cpu.regs.rdx = 0x3f8;
	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;

		sscanf(hex, "%2x", &v);
		s.bytes[n++] = (uint8_t)v;
	}
	s.nbytes = (uint8_t)n;
	assert_int_equal(access_log_step(log, &s), 0);
}

#define LOAD8   "488b07"   /* mov (%rdi),%rax */
#define STORE8  "488907"   /* mov %rax,(%rdi) */
#define LOAD4   "8b07"     /* mov (%rdi),%eax */
#define STORE4  "8907"     /* mov %eax,(%rdi) */
#define MFENCE  "0faef0"
#define XCHG4   "8707"

static size_t count_races(const struct access_log *log)
{
	size_t n;
	char *text = races_text(log, NULL, 2, &n);

	free(text);
	return n;
}

/* A seq_cst store (mov; mfence) publishes data to a single plain load of
 * the flag; a mov without the fence right after it does not. */
static void store_fence(bool fence, size_t want)
{
	struct access_log *log = access_log_new(0);
	uint64_t s = 0;

	raw(log, 0, &s, 0x1000, STORE8, DATA);
	raw(log, 0, &s, 0x1003, STORE4, FLAG);
	raw(log, 0, &s, fence ? 0x1005 : 0x1008, MFENCE, 0);
	raw(log, 1, &s, 0x2000, LOAD4, FLAG);
	raw(log, 1, &s, 0x2002, LOAD8, DATA);
	assert_int_equal(count_races(log), want);
	access_log_free(log);
}

static void test_store_fence(void **state)
{
	(void)state;
	store_fence(true, 0);
	store_fence(false, 2);  /* the flag, and the data */
}

/* A seqlock reader interrupted by the writer retries: its instructions
 * load seq and the data again (polls), so all of them are atomic. */
static void test_seqlock_retry(void **state)
{
	struct access_log *log = access_log_new(0);
	uint64_t s = 0;

	(void)state;
	raw(log, 1, &s, 0x2000, LOAD4, FLAG);         /* seq: even */
	raw(log, 1, &s, 0x2002, LOAD8, DATA);
	raw(log, 0, &s, 0x1000, STORE4, FLAG);        /* writer: odd */
	raw(log, 0, &s, 0x1002, STORE8, DATA);
	raw(log, 0, &s, 0x1005, STORE4, FLAG);        /* even */
	raw(log, 1, &s, 0x2005, LOAD4, FLAG);         /* changed: retry */
	raw(log, 1, &s, 0x2000, LOAD4, FLAG);
	raw(log, 1, &s, 0x2002, LOAD8, DATA);
	raw(log, 1, &s, 0x2005, LOAD4, FLAG);
	assert_int_equal(count_races(log), 0);
	access_log_free(log);

	/* Read once, never retried, while the writer writes: a race. */
	log = access_log_new(0);
	s = 0;
	raw(log, 1, &s, 0x2002, LOAD8, DATA);
	raw(log, 0, &s, 0x1002, STORE8, DATA);
	assert_int_equal(count_races(log), 1);
	access_log_free(log);
}

/* rep movsb over a lock is never atomic; a plain poll of a flag another
 * VCPU xchg's is. */
static void test_string_and_locked(void **state)
{
	struct access_log *log = access_log_new(0);
	uint64_t s = 0;

	(void)state;
	raw(log, 0, &s, 0x1000, XCHG4, FLAG);
	raw(log, 1, &s, 0x2000, LOAD4, FLAG);
	raw(log, 0, &s, 0x1002, XCHG4, FLAG);
	assert_int_equal(count_races(log), 0);
	raw(log, 1, &s, 0x2010, "f3a4", FLAG);      /* rep movsb: [rdi] */
	assert_int_equal(count_races(log), 1);
	access_log_free(log);
}

/* Hypercalls are the outs to the hypercall port; undecodable bytes are
 * logged as such. */
static void test_log_entries(void **state)
{
	struct access_log *log = access_log_new(0);
	struct analyze_sample smp = { .vcpu = 1, .step = 9, .nbytes = 1 };
	const struct alog_entry *e;
	uint64_t s = 0;
	size_t n;

	(void)state;
	raw(log, 0, &s, 0x1000, "ef", 0);           /* out to 0x3f8 */
	smp.cpu.regs.rdx = VCPRR_PORT_HYPERCALL;
	smp.bytes[0] = 0xef;
	assert_int_equal(access_log_step(log, &smp), 0);
	raw(log, 0, &s, 0x1001, "ffff", 0);
	e = access_log_entries(log, &n);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].kind, ALOG_HYPERCALL);
	assert_int_equal(e[0].vcpu, 1);
	assert_int_equal(e[0].step, 9);
	assert_int_equal(e[1].kind, ALOG_UNDECODABLE);
	assert_int_equal(e[1].rip, 0x1001);
	access_log_free(log);

	/* A full log says so and takes nothing more. */
	log = access_log_new(3);
	for (int i = 0; i < 3; i++)
		raw(log, 0, &s, 0x1000, LOAD4, FLAG);
	smp.bytes[0] = 0x8b;
	smp.bytes[1] = 0x07;
	smp.nbytes = 2;
	assert_int_equal(access_log_step(log, &smp), -1);
	assert_true(access_log_full(log));
	e = access_log_entries(log, &n);
	assert_int_equal(n, 3);
	access_log_free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lost_update_chain),
		cmocka_unit_test(test_lost_update_fixed_chain),
		cmocka_unit_test(test_store_fence),
		cmocka_unit_test(test_seqlock_retry),
		cmocka_unit_test(test_string_and_locked),
		cmocka_unit_test(test_log_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
