/* vcprr export: the Chrome JSON and the HTML page of hand-written traces
 * (a step-mode run that loses the CPU, is paused and fails an assertion;
 * a parallel one with coalesced requests; one too big to list) and of a
 * recorded one.  The Chrome JSON goes through tests/trace-event-check.mjs,
 * our checker of the Trace Event Format's rules (Node.js). */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/helpers/testutil.h"
#include "tools/export-html.h"
#include "tools/symbols.h"
#include "traces/trace.h"
#include "vmm/guest-id.h"
#include "vmm/guest/abi.h"
#include "vmm/run-desc.h"

#define T0 1000000000ull
#define NONE TRACE_VCPU_NONE

static char dir[64];

struct ev_spec {
	uint64_t dt;
	uint32_t type, vcpu;
	uint64_t exit_seq, rip, a0, a1, a2;
	const char *pl;
	uint32_t pl_len;
};

/* The header of a run of @guest (its identity taken as record does). */
static void header(struct trace_header *h, enum vm_sched_mode mode,
		   const char *guest, const char *trace)
{
	struct run_desc d;
	char err[256];

	run_desc_init(&d);
	d.sched.mode = mode;
	d.sched.seed = 13;
	d.nr_vcpus = 2;
	d.mem_size = 64 << 20;
	assert_int_equal(guest_id_take(&d.guest, guest, trace, err,
				       sizeof(err)), 0);
	memset(h, 0, sizeof(*h));
	assert_int_equal(run_desc_encode(&d, h, err, sizeof(err)), 0);
}

/* The writer ends it with VM_END (@reason, code 1) at the time it closes. */
static void write_trace(const char *path, enum vm_sched_mode mode,
			const struct ev_spec *evs, size_t n, uint64_t main_rip,
			enum trace_end_reason reason)
{
	struct trace_header h;
	struct trace_writer *w;
	struct trace_producer *p;
	char err[256];

