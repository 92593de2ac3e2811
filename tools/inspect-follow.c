/* vcprr inspect follow FILE REQ: one pause request's life, step by step. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tools/inspect-pauses.h"
#include "tools/inspect-priv.h"

#define FOLLOW "inspect follow"

struct follow {
	uint32_t vcpu;
	uint64_t req_seq;
	bool found;
	struct pause_life life;
};

/* "2:17" (VCPU:req_seq) or "#1234" / "1234" (seq of the PAUSE_REQUEST). */
static int parse_req(const char *s, bool *by_seq, uint32_t *vcpu,
		     uint64_t *n)
{
	const char *p = s + (*s == '#');
	char *end;
	uint64_t a;

	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	a = strtoull(p, &end, 10);
	if (errno)
		return -1;
	*by_seq = !*end;
	if (*by_seq) {
		*n = a;
		return 0;
	}
	if (*s == '#' || *end != ':' || a >= INSPECT_MAX_VCPUS ||
	    !isdigit((unsigned char)end[1]))
		return -1;
	*vcpu = (uint32_t)a;
	*n = strtoull(end + 1, &end, 10);
	return errno || *end ? -1 : 0;
}

/* Finds the PAUSE_REQUEST for fo->vcpu:fo->req_seq; returns its seq. */
static int find_by_req(struct itrace *t, struct follow *fo, uint64_t *seq)
{
	struct trace_event ev;
	uint64_t last = 0;
	int ret;

	while ((ret = itrace_next(t, &ev, NULL)) == 1) {
		if (ev.type != TEV_PAUSE_REQUEST || ev.vcpu != fo->vcpu)
			continue;
		if (ev.a1 == fo->req_seq) {
			*seq = ev.seq;
			return 0;
		}
		last = ev.a1 > last ? ev.a1 : last;
	}
	if (ret < 0)
		return INSPECT_BAD_INPUT;
	fprintf(stderr, "vcprr %s: %s has no pause request %u:%" PRIu64
		" (VCPU %u's requests go up to %" PRIu64 ")\n", FOLLOW, t->path,
		fo->vcpu, fo->req_seq, fo->vcpu, last);
	return INSPECT_USAGE;
}

static int check_request(struct itrace *t, uint64_t seq, struct follow *fo)
{
	struct trace_event ev;
	int ret = itrace_seek(t, false, seq);

	if (ret == 1)
		ret = itrace_next(t, &ev, NULL);
	if (ret < 0)
		return INSPECT_BAD_INPUT;
	if (ret == 0 || ev.seq != seq) {
		fprintf(stderr, "vcprr %s: %s has no event #%" PRIu64 "\n",
			FOLLOW, t->path, seq);
		return INSPECT_USAGE;
	}
	if (ev.type != TEV_PAUSE_REQUEST) {
		fprintf(stderr, "vcprr %s: event #%" PRIu64 " of %s is %s, not "
			"a PAUSE_REQUEST\n", FOLLOW, seq, t->path,
			trace_event_name(ev.type) ?: "of an unknown type");
		return INSPECT_USAGE;
	}
	fo->vcpu = ev.vcpu;
	fo->req_seq = ev.a1;
	return 0;
}

static void on_life(void *ctx, const struct pause_life *l)
{
	struct follow *fo = ctx;

	if (fo->found || l->req_seq != fo->req_seq)
		return;
	fo->life = *l;
	fo->found = true;
}

static int track(struct itrace *t, uint64_t seq, struct follow *fo)
{
	struct pause_tracker *pt = pause_tracker_new(on_life, fo);
	struct trace_event ev;
	int ret = pt ? itrace_seek(t, false, seq) : -1;

	while (ret >= 0 && !fo->found &&
	       (ret = itrace_next(t, &ev, NULL)) == 1)
		if (ev.vcpu == fo->vcpu) {
			/* one VCPU only: as VCPU 0, so that any id (even
			 * one the tracker does not keep) is followed */
			ev.vcpu = 0;
			pause_tracker_feed(pt, &ev);
		}
	if (pt)
		pause_tracker_finish(pt);
	pause_tracker_free(pt);
	return ret < 0 ? INSPECT_BAD_INPUT : 0;
}

static void print_step(struct itrace *t, const struct ifmt *fmt,
		       const char *label, const struct pstep *s,
		       const struct pstep *origin, const char *missing)
{
	struct trace_event ev;
	const uint8_t *pl;
	char d[32];

	if (!pstep_ok(s)) {
		if (missing)
			printf("  %-16s %10s  %s\n", label, "-", missing);
		return;
	}
	printf("  %-16s %10s  ", label, pstep_ok(origin) ? fmt_dur(d,
	       sizeof(d), s->time - origin->time) : "?");
	if (itrace_seek(t, false, s->seq) == 1 &&
	    itrace_next(t, &ev, &pl) == 1 && ev.seq == s->seq)
		ifmt_text(stdout, fmt, &ev, pl);
	else
		printf("#%" PRIu64, s->seq);
	putchar('\n');
}

