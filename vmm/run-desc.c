/* The run description's codec: one table of keys drives both ways. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "traces/sha256.h"
#include "vmm/run-desc.h"
#include "vmm/vm.h"

enum key_type { K_U64, K_U32, K_UINT, K_BOOL, K_TEXT, K_MODE, K_POLICY,
		K_KIND, K_SHA256, K_ARG, K_ARGS, K_DATA };

struct key {
	const char *name;
	enum key_type type;
	size_t off;
	unsigned versions;   /* bit N: a key of version N */
};

#define V1 (1u << 1)
#define V2 (1u << 2)
#define KEY_IN(n, t, field, v) { n, t, offsetof(struct run_desc, field), v }
#define KEY(n, t, field) KEY_IN(n, t, field, V1 | V2)

/* The order the encoder writes them in.  desc_version comes first and is
 * not in the table. */
static const struct key keys[] = {
	KEY("kind", K_KIND, kind),
	KEY("mode", K_MODE, sched.mode),
	KEY("policy", K_POLICY, sched.policy),
	KEY("pct_depth", K_UINT, sched.pct_depth),
	KEY("pct_steps", K_U64, sched.pct_steps),
	KEY("seed", K_U64, sched.seed),
	KEY("watchdog_ns", K_U64, sched.watchdog_ns),
	KEY("pause_ppm", K_U32, sched.pause_ppm),
	KEY("max_hold", K_U32, sched.max_hold),
	KEY("step_budget", K_U64, sched.step_budget),
	KEY("vcpus", K_UINT, nr_vcpus),
	KEY("mem", K_U64, mem_size),
	KEY_IN("arg", K_ARG, input, V1),
	KEY_IN("args", K_ARGS, input, V2),
	KEY("timeout_ns", K_U64, timeout_ns),
	KEY("pause_every_ns", K_U64, pause_every_ns),
	KEY("hold_ns", K_U64, hold_ns),
	KEY("pause_script", K_TEXT, pause_script),
	KEY("lossy", K_BOOL, lossy),
	KEY("max_trace", K_U64, max_trace),
	KEY("guest", K_TEXT, guest.path),
	KEY("guest_from_trace", K_TEXT, guest.from_trace),
	KEY("guest_sha256", K_SHA256, guest.sha256),
	KEY("mem_limit", K_U64, mem_limit),
	KEY("program", K_TEXT, program),
	KEY_IN("data", K_DATA, input, V2),
};
#define NR_KEYS (sizeof(keys) / sizeof(keys[0]))

/* The name of value @v of an enum key, NULL past the last one. */
static const char *enum_name(enum key_type t, unsigned v)
{
	static const char *const policies[] = { "rr", "random", "pct", "plan" };
	static const char *const kinds[] = { "guest", "crosvm-plugin" };

	if (t == K_MODE)
		return v <= VM_SCHED_STEP ? sched_mode_name(v) : NULL;
	if (t == K_POLICY)
		return v < 4 ? policies[v] : NULL;
	return v < 2 ? kinds[v] : NULL;
}

/* Enum keys are stored as enums, which are ints here. */
_Static_assert(sizeof(enum vm_sched_mode) == sizeof(int) &&
	       sizeof(enum vm_sched_policy) == sizeof(int) &&
	       sizeof(enum run_kind) == sizeof(int), "enum keys are ints");

void run_desc_init(struct run_desc *d)
{
	memset(d, 0, sizeof(*d));
	d->nr_vcpus = 1;
	d->mem_size = VM_DEFAULT_MEM;
}

/* --- encoding ------------------------------------------------------------ */

struct out {
	char *p;
	size_t left;
	bool full;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->p, o->left, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->left) {
		o->full = true;
		return;
	}
	o->p += n;
	o->left -= (size_t)n;
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 base64 of @n bytes, padded, NUL-terminated: out holds
 * 4 * ((n + 2) / 3) + 1 bytes. */
static void base64_encode(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*out++ = b64[v >> 18];
		*out++ = b64[(v >> 12) & 63];
		*out++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*out++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*out = 0;
}

