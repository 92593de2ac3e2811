/* vcprr inspect / export: goldens on a hand-written deterministic trace,
 * filters, JSON checked by a real parser, follow, diff (equal, differing,
 * truncated), guest symbols, hostile input (the exports too) and the
 * benchmark's plumbing.  The exports' own tests are in test_export.c. */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/helpers/testutil.h"
#include "tools/inspect.h"
#include "tools/symbols.h"
#include "traces/sha256.h"
#include "traces/trace.h"
#include "traces/writer-internal.h"
#include "vmm/guest-id.h"
#include "vmm/run-desc.h"

#define T0 1000000000ull

struct out {
	int rc;
	char *out, *err;
};

static void out_free(struct out *o)
{
	free(o->out);
	free(o->err);
}

/* Runs fn(argv...) in-process with stdout and stderr captured. */
static struct out run(int (*fn)(int, char **), ...)
{
	char *argv[32];
	int argc = 0, fd1 = memfd_new("out"), fd2 = memfd_new("err");
	int s1 = dup(1), s2 = dup(2);
	struct out o;
	va_list ap;

	va_start(ap, fn);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	dup2(fd1, 1);
	dup2(fd2, 2);
	o.rc = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(s1, 1);
	dup2(s2, 2);
	close(s1);
	close(s2);
	o.out = fd_slurp(fd1);
	o.err = fd_slurp(fd2);
	close(fd1);
	close(fd2);
	return o;
}

static char *tmpfile_path(const char *tag)
{
	const char *dir = getenv("TMPDIR");
	char *p;
	int fd;

	if (asprintf(&p, "%s/vcprr-inspect-%s-XXXXXX", dir ? dir : "/tmp",
		     tag) < 0)
		abort();
	fd = mkstemp(p);
	assert_true(fd >= 0);
	close(fd);
	return p;
}

struct ev_spec {
	uint64_t dt;
	uint32_t type, vcpu;
	uint64_t exit_seq, rip, digest, a0, a1, a2;
	const char *pl;
	uint32_t pl_len;
};

#define NONE TRACE_VCPU_NONE
#define EV(dt, ty, v, xs, rip, dg, a0, a1, a2, pl, pll) \
	{ dt, ty, v, xs, rip, dg, a0, a1, a2, pl, pll }
static const struct ev_spec events[] = {
	EV(0, TEV_VM_START, NONE, 0, 0, 0, 2, 64 << 20, 0, NULL, 0),
	EV(1000, TEV_VCPU_START, 0, 0, 0, 0, 0, 0, 0, NULL, 0),
	EV(1500, TEV_VCPU_START, 1, 0, 0, 0, 0, 0, 0, NULL, 0),
	EV(5000, TEV_EXIT_PIO, 0, 1, 0x100a30, 0, 0x3f8, 1 | 1 << 8, 0x41, NULL, 0),
	EV(10000, TEV_PAUSE_REQUEST, 0, 0, 0, 0, 0x42, 1, 0, NULL, 0),
	EV(10500, TEV_SIGNAL_SENT, 0, 0, 0, 0, 1, 0, 0, NULL, 0),
	EV(12000, TEV_KICK, 0, 1, 0x100a40, 0, 0, 0, 0, NULL, 0),
	EV(12100, TEV_PAUSE_TAKEN, 0, 1, 0x100a40, 0xabc, 0x42, 1, 0, NULL, 0),
	EV(20000, TEV_PAUSE_REQUEST, 1, 0, 0, 0, 0x7, 1, 0, NULL, 0),
	EV(20100, TEV_PAUSE_REQUEST, 1, 0, 0, 0, 0x8, 2, 0, NULL, 0),
	EV(20200, TEV_SIGNAL_SENT, 1, 0, 0, 0, 2, 0, 0, NULL, 0),
	EV(30000, TEV_RESUME_REQUEST, 0, 0, 0, 0, 0x99, 1, 0, "REGSREGS", 8),
	EV(30500, TEV_RESUMED, 0, 1, 0x100a40, 0, 0x99, 0, 0, NULL, 0),
	EV(40000, TEV_PAUSE_COALESCED, 1, 3, 0x100b00, 0, 1, 2, 0, NULL, 0),
	EV(40100, TEV_PAUSE_TAKEN, 1, 3, 0x100b00, 0xdef, 0x8, 2, 0, NULL, 0),
	EV(50000, TEV_RESUME_REQUEST, 1, 0, 0, 0, 0, 0, 0, NULL, 0),
	EV(50200, TEV_RESUMED, 1, 3, 0x100b00, 0, 0, 0, 0, NULL, 0),
	EV(60000, TEV_CONSOLE, 0, 2, 0x100a50, 0, 0, 0, 0, "hi \"x\"\n", 7),
	EV(61000, TEV_EXIT_HLT, 1, 4, 0x100b10, 0, 0, 0, 0, NULL, 0),
	EV(62000, TEV_GUEST_ASSERT, 1, 5, 0x100b20, 0, 12, 0, 0, "a.c\0x < 1", 10),
	EV(70000, TEV_VCPU_EXIT, 0, 2, 0, 0, 0, 0, 0, NULL, 0),
	EV(71000, TEV_VCPU_EXIT, 1, 5, 0, 0, (uint64_t)-1, 0, 0, NULL, 0),
};
#define NR_EVENTS (sizeof(events) / sizeof(events[0]))

