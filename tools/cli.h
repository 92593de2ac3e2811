/* Shared command-line helpers for the vcprr subcommands. */
#ifndef VCPRR_TOOLS_CLI_H
#define VCPRR_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>

/* Exit statuses of the vcprr command (documented in --help and README).
 * A guest's own exit code passes through when it is 1 or 3 to 122; every
 * other non-zero code (2, 123 and up, negative) becomes EXIT_GUEST_CODE,
 * so that a failing guest never looks like success nor like vcprr's own
 * statuses. */
enum vcprr_exit {
	EXIT_USAGE = 2,          /* bad command line */
	EXIT_GUEST_CODE = 123,   /* the guest's exit code could not pass as is */
	EXIT_GUEST_ASSERT = 124, /* a guest assertion failed */
	EXIT_GUEST_FAULT = 125,  /* triple fault, bad exit, unmapped I/O, timeout */
	EXIT_VMM_ERROR = 126,    /* vcprr could not run the guest at all */
	EXIT_INTERRUPTED = 130,  /* SIGINT (128 + 2); SIGTERM gives 143 */
};

/* "64M", "1G", "1.5GiB", "4096": bytes (K/M/G and KiB/MiB/GiB are
 * powers of 1024).  -1 when malformed or not a whole number of bytes. */
int cli_parse_size(const char *s, uint64_t *bytes);
/* "10ms", "1.5s", "500us", "20ns", "2m", "1h": nanoseconds.  A number
 * needs its unit ("0" alone is allowed).  -1 when malformed. */
int cli_parse_duration(const char *s, uint64_t *ns);
/* A decimal or 0x-prefixed unsigned number; -1 if malformed. */
int cli_parse_u64(const char *s, uint64_t *v);

/* Prints "vcprr CMD: message" and a pointer to --help on stderr; returns
 * EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The usage error for a bad duration @s given to option @opt. */
int cli_bad_duration(const char *cmd, const char *opt, const char *s);
/* The usage error for getopt_long's ':' (missing value) or '?' (unknown
 * option).  Parsers pass an optstring starting with ':'. */
int cli_option_error(const char *cmd, int c, char **argv);
/* One line on stderr: @old is deprecated in CMD, use @now. */
void cli_deprecated(const char *cmd, const char *old, const char *now);

/* Checks a --mem value against the VM's limits, naming what the user
 * typed (@text).  0, or EXIT_USAGE after printing the problem. */
int cli_check_mem(const char *cmd, const char *text, uint64_t bytes);

/* The guest's input from the command line, for every command that starts
 * a guest.  --arg N (repeatable): appends N, decimal or 0x-prefixed.
 * --data FILE: its bytes (at most VM_MAX_DATA), read now; a later --data
 * replaces them.  0, or EXIT_USAGE after a message naming the option and
 * the value or file. */
struct vm_guest_input;
int cli_add_arg(const char *cmd, const char *text, struct vm_guest_input *in);
int cli_read_data(const char *cmd, const char *path, struct vm_guest_input *in);
#define CLI_INPUT_HELP \
"  -a, --arg N          a number for the guest (vcprr_argv(i), the first\n" \
"                       also vcprr_arg()); give it up to 16 times\n" \
"  --data FILE          bytes for the guest (vcprr_data()), at most 2048;\n" \
"                       recorded in the trace, which needs no FILE later\n"

/* --shard K/N of replay --check and explore: item i (from 0) of a list
 * belongs to shard K when i % N == K - 1, so the N shards hold every item
 * exactly once and share the work evenly.  n == 0: not sharded. */
struct cli_shard {
	unsigned k, n;
};

/* Parses "K/N" (1 <= K <= N <= 1000000).  0, or EXIT_USAGE after saying
 * what was wrong with --shard's @arg. */
int cli_parse_shard(const char *cmd, const char *arg, struct cli_shard *s);

static inline bool cli_shard_has(const struct cli_shard *s, uint64_t i)
{
	return !s->n || i % s->n == s->k - 1;
}

/* A seed from getrandom() for runs the user did not seed. */
uint64_t cli_random_seed(void);

/* True when fd is a terminal that understands escape sequences (not
 * TERM=dumb): progress bars and colours go there only. */
bool cli_fancy_terminal(int fd);

/* Maps a vm_result to the process exit status (see enum vcprr_exit). */
struct vm_result;
int cli_exit_status(const struct vm_result *res);

int cmd_run(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_explore(int argc, char **argv);
int cmd_minimize(int argc, char **argv);
int cmd_debug(int argc, char **argv);
int cmd_analyze(int argc, char **argv);

#endif
