/* vcprr inspect FILE: what a trace holds, in one screen.  Streams the file
 * once with bounded memory (counters, fixed-size latency histograms). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tools/inspect-pauses.h"
#include "tools/inspect-priv.h"
#include "traces/sha256.h"

#define SUMMARY "inspect"

/* Log-linear latency histogram: exact below 64 ns, then 64 buckets per
 * power of two (< 1.6% error), so percentiles of any number of pauses fit
 * in 15 KB. */
#define HSUB      6
#define HBUCKETS  ((64 - HSUB + 1) << HSUB)

struct hist {
	uint64_t count, max;
	uint32_t b[HBUCKETS];
};

static unsigned hist_index(uint64_t v)
{
	unsigned e;

	if (v < (1u << HSUB))
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v);
	return ((e - HSUB + 1) << HSUB) + (unsigned)((v >> (e - HSUB)) &
						     ((1u << HSUB) - 1));
}

/* Smallest value of bucket @idx: exact for round numbers. */
static uint64_t hist_lower(unsigned idx)
{
	unsigned e = (idx >> HSUB) + HSUB - 1;
	uint64_t mant = idx & ((1u << HSUB) - 1);

	if (idx < (1u << HSUB))
		return idx;
	return ((1ull << HSUB) + mant) << (e - HSUB);
}

