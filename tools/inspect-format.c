/* One trace event as a readable line or a JSON object.  The meaning of
 * a0..a3 per type (event.h) is a table, so text and JSON agree. */
#include <inttypes.h>
#include <string.h>

#include "tools/inspect-priv.h"

enum fkind {
	F_NONE,
	F_DEC,      /* unsigned decimal */
	F_SDEC,     /* signed decimal (exit codes) */
	F_HEX,      /* 0x... (a string in JSON: jq numbers are doubles) */
	F_SIZEDIR,  /* size | dir<<8 -> "out size=1" */
	F_REASON,   /* trace_end_reason */
	F_EDITS,    /* resume edit mask */
	F_VCPU,     /* a VCPU id or none */
	F_WHERE,    /* enum sched_where */
};

enum pkind { P_NONE, P_TEXT, P_ASSERT, P_BYTES };

struct field {
	const char *name;
	enum fkind kind;
};

struct type_fmt {
	struct field a[4];
	enum pkind payload;
	const char *dir[2];   /* F_SIZEDIR: names of dir 0 and 1 */
};

static const struct type_fmt type_fmts[TEV__COUNT] = {
	[TEV_VM_START]        = { .a = { { "vcpus", F_DEC }, { "mem", F_DEC } } },
	[TEV_VM_END]          = { .a = { { "reason", F_REASON },
					 { "code", F_SDEC },
					 { "mem_digest", F_HEX } } },
	[TEV_VCPU_EXIT]       = { .a = { { "rc", F_SDEC } } },
	[TEV_VCPU_ERROR]      = { .a = { { "kvm_exit", F_DEC } },
				  .payload = P_TEXT },
	[TEV_PAUSE_REQUEST]   = { .a = { { "data", F_HEX }, { "req", F_DEC } } },
	[TEV_SIGNAL_SENT]     = { .a = { { "req", F_DEC } } },
	[TEV_PAUSE_TAKEN]     = { .a = { { "data", F_HEX }, { "req", F_DEC } } },
	[TEV_PAUSE_COALESCED] = { .a = { { "req", F_DEC }, { "into", F_DEC } } },
	[TEV_RESUME_REQUEST]  = { .a = { { "data", F_HEX },
					 { "edits", F_EDITS } },
				  .payload = P_BYTES },
	[TEV_RESUMED]         = { .a = { { "data", F_HEX } } },
	[TEV_EXIT_PIO]        = { .a = { { "port", F_HEX },
					 { "size", F_SIZEDIR },
					 { "data", F_HEX } },
				  .dir = { "in", "out" } },
	[TEV_EXIT_MMIO]       = { .a = { { "gpa", F_HEX }, { "len", F_SIZEDIR },
					 { "data", F_HEX } },
				  .dir = { "read", "write" } },
	[TEV_EXIT_DEBUG]      = { .a = { { "dr6", F_HEX },
					 { "exception", F_DEC } } },
	[TEV_SCHED_SWITCH]    = { .a = { { "from", F_VCPU }, { "step", F_DEC },
					 { "at", F_WHERE } } },
	[TEV_HYPERCALL]       = { .a = { { "nr", F_DEC }, { "arg0", F_HEX },
					 { "arg1", F_HEX }, { "arg2", F_HEX } } },
	[TEV_GUEST_LOG]       = { .payload = P_TEXT },
	[TEV_GUEST_ASSERT]    = { .a = { { "line", F_DEC } },
				  .payload = P_ASSERT },
	[TEV_GUEST_EXIT]      = { .a = { { "code", F_SDEC } } },
	[TEV_CONSOLE]         = { .payload = P_TEXT },
	[TEV_LOST]            = { .a = { { "dropped", F_DEC } } },
	[TEV_IO_ACCESS]       = { .a = { { "space", F_DEC }, { "addr", F_HEX },
					 { "lendir", F_HEX },
					 { "data", F_HEX } } },
	[TEV_MEM_REGION]      = { .a = { { "slot", F_DEC }, { "gpa", F_HEX },
					 { "len", F_HEX }, { "flags", F_HEX } } },
	[TEV_MEM_DATA]        = { .a = { { "gpa", F_HEX } }, .payload = P_BYTES },
	[TEV_VM_IOCTL]        = { .a = { { "request", F_HEX }, { "when", F_DEC },
					 { "size", F_DEC } },
				  .payload = P_BYTES },
	[TEV_VCPU_IOCTL]      = { .a = { { "request", F_HEX }, { 0 },
					 { "size", F_DEC } },
				  .payload = P_BYTES },
	[TEV_VM_STOP]         = { .a = { { "reason", F_REASON },
					 { "code", F_SDEC } } },
	[TEV_IRQFD_SIGNAL]    = { .a = { { "fd", F_DEC }, { "when", F_DEC },
					 { "count", F_DEC } } },
};

