/* The x86 memory-access decoder against a table of instructions whose
 * accesses are known (addresses worked out by hand from the registers
 * below), and against garbage: every byte string decodes or is reported
 * invalid, never a crash or an access out of bounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers/testutil.h"
#include "tools/x86-access.h"

#define RIP   0x100000ull
#define RAX   0x10000ull
#define RBX   0x20000ull
#define RSI   0x30000ull
#define RDI   0x40000ull
#define RSP   0x7ff0ull
#define RBP   0x7f00ull
#define FS    0x5000000ull

struct want {
	uint64_t addr;
	uint32_t size;
	uint8_t rw, flags;
};

struct insn_case {
	const char *text;     /* AT&T syntax, for messages */
	const char *hex;
	uint64_t rcx;
	enum x86_insn_class cls;
	uint8_t fence;
	unsigned n;
	struct want acc[3];
};

#define R  X86_READ
#define W  X86_WRITE
#define RW (X86_READ | X86_WRITE)
#define L  X86_ACC_LOCKED
#define S  X86_ACC_STACK
#define ST X86_ACC_STRING

static const struct insn_case cases[] = {
	{ "mov (%rax),%rbx", "488b18", 3, X86_INSN_PLAIN, 0, 1, { { RAX, 8, R, 0 } } },
	{ "mov %rbx,(%rax)", "488918", 3, X86_INSN_PLAIN, 0, 1, { { RAX, 8, W, 0 } } },
	{ "mov %ebx,(%rax)", "8918", 3, X86_INSN_PLAIN, 0, 1, { { RAX, 4, W, 0 } } },
	{ "mov (%rax),%bx", "668b18", 3, X86_INSN_PLAIN, 0, 1, { { RAX, 2, R, 0 } } },
	{ "mov %bl,(%rax)", "8818", 3, X86_INSN_PLAIN, 0, 1, { { RAX, 1, W, 0 } } },
	{ "movzbl (%rdi),%eax", "0fb607", 3, X86_INSN_PLAIN, 0, 1, { { RDI, 1, R, 0 } } },
	{ "lock cmpxchg16b (%rdi)", "f0480fc70f", 3, X86_INSN_LOCKED, X86_FENCE_FULL, 1,
	  { { RDI, 16, RW, L } } },
	{ "lock xadd %eax,(%rdi)", "f00fc107", 3, X86_INSN_LOCKED, X86_FENCE_FULL, 1,
	  { { RDI, 4, RW, L } } },
	{ "xchg %eax,(%rdi)", "8707", 3, X86_INSN_LOCKED, X86_FENCE_FULL, 1,
	  { { RDI, 4, RW, L } } },
	{ "xchg %ax,%ax", "6690", 3, X86_INSN_PLAIN, 0, 0, { { 0 } } },
	{ "addl $1,(%rdi)", "830701", 3, X86_INSN_PLAIN, 0, 1, { { RDI, 4, RW, 0 } } },
	{ "rep movsb", "f3a4", 3, X86_INSN_STRING, 0, 2,
	  { { RDI, 1, W, ST }, { RSI, 1, R, ST } } },
	{ "rep movsb (rcx 0)", "f3a4", 0, X86_INSN_STRING, 0, 0, { { 0 } } },
	{ "rep stosq", "f348ab", 3, X86_INSN_STRING, 0, 1, { { RDI, 8, W, ST } } },
	{ "cmpsb", "a6", 0, X86_INSN_STRING, 0, 2,
	  { { RSI, 1, R, ST }, { RDI, 1, R, ST } } },
	{ "push %rbx", "53", 3, X86_INSN_PLAIN, 0, 1, { { RSP - 8, 8, W, S } } },
	{ "pop %rbx", "5b", 3, X86_INSN_PLAIN, 0, 1, { { RSP, 8, R, S } } },
	{ "push (%rax)", "ff30", 3, X86_INSN_PLAIN, 0, 2,
	  { { RAX, 8, R, 0 }, { RSP - 8, 8, W, S } } },
	{ "call .+5", "e800000000", 3, X86_INSN_PLAIN, 0, 1, { { RSP - 8, 8, W, S } } },
	{ "ret", "c3", 3, X86_INSN_PLAIN, 0, 1, { { RSP, 8, R, S } } },
	{ "leave", "c9", 3, X86_INSN_PLAIN, 0, 1, { { RBP, 8, R, S } } },
	{ "mov 0x10(%rip),%rax", "488b0510000000", 3, X86_INSN_PLAIN, 0, 1,
	  { { RIP + 7 + 0x10, 8, R, 0 } } },
	{ "mov %eax,-0x20(%rip)", "8905e0ffffff", 3, X86_INSN_PLAIN, 0, 1,
	  { { RIP + 6 - 0x20, 4, W, 0 } } },
	{ "mov 0x8(%rax,%rcx,4),%edx", "8b548808", 3, X86_INSN_PLAIN, 0, 1,
	  { { RAX + 3 * 4 + 8, 4, R, 0 } } },
	{ "mov -0x10(%rbx,%rcx,8),%rdx", "488b54cbf0", 3, X86_INSN_PLAIN, 0, 1,
	  { { RBX + 3 * 8 - 0x10, 8, R, 0 } } },
	{ "mov (%eax),%ebx (addr32)", "678b18", 3, X86_INSN_PLAIN, 0, 1,
	  { { RAX, 4, R, 0 } } },
	{ "mov %fs:0x10,%rax", "64488b042510000000", 3, X86_INSN_PLAIN, 0, 1,
	  { { FS + 0x10, 8, R, 0 } } },
	{ "movdqa (%rax),%xmm0", "660f6f00", 3, X86_INSN_PLAIN, 0, 1, { { RAX, 16, R, 0 } } },
	{ "movups %xmm1,(%rdi)", "0f110f", 3, X86_INSN_PLAIN, 0, 1, { { RDI, 16, W, 0 } } },
	{ "bts %rcx,(%rax) (bit 130)", "480fab08", 130, X86_INSN_PLAIN, 0, 1,
	  { { RAX + 16, 8, RW, 0 } } },
	{ "bt %rcx,(%rax) (bit -1)", "480fa308", (uint64_t)-1, X86_INSN_PLAIN, 0, 1,
	  { { RAX - 8, 8, R, 0 } } },
	{ "mfence", "0faef0", 3, X86_INSN_FENCE, X86_FENCE_FULL, 0, { { 0 } } },
	{ "lfence", "0faee8", 3, X86_INSN_FENCE, X86_FENCE_LOAD, 0, { { 0 } } },
	{ "sfence", "0faef8", 3, X86_INSN_FENCE, X86_FENCE_STORE, 0, { { 0 } } },
	{ "lea (%rax),%rbx", "488d18", 3, X86_INSN_PLAIN, 0, 0, { { 0 } } },
	{ "nopl 0x0(%rax)", "0f1f4000", 3, X86_INSN_PLAIN, 0, 0, { { 0 } } },
	{ "prefetcht0 (%rdi)", "0f1807", 3, X86_INSN_PLAIN, 0, 0, { { 0 } } },
	{ "clflush (%rdi)", "0fae3f", 3, X86_INSN_PLAIN, 0, 0, { { 0 } } },
	{ "out %eax,(%dx)", "ef", 3, X86_INSN_IO, 0, 0, { { 0 } } },
};