struct variant {
	const char *guest;        /* header guest_path (hash taken from it) */
	int change;               /* index of an event whose a2 is changed */
	uint32_t frame_events;
	uint64_t rip_override;    /* rip of event 3, if set */
};

/* A header through the one encoder: seed 5, 2 VCPUs, 64 MiB, @mode;
 * @guest (may be NULL) with its identity as record takes it down. */
static void make_header(struct trace_header *h, const char *guest,
			const char *trace, enum vm_sched_mode mode)
{
	struct run_desc d;
	char err[256];

	run_desc_init(&d);
	d.sched.seed = 5;
	d.sched.mode = mode;
	d.nr_vcpus = 2;
	d.mem_size = 64 << 20;
	if (guest)
		assert_int_equal(guest_id_take(&d.guest, guest, trace, err,
					       sizeof(err)), 0);
	memset(h, 0, sizeof(*h));
	assert_int_equal(run_desc_encode(&d, h, err, sizeof(err)), 0);
}

static void write_trace(const char *path, const struct variant *var)
{
	struct trace_writer_opts wo = { .frame_events = var->frame_events };
	struct trace_header h;
	struct trace_writer *w;
	struct trace_producer *p;
	char err[256];

	make_header(&h, var->guest, path, VM_SCHED_PARALLEL);
	w = trace_writer_open(path, &h, &wo, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	for (size_t i = 0; i < NR_EVENTS; i++) {
		const struct ev_spec *s = &events[i];
		struct trace_event ev = {
			.time_ns = T0 + s->dt, .type = s->type, .vcpu = s->vcpu,
			.exit_seq = s->exit_seq, .rip = s->rip,
			.digest = s->digest, .a0 = s->a0, .a1 = s->a1,
			.a2 = s->a2, .payload_len = s->pl_len,
		};

		if ((int)i == var->change)
			ev.a2 ^= 3;
		if (i == 3 && var->rip_override)
			ev.rip = var->rip_override;
		assert_int_equal(trace_emit_timed(p, &ev, s->pl ? s->pl : ""), 0);
	}
	assert_int_equal(trace_writer_close(w, TEND_GUEST_ASSERT, 124, 0x1234),
			 0);
}

/* A trace with header @h and events @evs (any type: hostile traces may
 * hold types this vcprr does not know). */
static void write_events(const char *path, const struct trace_header *h,
			 const struct ev_spec *evs, size_t n)
{
	struct trace_writer *w;
	struct trace_producer *p;
	char err[256];

	w = trace_writer_open(path, h, NULL, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	for (size_t i = 0; i < n; i++) {
		const struct ev_spec *s = &evs[i];
		struct trace_event ev = {
			.time_ns = T0 + s->dt, .type = s->type, .vcpu = s->vcpu,
			.exit_seq = s->exit_seq, .rip = s->rip,
			.digest = s->digest, .a0 = s->a0, .a1 = s->a1,
			.a2 = s->a2, .payload_len = s->pl_len,
		};

		assert_int_equal(trace_emit__any_type(p, &ev,
						      s->pl ? s->pl : ""), 0);
	}
	assert_int_equal(trace_writer_close(w, TEND_GUEST_EXIT, 0, 0), 0);
}

static char *trace_plain;

static int setup(void **state)
{
	static const struct variant plain = { .change = -1 };

	trace_plain = tmpfile_path("plain");
	write_trace(trace_plain, &plain);
	return 0;
}

static int teardown(void **state)
{
	unlink(trace_plain);
	free(trace_plain);
	return 0;
}

/* Replaces @what with @with everywhere (in place when not longer). */
static char *replace_all(char *s, const char *what, const char *with)
{
	size_t wl = strlen(what), nl = strlen(with);
	char *p;

	assert_true(nl <= wl);
	while ((p = strstr(s, what))) {
		memcpy(p, with, nl);
		memmove(p + nl, p + wl, strlen(p + wl) + 1);
	}
	return s;
}

/* The VM_END event's time is the writer's clock: masked for goldens, each
 * run of digits as one N (the clock's width grows with the uptime). */
static char *normalise(char *s)
{
	regex_t re;
	regmatch_t m;
	char *p = s, *w;

	replace_all(s, trace_plain, "TRACE");
	assert_int_equal(regcomp(&re, "[+][0-9]+[.][0-9]{9} vm +VM_END|"
				 "over [0-9.]+[a-z]+", REG_EXTENDED), 0);
	while (!regexec(&re, p, 1, &m, 0)) {
		bool in_digits = false;

		w = p + m.rm_so;
		for (regoff_t i = m.rm_so; i < m.rm_eo; i++) {
			bool digit = p[i] >= '0' && p[i] <= '9';
			if (!digit)
				*w++ = p[i];
			else if (!in_digits)
				*w++ = 'N';
			in_digits = digit;
		}
		memmove(w, p + m.rm_eo, strlen(p + m.rm_eo) + 1);
		p = w;
	}
	regfree(&re);
	return s;
}

static void check_golden(const char *name, char *text)
{
	char path[256];
	FILE *f;
	char *want;
	long len;

	snprintf(path, sizeof(path), "tests/golden/%s", name);
	if (getenv("VCPRR_UPDATE_GOLDEN")) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(text, f);
		fclose(f);
	}
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "missing %s (run with VCPRR_UPDATE_GOLDEN=1 "
			"from the top folder)\n", path);
		fail();
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	want = calloc(1, len + 1);
	assert_int_equal(fread(want, 1, len, f), (size_t)len);
	fclose(f);
	assert_string_equal(text, want);
	free(want);
}

