/* vcprr inspect diff A B: align two traces per VCPU and show where they
 * first part.
 *
 * Each VCPU's own events, the controller's events aimed at it (requests,
 * signals, resumes: their interleaving with the VCPU's events is timing)
 * and the VM-wide events form streams; two traces are equal when every
 * stream holds the same events in the same order, seq and time aside.  Streams are compared one per pass over both files, so memory
 * stays bounded whatever the interleaving of VCPUs in either run. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tools/inspect-priv.h"

#define DIFF "inspect diff"
#define CTX_MAX 16
#define AFTER 2

static const char diff_usage[] =
"usage: vcprr inspect diff A B [options]\n"
"\n"
"Compares two traces VCPU by VCPU: each VCPU's own events, the\n"
"controller's events for it (PAUSE_REQUEST, SIGNAL_SENT, RESUME_REQUEST)\n"
"and the VM-wide events must be the same in the same order (sequence\n"
"numbers and times aside).  Prints the earliest divergence with the events before and after\n"
"it, and where the other diverging VCPUs part.  The headers' mode, seed,\n"
"VCPU count, memory size and guest hash are compared too, and a truncated\n"
"trace never equals a complete one.\n"
"Exit status: 0 equal, 1 different, 2 usage error, 3 unreadable trace.\n"
"\n"
"options:\n"
"  --ignore LIST   skip these event types (e.g. KICK,SIGNAL_SENT, whose\n"
"                  timing depends on signal delivery)\n"
"  --context N     events shown before the divergence (default 3, <= 16)\n"
"  --guest PATH    symbolise RIPs with this guest ELF\n";

struct sev {
	struct trace_event ev;
	uint8_t pl[TRACE_MAX_PAYLOAD];
	bool end;          /* the stream ended here */
};

struct divergence {
	bool found;
	uint32_t vcpu;
	bool ctl;                       /* the controller's stream for vcpu */
	uint64_t idx;                   /* index in the stream */
	struct sev a, b;
	struct sev ctx[CTX_MAX];        /* A's copies of the equal events */
	unsigned nctx;
	struct sev after[2][AFTER];
	unsigned nafter[2];
};

struct diff {
	struct itrace t[2];
	bool ignore[TEV__COUNT];
	unsigned context;
	uint8_t seen[INSPECT_MAX_VCPUS / 8];
	uint64_t compared, streams;
	struct divergence first, cur;
	unsigned others;
	struct { uint32_t vcpu; bool ctl; uint64_t idx, seq; } other[8];
};

static void mark_seen(struct diff *d, uint32_t vcpu)
{
	if (vcpu < INSPECT_MAX_VCPUS)
		d->seen[vcpu / 8] |= (uint8_t)(1u << (vcpu % 8));
}

static bool is_ctl(uint32_t type)
{
	return type == TEV_PAUSE_REQUEST || type == TEV_SIGNAL_SENT ||
	       type == TEV_RESUME_REQUEST;
}

/* Next event of stream (@vcpu, @ctl) on side @s: 1, 0 at the end, -1 on
 * error. */
static int next_of(struct diff *d, int s, uint32_t vcpu, bool ctl,
		   struct sev *out)
{
	const uint8_t *pl;
	int ret;

