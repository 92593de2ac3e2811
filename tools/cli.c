/* Command-line parsing helpers shared by the subcommands. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "tools/cli.h"
#include "traces/clock.h"
#include "vmm/vm.h"

struct unit {
	const char *name;
	uint64_t scale;
};

int cli_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

/* "1.5UNIT": value * scale.  @exact: refuse a result that is not whole.
 * Returns the unit's index, -2 for a number without a unit, -1 when
 * malformed or too large. */
static int parse_scaled(const char *s, const struct unit *units, int nunits,
			bool exact, uint64_t *out)
{
	unsigned __int128 whole = 0, frac = 0, den = 1, v;
	const char *p = s;
	int i;

	if (!s || *s < '0' || *s > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (unsigned)(*p - '0');
		if (whole > UINT64_MAX)
			return -1;
	}
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -1;
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (den < 1000000000000000000ull) {
				frac = frac * 10 + (unsigned)(*p - '0');
				den *= 10;
			}
	}
	if (!*p)
		return -2;
	for (i = 0; i < nunits && strcmp(p, units[i].name); i++)
		;
	if (i == nunits)
		return -1;
	v = whole * units[i].scale + frac * units[i].scale / den;
	if (v > UINT64_MAX || (exact && frac * units[i].scale % den))
		return -1;
	*out = (uint64_t)v;
	return i;
}

int cli_parse_size(const char *s, uint64_t *bytes)
{
	static const struct unit units[] = {
		{ "K", 1ull << 10 }, { "k", 1ull << 10 }, { "KiB", 1ull << 10 },
		{ "M", 1ull << 20 }, { "m", 1ull << 20 }, { "MiB", 1ull << 20 },
		{ "G", 1ull << 30 }, { "g", 1ull << 30 }, { "GiB", 1ull << 30 },
		{ "T", 1ull << 40 }, { "t", 1ull << 40 }, { "TiB", 1ull << 40 },
	};
	int r = parse_scaled(s, units, sizeof(units) / sizeof(units[0]), true,
			     bytes);

	if (r == -2 && !strchr(s, '.'))
		return cli_parse_u64(s, bytes);   /* plain bytes */
	return r < 0 ? -1 : 0;
}

int cli_parse_duration(const char *s, uint64_t *ns)
{
	static const struct unit units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 },
		{ "s", 1000000000ull }, { "m", 60000000000ull },
		{ "h", 3600000000000ull },
	};

	if (s && !strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	return parse_scaled(s, units, sizeof(units) / sizeof(units[0]), false,
			    ns) < 0 ? -1 : 0;
}

static void vusage(const char *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "vcprr %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\nTry 'vcprr %s --help'.\n", cmd);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vusage(cmd, fmt, ap);
	va_end(ap);
	return EXIT_USAGE;
}

int cli_bad_duration(const char *cmd, const char *opt, const char *s)
{
	if (s && *s && strspn(s, "0123456789.") == strlen(s))
		return cli_usage_error(cmd, "%s '%s': a duration needs a unit "
				       "(ns, us, ms, s, m or h), e.g. %sms or %ss",
				       opt, s, s, s);
	return cli_usage_error(cmd, "%s '%s': expected a duration such as "
			       "500ms, 1.5s or 2m", opt, s ? s : "");
}

int cli_option_error(const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	char name[64];

	if (!strncmp(arg, "--", 2))
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	else if (optopt)
		snprintf(name, sizeof(name), "-%c", optopt);
	else
		snprintf(name, sizeof(name), "%s", arg);
	if (c == ':')
		return cli_usage_error(cmd, "%s needs a value", name);
	return cli_usage_error(cmd, "unknown option '%s'", name);
}

void cli_deprecated(const char *cmd, const char *old, const char *now)
{
	fprintf(stderr, "vcprr %s: warning: %s is deprecated and will go away "
		"in the next release; use %s\n", cmd, old, now);
}

int cli_check_mem(const char *cmd, const char *text, uint64_t bytes)
{
	if (bytes >= VM_MIN_MEM && bytes <= VM_MAX_MEM && bytes % 4096 == 0)
		return 0;
	return cli_usage_error(cmd, "--mem '%s': guest memory must be a "
			       "multiple of 4K between %lluM and %lluM", text,
			       VM_MIN_MEM >> 20, VM_MAX_MEM >> 20);
}

int cli_add_arg(const char *cmd, const char *text, struct vm_guest_input *in)
{
	uint64_t v;

	if (cli_parse_u64(text, &v))
		return cli_usage_error(cmd, "--arg '%s': expected a number", text);
	if (in->argc == VM_MAX_ARGS)
		return cli_usage_error(cmd, "--arg '%s': a guest takes at most %u "
				       "arguments", text, VM_MAX_ARGS);
	in->argv[in->argc++] = v;
	return 0;
}

int cli_read_data(const char *cmd, const char *path, struct vm_guest_input *in)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return cli_usage_error(cmd, "--data '%s': cannot open: %s", path,
				       strerror(errno));
	/* one byte more than fits tells a file too large */
	n = fread(in->data, 1, VM_MAX_DATA, f);
	if (!ferror(f) && n == VM_MAX_DATA && fgetc(f) != EOF) {
		fclose(f);
		return cli_usage_error(cmd, "--data '%s': larger than the %u "
				       "bytes a guest's data may hold", path,
				       VM_MAX_DATA);
	}
	if (ferror(f)) {
		int e = errno;

		fclose(f);
		return cli_usage_error(cmd, "--data '%s': cannot read: %s", path,
				       strerror(e));
	}
	fclose(f);
	in->data_len = (uint32_t)n;
	return 0;
}

int cli_parse_shard(const char *cmd, const char *arg, struct cli_shard *s)
{
	const char *slash = strchr(arg, '/');
	unsigned k, n;
	int end = 0;

	if (!slash || !isdigit((unsigned char)arg[0]) ||
	    !isdigit((unsigned char)slash[1]) ||
	    sscanf(arg, "%u/%u%n", &k, &n, &end) != 2 || arg[end] || !k ||
	    k > n || n > 1000000)
		return cli_usage_error(cmd, "--shard '%s': expected K/N with "
				       "1 <= K <= N, such as 2/4", arg);
	s->k = k;
	s->n = n;
	return 0;
}

uint64_t cli_random_seed(void)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	/* no entropy yet (early boot): the clock and pid still differ */
	return clock_ns_of(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 48);
}

bool cli_fancy_terminal(int fd)
{
	const char *term = getenv("TERM");

	return isatty(fd) && term && *term && strcmp(term, "dumb");
}

int cli_exit_status(const struct vm_result *res)
{
	switch (res->reason) {
	case TEND_GUEST_EXIT:
		if (res->exit_code == 0 || (res->exit_code >= 1 &&
		    res->exit_code < EXIT_GUEST_CODE &&
		    res->exit_code != EXIT_USAGE))
			return res->exit_code;
		return EXIT_GUEST_CODE;
	case TEND_GUEST_ASSERT:
		return EXIT_GUEST_ASSERT;
	case TEND_GUEST_FAULT:
		return EXIT_GUEST_FAULT;
	case TEND_SIGNAL:
		return 128 + res->exit_code;
	default:
		return EXIT_VMM_ERROR;
	}
}