	header(&h, mode, guest_path("lost-update"), path);
	w = trace_writer_open(path, &h, NULL, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	for (size_t i = 0; i < n; i++) {
		const struct ev_spec *s = &evs[i];
		struct trace_event ev = {
			.time_ns = T0 + s->dt, .type = s->type, .vcpu = s->vcpu,
			.exit_seq = s->exit_seq, .a0 = s->a0, .a1 = s->a1,
			.a2 = s->a2, .payload_len = s->pl_len,
			.rip = s->rip ? main_rip + s->rip : 0,
			.digest = s->type == TEV_PAUSE_TAKEN ? 0xd1f0 : 0,
		};

		assert_int_equal(trace_emit_timed(p, &ev, s->pl ? s->pl : ""),
				 0);
	}
	assert_int_equal(trace_writer_close(w, reason, 1, 0x28ae), 0);
}

/* main's address in the guest, so that RIPs symbolise as main+N. */
/* "file:line" of @rip in lost-update (static: valid until the next call). */
static const char *source_line(uint64_t rip)
{
	static char where[512];
	char err[256];
	struct symtab *st = symtab_load(guest_path("lost-update"), err,
					sizeof(err));
	const char *file;
	unsigned line;

	assert_non_null(st);
	assert_int_equal(symtab_source(st, rip, &file, &line), 0);
	snprintf(where, sizeof(where), "%s:%u", file, line);
	symtab_free(st);
	assert_non_null(strstr(where, "lost-update.c:"));
	return where;
}

static uint64_t main_address(void)
{
	char err[256];
	struct symtab *st = symtab_load(guest_path("lost-update"), err,
					sizeof(err));
	uint64_t off, addr = 0;

	assert_non_null(st);
	for (uint64_t a = 0x100000; a < 0x140000 && !addr; a++) {
		const char *name = symtab_lookup(st, a, &off);

		if (name && !strcmp(name, "main") && !off)
			addr = a;
	}
	symtab_free(st);
	assert_true(addr);
	return addr;
}

#define EV(dt, ty, v, xs, rip, a0, a1, a2, pl, pll) \
	{ dt, ty, v, xs, rip, a0, a1, a2, pl, pll }
/* The demo's story in step mode: vcpu 0 is paused at main+83 in its
 * update, vcpu 1 runs to its end, vcpu 0 goes on and its assertion fails.
 * RIPs are offsets into main. */
static const struct ev_spec story[] = {
	EV(0, TEV_VM_START, NONE, 0, 0, 2, 64 << 20, 0, NULL, 0),
	EV(500, TEV_SCHED_SWITCH, 0, 0, 0, (uint64_t)-1, 0, 1, NULL, 0),
	EV(1000, TEV_VCPU_START, 0, 0, 0, 0, 0, 0, NULL, 0),
	EV(5000, TEV_HYPERCALL, 0, 23, 10, VCPRR_HC_NR_VCPUS, 0, 0, NULL, 0),
	EV(5100, TEV_EXIT_PIO, 0, 23, 10, 0x500, 4 | 1 << 8, 0, NULL, 0),
	EV(10000, TEV_PAUSE_REQUEST, 0, 0, 0, 0x42, 1, 0, NULL, 0),
	EV(10500, TEV_SCHED_SWITCH, 1, 0, 0, 0, 60, 0, NULL, 0),
	EV(11000, TEV_PAUSE_TAKEN, 0, 60, 83, 0x42, 1, 0, NULL, 0),
	EV(12000, TEV_VCPU_START, 1, 0, 0, 0, 0, 0, NULL, 0),
	EV(13000, TEV_RESUME_REQUEST, 0, 0, 0, 0, 0, 0, NULL, 0),
	EV(20000, TEV_HYPERCALL, 1, 619, 20, VCPRR_HC_DONE, 0, 0, NULL, 0),
	EV(20100, TEV_EXIT_PIO, 1, 619, 20, 0x500, 4 | 1 << 8, 0, NULL, 0),
	EV(20200, TEV_RESUMED, 0, 60, 83, 0, 0, 0, NULL, 0),
	EV(20300, TEV_SCHED_SWITCH, 0, 0, 0, 1, 679, 0, NULL, 0),
	EV(20400, TEV_KICK, 0, 60, 83, 0, 0, 0, NULL, 0),
	EV(30000, TEV_HYPERCALL, 0, 266, 30, VCPRR_HC_ASSERT, 0, 0, NULL, 0),
	EV(30100, TEV_GUEST_ASSERT, 0, 266, 30, 56, 0, 0,
	   "lost.c\0total == 80", 19),
	EV(30200, TEV_VM_STOP, NONE, 0, 0, TEND_GUEST_ASSERT, 1, 0, NULL, 0),
	EV(30300, TEV_SCHED_SWITCH, NONE, 0, 0, 0, 885, 0, NULL, 0),
	EV(30400, TEV_VCPU_EXIT, 0, 266, 30, 0, 0, 0, NULL, 0),
	EV(30500, TEV_VCPU_EXIT, 1, 619, 20, 0, 0, 0, NULL, 0),
};
#define NR_STORY (sizeof(story) / sizeof(story[0]))

/* Parallel: request 1 to vcpu 1 is coalesced into request 2. */
static const struct ev_spec coalesced[] = {
	EV(0, TEV_VM_START, NONE, 0, 0, 2, 64 << 20, 0, NULL, 0),
	EV(1000, TEV_VCPU_START, 0, 0, 0, 0, 0, 0, NULL, 0),
	EV(1500, TEV_VCPU_START, 1, 0, 0, 0, 0, 0, NULL, 0),
	EV(20000, TEV_PAUSE_REQUEST, 1, 0, 0, 0x7, 1, 0, NULL, 0),
	EV(20100, TEV_PAUSE_REQUEST, 1, 0, 0, 0x8, 2, 0, NULL, 0),
	EV(20200, TEV_SIGNAL_SENT, 1, 0, 0, 2, 0, 0, NULL, 0),
	EV(39000, TEV_KICK, 1, 3, 10, 0, 0, 0, NULL, 0),
	EV(40000, TEV_PAUSE_COALESCED, 1, 3, 10, 1, 2, 0, NULL, 0),
	EV(40100, TEV_PAUSE_TAKEN, 1, 3, 10, 0x8, 2, 0, NULL, 0),
	EV(50000, TEV_RESUME_REQUEST, 1, 0, 0, 0, 0, 0, NULL, 0),
	EV(50200, TEV_RESUMED, 1, 3, 10, 0, 0, 0, NULL, 0),
	EV(61000, TEV_EXIT_HLT, 1, 4, 12, 0, 0, 0, NULL, 0),
	EV(62000, TEV_VCPU_ERROR, 0, 5, 14, 8, 0, 0, "triple fault\n rax=0\n", 20),
	EV(70000, TEV_VCPU_EXIT, 1, 5, 0, 0, 0, 0, NULL, 0),
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;

	assert_non_null(f);
	s = fd_slurp(fileno(f));
	fclose(f);
	return s;
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	for (; (s = strstr(s, needle)); s++)
		n++;
	return n;
}

/* The Trace Event Format checker on @path: its exit status. */
static int format_check(const char *path)
{
	char *out = NULL;
	int rc;

	if (system("node --version >/dev/null 2>&1"))
		fail_msg("node (Debian package nodejs) is needed to check the "
			 "Chrome export");
	rc = vcprr_sh(&out, "node tests/trace-event-check.mjs '%s'", path);
	print_message("%s", out);
	free(out);
	return rc;
}

static char *export(const char *fmt, const char *trace, const char *out)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, out);
	assert_int_equal(vcprr_sh(NULL, "$V export --format %s '%s' -o '%s'",
				  fmt, trace, path), 0);
	return slurp(path);
}