/* Unknown types show their raw arguments. */
static const struct type_fmt raw_fmt = {
	.a = { { "a0", F_HEX }, { "a1", F_HEX }, { "a2", F_HEX },
	       { "a3", F_HEX } },
	.payload = P_BYTES,
};

static const struct type_fmt *fmt_of(uint32_t type)
{
	if (type >= TEV__COUNT || type == TEV_NONE)
		return &raw_fmt;
	return &type_fmts[type];
}

static void edits_str(char *buf, size_t len, uint64_t mask)
{
	static const char *const names[] = { "regs", "sregs", "debugregs" };
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < 3 && n < len; i++)
		if (mask & (1u << i))
			n += snprintf(buf + n, len - n, "%s%s", n ? "," : "",
				      names[i]);
	if (mask >> 3 && n < len)
		snprintf(buf + n, len - n, "%s0x%" PRIx64, n ? "," : "",
			 mask & ~(uint64_t)7);
	if (!mask)
		snprintf(buf, len, "none");
}

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

/* Text: printable bytes as they are, the rest escaped; no trailing \n. */
static void text_payload(FILE *f, const uint8_t *p, size_t len)
{
	while (len && (p[len - 1] == '\n' || p[len - 1] == '\0'))
		len--;
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(f, "\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			fputc(p[i], f);
		else if (p[i] == '\n')
			fputs("\\n", f);
		else
			fprintf(f, "\\x%02x", p[i]);
	}
	fputc('"', f);
}

/* GUEST_ASSERT payload "file\0expr\0": splits it safely. */
static void split_assert(const uint8_t *pl, size_t len, const uint8_t **file,
			 size_t *flen, const uint8_t **expr, size_t *elen)
{
	const uint8_t *nul = memchr(pl, '\0', len);

	*file = pl;
	*flen = nul ? (size_t)(nul - pl) : len;
	*expr = nul ? nul + 1 : pl + len;
	*elen = len - (size_t)(*expr - pl);
	if (*elen && (*expr)[*elen - 1] == '\0')
		(*elen)--;
}

static const char *where_name(uint64_t v)
{
	static const char *const names[] = { "point", "idle", "block" };

	return v < 3 ? names[v] : "?";
}

static void text_field(FILE *f, const struct type_fmt *tf,
		       const struct field *fd, uint64_t v)
{
	char buf[64];

	switch (fd->kind) {
	case F_DEC:
		fprintf(f, " %s=%" PRIu64, fd->name, v);
		break;
	case F_SDEC:
		fprintf(f, " %s=%" PRId64, fd->name, (int64_t)v);
		break;
	case F_HEX:
		fprintf(f, " %s=0x%" PRIx64, fd->name, v);
		break;
	case F_SIZEDIR:
		fprintf(f, " %s %s=%" PRIu64, tf->dir[(v >> 8) & 1], fd->name,
			v & 0xff);
		break;
	case F_REASON:
		fprintf(f, " %s=%s", fd->name, trace_end_reason_name(v));
		break;
	case F_EDITS:
		edits_str(buf, sizeof(buf), v);
		fprintf(f, " %s=%s", fd->name, buf);
		break;
	case F_VCPU:  /* none: 32-bit TRACE_VCPU_NONE, or -1 as 64 bits */
		if (v >= TRACE_VCPU_NONE)
			fprintf(f, " %s=none", fd->name);
		else
			fprintf(f, " %s=%" PRIu64, fd->name, v);
		break;
	case F_WHERE:
		fprintf(f, " %s=%s", fd->name, where_name(v));
		break;
	case F_NONE:
		break;
	}
}

