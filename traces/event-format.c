/* Trace events as text (see event-format.h).  What a0..a3 mean per type
 * is one table, so text and JSON agree with each other and with event.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "traces/event-format.h"

enum fkind {
	F_NONE,
	F_DEC,      /* unsigned decimal */
	F_SDEC,     /* signed decimal (exit codes) */
	F_HEX,      /* 0x... (a string in JSON) */
	F_ACCESS,   /* tev_access(): "out size=1" */
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
	const char *dir[2];   /* F_ACCESS: names of a read and a write */
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
					 { "size", F_ACCESS },
					 { "data", F_HEX } },
				  .dir = { "in", "out" } },
	[TEV_EXIT_MMIO]       = { .a = { { "gpa", F_HEX }, { "len", F_ACCESS },
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

/* --- a bounded string ------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, n;   /* n < len: what is written, p[n] == '\0' */
};

static struct sbuf sbuf_of(char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	return (struct sbuf){ buf, len, 0 };
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (b->n + 1 >= b->len)
		return;
	va_start(ap, fmt);
	r = vsnprintf(b->p + b->n, b->len - b->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		b->n += (size_t)r < b->len - b->n ? (size_t)r : b->len - b->n - 1;
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_printf(b, "%s", s);
}

static void sb_putc(struct sbuf *b, char c)
{
	if (b->n + 1 >= b->len)
		return;
	b->p[b->n++] = c;
	b->p[b->n] = '\0';
}

/* --- values ------------------------------------------------------------ */

static void edits_str(char *buf, size_t len, uint64_t mask)
{
	static const char *const names[] = { "regs", "sregs", "debugregs" };
	struct sbuf b = sbuf_of(buf, len);

	for (int i = 0; i < 3; i++)
		if (mask & (1u << i))
			sb_printf(&b, "%s%s", b.n ? "," : "", names[i]);
	if (mask >> 3)
		sb_printf(&b, "%s0x%" PRIx64, b.n ? "," : "", mask & ~(uint64_t)7);
	if (!mask)
		sb_puts(&b, "none");
}

static const char *where_name(uint64_t v)
{
	static const char *const names[] = { "point", "idle", "block" };

	return v < 3 ? names[v] : "?";
}

/* Text: printable bytes as they are, the rest escaped; at most @max bytes
 * (0: all), no trailing newline or NUL. */
static void text_payload(struct sbuf *b, const uint8_t *p, size_t len,
			 size_t max)
{
	bool cut = false;

	while (len && (p[len - 1] == '\n' || p[len - 1] == '\0'))
		len--;
	if (max && len > max) {
		len = max;
		cut = true;
	}
	sb_putc(b, '"');
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			sb_printf(b, "\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			sb_putc(b, (char)p[i]);
		else if (p[i] == '\n')
			sb_puts(b, "\\n");
		else
			sb_printf(b, "\\x%02x", p[i]);
	}
	sb_puts(b, cut ? "...\"" : "\"");
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

/* --- a0..a3 ------------------------------------------------------------ */

/* How a field is spelled: " name=value" in text, ,"name":value in JSON. */
struct style {
	const char *dec, *sdec, *hex, *word, *none;
	bool json;
};

static const struct style text_style = {
	.dec = " %s=%" PRIu64, .sdec = " %s=%" PRId64, .hex = " %s=0x%" PRIx64,
	.word = " %s=%s", .none = " %s=none",
};

static const struct style json_style = {
	.dec = ",\"%s\":%" PRIu64, .sdec = ",\"%s\":%" PRId64,
	.hex = ",\"%s\":\"0x%" PRIx64 "\"",  /* JSON readers hold doubles */
	.word = ",\"%s\":\"%s\"", .none = ",\"%s\":null", .json = true,
};

static void put_field(struct sbuf *b, const struct style *s,
		      const struct type_fmt *tf, const struct field *fd,
		      uint64_t v)
{
	const char *dir = tf->dir[tev_access_write(v)];
	char buf[64];

	switch (fd->kind) {
	case F_DEC:
		sb_printf(b, s->dec, fd->name, v);
		break;
	case F_SDEC:
		sb_printf(b, s->sdec, fd->name, (int64_t)v);
		break;
	case F_HEX:
		sb_printf(b, s->hex, fd->name, v);
		break;
	case F_ACCESS:
		if (s->json)
			sb_printf(b, ",\"%s\":%" PRIu32 ",\"dir\":\"%s\"",
				  fd->name, tev_access_len(v), dir);
		else
			sb_printf(b, " %s %s=%" PRIu32, dir, fd->name,
				  tev_access_len(v));
		break;
	case F_REASON:
		sb_printf(b, s->word, fd->name, trace_end_reason_name(v));
		break;
	case F_EDITS:
		edits_str(buf, sizeof(buf), v);
		sb_printf(b, s->word, fd->name, buf);
		break;
	case F_VCPU:  /* none: 32-bit TRACE_VCPU_NONE, or -1 as 64 bits */
		if (v >= TRACE_VCPU_NONE)
			sb_printf(b, s->none, fd->name);
		else
			sb_printf(b, s->dec, fd->name, v);
		break;
	case F_WHERE:
		sb_printf(b, s->word, fd->name, where_name(v));
		break;
	case F_NONE:
		break;
	}
}

/* The fields a0..a3 of @ev; returns how its type formats. */
static const struct type_fmt *put_args(struct sbuf *b, const struct style *s,
				       const struct trace_event *ev)
{
	const struct type_fmt *tf = fmt_of(ev->type);
	const uint64_t a[4] = { ev->a0, ev->a1, ev->a2, ev->a3 };

	for (int i = 0; i < 4; i++)
		if (tf->a[i].name)
			put_field(b, s, tf, &tf->a[i], a[i]);
	return tf;
}

/* --- text ------------------------------------------------------------- */

size_t tev_fields_text(char *buf, size_t len, const struct trace_event *ev,
		       const uint8_t *pl, size_t max_text)
{
	struct sbuf b = sbuf_of(buf, len);
	const struct type_fmt *tf = put_args(&b, &text_style, ev);
	const uint8_t *file, *expr;
	size_t flen, elen;

	if (!ev->payload_len || !pl)
		return b.n;
	switch (tf->payload) {
	case P_TEXT:
		sb_putc(&b, ' ');
		text_payload(&b, pl, ev->payload_len, max_text);
		break;
	case P_ASSERT:
		split_assert(pl, ev->payload_len, &file, &flen, &expr, &elen);
		sb_puts(&b, " file=");
		text_payload(&b, file, flen, max_text);
		sb_puts(&b, " expr=");
		text_payload(&b, expr, elen, max_text);
		break;
	case P_BYTES:
	case P_NONE:
		sb_printf(&b, " payload=%uB", ev->payload_len);
		break;
	}
	return b.n;
}

/* --- JSON ------------------------------------------------------------- */

static void json_chars(struct sbuf *b, const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			sb_printf(b, "\\%c", s[i]);
		else if (s[i] == '\n')
			sb_puts(b, "\\n");
		else if (s[i] < 0x20 || s[i] >= 0x7f)
			sb_printf(b, "\\u%04x", s[i]);  /* bytes, as Latin-1 */
		else
			sb_putc(b, (char)s[i]);
	}
}

size_t tev_json_str(char *buf, size_t len, const uint8_t *s, size_t n)
{
	struct sbuf b = sbuf_of(buf, len);

	json_chars(&b, s, n);
	return b.n;
}

size_t tev_fields_json(char *buf, size_t len, const struct trace_event *ev,
		       const uint8_t *pl)
{
	struct sbuf b = sbuf_of(buf, len);
	const struct type_fmt *tf = put_args(&b, &json_style, ev);
	const uint8_t *file, *expr;
	size_t flen, elen;

	if (!ev->payload_len || !pl)
		return b.n;
	if (tf->payload == P_ASSERT) {
		split_assert(pl, ev->payload_len, &file, &flen, &expr, &elen);
		sb_puts(&b, ",\"file\":\"");
		json_chars(&b, file, flen);
		sb_puts(&b, "\",\"expr\":\"");
		json_chars(&b, expr, elen);
		sb_putc(&b, '"');
	} else if (tf->payload != P_TEXT) {
		sb_printf(&b, ",\"payload_len\":%u", ev->payload_len);
	} else {
		sb_puts(&b, ",\"text\":\"");
		json_chars(&b, pl, ev->payload_len);
		sb_putc(&b, '"');
	}
	return b.n;
}

/* --- marks ------------------------------------------------------------ */

/* Bytes for a one-line message: printable ASCII as it is, anything else
 * (and '\\') as \xNN, so a hostile payload stays one line of text. */
static void msg_bytes(struct sbuf *b, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			sb_putc(b, (char)p[i]);
		else
			sb_printf(b, "\\x%02x", p[i]);
}

static enum tev_mark vcpu_error_mark(struct sbuf *b,
				     const struct trace_event *ev,
				     const uint8_t *pl, size_t plen)
{
	const uint8_t *nl = plen ? memchr(pl, '\n', plen) : NULL;

	if (nl)   /* its first line: the registers follow */
		plen = (size_t)(nl - pl);
	while (plen && !pl[plen - 1])
		plen--;
	sb_printf(b, "vcpu error (KVM exit %" PRIu64 ")%s", ev->a0,
		  plen ? ": " : "");
	msg_bytes(b, pl, plen);
	return TMARK_FAILURE;
}

enum tev_mark tev_mark(char *buf, size_t len, const struct trace_event *ev,
		       const uint8_t *pl)
{
	struct sbuf b = sbuf_of(buf, len);
	const uint8_t *file, *expr;
	size_t flen, elen, plen = pl ? ev->payload_len : 0;

	switch (ev->type) {
	case TEV_GUEST_ASSERT:
		split_assert(pl ? pl : (const uint8_t *)"", plen, &file, &flen,
			     &expr, &elen);
		sb_puts(&b, "assertion failed: ");
		msg_bytes(&b, expr, elen);
		sb_puts(&b, " at ");
		msg_bytes(&b, file, flen);
		sb_printf(&b, ":%" PRIu64, ev->a0);
		return TMARK_FAILURE;
	case TEV_VCPU_ERROR:
		return vcpu_error_mark(&b, ev, pl, plen);
	case TEV_VM_STOP:
	case TEV_VM_END:
		sb_printf(&b, "run %s: %s, code %" PRId64,
			  ev->type == TEV_VM_STOP ? "stopped" : "ended",
			  trace_end_reason_name(ev->a0), (int64_t)ev->a1);
		return ev->a0 == TEND_GUEST_EXIT && !ev->a1 ? TMARK_END :
		       TMARK_END_FAILED;
	case TEV_GUEST_EXIT:
		sb_printf(&b, "guest exit, code %" PRId64, (int64_t)ev->a0);
		return TMARK_END;
	}
	return TMARK_NONE;
}

const char *fmt_dur(char *buf, size_t len, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 "ns", ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1fus", (double)ns / 1e3);
	else if (ns < 1000000000ull)
		snprintf(buf, len, "%.3fms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.3fs", (double)ns / 1e9);
	return buf;
}