static void hist_add(struct hist *h, uint64_t v)
{
	uint32_t *b = &h->b[hist_index(v)];

	if (*b != UINT32_MAX)
		(*b)++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

static uint64_t hist_pct(const struct hist *h, double p)
{
	uint64_t rank = (uint64_t)(p / 100.0 * (double)h->count + 0.999999);
	uint64_t cum = 0;

	if (!rank)
		rank = 1;
	if (rank >= h->count)
		return h->max;   /* exact for the top sample */
	for (unsigned i = 0; i < HBUCKETS; i++) {
		cum += h->b[i];
		if (cum >= rank)
			return hist_lower(i) < h->max ? hist_lower(i) : h->max;
	}
	return h->max;
}

enum { LAT_REQ_SIG, LAT_SIG_TAKEN, LAT_REQ_TAKEN, LAT_PAUSED, LAT__COUNT };

static const char *const lat_names[LAT__COUNT] = {
	"request -> signal", "signal -> taken", "request -> taken",
	"taken -> resumed",
};

struct summary {
	/* counts[vcpu][type] for VCPUs 0..slots-1 (room for cap), vm[type]
	 * for VM-wide events */
	uint64_t (*counts)[TEV__COUNT];
	uint32_t slots, cap;
	uint64_t vm[TEV__COUNT];
	uint64_t totals[TEV__COUNT];
	uint64_t other_vcpu;      /* events of VCPU ids >= INSPECT_MAX_VCPUS */
	uint64_t events, tmin, tmax;
	uint64_t pio[2][65536];   /* [out][port] */
	uint64_t mmio[2];
	struct trace_event end;   /* VM_END when seen */
	bool have_end;
	/* pauses */
	struct hist lat[LAT__COUNT];
	uint64_t lives, taken, coalesced, never_taken, unresumed, evicted;
	struct pause_life longest;
	uint64_t longest_ns;
};

/* Grows by doubling: VCPU ids that come one after another (0, 1, 2 ...
 * 4095) must not copy the table each time. */
static int ensure_slots(struct summary *s, uint32_t need)
{
	uint64_t (*c)[TEV__COUNT];
	uint32_t cap = s->cap ? s->cap : 8;

	if (need <= s->slots)
		return 0;
	if (need > s->cap) {
		while (cap < need)
			cap *= 2;
		c = realloc(s->counts, (size_t)cap * sizeof(*c));
		if (!c)
			return -1;
		memset(c + s->cap, 0, (size_t)(cap - s->cap) * sizeof(*c));
		s->counts = c;
		s->cap = cap;
	}
	s->slots = need;
	return 0;
}

static void on_life(void *ctx, const struct pause_life *l)
{
	struct summary *s = ctx;
	bool self = l->into == l->req_seq;

	s->lives++;
	s->evicted += l->evicted;
	if (pstep_ok(&l->coalesced))
		s->coalesced++;
	else if (!pstep_ok(&l->taken))
		s->never_taken++;
	if (pstep_ok(&l->request) && pstep_ok(&l->signal))
		hist_add(&s->lat[LAT_REQ_SIG], l->signal.time - l->request.time);
	if (!self || !pstep_ok(&l->taken))
		return;
	s->taken++;
	if (pstep_ok(&l->signal))
		hist_add(&s->lat[LAT_SIG_TAKEN], l->taken.time - l->signal.time);
	if (pstep_ok(&l->request))
		hist_add(&s->lat[LAT_REQ_TAKEN], l->taken.time - l->request.time);
	if (!pstep_ok(&l->resumed)) {
		s->unresumed++;
		return;
	}
	hist_add(&s->lat[LAT_PAUSED], l->resumed.time - l->taken.time);
	if (l->resumed.time - l->taken.time >= s->longest_ns) {
		s->longest_ns = l->resumed.time - l->taken.time;
		s->longest = *l;
	}
}

/* Per-event work: keep it small, this is the benchmarked loop. */
static int account(struct summary *s, const struct trace_event *ev)
{
	uint32_t type = ev->type < TEV__COUNT ? ev->type : TEV_NONE;
	uint32_t v = ev->vcpu;

	if (v == TRACE_VCPU_NONE) {
		s->vm[type]++;
	} else if (v >= INSPECT_MAX_VCPUS) {
		s->other_vcpu++;
		s->vm[type]++;
	} else {
		if (v >= s->slots && ensure_slots(s, v + 1))
			return -1;
		s->counts[v][type]++;
	}
	if (ev->time_ns < s->tmin)
		s->tmin = ev->time_ns;
	if (ev->time_ns > s->tmax)
		s->tmax = ev->time_ns;
	if (type == TEV_EXIT_PIO)
		s->pio[tev_access_write(ev->a1)][ev->a0 & 0xffff]++;
	else if (type == TEV_EXIT_MMIO)
		s->mmio[tev_access_write(ev->a1)]++;
	else if (type == TEV_VM_END)
		s->end = *ev, s->have_end = true;
	return 0;
}

/* Called once the counts are complete. */
static void count_totals(struct summary *s)
{
	for (uint32_t t = 0; t < TEV__COUNT; t++) {
		s->totals[t] = s->vm[t];
		for (uint32_t i = 0; i < s->slots; i++)
			s->totals[t] += s->counts[i][t];
	}
}

static uint64_t type_total(const struct summary *s, uint32_t type)
{
	return s->totals[type];
}

/* The guest's --arg and --data, when the run had any. */
static void print_input(FILE *f, const struct vm_guest_input *in)
{
	uint8_t digest[32];
	char hex[65];

	if (!in->argc && !in->data_len)
		return;
	fputs("input     ", f);
	for (unsigned i = 0; i < in->argc; i++)
		fprintf(f, "%s%" PRIu64, i ? ", " : " args ", in->argv[i]);
	if (in->data_len) {
		sha256(in->data, in->data_len, digest);
		sha256_hex(digest, hex);
		fprintf(f, "%s data %u bytes, sha256 %s", in->argc ? ";" : "",
			in->data_len, hex);
	}
	fputc('\n', f);
}

static void print_header(FILE *f, const struct itrace *t,
			 const struct summary *s)
{
	const struct run_desc *d = &t->desc;
	char state[128], hex[65], dur[32];

	itrace_state(t, state, sizeof(state));
	sha256_hex(d->guest.sha256, hex);
	fprintf(f, "trace      %s (format %u, %s)\n", t->path, t->h->version,
		state);
	if (trace_reader_truncation(t->r))
		fprintf(f, "           %s\n", trace_reader_truncation(t->r));
	fputs("guest      ", f);
	if (d->kind == RUN_KIND_CROSVM_PLUGIN) {
		fputs("the memory of crosvm plugin ", f);
		fput_text(f, *d->program ? d->program : "(unknown)");
	} else {
		fput_text(f, *d->guest.path ? d->guest.path : "(unknown)");
	}
	fprintf(f, "\n           sha256 %s\n", hex);
	fprintf(f, "run        mode %s, seed %" PRIu64 ", %u VCPUs, %" PRIu64
		" MiB\n", sched_mode_name(d->sched.mode), d->sched.seed,
		d->nr_vcpus, d->mem_size >> 20);
	print_input(f, &d->input);
	fprintf(f, "events     %" PRIu64 " read", s->events);
	if (s->events)
		fprintf(f, ", over %s", fmt_dur(dur, sizeof(dur),
						s->tmax - s->tmin));
	fputc('\n', f);
	if (s->have_end)
		fprintf(f, "end        %s, exit code %" PRId64 ", memory digest "
			"0x%016" PRIx64 "\n", trace_end_reason_name(s->end.a0),
			(int64_t)s->end.a1, s->end.a2);
	else
		fprintf(f, "end        no VM_END event (recording cut short)\n");
	if (s->other_vcpu)
		fprintf(f, "warning    %" PRIu64 " events name VCPU ids >= %u "
			"(counted as VM-wide)\n", s->other_vcpu,
			INSPECT_MAX_VCPUS);
}

/* Rows are event types, columns VCPUs (8 per block) plus VM-wide. */
static void print_counts_block(FILE *f, const struct summary *s,
			       const uint32_t *cols, unsigned n, bool vm)
{
	fprintf(f, "  %-16s", "type");
	for (unsigned i = 0; i < n; i++) {
		char name[16];

		snprintf(name, sizeof(name), "vcpu%-2u", cols[i]);
		fprintf(f, " %11s", name);
	}
	if (vm)
		fprintf(f, " %11s %11s", "vm", "total");
	fputc('\n', f);
	for (uint32_t t = 0; t < TEV__COUNT; t++) {
		uint64_t total = type_total(s, t);

		if (!total)
			continue;
		fprintf(f, "  %-16s", t ? trace_event_name(t) : "(unknown)");
		for (unsigned i = 0; i < n; i++)
			fprintf(f, " %11" PRIu64, s->counts[cols[i]][t]);
		if (vm)
			fprintf(f, " %11" PRIu64 " %11" PRIu64,
				s->vm[t], total);
		fputc('\n', f);
	}
}

static bool has_events(const struct summary *s, uint32_t v)
{
	for (uint32_t t = 0; t < TEV__COUNT; t++)
		if (s->counts[v][t])
			return true;
	return false;
}

/* The next (up to) 8 VCPUs with events from *v on, skipping and counting
 * those without, so that a stray id of 4000 adds a column, not 4000. */
static unsigned next_cols(const struct summary *s, uint32_t *v,
			  uint32_t cols[8], uint32_t *empty)
{
	unsigned n = 0;

	for (; *v < s->slots && n < 8; (*v)++) {
		if (has_events(s, *v))
			cols[n++] = *v;
		else
			(*empty)++;
	}
	for (; *v < s->slots && !has_events(s, *v); (*v)++)
		(*empty)++;
	return n;
}

static void print_counts(FILE *f, const struct summary *s)
{
	uint32_t v = 0, cols[8], empty = 0;

	fprintf(f, "\nevents by type and VCPU:\n");
	do {
		unsigned n = next_cols(s, &v, cols, &empty);

		print_counts_block(f, s, cols, n, v == s->slots);
		if (v < s->slots)
			fputc('\n', f);
	} while (v < s->slots);
	if (empty)
		fprintf(f, "  (%u VCPUs of ids 0..%u have no events)\n", empty,
			s->slots - 1);
}

static void print_pauses(FILE *f, const struct summary *s)
{
	char b[4][32], tb[40];
	const struct pause_life *l = &s->longest;

	fprintf(f, "\npauses:\n");
	fprintf(f, "  requests %" PRIu64 ", signals %" PRIu64 ", kicks %"
		PRIu64 ", taken %" PRIu64 ", coalesced %" PRIu64
		", never taken %" PRIu64 ", resumed %" PRIu64 "\n",
		type_total(s, TEV_PAUSE_REQUEST),
		type_total(s, TEV_SIGNAL_SENT), type_total(s, TEV_KICK),
		type_total(s, TEV_PAUSE_TAKEN), s->coalesced, s->never_taken,
		type_total(s, TEV_RESUMED));
	if (s->unresumed || s->evicted)
		fprintf(f, "  %" PRIu64 " pauses never resumed, %" PRIu64
			" requests not followed (too many open)\n",
			s->unresumed, s->evicted);
	fprintf(f, "  %-18s %8s %10s %10s %10s\n", "latency", "count", "p50",
		"p99", "max");
	for (int i = 0; i < LAT__COUNT; i++) {
		const struct hist *h = &s->lat[i];

		if (!h->count)
			continue;
		fprintf(f, "  %-18s %8" PRIu64 " %10s %10s %10s\n",
			lat_names[i], h->count,
			fmt_dur(b[0], sizeof(b[0]), hist_pct(h, 50)),
			fmt_dur(b[1], sizeof(b[1]), hist_pct(h, 99)),
			fmt_dur(b[2], sizeof(b[2]), h->max));
	}
	if (!s->longest_ns && !s->lat[LAT_PAUSED].count)
		return;
	fprintf(f, "  longest pause %s: vcpu %u request %u:%" PRIu64
		" (data 0x%" PRIx64 "), taken at #%" PRIu64 " %ss\n",
		fmt_dur(b[3], sizeof(b[3]), s->longest_ns), l->vcpu, l->vcpu,
		l->req_seq, l->data, l->taken.seq,
		fmt_reltime(tb, sizeof(tb), l->taken.time, s->tmin));
}

static int port_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] != y[0] ? (x[0] < y[0] ? 1 : -1) : (x[1] > y[1]) - (x[1] < y[1]);
}