static size_t unhex(const char *h, uint8_t *b, size_t max)
{
	size_t n = 0;

	while (h[0] && h[1] && n < max) {
		unsigned v;

		sscanf(h, "%2x", &v);
		b[n++] = (uint8_t)v;
		h += 2;
	}
	return n;
}

static struct x86_cpu cpu_with(uint64_t rcx)
{
	struct x86_cpu c = { .fs_base = FS, .gs_base = 0x6000000 };

	c.regs.rip = RIP;
	c.regs.rax = RAX;
	c.regs.rbx = RBX;
	c.regs.rcx = rcx;
	c.regs.rdx = 0x500;
	c.regs.rsi = RSI;
	c.regs.rdi = RDI;
	c.regs.rsp = RSP;
	c.regs.rbp = RBP;
	return c;
}

static void check_case(const struct insn_case *c)
{
	struct x86_cpu cpu = cpu_with(c->rcx);
	struct x86_insn in;
	uint8_t b[16];
	size_t n = unhex(c->hex, b, sizeof(b));

	if (x86_decode(b, n, &cpu, &in))
		fail_msg("%s: not decoded", c->text);
	if (in.length != n || in.cls != c->cls || in.fence != c->fence ||
	    in.naccess != c->n || in.unknown_access)
		fail_msg("%s: length %u class %d fence %u %u accesses (want %zu "
			 "%d %u %u)", c->text, in.length, in.cls, in.fence,
			 in.naccess, n, c->cls, c->fence, c->n);
	for (unsigned i = 0; i < c->n; i++) {
		const struct x86_access *a = &in.acc[i];
		const struct want *w = &c->acc[i];

		if (a->addr != w->addr || a->size != w->size || a->rw != w->rw ||
		    a->flags != w->flags)
			fail_msg("%s: access %u is %#llx size %u rw %u flags %u, "
				 "want %#llx size %u rw %u flags %u", c->text, i,
				 (unsigned long long)a->addr, a->size, a->rw,
				 a->flags, (unsigned long long)w->addr, w->size,
				 w->rw, w->flags);
	}
}