static void must_have(const char *text, const char *what)
{
	if (!strstr(text, what))
		fail_msg("not in the export: %s", what);
}

static void test_chrome_story(void **state)
{
	char trace[128], json[128], want[256];
	uint64_t main_rip = main_address();
	char *text;

	snprintf(trace, sizeof(trace), "%s/story.trace", dir);
	write_trace(trace, VM_SCHED_STEP, story, NR_STORY, main_rip,
		    TEND_GUEST_ASSERT);
	text = export("chrome", trace, "story.json");
	snprintf(json, sizeof(json), "%s/story.json", dir);
	assert_int_equal(format_check(json), 0);
	/* every event, with its fields decoded */
	assert_int_equal(count(text, "\"args\":{\"seq\":"), NR_STORY + 4);
	must_have(text, "\"name\":\"run ended: guest-assert, code 1\",\"ts\":");
	must_have(text, "\"args\":{\"seq\":21,\"t_ns\":");
	must_have(text, "\"reason\":\"guest-assert\",\"code\":1,"
		  "\"mem_digest\":\"0x28ae\"");
	assert_null(strstr(text, "\"a0\""));
	/* the failure, on its VCPU and across the trace */
	must_have(text, "\"ph\":\"i\",\"pid\":1,\"tid\":1,\"s\":\"t\",\"cat\":"
		  "\"failure\",\"name\":\"assertion failed: total == 80 at "
		  "lost.c:56\"");
	must_have(text, "\"s\":\"g\",\"cat\":\"failure\",\"name\":\"FAILED: "
		  "assertion failed: total == 80 at lost.c:56\"");
	must_have(text, "\"s\":\"g\",\"cat\":\"end\",\"name\":\"run stopped: "
		  "guest-assert, code 1\"");
	/* who held the CPU, and where vcpu 0 lost it */
	must_have(text, "\"args\":{\"name\":\"vcpu 0 holds the CPU\"}");
	must_have(text, "\"args\":{\"name\":\"vcpu 1 holds the CPU\"}");
	snprintf(want, sizeof(want), "\"name\":\"holds the CPU\",\"ts\":0.500,"
		 "\"dur\":10.000,\"args\":{\"steps\":\"0..60\",\"then\":"
		 "\"paused\",\"to_vcpu\":1,\"where_seq\":7,\"rip\":\"0x%" PRIx64
		 "\",\"sym\":\"main+83\"}", main_rip + 83);
	must_have(text, want);
	must_have(text, "\"name\":\"paused at main+83\",\"ts\":10.500");
	must_have(text, "\"steps\":\"60..679\",\"then\":\"finished\"");
	must_have(text, "\"steps\":\"679..885\",\"then\":\"run stopped\"");
	/* the pause's life: request -> taken -> resumed */
	must_have(text, "{\"ph\":\"s\",\"pid\":2,\"tid\":1,\"cat\":\"pause\","
		  "\"name\":\"pause life\",\"id\":5,\"ts\":10.000}");
	must_have(text, "{\"ph\":\"t\",\"pid\":1,\"tid\":1,\"cat\":\"pause\","
		  "\"name\":\"pause life\",\"id\":5,\"ts\":11.000}");
	must_have(text, "{\"ph\":\"f\",\"pid\":1,\"tid\":1,\"cat\":\"pause\","
		  "\"name\":\"pause life\",\"id\":5,\"ts\":20.200,\"bp\":\"e\"}");
	free(text);
}