static void print_exits(FILE *f, const struct summary *s)
{
	static const uint32_t kinds[] = { TEV_EXIT_PIO, TEV_EXIT_MMIO,
		TEV_EXIT_HLT, TEV_EXIT_DEBUG, TEV_HYPERCALL };
	uint64_t top[8][3] = { { 0 } };  /* count, port|dir<<16 */
	int ntop = 0;

	fprintf(f, "\nexits:\n");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		fprintf(f, "  %-12s %11" PRIu64 "\n", trace_event_name(kinds[i]),
			type_total(s, kinds[i]));
	fprintf(f, "  %-12s %11" PRIu64 " reads, %" PRIu64 " writes\n", "  MMIO",
		s->mmio[0], s->mmio[1]);
	for (uint32_t d = 0; d < 2; d++)
		for (uint32_t p = 0; p < 65536; p++) {
			uint64_t row[3] = { s->pio[d][p], p | d << 16, 0 };

			if (!row[0])
				continue;
			if (ntop < 8) {
				memcpy(top[ntop++], row, sizeof(row));
			} else if (port_cmp(row, top[7]) < 0) {
				memcpy(top[7], row, sizeof(row));
			} else {
				continue;
			}
			qsort(top, ntop, sizeof(top[0]), port_cmp);
		}
	for (int i = 0; i < ntop; i++)
		fprintf(f, "  %-12s %11" PRIu64 "  port 0x%" PRIx64 " %s\n",
			i ? "" : "  PIO by port", top[i][0], top[i][1] & 0xffff,
			top[i][1] >> 16 ? "out" : "in");
}