/* The guest's input: "arg" of version 1, "args" and "data" of 2. */
static void encode_input(struct out *o, const struct key *k,
			 const struct vm_guest_input *in)
{
	char text[4 * ((VM_MAX_DATA + 2) / 3) + 1];

	if (k->type == K_ARG) {
		put(o, "arg=%llu\n",
		    (unsigned long long)(in->argc ? in->argv[0] : 0));
		return;
	}
	if (k->type == K_DATA) {
		base64_encode(in->data, in->data_len, text);
		put(o, "data=%s\n", text);
		return;
	}
	put(o, "args=");
	for (unsigned i = 0; i < in->argc; i++)
		put(o, "%s%llu", i ? "," : "", (unsigned long long)in->argv[i]);
	put(o, "\n");
}

static int encode_key(struct out *o, const struct key *k, const void *f,
		      char *err, size_t errlen)
{
	const char *name = NULL;
	char hex[65];

	switch (k->type) {
	case K_U64:
		put(o, "%s=%llu\n", k->name,
		    (unsigned long long)*(const uint64_t *)f);
		return 0;
	case K_U32:
		put(o, "%s=%u\n", k->name, *(const uint32_t *)f);
		return 0;
	case K_UINT:
		put(o, "%s=%u\n", k->name, *(const unsigned *)f);
		return 0;
	case K_BOOL:
		put(o, "%s=%d\n", k->name, *(const bool *)f);
		return 0;
	case K_TEXT:
		if (strchr(f, '\n')) {
			snprintf(err, errlen, "%s '%s' holds a newline: it cannot "
				 "be recorded", k->name, (const char *)f);
			return -1;
		}
		put(o, "%s=%s\n", k->name, (const char *)f);
		return 0;
	case K_SHA256:
		sha256_hex(f, hex);
		put(o, "%s=%s\n", k->name, hex);
		return 0;
	case K_ARG:
	case K_ARGS:
	case K_DATA:
		encode_input(o, k, f);
		return 0;
	case K_MODE:
	case K_POLICY:
	case K_KIND:
		name = enum_name(k->type, *(const unsigned *)f);
		break;
	}
	if (!name) {
		snprintf(err, errlen, "%s: value out of range", k->name);
		return -1;
	}
	put(o, "%s=%s\n", k->name, name);
	return 0;
}

/* 0, or -1 when @in cannot be passed to a guest. */
static int check_input(const struct vm_guest_input *in, char *err,
		       size_t errlen)
{
	if (in->argc > VM_MAX_ARGS || in->data_len > VM_MAX_DATA)
		snprintf(err, errlen, "%u guest arguments and %u bytes of data: "
			 "at most %u and %u", in->argc, in->data_len,
			 VM_MAX_ARGS, VM_MAX_DATA);
	else if (in->arg_only && (in->argc > 1 || in->data_len))
		snprintf(err, errlen, "a version 1 guest input holds one "
			 "argument and no data");
	else
		return 0;
	return -1;
}

int run_desc_encode(const struct run_desc *d, struct trace_header *h,
		    char *err, size_t errlen)
{
	struct out o = { h->desc, sizeof(h->desc), false };
	unsigned version = d->input.arg_only ? 1 : RUN_DESC_VERSION;

	if (check_input(&d->input, err, errlen))
		return -1;
	put(&o, "desc_version=%u\n", version);
	for (size_t i = 0; i < NR_KEYS; i++)
		if ((keys[i].versions & (1u << version)) &&
		    encode_key(&o, &keys[i], (const char *)d + keys[i].off,
			       err, errlen))
			return -1;
	if (o.full) {
		snprintf(err, errlen, "the run description does not fit the "
			 "trace header (%u bytes)", TRACE_DESC_LEN);
		return -1;
	}
	return 0;
}

/* --- decoding ------------------------------------------------------------ */

struct in {
	const struct trace_header *h;
	char *err;
	size_t errlen;
};

void run_desc_escape(char *out, size_t len, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && s[i] && o + 5 < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
	}
	if (len)
		out[o] = 0;
}

static int bad(const struct in *in, const char *at, size_t n,
	       const char *why)
{
	char text[256];

	run_desc_escape(text, sizeof(text), at, n < 48 ? n : 48);
	snprintf(in->err, in->errlen, "trace header: run description line "
		 "'%s' at offset %llu: %s", text,
		 (unsigned long long)(in->h->desc_offset +
				      (uint64_t)(at - in->h->desc)), why);
	return -1;
}

