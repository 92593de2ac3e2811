/* Shared command-line helpers for the vcprr subcommands. */
#ifndef VCPRR_TOOLS_CLI_H
#define VCPRR_TOOLS_CLI_H

#include <stdint.h>

/* Exit statuses of the vcprr command (documented in --help and README). */
enum vcprr_exit {
	EXIT_USAGE = 2,          /* bad command line */
	EXIT_GUEST_ASSERT = 124, /* a guest assertion failed */
	EXIT_GUEST_FAULT = 125,  /* triple fault, bad exit, unmapped I/O, timeout */
	EXIT_VMM_ERROR = 126,    /* vcprr could not run the guest at all */
};

/* "64M", "1G", "4096", "2m": bytes.  Returns -1 on a malformed value. */
int cli_parse_size(const char *s, uint64_t *bytes);
/* "10ms", "2s", "500us", "1m", "250" (ms): nanoseconds.  -1 if malformed. */
int cli_parse_duration(const char *s, uint64_t *ns);
/* A decimal or 0x-prefixed unsigned number; -1 if malformed. */
int cli_parse_u64(const char *s, uint64_t *v);

/* Prints "vcprr NAME: message" to stderr and returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Maps a vm_result to the process exit status. */
struct vm_result;
int cli_exit_status(const struct vm_result *res);

int cmd_run(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_explore(int argc, char **argv);
int cmd_minimize(int argc, char **argv);

#endif