static int summarise(struct itrace *t, struct summary *s, uint64_t *events)
{
	struct pause_tracker *pt = pause_tracker_new(on_life, s);
	struct trace_event ev;
	int ret;

	if (!pt || ensure_slots(s, t->desc.nr_vcpus < INSPECT_MAX_VCPUS ?
				   t->desc.nr_vcpus : 0)) {
		pause_tracker_free(pt);
		fprintf(stderr, "vcprr %s: out of memory\n", SUMMARY);
		return -1;
	}
	s->tmin = UINT64_MAX;
	while ((ret = itrace_next(t, &ev, NULL)) == 1) {
		s->events++;
		if (account(s, &ev))
			break;
		pause_tracker_feed(pt, &ev);
	}
	pause_tracker_finish(pt);
	pause_tracker_free(pt);
	if (!s->events)
		s->tmin = s->tmax = 0;
	*events = s->events;
	return ret;
}

int inspect_summary_file(const char *path, FILE *out, uint64_t *events)
{
	struct summary *s = calloc(1, sizeof(*s));
	struct itrace t;
	uint64_t n = 0;
	int ret;

	if (!s)
		return INSPECT_BAD_INPUT;
	ret = itrace_open(&t, path, SUMMARY);
	if (ret)
		goto out;
	ret = summarise(&t, s, &n) ? INSPECT_BAD_INPUT : INSPECT_OK;
	count_totals(s);
	print_header(out, &t, s);
	print_counts(out, s);
	print_pauses(out, s);
	print_exits(out, s);
	if (ret)
		fprintf(out, "\nthe trace is corrupt after %" PRIu64 " events "
			"(see the error above); the summary covers those\n", n);
	itrace_close(&t);
out:
	if (events)
		*events = n;
	free(s->counts);
	free(s);
	return ret;
}

int inspect_summary_main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: vcprr inspect [summary] FILE   (FILE '-': stdin)\n");
		return INSPECT_OK;
	}
	if (argc != 2 || iarg_is_option(argv[1])) {
		fprintf(stderr, "usage: vcprr inspect [summary] FILE\n");
		return INSPECT_USAGE;
	}
	return inspect_summary_file(argv[1], stdout, NULL);
}