static void test_chrome_coalesced(void **state)
{
	char trace[128], json[128];
	char *text;

	snprintf(trace, sizeof(trace), "%s/coalesced.trace", dir);
	write_trace(trace, VM_SCHED_PARALLEL, coalesced,
		    sizeof(coalesced) / sizeof(coalesced[0]), main_address(),
		    TEND_GUEST_FAULT);
	text = export("chrome", trace, "coalesced.json");
	snprintf(json, sizeof(json), "%s/coalesced.json", dir);
	assert_int_equal(format_check(json), 0);
	/* both requests' lives end in the one pause (flows 3 and 4) */
	must_have(text, "\"ph\":\"s\",\"pid\":2,\"tid\":2,\"cat\":\"pause\","
		  "\"name\":\"pause life\",\"id\":3,");
	must_have(text, "\"ph\":\"s\",\"pid\":2,\"tid\":2,\"cat\":\"pause\","
		  "\"name\":\"pause life\",\"id\":4,");
	assert_int_equal(count(text, "\"ph\":\"f\""), 2);
	/* its first line names it (the registers are in its args) */
	must_have(text, "\"cat\":\"failure\",\"name\":\"vcpu error (KVM exit "
		  "8): triple fault\"");
	must_have(text, "\"text\":\"triple fault\\n rax=0\\n\"");
	must_have(text, "\"name\":\"run ended: guest-fault, code 1\"");
	assert_null(strstr(text, "holds the CPU"));  /* parallel: no token */
	free(text);
}

/* The checker itself finds what the viewers choke on. */
static void test_format_check_fails(void **state)
{
	static const char *const bad[] = {
		/* slices that overlap partly */
		"{\"traceEvents\":[{\"ph\":\"M\",\"pid\":1,\"tid\":1,\"name\":"
		"\"thread_name\",\"args\":{\"name\":\"a\"}},{\"ph\":\"X\",\"pid\":1,"
		"\"tid\":1,\"ts\":0,\"dur\":5,\"cat\":\"c\",\"name\":\"x\"},{\"ph\":"
		"\"X\",\"pid\":1,\"tid\":1,\"ts\":3,\"dur\":5,\"cat\":\"c\",\"name\":"
		"\"y\"}]}",
		/* a flow step bound to nothing */
		"{\"traceEvents\":[{\"ph\":\"M\",\"pid\":1,\"tid\":1,\"name\":"
		"\"thread_name\",\"args\":{\"name\":\"a\"}},{\"ph\":\"i\",\"s\":\"t\","
		"\"pid\":1,\"tid\":1,\"ts\":1,\"cat\":\"p\",\"name\":\"x\"},{\"ph\":"
		"\"s\",\"pid\":1,\"tid\":1,\"ts\":1,\"cat\":\"p\",\"name\":\"f\","
		"\"id\":1},{\"ph\":\"f\",\"pid\":1,\"tid\":1,\"ts\":2,\"cat\":\"p\","
		"\"name\":\"f\",\"id\":1}]}",
		/* a thread without a name, an instant without a known scope */
		"{\"traceEvents\":[{\"ph\":\"i\",\"s\":\"x\",\"pid\":1,\"tid\":1,"
		"\"ts\":1,\"cat\":\"p\",\"name\":\"x\"}]}",
		"[1,2",
	};
	char path[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/bad%zu.json", dir, i);
		f = fopen(path, "w");
		fputs(bad[i], f);
		fclose(f);
		if (format_check(path) == 0)
			fail_msg("the checker accepted bad file %zu", i);
	}
}

