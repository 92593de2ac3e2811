/* Opening traces, positions, durations and guest symbols for the inspect
 * tools. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/inspect-priv.h"
#include "vmm/guest-id.h"

/* Standard input as a file the reader can seek in: itself when it is a
 * regular file, else a copy in an unnamed temporary file.  The fd, or -1
 * (errno set); *copy tells whether it is a copy to close. */
static int stdin_file(bool *copy)
{
	static bool used;
	const char *dir = getenv("TMPDIR");
	char buf[65536];
	struct stat st;
	ssize_t n;
	int fd;

	if (used) {
		errno = EBUSY;   /* `inspect diff - -`: it is read once */
		return -1;
	}
	used = true;
	*copy = false;
	if (!fstat(0, &st) && S_ISREG(st.st_mode))
		return 0;
	fd = open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -1;
	while ((n = read(0, buf, sizeof(buf))) > 0)
		if (write(fd, buf, n) != n) {
			n = -1;
			break;
		}
	if (n < 0) {
		close(fd);
		return -1;
	}
	*copy = true;
	return fd;
}

int itrace_open(struct itrace *t, const char *path, const char *cmd)
{
	char err[1024], proc[64];
	const char *open_path = path, *why = err;
	const uint8_t *pl;
	bool copy = false;
	int ret, fd;

	memset(t, 0, sizeof(*t));
	t->path = path;
	t->cmd = cmd;
	t->stdin_copy = -1;
	if (!strcmp(path, "-")) {
		fd = stdin_file(&copy);
		if (fd < 0) {
			fprintf(stderr, "vcprr %s: cannot read standard input: %s\n",
				cmd, errno == EBUSY ? "it is one trace, not two" :
				strerror(errno));
			return INSPECT_BAD_INPUT;
		}
		t->stdin_copy = copy ? fd : -1;
		t->path = "stdin";
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		open_path = proc;
	}
	t->r = trace_reader_open(open_path, err, sizeof(err));
	if (!t->r) {
		/* name the file once, whether or not the reader did */
		if (open_path == path && strstr(err, path))
			fprintf(stderr, "vcprr %s: %s\n", cmd, err);
		else {
			if (!strncmp(err, open_path, strlen(open_path)) &&
			    !strncmp(err + strlen(open_path), ": ", 2))
				why = err + strlen(open_path) + 2;
			fprintf(stderr, "vcprr %s: %s: %s\n", cmd, t->path, why);
		}
		itrace_close(t);
		return INSPECT_BAD_INPUT;
	}
	t->h = trace_reader_header(t->r);
	if (run_desc_decode(t->h, &t->desc, err, sizeof(err))) {
		fprintf(stderr, "vcprr %s: %s: %s\n", cmd, t->path, err);
		itrace_close(t);
		return INSPECT_BAD_INPUT;
	}
	ret = trace_reader_next(t->r, &t->peek, &pl);
	if (ret < 0) {
		fprintf(stderr, "vcprr %s: %s: %s\n", cmd, t->path,
			trace_reader_error(t->r));
		itrace_close(t);
		return INSPECT_BAD_INPUT;
	}
	if (ret == 1) {
		memcpy(t->peek_pl, pl, t->peek.payload_len);
		t->t0 = t->peek.time_ns;
		t->have_peek = true;
	}
	return 0;
}

void itrace_close(struct itrace *t)
{
	if (t->r)
		trace_reader_close(t->r);
	t->r = NULL;
	if (t->stdin_copy >= 0)
		close(t->stdin_copy);
	t->stdin_copy = -1;
}

int itrace_next(struct itrace *t, struct trace_event *ev,
		const uint8_t **payload)
{
	const uint8_t *pl;
	int ret;

	if (t->have_peek) {
		*ev = t->peek;
		if (payload)
			*payload = t->peek_pl;
		t->have_peek = false;
		return 1;
	}
	ret = trace_reader_next(t->r, ev, &pl);
	if (ret < 0) {
		fprintf(stderr, "vcprr %s: %s: %s\n", t->cmd, t->path,
			trace_reader_error(t->r));
		return -1;
	}
	if (payload)
		*payload = pl;
	return ret;
}

int itrace_seek(struct itrace *t, bool by_time, uint64_t v)
{
	int ret;

	t->have_peek = false;
	ret = by_time ? trace_reader_seek_time(t->r, t->t0 + v)
		      : trace_reader_seek_seq(t->r, v);
	if (ret < 0) {
		fprintf(stderr, "vcprr %s: %s: %s\n", t->cmd, t->path,
			trace_reader_error(t->r) ?: strerror(-ret));
		return -1;
	}
	return ret;
}

void itrace_state(const struct itrace *t, char *buf, size_t len)
{
	uint64_t n = trace_reader_nr_events(t->r);

	if (!trace_reader_truncated(t->r))
		snprintf(buf, len, "complete, %" PRIu64 " events", n);
	else
		snprintf(buf, len, "truncated (no end marker)");
}

void itrace_note_truncation(const struct itrace *t)
{
	const char *why = trace_reader_truncation(t->r);

	if (why)
		fprintf(stderr, "vcprr %s: %s: %s\n", t->cmd, t->path, why);
}