static void test_summary_golden(void **state)
{
	struct out o = run(cmd_inspect, "inspect", trace_plain, NULL);

	assert_int_equal(o.rc, 0);
	check_golden("inspect-summary.txt", normalise(o.out));
	out_free(&o);
}

static void test_dump_golden(void **state)
{
	struct out o = run(cmd_inspect, "inspect", "dump", trace_plain, NULL);

	assert_int_equal(o.rc, 0);
	check_golden("inspect-dump.txt", normalise(o.out));
	out_free(&o);
}

static int count_char(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static void test_dump_filters(void **state)
{
	struct out o;

	o = run(cmd_inspect, "inspect", "dump", trace_plain, "--vcpu", "1",
		"--type", "pause_taken,PAUSE_COALESCED", NULL);
	assert_int_equal(o.rc, 0);
	assert_int_equal(count_char(o.out, '\n'), 2);
	assert_non_null(strstr(o.out, "#13      +0.000040000 vcpu 1  "
			       "PAUSE_COALESCED req=1 into=2 exit=3"));
	out_free(&o);
	o = run(cmd_inspect, "inspect", "dump", trace_plain, "--from", "4",
		"--to=7", NULL);
	assert_int_equal(count_char(o.out, '\n'), 4);
	assert_true(!strncmp(o.out, "#4 ", 3));
	out_free(&o);
	/* by time: 10us..12.05us holds events 4 (10.0) 5 (10.5) 6 (12.0) */
	o = run(cmd_inspect, "inspect", "dump", trace_plain, "--from", "10us",
		"--to", "12.05us", NULL);
	assert_int_equal(count_char(o.out, '\n'), 3);
	assert_true(!strncmp(o.out, "#4 ", 3));
	out_free(&o);
	o = run(cmd_inspect, "inspect", "dump", trace_plain, "--vcpu", "vm",
		NULL);
	assert_int_equal(count_char(o.out, '\n'), 2);  /* VM_START, VM_END */
	out_free(&o);
}

/* Every line of @text must parse as a JSON value (python3's parser). */
static void check_json(const char *text, bool lines)
{
	char *path = tmpfile_path("json"), cmd[512];
	FILE *f = fopen(path, "w");

	if (system("python3 -c 'import json' 2>/dev/null")) {
		unlink(path);
		free(path);
		print_message("python3 not available: JSON not parsed\n");
		return;
	}
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "python3 -c 'import json,sys\n"
		 "t=open(sys.argv[1]).read()\n"
		 "[json.loads(l) for l in t.splitlines()] if %d else json.loads(t)"
		 "' %s", lines, path);
	assert_int_equal(system(cmd), 0);
	unlink(path);
	free(path);
}

static void test_dump_json(void **state)
{
	struct out o = run(cmd_inspect, "inspect", "dump", "--json",
			   trace_plain, NULL);

	assert_int_equal(o.rc, 0);
	assert_int_equal(count_char(o.out, '\n'), NR_EVENTS + 1);
	assert_non_null(strstr(o.out, "\"type\":\"CONSOLE\",\"vcpu\":0,"
			       "\"text\":\"hi \\\"x\\\"\\n\""));
	assert_non_null(strstr(o.out, "\"file\":\"a.c\",\"expr\":\"x < 1\""));
	check_json(o.out, true);
	out_free(&o);
}