static void print_life(struct itrace *t, const struct ifmt *fmt,
		       const struct follow *fo)
{
	const struct pause_life *l = &fo->life;
	const struct pstep *o = &l->request;
	bool merged = pstep_ok(&l->coalesced);
	char label[64], d[2][32], vcpu[16];

	if (fo->vcpu == TRACE_VCPU_NONE)
		snprintf(vcpu, sizeof(vcpu), "vm");
	else
		snprintf(vcpu, sizeof(vcpu), "%u", fo->vcpu);

	printf("pause request %s:%" PRIu64 " (data 0x%" PRIx64 ") in %s\n",
	       vcpu, l->req_seq, l->data, t->path);
	printf("  %-16s %10s  event\n", "step", "after req");
	print_step(t, fmt, "request", o, o, "(not in the trace)");
	print_step(t, fmt, "signal", &l->signal, o, "(no signal sent)");
	print_step(t, fmt, "kick", &l->kick, o,
		   "(no KVM_RUN EINTR: taken at a VM exit)");
	snprintf(label, sizeof(label), "coalesced");
	print_step(t, fmt, label, &l->coalesced, o, NULL);
	if (merged)
		snprintf(label, sizeof(label), "taken (as %s:%" PRIu64 ")",
			 vcpu, l->into);
	else
		snprintf(label, sizeof(label), "taken");
	print_step(t, fmt, label, &l->taken, o,
		   "never: the trace ends first");
	print_step(t, fmt, "resume request", &l->resume_request, o,
		   pstep_ok(&l->taken) ? "(none)" : NULL);
	print_step(t, fmt, "resumed", &l->resumed, o,
		   pstep_ok(&l->taken) ? "never: the trace ends first" : NULL);
	if (merged)
		printf("  superseded by request %s:%" PRIu64 " before VCPU %s "
		       "looked; its pause served both\n", vcpu, l->into, vcpu);
	if (pstep_ok(&l->taken) && pstep_ok(&l->resumed) && pstep_ok(o))
		printf("  request -> taken %s, paused for %s\n",
		       fmt_dur(d[0], sizeof(d[0]), l->taken.time - o->time),
		       fmt_dur(d[1], sizeof(d[1]),
			       l->resumed.time - l->taken.time));
}

static int follow(struct itrace *t, const char *req,
		  const struct iguest *guest)
{
	struct follow fo = { 0 };
	struct symtab *st = NULL;
	struct ifmt fmt;
	uint64_t n, seq = 0;
	bool by_seq;
	int ret;

	if (parse_req(req, &by_seq, &fo.vcpu, &n)) {
		fprintf(stderr, "vcprr %s: REQ '%s': expected VCPU:REQ_SEQ "
			"(2:17) or #SEQ of a PAUSE_REQUEST event (#1234)\n",
			FOLLOW, req);
		return INSPECT_USAGE;
	}
	fo.req_seq = n;
	ret = by_seq ? check_request(t, seq = n, &fo)
		     : find_by_req(t, &fo, &seq);
	if (!ret)
		ret = track(t, seq, &fo);
	if (ret)
		return ret;
	ret = inspect_symbols(t, guest, false, &st);
	fmt = (struct ifmt){ .syms = st, .t0 = t->t0 };
	if (!ret)
		print_life(t, &fmt, &fo);
	symtab_free(st);
	return ret;
}

static int usage(FILE *f)
{
	fprintf(f, "usage: vcprr inspect follow FILE REQ [--guest PATH] [--guest-dir DIR]\n"
		"  REQ: VCPU:REQ_SEQ (2:17 = the 17th request to VCPU 2) or\n"
		"       #SEQ, the sequence number of its PAUSE_REQUEST (#1234)\n");
	return f == stdout ? INSPECT_OK : INSPECT_USAGE;
}

int inspect_follow_main(int argc, char **argv)
{
	const char *path = NULL, *req = NULL;
	struct iguest guest = { 0 };
	struct itrace t;
	int ret;

	for (int i = 1; i < argc; i++) {
		bool bad = false;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout);
		if (iguest_opt(argc, argv, &i, &guest, &bad))
			continue;
		else if (!bad && !path && !iarg_is_option(argv[i]))
			path = argv[i];
		else if (!bad && !req && !iarg_is_option(argv[i]))
			req = argv[i];
		else
			return usage(stderr);
	}
	if (!path || !req)
		return usage(stderr);
	ret = itrace_open(&t, path, FOLLOW);
	if (ret)
		return ret;
	ret = follow(&t, req, &guest);
	itrace_close(&t);
	return ret;
}
