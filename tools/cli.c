/* Command-line parsing helpers shared by the subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"
#include "vmm/vm.h"

int cli_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

static int parse_scaled(const char *s, uint64_t *out, const char *const *units,
			const uint64_t *scales, int nunits, uint64_t dflt)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (!*end) {
		*out = v * dflt;
		return v && *out / v != dflt ? -1 : 0;
	}
	for (int i = 0; i < nunits; i++) {
		if (strcmp(end, units[i]))
			continue;
		*out = v * scales[i];
		return v && *out / v != scales[i] ? -1 : 0;
	}
	return -1;
}

int cli_parse_size(const char *s, uint64_t *bytes)
{
	static const char *const units[] = { "K", "k", "M", "m", "G", "g" };
	static const uint64_t scales[] = { 1ull << 10, 1ull << 10, 1ull << 20,
					   1ull << 20, 1ull << 30, 1ull << 30 };

	return parse_scaled(s, bytes, units, scales, 6, 1);
}

int cli_parse_duration(const char *s, uint64_t *ns)
{
	static const char *const units[] = { "ns", "us", "ms", "s", "m" };
	static const uint64_t scales[] = { 1, 1000, 1000000, 1000000000ull,
					   60000000000ull };

	return parse_scaled(s, ns, units, scales, 5, 1000000);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vcprr %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'vcprr %s --help'.\n", cmd);
	return EXIT_USAGE;
}

int cli_exit_status(const struct vm_result *res)
{
	switch (res->reason) {
	case TEND_GUEST_EXIT:
		return res->exit_code & 0xff;
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