static void test_follow(void **state)
{
	struct out o = run(cmd_inspect, "inspect", "follow", trace_plain, "1:1",
			   NULL);

	assert_int_equal(o.rc, 0);
	check_golden("inspect-follow.txt", normalise(o.out));
	out_free(&o);
	o = run(cmd_inspect, "inspect", "follow", trace_plain, "#4", NULL);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "pause request 0:1 (data 0x42)"));
	assert_non_null(strstr(o.out, "request -> taken 2.1us, paused for "
			       "18.4us"));
	out_free(&o);
}

static void test_bad_input(void **state)
{
	static const char *const bad[][6] = {
		{ "inspect", "dump", "TRACE", "--vcpu", "x1", NULL },
		{ "inspect", "dump", "TRACE", "--type", "NOPE", NULL },
		{ "inspect", "dump", "TRACE", "--from", "12parsecs", NULL },
		{ "inspect", "dump", "TRACE", "--from", "9", "--to=3" },
		{ "inspect", "dump", "TRACE", "--to", NULL },
		{ "inspect", "follow", "TRACE", "1:", NULL },
		{ "inspect", "follow", "TRACE", "#5", NULL },   /* SIGNAL_SENT */
		{ "inspect", "follow", "TRACE", "7:1", NULL },
		{ "inspect", "follow", "TRACE", "#999", NULL },
		{ "inspect", "diff", "TRACE", NULL },
		{ "inspect", "diff", "TRACE", "TRACE", "--context", "99" },
	};
	char *argv[7];
	struct out o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int argc = 0;

		for (; argc < 6 && bad[i][argc]; argc++)
			argv[argc] = !strcmp(bad[i][argc], "TRACE") ?
				     trace_plain : (char *)bad[i][argc];
		argv[argc] = NULL;
		o = run(cmd_inspect, argv[0], argv[1], argv[2],
			argc > 3 ? argv[3] : NULL, argc > 4 ? argv[4] : NULL,
			argc > 5 ? argv[5] : NULL, NULL);
		assert_int_equal(o.rc, 2);
		assert_true(strlen(o.err) > 10);
		out_free(&o);
	}
}

static void test_bad_files(void **state)
{
	char *junk = tmpfile_path("junk");
	FILE *f = fopen(junk, "w");
	struct out o;

	fputs("this is not a trace at all, just words", f);
	fclose(f);
	o = run(cmd_inspect, "inspect", "/nonexistent/x.trace", NULL);
	assert_int_equal(o.rc, 3);
	assert_non_null(strstr(o.err, "/nonexistent/x.trace"));
	out_free(&o);
	o = run(cmd_inspect, "inspect", "dump", junk, NULL);
	assert_int_equal(o.rc, 3);
	assert_non_null(strstr(o.err, junk));
	out_free(&o);
	o = run(cmd_export, "export", "--format", "chrome", junk, "-o",
		"/dev/null", NULL);
	assert_int_equal(o.rc, 3);
	out_free(&o);
	o = run(cmd_inspect, "inspect", "dump", trace_plain, "--guest", junk,
		NULL);
	assert_int_equal(o.rc, 3);
	assert_non_null(strstr(o.err, "not an ELF"));
	out_free(&o);
	unlink(junk);
	free(junk);
}

/* A trace cut in the middle of its data: reported, never a crash. */
static void test_corrupt_trace(void **state)
{
	static const struct variant v = { .change = -1, .frame_events = 3 };
	char *path = tmpfile_path("cut");
	struct stat st;
	struct out o;

	write_trace(path, &v);
	assert_int_equal(stat(path, &st), 0);
	for (off_t cut = st.st_size - 1; cut > 0; cut -= 37) {
		assert_int_equal(truncate(path, cut), 0);
		o = run(cmd_inspect, "inspect", path, NULL);
		assert_true(o.rc == 0 || o.rc == 3);
		out_free(&o);
		o = run(cmd_export, "export", "--format", "html", path, "-o",
			"/dev/null", NULL);
		assert_true(o.rc == 0 || o.rc == 3);
		out_free(&o);
	}
	unlink(path);
	free(path);
}

/* Hostile traces: each runs through every inspect and export command
 * (ASan checks that nothing reads out of bounds); exit statuses 0-3. */
static void run_all_tools(const char *path)
{
	static const char *const cmds[][8] = {
		{ "inspect", "P", NULL },
		{ "inspect", "dump", "P", NULL },
		{ "inspect", "dump", "P", "--json", NULL },
		{ "inspect", "dump", "P", "--vcpu", "1", "--type",
		  "PAUSE_TAKEN", NULL },
		{ "inspect", "follow", "P", "1:1", NULL },
		{ "inspect", "follow", "P", "#1", NULL },
		{ "inspect", "diff", "P", "P", NULL },
		{ "export", "--format", "chrome", "P", "-o", "/dev/null", NULL },
		{ "export", "--format", "html", "P", "-o", "/dev/null", NULL },
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char *argv[8] = { NULL };
		struct out o;

		for (int k = 0; cmds[i][k]; k++)
			argv[k] = !strcmp(cmds[i][k], "P") ? (char *)path :
				  (char *)cmds[i][k];
		o = run(strcmp(argv[0], "export") ? cmd_inspect : cmd_export,
			argv[0], argv[1], argv[2], argv[3], argv[4], argv[5],
			argv[6], NULL);
		if (o.rc < 0 || o.rc > 3)
			fail_msg("%s %s: exit status %d", argv[0], argv[1], o.rc);
		out_free(&o);
	}
}