static void text_payload_of(FILE *f, const struct type_fmt *tf,
			    const struct trace_event *ev, const uint8_t *pl)
{
	const uint8_t *file, *expr;
	size_t flen, elen;

	if (!ev->payload_len || !pl)   /* NULL: the caller leaves it out */
		return;
	switch (tf->payload) {
	case P_TEXT:
		fputc(' ', f);
		text_payload(f, pl, ev->payload_len);
		break;
	case P_ASSERT:
		split_assert(pl, ev->payload_len, &file, &flen, &expr, &elen);
		fputs(" file=", f);
		text_payload(f, file, flen);
		fputs(" expr=", f);
		text_payload(f, expr, elen);
		break;
	case P_BYTES:
	case P_NONE:
		fprintf(f, " payload=%uB", ev->payload_len);
		break;
	}
}

void ifmt_fields(FILE *f, const struct ifmt *fmt, const struct trace_event *ev,
		 const uint8_t *pl)
{
	const struct type_fmt *tf = fmt_of(ev->type);
	const uint64_t a[4] = { ev->a0, ev->a1, ev->a2, ev->a3 };
	char sbuf[160];

	for (int i = 0; i < 4; i++)
		if (tf->a[i].name)
			text_field(f, tf, &tf->a[i], a[i]);
	text_payload_of(f, tf, ev, pl);
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

void ifmt_text(FILE *f, const struct ifmt *fmt, const struct trace_event *ev,
	       const uint8_t *pl)
{
	const char *name = trace_event_name(ev->type);
	char tbuf[40];
	bool more = ev->payload_len || ev->exit_seq || ev->rip || ev->digest ||
		    fmt_of(ev->type)->a[0].name;

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
	ifmt_fields(f, fmt, ev, pl);
}

void json_str(FILE *f, const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			fprintf(f, "\\%c", s[i]);
		else if (s[i] == '\n')
			fputs("\\n", f);
		else if (s[i] < 0x20 || s[i] >= 0x7f)
			fprintf(f, "\\u%04x", s[i]);  /* bytes, as Latin-1 */
		else
			fputc(s[i], f);
	}
}

static void json_field(FILE *f, const struct type_fmt *tf,
		       const struct field *fd, uint64_t v)
{
	char buf[64];

	switch (fd->kind) {
	case F_DEC:
		fprintf(f, ",\"%s\":%" PRIu64, fd->name, v);
		break;
	case F_SDEC:
		fprintf(f, ",\"%s\":%" PRId64, fd->name, (int64_t)v);
		break;
	case F_HEX:
		fprintf(f, ",\"%s\":\"0x%" PRIx64 "\"", fd->name, v);
		break;
	case F_SIZEDIR:
		fprintf(f, ",\"%s\":%" PRIu64 ",\"dir\":\"%s\"", fd->name,
			v & 0xff, tf->dir[(v >> 8) & 1]);
		break;
	case F_REASON:
		fprintf(f, ",\"%s\":\"%s\"", fd->name, trace_end_reason_name(v));
		break;
	case F_EDITS:
		edits_str(buf, sizeof(buf), v);
		fprintf(f, ",\"%s\":\"%s\"", fd->name, buf);
		break;
	case F_VCPU:
		if (v >= TRACE_VCPU_NONE)
			fprintf(f, ",\"%s\":null", fd->name);
		else
			fprintf(f, ",\"%s\":%" PRIu64, fd->name, v);
		break;
	case F_WHERE:
		fprintf(f, ",\"%s\":\"%s\"", fd->name, where_name(v));
		break;
	case F_NONE:
		break;
	}
}

