/* vcprr inspect diff A B: align two traces per VCPU and show where they
 * first part.
 *
 * Each VCPU's own events, the controller's events aimed at it (requests,
 * signals, resumes: their interleaving with the VCPU's events is timing)
 * and the VM-wide events form streams (and the events of VCPU ids past
 * INSPECT_MAX_VCPUS one more, ids compared); two traces are equal when
 * every stream holds the same events in the same order, seq and time
 * aside.
 *
 * One pass reads both files side by side and compares every stream at
 * once: an event waits in its stream's queue until the other file brings
 * that stream's next event, so runs whose interleavings are alike need
 * little memory.  A stream whose queue would push the total past
 * DIFF_QUEUE_BYTES is compared later in a pass of its own (which needs
 * none), and the first divergence gets one more pass for its context.
 * Memory stays bounded whatever the files hold, and the number of passes
 * does not grow with the number of VCPUs unless their interleavings
 * differ by more than the queues can hold. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tools/inspect-priv.h"

#define DIFF "inspect diff"
#define CTX_MAX 16
#define AFTER 2
#define DIFF_QUEUE_BYTES (16u << 20)

/* Streams: VCPU v's own events, v's controller events, VM-wide events,
 * and every VCPU id >= INSPECT_MAX_VCPUS together. */
#define SID_CTL   INSPECT_MAX_VCPUS
#define SID_VM    (2 * INSPECT_MAX_VCPUS)
#define SID_OTHER (SID_VM + 1)
#define NSTREAMS  (SID_OTHER + 1)

static const char diff_usage[] =
"usage: vcprr inspect diff A B [options]\n"
"\n"
"Compares two traces VCPU by VCPU: each VCPU's own events, the\n"
"controller's events for it (PAUSE_REQUEST, SIGNAL_SENT, RESUME_REQUEST)\n"
"and the VM-wide events must be the same in the same order (sequence\n"
"numbers and times aside; VCPU ids of 4096 and more count as one VCPU\n"
"whose events carry their ids).  Prints the earliest divergence with the\n"
"events before and after it, and where the other diverging VCPUs part.\n"
"The headers' mode, seed, VCPU count, memory size and guest hash are\n"
"compared too, and a truncated trace never equals a complete one.\n"
"Exit status: 0 equal, 1 different, 2 usage error, 3 unreadable trace.\n"
"\n"
"options:\n"
"  --ignore LIST   skip these event types (e.g. KICK,SIGNAL_SENT, whose\n"
"                  timing depends on signal delivery)\n"
"  --context N     events shown before the divergence (default 3, <= 16)\n"
"  --guest PATH    symbolise RIPs with this guest ELF\n"
"  --guest-dir DIR look for the recorded guest in DIR too\n";

struct sev {
	struct trace_event ev;
	uint8_t pl[TRACE_MAX_PAYLOAD];
	bool end;          /* the stream ended here */
};

struct divergence {
	bool found;
	uint32_t sid;
	uint64_t idx;                   /* index in the stream */
	struct sev a, b;
	struct sev ctx[CTX_MAX];        /* A's copies of the equal events */
	unsigned nctx;
	struct sev after[2][AFTER];
	unsigned nafter[2];
};

/* An event waiting for its counterpart in the other file. */
struct qev {
	struct qev *next;
	struct trace_event ev;
	uint8_t pl[];
};

enum { ST_OPEN, ST_DIVERGED, ST_DEFERRED };

struct stream {
	struct qev *head, *tail;
	uint8_t qside;        /* the file the queued events come from */
	uint8_t state;
	bool seen;
	uint64_t idx;         /* events found equal so far */
	uint64_t seq;         /* ST_DIVERGED: where (as div_seq) */
};

struct diff {
	struct itrace t[2];
	bool ignore[TEV__COUNT];
	unsigned context;
	uint64_t compared, streams, queued;
	struct stream st[NSTREAMS];
	struct divergence first;
	unsigned others;
	struct { uint32_t sid; uint64_t idx, seq; } other[8];
};

static bool is_ctl(uint32_t type)
{
	return type == TEV_PAUSE_REQUEST || type == TEV_SIGNAL_SENT ||
	       type == TEV_RESUME_REQUEST;
}