/* A header naming @guest (a hostile path: no identity is taken). */
static void hostile_header(struct trace_header *h, const char *guest)
{
	struct run_desc d;
	char err[256];

	run_desc_init(&d);
	d.nr_vcpus = 2;
	d.mem_size = 64 << 20;
	snprintf(d.guest.path, sizeof(d.guest.path), "%s", guest);
	memset(h, 0, sizeof(*h));
	assert_int_equal(run_desc_encode(&d, h, err, sizeof(err)), 0);
}

/* A guest path naming a FIFO: symbols are not loaded, and nothing waits
 * for a writer that never comes (the alarm fails the test if it does). */
static void test_hostile_guest_fifo(void **state)
{
	static const struct ev_spec evs[] = {
		EV(0, TEV_VCPU_START, 0, 0, 0x100000, 0, 0, 0, 0, NULL, 0),
	};
	char *path = tmpfile_path("fifo-trace"), *fifo = tmpfile_path("fifo");
	struct trace_header h;
	struct out o;

	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	hostile_header(&h, fifo);
	write_events(path, &h, evs, 1);
	alarm(20);
	o = run(cmd_inspect, "inspect", "dump", path, NULL);
	alarm(0);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.err, "not a regular file"));
	out_free(&o);
	alarm(60);
	run_all_tools(path);
	alarm(0);
	unlink(fifo);
	unlink(path);
	free(fifo);
	free(path);
}

/* A VCPU id far above the header's count: one column for it, not one
 * for every id below it (the summary was 700 KB and slow). */
static void test_hostile_vcpu_ids(void **state)
{
	static const struct ev_spec evs[] = {
		EV(0, TEV_VCPU_START, 0, 0, 0, 0, 0, 0, 0, NULL, 0),
		EV(10, TEV_PAUSE_TAKEN, 4095, 1, 0x100000, 1, 7, 1, 0, NULL, 0),
		EV(20, TEV_RESUMED, 4095, 1, 0x100000, 0, 7, 0, 0, NULL, 0),
		EV(30, TEV_EXIT_HLT, 4096, 2, 0, 0, 0, 0, 0, NULL, 0),
		EV(40, TEV_KICK, NONE - 1, 2, 0, 0, 0, 0, 0, NULL, 0),
	};
	char *path = tmpfile_path("vcpu-ids");
	struct trace_header h;
	struct out o;

	hostile_header(&h, "");
	write_events(path, &h, evs, sizeof(evs) / sizeof(evs[0]));
	o = run(cmd_inspect, "inspect", path, NULL);
	assert_int_equal(o.rc, 0);
	assert_true(strlen(o.out) < 8192);
	assert_non_null(strstr(o.out, "vcpu0     vcpu4095"));
	assert_non_null(strstr(o.out, "(4094 VCPUs of ids 0..4095 have no "
			       "events)"));
	assert_non_null(strstr(o.out, "2 events name VCPU ids >= 4096"));
	out_free(&o);
	run_all_tools(path);
	unlink(path);
	free(path);
}

/* VCPU ids past the tools' limit are compared too (as one stream, ids
 * included): diff called two such traces equal. */
static void test_diff_big_vcpu_ids(void **state)
{
	struct ev_spec evs[] = {
		EV(0, TEV_VCPU_START, 0, 0, 0, 0, 0, 0, 0, NULL, 0),
		EV(10, TEV_EXIT_HLT, 5000, 2, 0, 0, 0, 0, 0, NULL, 0),
		EV(20, TEV_EXIT_HLT, 6000, 2, 0, 0, 0, 0, 0, NULL, 0),
	};
	char *a = tmpfile_path("big-a"), *b = tmpfile_path("big-b");
	struct trace_header h;
	struct out o;

	hostile_header(&h, "");
	write_events(a, &h, evs, 3);
	evs[2].vcpu = 6001;
	write_events(b, &h, evs, 3);
	o = run(cmd_inspect, "inspect", "diff", a, b, NULL);
	assert_int_equal(o.rc, 1);
	assert_non_null(strstr(o.out, "first divergence: vcpu >= 4096, its "
			       "event 1\n"));
	assert_non_null(strstr(o.out, "differs in: vcpu (0x1770 vs 0x1771)"));
	out_free(&o);
	unlink(a);
	unlink(b);
	free(a);
	free(b);
}