/* "1.5ms" -> ns; the unit is required (a bare number is a seq). */
static int parse_time(const char *s, uint64_t *ns)
{
	static const struct { const char *unit; uint64_t scale; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 },
		{ "s", 1000000000ull },
	};
	uint64_t whole = 0, frac = 0, fscale = 1;
	const char *p = s;

	for (; isdigit((unsigned char)*p); p++) {
		if (whole > UINT64_MAX / 10 - 1)
			return -1;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		return -1;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			if (fscale < 1000000000ull) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				fscale *= 10;
			}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t sc = units[i].scale;

		if (strcmp(p, units[i].unit))
			continue;
		if (whole > UINT64_MAX / sc)
			return -1;
		*ns = whole * sc + frac * sc / fscale;
		return 0;
	}
	return -1;
}

int ipos_parse(const char *s, struct ipos *p)
{
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	p->v = strtoull(s, &end, 10);
	p->set = true;
	p->by_time = false;
	if (!errno && !*end)
		return 0;
	p->by_time = true;
	return parse_time(s, &p->v);
}

void fput_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '\\')
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
}

const char *fmt_reltime(char *buf, size_t len, uint64_t t, uint64_t t0)
{
	uint64_t d = t >= t0 ? t - t0 : t0 - t;

	snprintf(buf, len, "%c%" PRIu64 ".%09" PRIu64, t >= t0 ? '+' : '-',
		 d / 1000000000u, d % 1000000000u);
	return buf;
}

/* "vcprr CMD: PRE<text>POST" on stderr.  @text may quote a trace
 * (escaped by its maker as \xNN): control bytes are escaped here too,
 * newlines kept. */
static void note(const char *cmd, const char *text, const char *pre,
		 const char *post)
{
	fprintf(stderr, "vcprr %s: %s", cmd, pre);
	for (; *text; text++) {
		unsigned char c = (unsigned char)*text;

		if ((c >= 0x20 && c < 0x7f) || c == '\n')
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fprintf(stderr, "%s\n", post);
}

bool iguest_opt(int argc, char **argv, int *i, struct iguest *g, bool *bad)
{
	const char *v;

	if ((v = iopt(argc, argv, i, "guest", bad)))
		g->path = v;
	else if ((v = iopt(argc, argv, i, "guest-dir", bad)))
		g->dir = v;
	return v != NULL;
}

int inspect_symbols(const struct itrace *t, const struct iguest *g, bool quiet,
		    struct symtab **st)
{
	const char *guest = g->path;
	struct guest_lookup l = { .guest = guest, .guest_dir = g->dir,
				  .force = guest != NULL };
	char path[PATH_MAX], err[4096];
	int found;

	*st = NULL;
	if (t->desc.kind != RUN_KIND_GUEST && !guest)
		return 0;  /* no image: the guest is recorded memory */
	found = guest_id_find(&t->desc.guest, t->path, &l, path, sizeof(path),
			      err, sizeof(err));
	if (found < 0) {
		if (!quiet)
			note(t->cmd, err, "note: ", "\nRIPs are not symbolised");
		return guest ? INSPECT_BAD_INPUT : 0;
	}
	if (found == GUEST_FORCED && !quiet)
		note(t->cmd, err, "warning: ", "; symbols may be wrong");
	*st = symtab_load(path, err, sizeof(err));
	if (*st)
		return 0;
	note(t->cmd, err, "", "");
	return guest ? INSPECT_BAD_INPUT : 0;
}

const char *iopt(int argc, char **argv, int *i, const char *name, bool *bad)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, "--", 2) || strncmp(a + 2, name, n))
		return NULL;
	if (a[2 + n] == '=')
		return a + 3 + n;
	if (a[2 + n])
		return NULL;
	if (*i + 1 >= argc) {
		*bad = true;
		return NULL;
	}
	return argv[++*i];
}

int ivcpu_set_parse(const char *cmd, const char *opt, const char *s,
		    struct ivcpu_set *set)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int ret = 0;

	memset(set, 0, sizeof(*set));
	set->any = true;
	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		uint64_t id;
		char *end;

		if (!strcmp(tok, "vm") || !strcmp(tok, "none")) {
			set->none = true;
			continue;
		}
		errno = 0;
		id = strtoull(tok, &end, 10);
		if (!isdigit((unsigned char)*tok) || *end || errno ||
		    id >= INSPECT_MAX_VCPUS) {
			fprintf(stderr, "vcprr %s: --%s: '%s' is not a VCPU id "
				"(0..%u) or 'vm'\n", cmd, opt, tok,
				INSPECT_MAX_VCPUS - 1);
			ret = -1;
			break;
		}
		set->ids[id / 8] |= (uint8_t)(1u << (id % 8));
	}
	free(copy);
	return ret;
}

bool ivcpu_set_has(const struct ivcpu_set *set, uint32_t vcpu)
{
	if (!set->any)
		return true;
	if (vcpu == TRACE_VCPU_NONE)
		return set->none;
	return vcpu < INSPECT_MAX_VCPUS && (set->ids[vcpu / 8] >> (vcpu % 8) & 1);
}

int itype_set_parse(const char *cmd, const char *opt, const char *s,
		    bool types[TEV__COUNT])
{
	char *copy = strdup(s), *tok, *save = NULL;
	int ret = 0;

	memset(types, 0, TEV__COUNT * sizeof(bool));
	if (!copy)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		uint32_t t = trace_event_type_from_name(tok);

		if (t != TEV_NONE) {
			types[t] = true;
			continue;
		}
		fprintf(stderr, "vcprr %s: --%s: unknown event type '%s'; "
			"types are:", cmd, opt, tok);
		for (t = 1; t < TEV__COUNT; t++)
			fprintf(stderr, " %s", trace_event_name(t));
		fputc('\n', stderr);
		ret = -1;
		break;
	}
	free(copy);
	return ret;
}
