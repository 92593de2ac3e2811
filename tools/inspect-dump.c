/* vcprr inspect dump FILE: every event (or a filtered few), one per line or
 * as JSON Lines. */
#include <string.h>

#include "tools/inspect-priv.h"

#define DUMP "inspect dump"

static const char dump_usage[] =
"usage: vcprr inspect dump FILE [options]\n"
"\n"
"Prints the events of a trace, one per line, in sequence order:\n"
"  #SEQ +SECONDS vcpu N TYPE fields... exit=N rip=0x... <symbol+off>\n"
"Times are seconds since the first event.  RIPs are symbolised from the\n"
"recorded guest ELF, found as vcprr replay finds it (by its SHA-256).\n"
"\n"
"options:\n"
"  --vcpu LIST      only these VCPUs (e.g. 0,2; 'vm' = VM-wide events)\n"
"  --type LIST      only these event types (e.g. PAUSE_TAKEN,KICK)\n"
"  --from POS       start at POS: a sequence number (1234) or a time\n"
"                   since the first event with a unit (1.5ms, 20us, 2s)\n"
"  --to POS         stop after POS (inclusive), same forms\n"
"  --json           JSON Lines: one object per event (for jq)\n"
"  --guest PATH     symbolise with this guest ELF\n"
"  --guest-dir DIR  look for the recorded guest in DIR too\n"
"  --no-symbols     do not symbolise RIPs\n";

struct dump_opts {
	const char *path;
	struct iguest guest;
	struct ivcpu_set vcpus;
	bool types[TEV__COUNT], any_type, json, no_syms;
	struct ipos from, to;
};

static int parse_pos(const char *opt, const char *v, struct ipos *p)
{
	if (!ipos_parse(v, p))
		return 0;
	fprintf(stderr, "vcprr %s: --%s '%s': expected a sequence number "
		"(1234) or a time since the first event (1.5ms, 20us, 2s)\n",
		DUMP, opt, v);
	return -1;
}

static int parse_one(int argc, char **argv, int *i, struct dump_opts *o)
{
	bool bad = false;
	const char *v;

	if ((v = iopt(argc, argv, i, "vcpu", &bad)))
		return ivcpu_set_parse(DUMP, "vcpu", v, &o->vcpus);
	if ((v = iopt(argc, argv, i, "type", &bad))) {
		o->any_type = true;
		return itype_set_parse(DUMP, "type", v, o->types);
	}
	if ((v = iopt(argc, argv, i, "from", &bad)))
		return parse_pos("from", v, &o->from);
	if ((v = iopt(argc, argv, i, "to", &bad)))
		return parse_pos("to", v, &o->to);
	if (iguest_opt(argc, argv, i, &o->guest, &bad))
		return 0;
	if (bad) {
		fprintf(stderr, "vcprr %s: %s needs a value\n", DUMP, argv[*i]);
		return -1;
	}
	if (!strcmp(argv[*i], "--json"))
		o->json = true;
	else if (!strcmp(argv[*i], "--no-symbols"))
		o->no_syms = true;
	else if (iarg_is_option(argv[*i]) || o->path) {
		fprintf(stderr, "vcprr %s: unexpected argument '%s'\n", DUMP,
			argv[*i]);
		return -1;
	} else
		o->path = argv[*i];
	return 0;
}

static int parse_args(int argc, char **argv, struct dump_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++)
		if (parse_one(argc, argv, &i, o))
			return -1;
	if (!o->path) {
		fprintf(stderr, "vcprr %s: which trace? (vcprr inspect dump "
			"FILE)\n", DUMP);
		return -1;
	}
	if (o->from.set && o->to.set && o->from.by_time == o->to.by_time &&
	    o->from.v > o->to.v) {
		fprintf(stderr, "vcprr %s: --from is after --to\n", DUMP);
		return -1;
	}
	return 0;
}

static bool pos_before(const struct ipos *p, const struct trace_event *ev,
		       uint64_t t0)
{
	if (!p->set)
		return false;
	if (p->by_time)
		return ev->time_ns < t0 || ev->time_ns - t0 < p->v;
	return ev->seq < p->v;
}

static bool pos_after(const struct ipos *p, const struct trace_event *ev,
		      uint64_t t0)
{
	if (!p->set)
		return false;
	if (p->by_time)
		return ev->time_ns >= t0 && ev->time_ns - t0 > p->v;
	return ev->seq > p->v;
}

static int dump(struct itrace *t, const struct dump_opts *o,
		const struct symtab *st)
{
	struct ifmt fmt = { .syms = st, .t0 = t->t0 };
	struct trace_event ev;
	const uint8_t *pl;
	int ret;

	if (o->from.set && itrace_seek(t, o->from.by_time, o->from.v) < 0)
		return INSPECT_BAD_INPUT;
	while ((ret = itrace_next(t, &ev, &pl)) == 1) {
		if (o->to.set && !o->to.by_time && ev.seq > o->to.v)
			break;  /* seqs are dense and ordered; times are not */
		if (pos_before(&o->from, &ev, t->t0) ||
		    pos_after(&o->to, &ev, t->t0))
			continue;
		if (!ivcpu_set_has(&o->vcpus, ev.vcpu))
			continue;
		if (o->any_type && (ev.type >= TEV__COUNT || !o->types[ev.type]))
			continue;
		if (o->json)
			ifmt_json(stdout, &fmt, &ev, pl);
		else
			ifmt_text(stdout, &fmt, &ev, pl);
		putchar('\n');
	}
	if (ret < 0)
		return INSPECT_BAD_INPUT;
	itrace_note_truncation(t);
	return INSPECT_OK;
}

int inspect_dump_main(int argc, char **argv)
{
	struct symtab *st = NULL;
	struct dump_opts o;
	struct itrace t;
	int ret;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(dump_usage, stdout);
			return INSPECT_OK;
		}
	if (parse_args(argc, argv, &o))
		return INSPECT_USAGE;
	ret = itrace_open(&t, o.path, DUMP);
	if (ret)
		return ret;
	if (!o.no_syms)
		ret = inspect_symbols(&t, &o.guest, false, &st);
	if (!ret)
		ret = dump(&t, &o, st);
	fflush(stdout);
	symtab_free(st);
	itrace_close(&t);
	return ret;
}