/* Header strings reach the terminal escaped: a hostile trace cannot send
 * escape sequences (a guest path and mode with ESC and BEL). */
static void test_hostile_header_text(void **state)
{
	static const struct ev_spec evs[] = {
		EV(0, TEV_VCPU_START, 0, 0, 0, 0, 0, 0, 0, NULL, 0),
	};
	char *a = tmpfile_path("esc-a"), *b = tmpfile_path("esc-b");
	char tail[TRACE_DESC_LEN], *m;
	struct trace_header h;
	struct out o;

	hostile_header(&h, "/nonexistent/\033]0;owned\007.elf");
	write_events(a, &h, evs, 1);
	o = run(cmd_inspect, "inspect", a, NULL);
	assert_int_equal(o.rc, 0);
	assert_null(strchr(o.out, '\033'));
	assert_non_null(strstr(o.out, "guest      /nonexistent/\\x1b]0;owned"
			       "\\x07.elf\n"));
	out_free(&o);
	o = run(cmd_inspect, "inspect", "dump", a, NULL);
	assert_null(strchr(o.err, '\033'));
	assert_non_null(strstr(o.err, "\\x1b]0;owned"));
	out_free(&o);
	/* a mode the encoder cannot write: the decoder refuses it, escaped */
	m = strstr(h.desc, "mode=parallel\n");
	snprintf(tail, sizeof(tail), "%s", m + strlen("mode=parallel\n"));
	sprintf(m, "mode=\033[2Jstep\n%s", tail);
	write_events(b, &h, evs, 1);
	o = run(cmd_inspect, "inspect", "diff", a, b, NULL);
	assert_int_equal(o.rc, 3);
	assert_null(strchr(o.err, '\033'));
	assert_non_null(strstr(o.err, "'mode=\\x1b[2Jstep' at offset 58: "
			       "malformed value"));
	out_free(&o);
	unlink(a);
	unlink(b);
	free(a);
	free(b);
}

/* Requests to VCPU ids the tools do not track per VCPU (>= 4096, vm) are
 * followed too; follow printed an empty life (request 0:0, every step at
 * event #0). */
static void test_follow_big_vcpu_ids(void **state)
{
	static const struct ev_spec evs[] = {
		EV(0, TEV_VCPU_START, 0, 0, 0, 0, 0, 0, 0, NULL, 0),
		EV(10, TEV_PAUSE_REQUEST, 5000, 0, 0, 0, 0x55, 3, 0, NULL, 0),
		EV(20, TEV_PAUSE_TAKEN, 5000, 4, 0x100, 9, 0x55, 3, 0, NULL, 0),
		EV(30, TEV_RESUMED, 5000, 4, 0x100, 0, 0x66, 0, 0, NULL, 0),
		EV(40, TEV_PAUSE_REQUEST, NONE, 0, 0, 0, 0x77, 1, 0, NULL, 0),
	};
	char *path = tmpfile_path("follow-big");
	struct trace_header h;
	struct out o;

	hostile_header(&h, "");
	write_events(path, &h, evs, sizeof(evs) / sizeof(evs[0]));
	o = run(cmd_inspect, "inspect", "follow", path, "#1", NULL);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "pause request 5000:3 (data 0x55)"));
	assert_non_null(strstr(o.out, "#2       +0.000000020 vcpu 5000 "
			       "PAUSE_TAKEN"));
	assert_non_null(strstr(o.out, "#3       +0.000000030 vcpu 5000 "
			       "RESUMED"));
	out_free(&o);
	o = run(cmd_inspect, "inspect", "follow", path, "#4", NULL);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "pause request vm:1 (data 0x77)"));
	assert_non_null(strstr(o.out, "never: the trace ends first"));
	out_free(&o);
	unlink(path);
	free(path);
}

/* Writes @n events; @fn fills event i (time, type and payload are set). */
static void write_generated(const char *path, size_t n,
			    void (*fn)(size_t i, struct trace_event *ev))
{
	static char pl[TRACE_MAX_PAYLOAD];
	struct trace_header h;
	struct trace_writer *w;
	struct trace_producer *p;
	char err[256];

	memset(pl, 'p', sizeof(pl));
	hostile_header(&h, "");
	w = trace_writer_open(path, &h, NULL, err, sizeof(err));
	assert_non_null(w);
	p = trace_producer_new(w);
	for (size_t i = 0; i < n; i++) {
		struct trace_event ev = { .time_ns = T0 + i,
					  .type = TEV_GUEST_LOG,
					  .payload_len = TRACE_MAX_PAYLOAD };

		fn(i, &ev);
		assert_int_equal(trace_emit_timed(p, &ev, pl), 0);
	}
	assert_int_equal(trace_writer_close(w, TEND_GUEST_EXIT, 0, 0), 0);
}

