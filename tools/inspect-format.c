/* One trace event as a readable line or a JSON object: the line's frame
 * (sequence number, time, VCPU, type, position, guest symbol) around the
 * fields as traces/event-format.h decodes them. */
#include <inttypes.h>
#include <string.h>

#include "tools/inspect-priv.h"
#include "traces/event-format.h"

/* The longest fields: a whole payload of text, every byte escaped. */
#define FIELDS_MAX (4 * TRACE_MAX_PAYLOAD + 1024)

const char *ifmt_sym(char *buf, size_t len, const struct symtab *st,
		     uint64_t rip)
{
	uint64_t off;
	const char *name = symtab_lookup(st, rip, &off);

	if (!name)
		buf[0] = '\0';
	else if (off)
		snprintf(buf, len, "%s+%" PRIu64, name, off);
	else
		snprintf(buf, len, "%s", name);
	return buf;
}

/* The decoded @fields, then the position and the guest symbol. */
static void put_fields(FILE *f, const struct ifmt *fmt,
		       const struct trace_event *ev, const char *fields)
{
	char sbuf[160];

	fputs(fields, f);
	if (ev->exit_seq)
		fprintf(f, " exit=%" PRIu64, ev->exit_seq);
	if (ev->rip) {
		fprintf(f, " rip=0x%" PRIx64, ev->rip);
		if (*ifmt_sym(sbuf, sizeof(sbuf), fmt->syms, ev->rip)) {
			fputs(" <", f);
			fput_text(f, sbuf);
			fputc('>', f);
		}
	}
	if (ev->digest)
		fprintf(f, " digest=0x%016" PRIx64, ev->digest);
}

void ifmt_fields(FILE *f, const struct ifmt *fmt, const struct trace_event *ev,
		 const uint8_t *pl)
{
	static char fields[FIELDS_MAX];

	tev_fields_text(fields, sizeof(fields), ev, pl, 0);
	put_fields(f, fmt, ev, fields);
}

void ifmt_text(FILE *f, const struct ifmt *fmt, const struct trace_event *ev,
	       const uint8_t *pl)
{
	static char fields[FIELDS_MAX];
	const char *name = trace_event_name(ev->type);
	char tbuf[40];
	size_t n = tev_fields_text(fields, sizeof(fields), ev, pl, 0);
	bool more = n || ev->exit_seq || ev->rip || ev->digest;

	fprintf(f, "#%-7" PRIu64 " %s ", ev->seq,
		fmt_reltime(tbuf, sizeof(tbuf), ev->time_ns, fmt->t0));
	if (ev->vcpu == TRACE_VCPU_NONE)
		fputs("vm     ", f);
	else
		fprintf(f, "vcpu %-2u", ev->vcpu);
	if (name)
		fprintf(f, more ? " %-15s" : " %s", name);
	else
		fprintf(f, more ? " type%-11u" : " type%u", ev->type);
	put_fields(f, fmt, ev, fields);
}

void json_str(FILE *f, const uint8_t *s, size_t len)
{
	char buf[512];

	/* in pieces that each escape to fit (6 bytes at most per byte) */
	for (size_t i = 0; i < len; i += 64) {
		tev_json_str(buf, sizeof(buf), s + i, len - i < 64 ? len - i : 64);
		fputs(buf, f);
	}
}

void ifmt_json(FILE *f, const struct ifmt *fmt, const struct trace_event *ev,
	       const uint8_t *pl)
{
	static char fields[6 * TRACE_MAX_PAYLOAD + 1024];
	const char *name = trace_event_name(ev->type);
	char sbuf[160];

	fprintf(f, "{\"seq\":%" PRIu64 ",\"t_ns\":%" PRId64
		",\"time_ns\":%" PRIu64, ev->seq,
		(int64_t)(ev->time_ns - fmt->t0), ev->time_ns);
	if (name)
		fprintf(f, ",\"type\":\"%s\"", name);
	else
		fprintf(f, ",\"type\":%u", ev->type);
	if (ev->vcpu == TRACE_VCPU_NONE)
		fputs(",\"vcpu\":null", f);
	else
		fprintf(f, ",\"vcpu\":%u", ev->vcpu);
	tev_fields_json(fields, sizeof(fields), ev, pl);
	fputs(fields, f);
	fprintf(f, ",\"exit_seq\":%" PRIu64 ",\"rip\":\"0x%" PRIx64 "\"",
		ev->exit_seq, ev->rip);
	if (ev->rip && *ifmt_sym(sbuf, sizeof(sbuf), fmt->syms, ev->rip)) {
		fputs(",\"sym\":\"", f);
		json_str(f, (const uint8_t *)sbuf, strlen(sbuf));
		fputc('"', f);
	}
	if (ev->digest)
		fprintf(f, ",\"digest\":\"0x%016" PRIx64 "\"", ev->digest);
	fputc('}', f);
}