static void test_html_story(void **state)
{
	char trace[128], want[640];
	uint64_t main_rip = main_address();
	char *text;

	snprintf(trace, sizeof(trace), "%s/story.trace", dir);
	write_trace(trace, VM_SCHED_STEP, story, NR_STORY, main_rip,
		    TEND_GUEST_ASSERT);
	text = export("html", trace, "story.html");
	/* the rows (see export-html.c): every event, decoded */
	assert_int_equal(count(text, "\n[0,"), NR_STORY + 1);  /* + VM_END */
	must_have(text, ",-1,2,\"reason=guest-assert code=1 mem_digest=0x28ae\"]");
	must_have(text, "[0,16,30100,0,20,\"line=56 file=\\\"lost.c\\\" expr="
		  "\\\"total == 80\\\" exit=266 rip=0x");
	/* the failure and the ends */
	must_have(text, "[4,16,1,\"assertion failed: total == 80 at "
		  "lost.c:56\"]");
	must_have(text, "[4,17,2,\"run stopped: guest-assert, code 1\"]");
	must_have(text, "[4,21,2,\"run ended: guest-assert, code 1\"]");
	/* holding the CPU: vcpu 0 paused at #7 after steps 0..60, the CPU
	 * to vcpu 1; vcpu 1 finished; vcpu 0 held it as the run stopped */
	must_have(text, "[2,0,500,10500,0,60,2,1,1,6,7]");
	must_have(text, "[2,1,10500,20300,60,679,5,0,6,13,");
	must_have(text, "[2,0,20300,30300,679,885,7,-1,13,18,");
	/* the pause's life: request #5, taken #7, resume request #9,
	 * resumed #12 */
	must_have(text, "[3,0,1,1,\"0x42\",5,-1,-1,-1,7,9,12]");
	snprintf(want, sizeof(want), "rip=0x%" PRIx64 " \\u003cmain+83\\u003e",
		 main_rip + 83);
	must_have(text, want);
	/* its source line, from the guest's DWARF line table */
	snprintf(want, sizeof(want), "\"0x%" PRIx64 "\":\"%s\"",
		 main_rip + 83, source_line(main_rip + 83));
	must_have(text, want);
	must_have(text, "mode:\"step\"");
	/* one file: nothing fetched, nothing that ends the script early */
	assert_null(strstr(text, "https://"));
	assert_null(strstr(text, " src="));
	assert_int_equal(count(text, "</script>"), 3);
	free(text);
}

/* Writes @n exits alternating between two VCPUs, the last two at the far
 * ends of 64-bit time. */