static void one_per_vcpu(size_t i, struct trace_event *ev)
{
	ev->vcpu = (uint32_t)i;
}

static void one_per_vcpu_last_differs(size_t i, struct trace_event *ev)
{
	ev->vcpu = (uint32_t)i;
	ev->a0 = i == 4095;
}

/* 4096 VCPUs of one event each: diff compared them one pass per stream
 * (8193 passes over 16 MB, minutes); now one pass does (the alarm fails
 * the test if not). */
static void test_hostile_diff_many_vcpus(void **state)
{
	char *a = tmpfile_path("many-a"), *b = tmpfile_path("many-b");
	struct out o;

	write_generated(a, 4096, one_per_vcpu);
	write_generated(b, 4096, one_per_vcpu_last_differs);
	o = run(cmd_inspect, "inspect", a, NULL);   /* a table of 4096 */
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "    vcpu4094    vcpu4095          vm"));
	assert_non_null(strstr(o.out, "           1           1           0"
			       "        4096\n"));
	assert_null(strstr(o.out, "have no events"));
	out_free(&o);
	alarm(30);
	o = run(cmd_inspect, "inspect", "diff", a, a, NULL);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "equal: 4097 events in 8193 streams"));
	out_free(&o);
	o = run(cmd_inspect, "inspect", "diff", a, b, NULL);
	alarm(0);
	assert_int_equal(o.rc, 1);
	assert_non_null(strstr(o.out, "first divergence: vcpu 4095, its "
			       "event 0\n"));
	assert_non_null(strstr(o.out, "differs in: a0 (0x0 vs 0x1)"));
	out_free(&o);
	unlink(a);
	unlink(b);
	free(a);
	free(b);
}

/* VCPU 0's 5000 events first in A, last in B: more than the side-by-side
 * queues hold (16 MB), so VCPU 0 is compared in a pass of its own. */
static void two_vcpus(size_t i, struct trace_event *ev)
{
	ev->vcpu = i < 5000 ? 0 : 1;
	ev->a1 = i % 5000;
}

static void two_vcpus_swapped(size_t i, struct trace_event *ev)
{
	two_vcpus((i + 5000) % 10000, ev);
	ev->a2 = ev->vcpu == 0 && ev->a1 == 4321;
}

static void test_diff_far_apart(void **state)
{
	char *a = tmpfile_path("far-a"), *b = tmpfile_path("far-b");
	struct out o;

	write_generated(a, 10000, two_vcpus);
	write_generated(b, 10000, two_vcpus_swapped);
	o = run(cmd_inspect, "inspect", "diff", a, b, NULL);
	assert_int_equal(o.rc, 1);
	assert_non_null(strstr(o.out, "first divergence: vcpu 0, its event "
			       "4321\n"));
	assert_non_null(strstr(o.out, "differs in: a2 (0x0 vs 0x1)"));
	assert_null(strstr(o.out, "also diverging"));
	out_free(&o);
	write_generated(b, 10000, two_vcpus);
	o = run(cmd_inspect, "inspect", "diff", a, b, NULL);
	assert_int_equal(o.rc, 0);
	out_free(&o);
	unlink(a);
	unlink(b);
	free(a);
	free(b);
}

#define CUT 320  /* bytes: the tail and the last frames */
static void test_diff(void **state)
{
	static const struct variant same = { .change = -1, .frame_events = 5 };
	static const struct variant other = { .change = 3 };
	char *a = tmpfile_path("same"), *b = tmpfile_path("other");
	struct stat st;
	struct out o;

	write_trace(a, &same);
	write_trace(b, &other);
	o = run(cmd_inspect, "inspect", "diff", trace_plain, a, NULL);
	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "equal: 23 events"));
	out_free(&o);
	o = run(cmd_inspect, "inspect", "diff", trace_plain, b, NULL);
	assert_int_equal(o.rc, 1);
	assert_non_null(strstr(o.out, "first divergence: vcpu 0, its event 1\n"
			       "    #1       +0.000001000 vcpu 0  VCPU_START\n"
			       "  A #3 "));
	assert_non_null(strstr(o.out, "differs in: a2 (0x41 vs 0x42)"));
	out_free(&o);
	/* B without its tail: every event is there, but it is truncated */
	write_trace(b, &same);
	assert_int_equal(stat(b, &st), 0);
	assert_int_equal(truncate(b, st.st_size - 20), 0);
	o = run(cmd_inspect, "inspect", "diff", trace_plain, b, NULL);
	assert_int_equal(o.rc, 1);
	assert_non_null(strstr(o.out, "B is truncated and A is not"));
	out_free(&o);
	/* B cut short: the end marker and the last frames are gone */
	assert_int_equal(stat(a, &st), 0);
	assert_int_equal(truncate(a, st.st_size - CUT), 0);
	o = run(cmd_inspect, "inspect", "diff", trace_plain, a, NULL);
	assert_int_equal(o.rc, 1);
	assert_non_null(strstr(o.out, "(truncated"));
	assert_non_null(strstr(o.out, "ends here: the trace is truncated"));
	out_free(&o);
	unlink(a);
	unlink(b);
	free(a);
	free(b);
}