static void test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
}

/* in/out name their port: from dx, or from the immediate. */
static void test_io_port(void **state)
{
	struct x86_cpu cpu = cpu_with(0);
	struct x86_insn in;
	const uint8_t out_dx[] = { 0xef }, in_imm[] = { 0xe4, 0x60 };

	(void)state;
	assert_int_equal(x86_decode(out_dx, 1, &cpu, &in), 0);
	assert_int_equal(in.io_port, 0x500);
	assert_true(in.io_out);
	assert_int_equal(x86_decode(in_imm, 2, &cpu, &in), 0);
	assert_int_equal(in.io_port, 0x60);
	assert_false(in.io_out);
}

/* Undecodable bytes are reported as such. */
static void test_garbage(void **state)
{
	static const char *const bad[] = {
		"ffff",          /* ff /7: no such instruction */
		"f090",          /* lock nop: lock on a non-memory instruction */
		"f08b07",        /* lock mov */
		"488b",          /* cut short */
		"0f",            /* cut short */
		"6666666666666666666666666666668b07",  /* longer than 15 bytes */
	};
	struct x86_cpu cpu = cpu_with(3);
	struct x86_insn in;
	uint8_t b[32];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = unhex(bad[i], b, sizeof(b));

		if (x86_decode(b, n, &cpu, &in) != -1 ||
		    in.cls != X86_INSN_INVALID || in.naccess || in.length)
			fail_msg("%s decoded as %s", bad[i], in.mnemonic);
		assert_string_equal(in.mnemonic, "invalid");
	}
	assert_int_equal(x86_decode(b, 0, &cpu, &in), -1);
}

/* Every 1- and 2-byte string and random 15-byte ones, each decoded from a
 * buffer of exactly its length (ASan catches a read past it): the result
 * is invalid or a well-formed instruction. */
static void test_exhaustive(void **state)
{
	struct x86_cpu cpu = cpu_with(7);
	uint64_t seed = 17;
	unsigned valid = 0;

	(void)state;
	for (unsigned v = 0; v < 65536 + 200000; v++) {
		size_t n = v < 256 ? 1 : v < 65536 ? 2 : X86_MAX_INSN_LEN;
		uint8_t *b = malloc(n);
		struct x86_insn in;

		if (v < 65536) {
			b[0] = (uint8_t)v;
			if (n > 1)
				b[1] = (uint8_t)(v >> 8);
		} else {
			for (size_t i = 0; i < n; i++)
				b[i] = (uint8_t)test_rand(&seed);
		}
		if (x86_decode(b, n, &cpu, &in) == 0) {
			valid++;
			if (!in.length || in.length > n ||
			    in.naccess > X86_MAX_ACCESSES ||
			    in.cls == X86_INSN_INVALID)
				fail_msg("bad decode of %u bytes at case %u", (unsigned)n, v);
			for (unsigned i = 0; i < in.naccess; i++)
				if (!in.acc[i].size || !in.acc[i].rw)
					fail_msg("empty access at case %u", v);
		} else if (in.cls != X86_INSN_INVALID || in.naccess) {
			fail_msg("invalid decode with accesses at case %u", v);
		}
		free(b);
	}
	assert_true(valid > 100000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_io_port),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_exhaustive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