/* The stream of @ev, or NSTREAMS for an ignored type. */
static uint32_t stream_of(const struct diff *d, const struct trace_event *ev)
{
	if (ev->type < TEV__COUNT && d->ignore[ev->type])
		return NSTREAMS;
	if (ev->vcpu == TRACE_VCPU_NONE)
		return SID_VM;
	if (ev->vcpu >= INSPECT_MAX_VCPUS)
		return SID_OTHER;
	return ev->vcpu + (is_ctl(ev->type) ? SID_CTL : 0);
}

/* Next event of stream @sid on side @s: 1, 0 at the end, -1 on error. */
static int next_of(struct diff *d, int s, uint32_t sid, struct sev *out)
{
	const uint8_t *pl;
	int ret;

	while ((ret = itrace_next(&d->t[s], &out->ev, &pl)) == 1) {
		if (stream_of(d, &out->ev) != sid)
			continue;
		memcpy(out->pl, pl, out->ev.payload_len);
		out->end = false;
		return 1;
	}
	out->end = true;
	return ret;
}

static bool same(const struct sev *a, const struct sev *b)
{
	return trace_event_same(&a->ev, a->pl, &b->ev, b->pl);
}

static void push_ctx(struct diff *d, struct divergence *c, const struct sev *e)
{
	if (!d->context)
		return;
	if (c->nctx == d->context) {
		memmove(&c->ctx[0], &c->ctx[1], (c->nctx - 1) * sizeof(c->ctx[0]));
		c->nctx--;
	}
	c->ctx[c->nctx++] = *e;
}

static void read_after(struct diff *d, struct divergence *c)
{
	for (int s = 0; s < 2; s++) {
		struct sev *prev = s ? &c->b : &c->a;

		c->nafter[s] = 0;
		while (!prev->end && c->nafter[s] < AFTER &&
		       next_of(d, s, c->sid, &c->after[s][c->nafter[s]]) == 1)
			c->nafter[s]++;
	}
}

static uint64_t div_seq(const struct divergence *v)
{
	return v->a.end ? v->b.ev.seq : v->a.ev.seq;
}

/* Compares stream @sid alone in a pass of its own (no memory needed),
 * with the context of a divergence. */
static int compare_stream(struct diff *d, uint32_t sid, struct divergence *c)
{
	int ra, rb;

	memset(c, 0, sizeof(*c));
	c->sid = sid;
	if (itrace_seek(&d->t[0], false, 0) < 0 ||
	    itrace_seek(&d->t[1], false, 0) < 0)
		return -1;
	for (;; c->idx++) {
		ra = next_of(d, 0, sid, &c->a);
		rb = next_of(d, 1, sid, &c->b);
		if (ra < 0 || rb < 0)
			return -1;
		if (!ra && !rb)
			return 0;
		if (ra != rb || !same(&c->a, &c->b))
			break;
		push_ctx(d, c, &c->a);
	}
	c->found = true;
	read_after(d, c);
	return 0;
}

/* ---- the side-by-side pass */

static void drop_queue(struct diff *d, struct stream *st)
{
	while (st->head) {
		struct qev *q = st->head;

		st->head = q->next;
		d->queued -= sizeof(*q) + q->ev.payload_len;
		free(q);
	}
	st->tail = NULL;
}

static void enqueue(struct diff *d, struct stream *st, int side,
		    const struct trace_event *ev, const uint8_t *pl)
{
	size_t need = sizeof(struct qev) + ev->payload_len;
	struct qev *q = NULL;

	if (d->queued + need <= DIFF_QUEUE_BYTES)
		q = malloc(need);
	if (!q) {   /* too far apart (or no memory): a pass of its own */
		drop_queue(d, st);
		st->state = ST_DEFERRED;
		return;
	}
	q->next = NULL;
	q->ev = *ev;
	memcpy(q->pl, pl, ev->payload_len);
	d->queued += need;
	if (st->tail)
		st->tail->next = q;
	else
		st->head = q;
	st->tail = q;
	st->qside = (uint8_t)side;
}

static void diverged(struct diff *d, struct stream *st, uint64_t seq)
{
	drop_queue(d, st);
	st->state = ST_DIVERGED;
	st->seq = seq;
}