static void json_payload(FILE *f, const struct type_fmt *tf,
			 const struct trace_event *ev, const uint8_t *pl)
{
	const uint8_t *file, *expr;
	size_t flen, elen;

	if (!ev->payload_len || !pl)
		return;
	if (tf->payload == P_ASSERT) {
		split_assert(pl, ev->payload_len, &file, &flen, &expr, &elen);
		fputs(",\"file\":\"", f);
		json_str(f, file, flen);
		fputs("\",\"expr\":\"", f);
		json_str(f, expr, elen);
		fputc('"', f);
		return;
	}
	if (tf->payload != P_TEXT) {
		fprintf(f, ",\"payload_len\":%u", ev->payload_len);
		return;
	}
	fputs(",\"text\":\"", f);
	json_str(f, pl, ev->payload_len);
	fputc('"', f);
}

void ifmt_json(FILE *f, const struct ifmt *fmt, const struct trace_event *ev,
	       const uint8_t *pl)
{
	const struct type_fmt *tf = fmt_of(ev->type);
	const char *name = trace_event_name(ev->type);
	const uint64_t a[4] = { ev->a0, ev->a1, ev->a2, ev->a3 };
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
	for (int i = 0; i < 4; i++)
		if (tf->a[i].name)
			json_field(f, tf, &tf->a[i], a[i]);
	json_payload(f, tf, ev, pl);
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

/* @len bytes for a one-line message: printable ASCII as it is, anything
 * else (and '\\') as \xNN, so a hostile payload stays one line of text. */
static void msg_bytes(FILE *f, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			fputc(p[i], f);
		else
			fprintf(f, "\\x%02x", p[i]);
}

static enum imark mark_text(FILE *f, const struct trace_event *ev,
			    const uint8_t *pl)
{
	const uint8_t *file, *expr, *nl;
	size_t flen, elen, plen = pl ? ev->payload_len : 0;

	switch (ev->type) {
	case TEV_GUEST_ASSERT:
		split_assert(pl ? pl : (const uint8_t *)"", plen, &file, &flen,
			     &expr, &elen);
		fputs("assertion failed: ", f);
		msg_bytes(f, expr, elen);
		fputs(" at ", f);
		msg_bytes(f, file, flen);
		fprintf(f, ":%" PRIu64, ev->a0);
		return IMARK_FAILURE;
	case TEV_VCPU_ERROR:   /* its first line: the registers follow */
		if (plen && (nl = memchr(pl, '\n', plen)))
			plen = (size_t)(nl - pl);
		while (plen && !pl[plen - 1])
			plen--;
		fprintf(f, "vcpu error (KVM exit %" PRIu64 ")%s", ev->a0,
			plen ? ": " : "");
		msg_bytes(f, pl, plen);
		return IMARK_FAILURE;
	case TEV_VM_STOP:
	case TEV_VM_END:
		fprintf(f, "run %s: %s, code %" PRId64, ev->type == TEV_VM_STOP ?
			"stopped" : "ended", trace_end_reason_name(ev->a0),
			(int64_t)ev->a1);
		return ev->a0 == TEND_GUEST_EXIT && !ev->a1 ? IMARK_END :
		       IMARK_END_FAILED;
	case TEV_GUEST_EXIT:
		fprintf(f, "guest exit, code %" PRId64, (int64_t)ev->a0);
		return IMARK_END;
	}
	return IMARK_NONE;
}

enum imark ifmt_mark(char *buf, size_t len, const struct trace_event *ev,
		     const uint8_t *pl)
{
	FILE *m = fmemopen(buf, len, "w");
	enum imark k;

	if (!len)
		return IMARK_NONE;
	buf[0] = '\0';
	if (!m)
		return IMARK_NONE;
	k = mark_text(m, ev, pl);
	fclose(m);
	buf[len - 1] = '\0';
	return k;
}