	while ((ret = itrace_next(&d->t[s], &out->ev, &pl)) == 1) {
		uint32_t t = out->ev.type;

		mark_seen(d, out->ev.vcpu);
		if (out->ev.vcpu != vcpu || (t < TEV__COUNT && d->ignore[t]))
			continue;
		if (vcpu != TRACE_VCPU_NONE && is_ctl(t) != ctl)
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
	const struct trace_event *x = &a->ev, *y = &b->ev;

	return x->type == y->type && x->exit_seq == y->exit_seq &&
	       x->rip == y->rip && x->digest == y->digest && x->a0 == y->a0 &&
	       x->a1 == y->a1 && x->a2 == y->a2 && x->a3 == y->a3 &&
	       x->payload_len == y->payload_len &&
	       !memcmp(a->pl, b->pl, x->payload_len);
}

static void push_ctx(struct diff *d, const struct sev *e)
{
	struct divergence *c = &d->cur;

	if (!d->context)
		return;
	if (c->nctx == d->context) {
		memmove(&c->ctx[0], &c->ctx[1], (c->nctx - 1) * sizeof(c->ctx[0]));
		c->nctx--;
	}
	c->ctx[c->nctx++] = *e;
}

static void read_after(struct diff *d, uint32_t vcpu)
{
	for (int s = 0; s < 2; s++) {
		struct sev *prev = s ? &d->cur.b : &d->cur.a;

		d->cur.nafter[s] = 0;
		while (!prev->end && d->cur.nafter[s] < AFTER &&
		       next_of(d, s, vcpu, d->cur.ctl, &d->cur.after[s][d->cur.nafter[s]]) == 1)
			d->cur.nafter[s]++;
	}
}

static uint64_t div_seq(const struct divergence *v)
{
	return v->a.end ? v->b.ev.seq : v->a.ev.seq;
}

static void add_other(struct diff *d, const struct divergence *v)
{
	if (d->others < sizeof(d->other) / sizeof(d->other[0])) {
		d->other[d->others].vcpu = v->vcpu;
		d->other[d->others].ctl = v->ctl;
		d->other[d->others].idx = v->idx;
		d->other[d->others].seq = div_seq(v);
	}
	d->others++;
}

static void swap_first(struct diff *d)
{
	if (d->first.found)
		add_other(d, &d->first);
	d->first = d->cur;
}

/* Compares stream @vcpu; a divergence goes to d->first or d->others. */
static int compare_stream(struct diff *d, uint32_t vcpu, bool ctl)
{
	struct divergence *c = &d->cur;
	int ra, rb;

	memset(c, 0, sizeof(*c));
	c->vcpu = vcpu;
	c->ctl = ctl;
	if (itrace_seek(&d->t[0], false, 0) < 0 ||
	    itrace_seek(&d->t[1], false, 0) < 0)
		return -1;
	d->streams++;
	for (;; c->idx++) {
		ra = next_of(d, 0, vcpu, ctl, &c->a);
		rb = next_of(d, 1, vcpu, ctl, &c->b);
		if (ra < 0 || rb < 0)
			return -1;
		if (!ra && !rb)
			return 0;
		if (ra != rb || !same(&c->a, &c->b))
			break;
		d->compared++;
		push_ctx(d, &c->a);
	}
	c->found = true;
	read_after(d, vcpu);
	if (!d->first.found || div_seq(c) < div_seq(&d->first))
		swap_first(d);
	else
		add_other(d, c);
	return 0;
}

static const char *stream_name(char *buf, size_t len, uint32_t vcpu,
			       bool ctl)
{
	if (vcpu == TRACE_VCPU_NONE)
		snprintf(buf, len, "vm");
	else
		snprintf(buf, len, "%svcpu %u", ctl ? "controller -> " : "",
			 vcpu);
	return buf;
}

static void print_fields(const struct sev *a, const struct sev *b)
{
	static const char *const names[] = { "exit_seq", "rip", "digest",
					     "a0", "a1", "a2", "a3" };
	const uint64_t x[] = { a->ev.exit_seq, a->ev.rip, a->ev.digest,
			       a->ev.a0, a->ev.a1, a->ev.a2, a->ev.a3 };
	const uint64_t y[] = { b->ev.exit_seq, b->ev.rip, b->ev.digest,
			       b->ev.a0, b->ev.a1, b->ev.a2, b->ev.a3 };

	printf("  differs in:");
	if (a->ev.type != b->ev.type) {
		printf(" type (%s vs %s)\n", trace_event_name(a->ev.type) ?: "?",
		       trace_event_name(b->ev.type) ?: "?");
		return;
	}
	for (int i = 0; i < 7; i++)
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
	       stream_name(name, sizeof(name), v->vcpu, v->ctl), v->idx);
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
						 d->other[i].vcpu,
						 d->other[i].ctl),
		       d->other[i].idx, d->other[i].seq);
	if (d->others > n)
		printf(", and %u more", d->others - n);
	putchar('\n');
}

static bool headers_differ(const struct trace_header *a,
			   const struct trace_header *b)
{
	bool diff = false;

	if (strcmp(a->mode, b->mode)) {
		printf("header: mode %s vs %s\n", a->mode, b->mode);
		diff = true;
	}
	if (a->seed != b->seed) {
		printf("header: seed %" PRIu64 " vs %" PRIu64 "\n", a->seed,
		       b->seed);
		diff = true;
	}
	if (a->nr_vcpus != b->nr_vcpus || a->mem_size != b->mem_size) {
		printf("header: %u VCPUs, %" PRIu64 " bytes vs %u VCPUs, %"
		       PRIu64 " bytes\n", a->nr_vcpus, a->mem_size,
		       b->nr_vcpus, b->mem_size);
		diff = true;
	}
	if (memcmp(a->guest_hash, b->guest_hash, sizeof(a->guest_hash))) {
		printf("header: different guest images (SHA-256)\n");
		diff = true;
	}
	return diff;
}

static int compare_all(struct diff *d)
{
	struct sev *tmp = &d->cur.a;
	int ret = 0;

	if (compare_stream(d, TRACE_VCPU_NONE, false))
		return -1;
	/* finish the VCPU census: the vm pass may have stopped early */
	for (int s = 0; s < 2 && ret >= 0; s++)
		while ((ret = next_of(d, s, TRACE_VCPU_NONE - 1, false, tmp)) == 1)
			;
	if (ret < 0)
		return -1;
	for (uint32_t v = 0; v < INSPECT_MAX_VCPUS; v++)
		if ((d->seen[v / 8] >> (v % 8) & 1) &&
		    (compare_stream(d, v, false) || compare_stream(d, v, true)))
			return -1;
	return 0;
}

static int run(struct diff *d, const char *guest)
{
	struct symtab *st = NULL;
	struct ifmt fmt[2];
	char state[2][128];
	bool hdr;
	int ret;

	if (compare_all(d))
		return INSPECT_BAD_INPUT;
	ret = inspect_symbols(d->t[0].h, guest, true, &st);
	if (ret)
		return ret;
	for (int s = 0; s < 2; s++) {
		fmt[s] = (struct ifmt){ .syms = st, .t0 = d->t[s].t0 };
		itrace_state(&d->t[s], state[s], sizeof(state[s]));
		printf("%c  %s (%s)\n", "AB"[s], d->t[s].path, state[s]);
	}
	hdr = headers_differ(d->t[0].h, d->t[1].h);
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
		      const char **paths, const char **guest)
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
		} else if ((v = iopt(argc, argv, &i, "guest", &bad))) {
			*guest = v;
		} else if (bad || argv[i][0] == '-' || npaths == 2) {
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
	const char *paths[2], *guest = NULL;
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
			ret = run(d, guest);
			itrace_close(&d->t[1]);
		}
		itrace_close(&d->t[0]);
	}
	fflush(stdout);
	free(d);
	return ret;
}