static void feed(struct diff *d, int side, const struct trace_event *ev,
		 const uint8_t *pl)
{
	uint32_t sid = stream_of(d, ev);
	struct stream *st;
	struct qev *q;

	if (sid == NSTREAMS)
		return;
	st = &d->st[sid];
	st->seen = true;
	if (st->state != ST_OPEN)
		return;
	if (!st->head || st->qside == side) {
		enqueue(d, st, side, ev, pl);
		return;
	}
	q = st->head;
	if (!trace_event_same(&q->ev, q->pl, ev, pl)) {
		diverged(d, st, side ? q->ev.seq : ev->seq);  /* A's event */
		return;
	}
	st->idx++;
	st->head = q->next;
	if (!st->head)
		st->tail = NULL;
	d->queued -= sizeof(*q) + q->ev.payload_len;
	free(q);
}

static int side_by_side(struct diff *d)
{
	int r[2] = { 1, 1 };

	while (r[0] == 1 || r[1] == 1)
		for (int s = 0; s < 2; s++) {
			struct trace_event ev;
			const uint8_t *pl;

			if (r[s] == 1)
				r[s] = itrace_next(&d->t[s], &ev, &pl);
			if (r[s] < 0)
				return -1;
			if (r[s] == 1)
				feed(d, s, &ev, pl);
		}
	/* what is still queued has no counterpart: its file ran longer */
	for (uint32_t sid = 0; sid < NSTREAMS; sid++)
		if (d->st[sid].head)
			diverged(d, &d->st[sid], d->st[sid].head->ev.seq);
	return 0;
}

/* ---- results */

static void add_other(struct diff *d, uint32_t sid, uint64_t idx,
		      uint64_t seq)
{
	if (d->others < sizeof(d->other) / sizeof(d->other[0])) {
		d->other[d->others].sid = sid;
		d->other[d->others].idx = idx;
		d->other[d->others].seq = seq;
	}
	d->others++;
}

static int run_deferred(struct diff *d)
{
	for (uint32_t sid = 0; sid < NSTREAMS; sid++) {
		struct stream *st = &d->st[sid];

		if (st->state != ST_DEFERRED)
			continue;
		if (compare_stream(d, sid, &d->first))
			return -1;
		st->state = d->first.found ? ST_DIVERGED : ST_OPEN;
		st->idx = d->first.idx;
		st->seq = div_seq(&d->first);
	}
	return 0;
}

/* Streams in the order they are reported: vm, then per VCPU its own and
 * its controller's, then the VCPU ids past the limit. */
static uint32_t nth_stream(uint32_t i)
{
	if (i == 0)
		return SID_VM;
	if (i == NSTREAMS - 1)
		return SID_OTHER;
	return (i - 1) / 2 + ((i - 1) % 2 ? SID_CTL : 0);
}

static bool vcpu_seen(const struct diff *d, uint32_t sid)
{
	uint32_t v = sid % SID_CTL;

	if (sid >= SID_VM)
		return d->st[sid].seen;
	return d->st[v].seen || d->st[SID_CTL + v].seen;
}

static int compare_all(struct diff *d)
{
	uint32_t first = NSTREAMS;

	if (side_by_side(d) || run_deferred(d))
		return -1;
	for (uint32_t i = 0; i < NSTREAMS; i++) {
		uint32_t sid = nth_stream(i);
		const struct stream *st = &d->st[sid];

		d->streams += sid == SID_VM || vcpu_seen(d, sid);
		d->compared += st->idx;
		if (st->state != ST_DIVERGED)
			continue;
		if (first == NSTREAMS || st->seq < d->st[first].seq)
			first = sid;
	}
	for (uint32_t i = 0; i < NSTREAMS; i++) {
		uint32_t sid = nth_stream(i);

		if (sid != first && d->st[sid].state == ST_DIVERGED)
			add_other(d, sid, d->st[sid].idx, d->st[sid].seq);
	}
	if (first == NSTREAMS) {
		d->first.found = false;
		return 0;
	}
	return compare_stream(d, first, &d->first);
}

static void free_queues(struct diff *d)
{
	for (uint32_t sid = 0; sid < NSTREAMS; sid++)
		drop_queue(d, &d->st[sid]);
}