static uint64_t nm_addr(const char *elf, const char *sym)
{
	char cmd[600], line[256];
	uint64_t addr = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm %s 2>/dev/null", elf);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		char name[128], type;
		unsigned long long a;

		if (sscanf(line, "%llx %c %127s", &a, &type, name) == 3 &&
		    !strcmp(name, sym))
			addr = a;
	}
	pclose(p);
	return addr;
}

static void test_symbols(void **state)
{
	const char *hello = guest_path("hello");
	struct variant v = { .change = -1, .guest = hello };
	uint64_t main_addr = nm_addr(hello, "main"), off;
	char err[256], *path;
	struct symtab *st;
	struct out o;

	if (access(hello, R_OK) || !main_addr) {
		print_message("%s or nm missing: skipped\n", hello);
		skip();
	}
	st = symtab_load(hello, err, sizeof(err));
	assert_non_null(st);
	assert_string_equal(symtab_lookup(st, main_addr, &off), "main");
	assert_int_equal(off, 0);
	assert_string_equal(symtab_lookup(st, main_addr + 3, &off), "main");
	assert_int_equal(off, 3);
	assert_null(symtab_lookup(st, 0x10, &off));
	symtab_free(st);
	/* through the trace header's guest path */
	path = tmpfile_path("sym");
	v.rip_override = main_addr + 4;
	write_trace(path, &v);
	o = run(cmd_inspect, "inspect", "dump", path, "--type", "EXIT_PIO",
		NULL);
	assert_int_equal(o.rc, 0);
	snprintf(err, sizeof(err), "rip=0x%llx <main+4>",
		 (unsigned long long)main_addr + 4);
	assert_non_null(strstr(o.out, err));
	out_free(&o);
	o = run(cmd_inspect, "inspect", "dump", path, "--json", "--type",
		"EXIT_PIO", NULL);
	assert_non_null(strstr(o.out, "\"sym\":\"main+4\""));
	out_free(&o);
	unlink(path);
	free(path);
}

/* Hostile ELF images: every prefix and some flipped bytes load or fail
 * cleanly (ASan checks the "cleanly"). */
static void test_symbols_hostile(void **state)
{
	const char *hello = guest_path("hello");
	int fd = open(hello, O_RDONLY);
	uint8_t *buf, *copy;
	struct stat st;
	char err[256];

	if (fd < 0)
		skip();
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc(st.st_size);
	copy = malloc(st.st_size);
	assert_int_equal(read(fd, buf, st.st_size), st.st_size);
	close(fd);
	for (off_t len = 0; len < st.st_size; len += 61)
		symtab_free(symtab_load_mem(buf, len, "cut", err, sizeof(err)));
	srand(7);
	for (int i = 0; i < 3000; i++) {
		memcpy(copy, buf, st.st_size);
		for (int k = 0; k < 4; k++)
			copy[rand() % (64 + (i % 2 ? st.st_size - 64 : 0))] =
				(uint8_t)rand();
		symtab_free(symtab_load_mem(copy, st.st_size, "flip", err,
					    sizeof(err)));
	}
	free(buf);
	free(copy);
}

static void test_bench_plumbing(void **state)
{
	struct out o = run(bench_inspect_main, "inspect", "--json", "--events",
			   "20000", NULL);

	assert_int_equal(o.rc, 0);
	assert_non_null(strstr(o.out, "\"events\":20001,"));
	assert_non_null(strstr(o.out, "\"peak_rss_mb\":"));
	check_json(o.out, true);
	out_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary_golden),
		cmocka_unit_test(test_dump_golden),
		cmocka_unit_test(test_dump_filters),
		cmocka_unit_test(test_dump_json),
		cmocka_unit_test(test_follow),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_corrupt_trace),
		cmocka_unit_test(test_hostile_guest_fifo),
		cmocka_unit_test(test_hostile_vcpu_ids),
		cmocka_unit_test(test_hostile_diff_many_vcpus),
		cmocka_unit_test(test_diff_far_apart),
		cmocka_unit_test(test_diff_big_vcpu_ids),
		cmocka_unit_test(test_hostile_header_text),
		cmocka_unit_test(test_follow_big_vcpu_ids),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_symbols),
		cmocka_unit_test(test_symbols_hostile),
		cmocka_unit_test(test_bench_plumbing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