static void write_many_exits(const char *path, size_t n)
{
	struct trace_header h;
	struct trace_writer *w;
	struct trace_producer *p;
	char err[256];

	header(&h, VM_SCHED_PARALLEL, guest_path("lost-update"), path);
	w = trace_writer_open(path, &h, NULL, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	for (size_t i = 0; i < n; i++) {
		struct trace_event ev = {
			.time_ns = T0 + i, .type = TEV_EXIT_PIO,
			.vcpu = (uint32_t)(i % 2), .exit_seq = i / 2 + 1,
		};

		if (i == n - 2)
			ev.time_ns = T0 + (UINT64_MAX - T0) / 2;
		if (i == n - 1)
			ev.time_ns = UINT64_MAX - 1;
		assert_int_equal(trace_emit_timed(p, &ev, ""), 0);
	}
	assert_int_equal(trace_writer_close(w, TEND_GUEST_EXIT, 0, 0), 0);
}

/* Past 200000 events, exits are a density per VCPU (bins placed right
 * even when times span most of 64 bits) and left out of the list. */
static void test_html_density(void **state)
{
	char trace[128];
	char *text;

	snprintf(trace, sizeof(trace), "%s/many.trace", dir);
	write_many_exits(trace, 200001);
	text = export("html", trace, "many.html");
	must_have(text, "200002 events: the 200001 exits are drawn as a density");
	assert_int_equal(count(text, "\n[0,"), 1);   /* VM_END alone */
	must_have(text, "[5,0,0,18446744072709551,100000]");
	must_have(text, "[5,1,0,18446744072709551,99999]");
	must_have(text, "[5,1,9223372036354775807,9241818780427485358,1]");
	must_have(text, "[5,0,18428297328636842062,18446744072709551614,1]");
	/* a running stretch over the binned exits, not one per exit */
	assert_true(count(text, "\n[1,") < 10);
	free(text);
}

/* A recorded run with pauses: both exports, the JSON checked. */
static void test_recorded(void **state)
{
	char json[128], trace[128];
	char *text;

	SKIP_WITHOUT_KVM();
	assert_int_equal(vcprr_sh(NULL, "$V record -o %s/r.trace %s --vcpus 2 "
				  "--pause-every 300us --hold 50us --seed 3 "
				  ">/dev/null 2>&1", dir, guest_path("counter")),
			 0);
	snprintf(trace, sizeof(trace), "%s/r.trace", dir);
	text = export("chrome", trace, "r.json");
	free(text);
	snprintf(json, sizeof(json), "%s/r.json", dir);
	assert_int_equal(format_check(json), 0);
	text = export("html", trace, "r.html");
	must_have(text, "\n[3,");   /* pause lives */
	free(text);
}

/* Steps placed in time within the slice that ran them (export-html.h). */
static void test_html_point_time(void **state)
{
	struct trace_event last = { .time_ns = 1500 };
	struct hold_slice s = { .vcpu = 1, .start = 1000, .end = 2000,
				.step_in = 10, .step_out = 20,
				.how = HOLD_PREEMPTED };
	struct html_point p = { .vcpu = 1, .step = 15, .mid = true };
	uint64_t t = 0;

	assert_true(html_point_time(&p, &s, 99, &t));
	assert_int_equal(t, 1550);           /* the middle of step 15 */
	p.vcpu = 0;                          /* another VCPU's step */
	assert_false(html_point_time(&p, &s, 99, &t));
	p = (struct html_point){ .vcpu = HTML_ANY_VCPU, .step = 10 };
	assert_true(html_point_time(&p, &s, 99, &t));
	assert_int_equal(t, 1000);           /* a window opens at its start */
	p.step = 20;                         /* the next slice's */
	assert_false(html_point_time(&p, &s, 99, &t));
	/* Still held as the trace ends: it ran to the last step, and ended
	 * with its last own event, not with the teardown. */
	s = (struct hold_slice){ .vcpu = 1, .start = 1000, .end = 5000,
				 .step_in = 10, .step_out = 10,
				 .how = HOLD_ONGOING, .where = &last };
	p = (struct html_point){ .vcpu = 1, .step = 15, .mid = true };
	assert_true(html_point_time(&p, &s, 19, &t));
	assert_int_equal(t, 1275);
	p.step = 20;
	assert_false(html_point_time(&p, &s, 19, &t));
}

/* The time of analysis point @p in the page, or -1. */
static int64_t point_time(const char *page, unsigned p)
{
	char key[32];
	const char *at;
	long long t;

	snprintf(key, sizeof(key), "\n[6,%u,", p);
	at = strstr(page, key);
	if (!at || sscanf(at + strlen(key), "%lld]", &t) != 1)
		return -1;
	return t;
}

/* Whether time @t lies in a holds-the-CPU row of @vcpu that ran @step. */
static bool in_hold(const char *page, unsigned vcpu, uint64_t step, int64_t t)
{
	for (const char *at = page; (at = strstr(at, "\n[2,")); at++) {
		unsigned long long t0, t1, si, so;
		unsigned v;
		int how;

		if (sscanf(at + 4, "%u,%llu,%llu,%llu,%llu,%d", &v, &t0, &t1,
			   &si, &so, &how) != 6 || v != vcpu)
			continue;
		if (step >= si && (step < so || how == 0) &&
		    t >= (int64_t)t0 && t <= (int64_t)t1)
			return true;
	}
	return false;
}

/* vcprr analyze --html: the page of the watched run, its racing accesses
 * on the right VCPUs in the slices that ran their steps, the variable and
 * both source lines in the analysis. */
static void test_html_analysis(void **state)
{
	char html[128], *text, *out = NULL;
	const char *side;
	unsigned vcpu;
	unsigned long long step;
	int rc;

	SKIP_WITHOUT_KVM();
	snprintf(html, sizeof(html), "%s/analysis.html", dir);
	rc = vcprr_sh(&out, "$V analyze --races %s --vcpus 2 --html %s",
		      guest_path("lost-update"), html);
	assert_int_equal(rc, 1);               /* races found */
	assert_non_null(strstr(out, "timeline: "));
	free(out);
	text = slurp(html);
	must_have(text, "lost-update.elf, as vcprr analyze watched it");
	must_have(text, "analysis:{failed:false,");
	must_have(text, "variable:\"total+0 (0x");
	must_have(text, "source:\"tests/guests/lost-update.c:39\"");
	must_have(text, "source:\"tests/guests/lost-update.c:40\"");
	/* both sides of the first race, placed where their VCPU ran them */
	side = strstr(text, "sides:[");
	assert_non_null(side);
	for (unsigned k = 0; k < 2; k++) {
		int64_t t = point_time(text, k);

		side = strstr(side, "{vcpu:");
		assert_non_null(side);
		assert_int_equal(sscanf(side, "{vcpu:%u,step:%llu,", &vcpu,
					&step), 2);
		assert_true(t >= 0);
		if (!in_hold(text, vcpu, step, t))
			fail_msg("side %u (vcpu %u, step %llu) drawn at %lld, "
				 "outside the slices where it ran", k, vcpu, step,
				 (long long)t);
		side++;
	}
	free(text);
	/* an existing page is kept unless -f */
	rc = vcprr_sh(&out, "$V analyze --races %s --vcpus 2 --html %s 2>&1",
		      guest_path("lost-update"), html);
	assert_int_equal(rc, 2);
	assert_non_null(strstr(out, html));
	free(out);
	assert_int_equal(vcprr_sh(NULL, "$V analyze --races %s --vcpus 2 "
				  "--html %s -f >/dev/null", guest_path(
				  "lost-update-fixed"), html), 0);
	text = slurp(html);
	must_have(text, "races:[]");
	assert_null(strstr(text, "\n[6,"));
	free(text);
}

static int setup(void **state)
{
	return scratch_dir(dir, sizeof(dir), "export");
}

static int teardown(void **state)
{
	return scratch_dir_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chrome_story),
		cmocka_unit_test(test_chrome_coalesced),
		cmocka_unit_test(test_format_check_fails),
		cmocka_unit_test(test_html_story),
		cmocka_unit_test(test_html_density),
		cmocka_unit_test(test_recorded),
		cmocka_unit_test(test_html_point_time),
		cmocka_unit_test(test_html_analysis),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