static const char *stream_name(char *buf, size_t len, uint32_t sid)
{
	if (sid == SID_VM)
		snprintf(buf, len, "vm");
	else if (sid == SID_OTHER)
		snprintf(buf, len, "vcpu >= %u", INSPECT_MAX_VCPUS);
	else
		snprintf(buf, len, "%svcpu %u", sid >= SID_CTL ?
			 "controller -> " : "", sid % SID_CTL);
	return buf;
}

static void print_fields(const struct sev *a, const struct sev *b)
{
	static const char *const names[] = { "vcpu", "exit_seq", "rip",
					     "digest", "a0", "a1", "a2", "a3" };
	const uint64_t x[] = { a->ev.vcpu, a->ev.exit_seq, a->ev.rip,
			       a->ev.digest, a->ev.a0, a->ev.a1, a->ev.a2,
			       a->ev.a3 };
	const uint64_t y[] = { b->ev.vcpu, b->ev.exit_seq, b->ev.rip,
			       b->ev.digest, b->ev.a0, b->ev.a1, b->ev.a2,
			       b->ev.a3 };

	printf("  differs in:");
	if (a->ev.type != b->ev.type) {
		printf(" type (%s vs %s)\n", trace_event_name(a->ev.type) ?: "?",
		       trace_event_name(b->ev.type) ?: "?");
		return;
	}
	for (int i = 0; i < 8; i++)
		if (x[i] != y[i])
			printf(" %s (0x%" PRIx64 " vs 0x%" PRIx64 ")", names[i],
			       x[i], y[i]);
	if (a->ev.payload_len != b->ev.payload_len ||
	    memcmp(a->pl, b->pl, a->ev.payload_len))
		printf(" payload");
	putchar('\n');
}

static void print_side(struct diff *d, const struct ifmt *fmt, int s,
		       const struct sev *e)
{
	printf("  %c ", "AB"[s]);
	if (!e->end) {
		ifmt_text(stdout, fmt + s, &e->ev, e->pl);
		putchar('\n');
		return;
	}
	printf("(%s ends here: %s)\n", d->t[s].path,
	       trace_reader_truncated(d->t[s].r) ?
	       "the trace is truncated" : "no more events");
}

static void print_first(struct diff *d, const struct ifmt *fmt)
{
	const struct divergence *v = &d->first;
	char name[32];

	printf("first divergence: %s, its event %" PRIu64 "\n",
	       stream_name(name, sizeof(name), v->sid), v->idx);
	for (unsigned i = 0; i < v->nctx; i++) {
		printf("    ");
		ifmt_text(stdout, fmt, &v->ctx[i].ev, v->ctx[i].pl);
		printf("\n");
	}
	print_side(d, fmt, 0, &v->a);
	print_side(d, fmt, 1, &v->b);
	if (!v->a.end && !v->b.end)
		print_fields(&v->a, &v->b);
	for (int s = 0; s < 2; s++)
		for (unsigned i = 0; i < v->nafter[s]; i++) {
			printf("  %c then ", "AB"[s]);
			ifmt_text(stdout, fmt + s, &v->after[s][i].ev,
				  v->after[s][i].pl);
			putchar('\n');
		}
}

static void print_others(const struct diff *d)
{
	unsigned n = d->others < 8 ? d->others : 8;
	char name[32];

	if (!d->others)
		return;
	printf("also diverging:");
	for (unsigned i = 0; i < n; i++)
		printf("%s %s at its event %" PRIu64 " (#%" PRIu64 ")",
		       i ? "," : "", stream_name(name, sizeof(name),
						 d->other[i].sid),
		       d->other[i].idx, d->other[i].seq);
	if (d->others > n)
		printf(", and %u more", d->others - n);
	putchar('\n');
}

static bool headers_differ(const struct run_desc *a, const struct run_desc *b)
{
	bool diff = false;

	if (a->sched.mode != b->sched.mode) {
		printf("header: mode %s vs %s\n", sched_mode_name(a->sched.mode),
		       sched_mode_name(b->sched.mode));
		diff = true;
	}
	if (a->sched.seed != b->sched.seed) {
		printf("header: seed %" PRIu64 " vs %" PRIu64 "\n", a->sched.seed,
		       b->sched.seed);
		diff = true;
	}
	if (a->nr_vcpus != b->nr_vcpus || a->mem_size != b->mem_size) {
		printf("header: %u VCPUs, %" PRIu64 " bytes vs %u VCPUs, %"
		       PRIu64 " bytes\n", a->nr_vcpus, a->mem_size,
		       b->nr_vcpus, b->mem_size);
		diff = true;
	}
	if (memcmp(a->guest.sha256, b->guest.sha256, sizeof(a->guest.sha256))) {
		printf("header: different guest images (SHA-256)\n");
		diff = true;
	}
	return diff;
}