/* A decimal number with no sign, space or excess; -1 if there is none. */
static int parse_num(const char *s, size_t n, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (!n || n > 20 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint64_t digit = (uint64_t)(s[i] - '0');

		if (s[i] < '0' || s[i] > '9' || x > (UINT64_MAX - digit) / 10)
			return -1;
		x = x * 10 + digit;
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

static int parse_name(enum key_type t, const char *s, size_t n,
		      unsigned *v)
{
	const char *name;

	for (unsigned i = 0; (name = enum_name(t, i)); i++)
		if (strlen(name) == n && !memcmp(name, s, n)) {
			*v = i;
			return 0;
		}
	return -1;
}

static int parse_hex(const char *s, size_t n, uint8_t out[32])
{
	if (n != 64)
		return -1;
	for (size_t i = 0; i < 64; i++) {
		const char *digits = "0123456789abcdef";
		const char *p = s[i] ? strchr(digits, s[i]) : NULL;

		if (!p)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = 0;
		out[i / 2] |= (uint8_t)((p - digits) << (i % 2 ? 0 : 4));
	}
	return 0;
}

/* Strict base64: padded, no unused bit set, so that one blob has one
 * text (a reader that took another would accept a changed header). */
static int base64_decode(const char *s, size_t n, uint8_t *out,
			 uint32_t *len)
{
	uint32_t o = 0;

	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t x = 0;
		unsigned pad = 0;

		for (unsigned j = 0; j < 4; j++) {
			const char *p = s[i + j] ? strchr(b64, s[i + j]) : NULL;

			if (s[i + j] == '=' && i + 4 == n && j >= 2) {
				pad++;
				p = b64;
			} else if (pad || !p) {
				return -1;
			}
			x = x << 6 | (uint32_t)(p - b64);
		}
		if (o + 3 - pad > VM_MAX_DATA ||
		    (x & ((1u << (8 * pad)) - 1)))
			return -1;
		out[o++] = (uint8_t)(x >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(x >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)x;
	}
	*len = o;
	return 0;
}

/* "N,N,...": the arguments in order ("" for none). */
static int parse_args(const char *s, size_t n, struct vm_guest_input *in)
{
	size_t i = 0;

	while (i < n) {
		const char *comma = memchr(s + i, ',', n - i);
		size_t end = comma ? (size_t)(comma - s) : n;

		if (in->argc == VM_MAX_ARGS || (comma && end + 1 == n) ||
		    parse_num(s + i, end - i, UINT64_MAX, &in->argv[in->argc]))
			return -1;
		in->argc++;
		i = end + 1;
	}
	return 0;
}

static int decode_input(const struct key *k, const char *v, size_t n,
			struct vm_guest_input *in)
{
	if (k->type == K_ARGS)
		return parse_args(v, n, in);
	if (k->type == K_DATA)
		return base64_decode(v, n, in->data, &in->data_len);
	if (parse_num(v, n, UINT64_MAX, &in->argv[0]))
		return -1;
	in->argc = in->argv[0] != 0;
	in->arg_only = true;
	return 0;
}

static int decode_value(const struct key *k, const char *v, size_t n,
			void *f)
{
	uint64_t x;

	switch (k->type) {
	case K_U64:
		return parse_num(v, n, UINT64_MAX, f);
	case K_U32:
	case K_UINT:
	case K_BOOL:
		if (parse_num(v, n, k->type == K_BOOL ? 1 : UINT32_MAX, &x))
			return -1;
		if (k->type == K_BOOL)
			*(bool *)f = x;
		else if (k->type == K_U32)
			*(uint32_t *)f = (uint32_t)x;
		else
			*(unsigned *)f = (unsigned)x;
		return 0;
	case K_TEXT:
		if (n >= RUN_PATH_LEN)
			return -1;
		memcpy(f, v, n);
		((char *)f)[n] = 0;
		return 0;
	case K_SHA256:
		return parse_hex(v, n, f);
	case K_ARG:
	case K_ARGS:
	case K_DATA:
		return decode_input(k, v, n, f);
	case K_MODE:
	case K_POLICY:
	case K_KIND:
		return parse_name(k->type, v, n, f);
	}
	return -1;
}

static const struct key *find_key(const char *s, size_t n)
{
	for (size_t i = 0; i < NR_KEYS; i++)
		if (strlen(keys[i].name) == n && !memcmp(keys[i].name, s, n))
			return &keys[i];
	return NULL;
}

/* One "key=value" line of @n bytes at @line. */
static int decode_line(const struct in *in, const char *line, size_t n,
		       unsigned version, bool *seen, struct run_desc *d)
{
	const char *eq = memchr(line, '=', n);
	const struct key *k;
	size_t i;

	if (!eq)
		return bad(in, line, n, "not key=value");
	k = find_key(line, (size_t)(eq - line));
	if (!k)
		return bad(in, line, n, "unknown key (a newer vcprr's trace? "
			   "it would replay another run)");
	i = (size_t)(k - keys);
	if (!(k->versions & (1u << version)))
		return bad(in, line, n, "not a key of this run description "
			   "version");
	if (seen[i])
		return bad(in, line, n, "the key is given twice");
	seen[i] = true;
	if (decode_value(k, eq + 1, n - (size_t)(eq + 1 - line),
			 (char *)d + k->off))
		return bad(in, line, n, "malformed value");
	return 0;
}

static int check_values(const struct in *in, const struct run_desc *d)
{
	char what[96] = "";

	if (!d->nr_vcpus || d->nr_vcpus > VM_MAX_VCPUS)
		snprintf(what, sizeof(what), "%u VCPUs (vcprr runs 1 to %u)",
			 d->nr_vcpus, VM_MAX_VCPUS);
	else if (d->kind == RUN_KIND_GUEST && !d->mem_size)
		snprintf(what, sizeof(what), "a guest run without memory");
	else if (d->sched.pct_depth > SCHED_PCT_MAX_DEPTH)
		snprintf(what, sizeof(what), "PCT depth %u (at most %u)",
			 d->sched.pct_depth, SCHED_PCT_MAX_DEPTH);
	else if (d->kind == RUN_KIND_CROSVM_PLUGIN &&
		 d->sched.mode != VM_SCHED_PARALLEL)
		snprintf(what, sizeof(what), "a plugin run not in parallel mode");
	if (!what[0])
		return 0;
	snprintf(in->err, in->errlen, "trace header: the run description at "
		 "offset %llu is impossible: %s",
		 (unsigned long long)in->h->desc_offset, what);
	return -1;
}

int run_desc_decode(const struct trace_header *h, struct run_desc *d,
		    char *err, size_t errlen)
{
	static const char first[] = "desc_version=";
	struct in in = { h, err, errlen };
	bool seen[NR_KEYS] = { false };
	const char *p = h->desc, *nl;
	uint64_t version;

	memset(d, 0, sizeof(*d));
	nl = strchr(p, '\n');
	if (!nl || strncmp(p, first, sizeof(first) - 1) ||
	    parse_num(p + sizeof(first) - 1, (size_t)(nl - p) - sizeof(first) + 1,
		      UINT32_MAX, &version))
		return bad(&in, p, nl ? (size_t)(nl - p) : strlen(p),
			   "the run description must start with desc_version=N");
	if (version < 1 || version > RUN_DESC_VERSION)
		return bad(&in, p, (size_t)(nl - p), "a run description version "
			   "this vcprr does not read: re-record the trace");
	for (p = nl + 1; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			return bad(&in, p, strlen(p), "no newline at its end");
		if (decode_line(&in, p, (size_t)(nl - p), (unsigned)version,
				seen, d))
			return -1;
	}
	for (size_t i = 0; i < NR_KEYS; i++) {
		if (seen[i] || !(keys[i].versions & (1u << version)))
			continue;
		snprintf(err, errlen, "trace header: the run description at "
			 "offset %llu has no key '%s'",
			 (unsigned long long)h->desc_offset, keys[i].name);
		return -1;
	}
	return check_values(&in, d);
}

void run_desc_vm_config(const struct run_desc *d, struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_vcpus = d->nr_vcpus;
	cfg->mem_size = d->mem_size;
	cfg->input = d->input;
	cfg->sched = d->sched;
	cfg->controlled = d->pause_every_ns || d->pause_script[0];
}