static int run(struct diff *d, const struct iguest *guest)
{
	struct symtab *st = NULL;
	struct ifmt fmt[2];
	char state[2][128];
	bool hdr;
	int ret;

	ret = compare_all(d);
	free_queues(d);
	if (ret)
		return INSPECT_BAD_INPUT;
	ret = inspect_symbols(&d->t[0], guest, true, &st);
	if (ret)
		return ret;
	for (int s = 0; s < 2; s++) {
		fmt[s] = (struct ifmt){ .syms = st, .t0 = d->t[s].t0 };
		itrace_state(&d->t[s], state[s], sizeof(state[s]));
		printf("%c  %s (%s)\n", "AB"[s], d->t[s].path, state[s]);
	}
	hdr = headers_differ(&d->t[0].desc, &d->t[1].desc);
	if (trace_reader_truncated(d->t[0].r) !=
	    trace_reader_truncated(d->t[1].r)) {
		printf("%c is truncated and %c is not\n",
		       trace_reader_truncated(d->t[0].r) ? 'A' : 'B',
		       trace_reader_truncated(d->t[0].r) ? 'B' : 'A');
		hdr = true;
	}
	if (d->first.found)
		print_first(d, fmt);
	print_others(d);
	symtab_free(st);
	if (!d->first.found && !hdr) {
		printf("equal: %" PRIu64 " events in %" PRIu64 " streams "
		       "(vm, VCPUs, controller), sequence numbers and times aside\n",
		       d->compared, d->streams);
		return INSPECT_OK;
	}
	return INSPECT_DIFFERENT;
}

static int parse_args(int argc, char **argv, struct diff *d,
		      const char **paths, struct iguest *guest)
{
	unsigned npaths = 0;

	d->context = 3;
	for (int i = 1; i < argc; i++) {
		bool bad = false;
		const char *v;
		char *end;

		if ((v = iopt(argc, argv, &i, "ignore", &bad))) {
			if (itype_set_parse(DIFF, "ignore", v, d->ignore))
				return -1;
		} else if ((v = iopt(argc, argv, &i, "context", &bad))) {
			d->context = (unsigned)strtoul(v, &end, 10);
			if (*end || !*v || d->context > CTX_MAX) {
				fprintf(stderr, "vcprr %s: --context '%s': "
					"expected 0..%d\n", DIFF, v, CTX_MAX);
				return -1;
			}
		} else if (iguest_opt(argc, argv, &i, guest, &bad)) {
			continue;
		} else if (bad || iarg_is_option(argv[i]) || npaths == 2) {
			fprintf(stderr, "vcprr %s: %s '%s'\n", DIFF, bad ?
				"missing value for" : "unexpected argument",
				argv[i]);
			return -1;
		} else {
			paths[npaths++] = argv[i];
		}
	}
	if (npaths == 2)
		return 0;
	fprintf(stderr, "vcprr %s: need two traces (vcprr inspect diff A B)\n",
		DIFF);
	return -1;
}

int inspect_diff_main(int argc, char **argv)
{
	const char *paths[2];
	struct iguest guest = { 0 };
	struct diff *d;
	int ret;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(diff_usage, stdout);
			return INSPECT_OK;
		}
	d = calloc(1, sizeof(*d));
	if (!d)
		return INSPECT_BAD_INPUT;
	ret = parse_args(argc, argv, d, paths, &guest) ? INSPECT_USAGE : 0;
	if (!ret)
		ret = itrace_open(&d->t[0], paths[0], DIFF);
	if (!ret) {
		ret = itrace_open(&d->t[1], paths[1], DIFF);
		if (!ret) {
			ret = run(d, &guest);
			itrace_close(&d->t[1]);
		}
		itrace_close(&d->t[0]);
	}
	fflush(stdout);
	free(d);
	return ret;
}
