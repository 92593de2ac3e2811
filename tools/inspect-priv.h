/* Internals shared by the inspect and export tools (not a public API). */
#ifndef VCPRR_TOOLS_INSPECT_PRIV_H
#define VCPRR_TOOLS_INSPECT_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tools/symbols.h"
#include "traces/event-format.h"
#include "traces/trace.h"
#include "vmm/run-desc.h"

enum inspect_status {
	INSPECT_OK = 0,
	INSPECT_DIFFERENT = 1,
	INSPECT_USAGE = 2,
	INSPECT_BAD_INPUT = 3,
};

/* VCPU ids at or above this are not tracked per VCPU (hostile traces). */
#define INSPECT_MAX_VCPUS 4096

/* An open trace with one event of look-ahead: the first event's time is
 * the origin every tool prints times against. */
struct itrace {
	const char *path;
	const char *cmd;          /* "inspect dump", for messages */
	int stdin_copy;           /* "-" from a pipe: the copy's fd, or -1 */
	struct trace_reader *r;
	const struct trace_header *h;
	struct run_desc desc;     /* the recorded run, decoded from h */
	uint64_t t0;
	bool have_peek;
	struct trace_event peek;
	uint8_t peek_pl[TRACE_MAX_PAYLOAD];
};

/* 0, or prints "vcprr CMD: PATH: why" and returns INSPECT_BAD_INPUT (the
 * trace is unreadable: a corrupt header, index or run description).
 * PATH "-" is standard input (once per process): read in place when it
 * is a file, else copied to an unnamed temporary file first. */
int itrace_open(struct itrace *t, const char *path, const char *cmd);
void itrace_close(struct itrace *t);
/* 1 = event, 0 = end, -1 = corrupt (message printed). */
int itrace_next(struct itrace *t, struct trace_event *ev,
		const uint8_t **payload);
/* Seek to the first event with seq >= @seq / time >= t0 + @rel_ns. */
int itrace_seek(struct itrace *t, bool by_time, uint64_t v);
/* "complete, 123 events" / "truncated after ..." into @buf. */
void itrace_state(const struct itrace *t, char *buf, size_t len);
/* Prints the truncation note to stderr when the trace was cut short. */
void itrace_note_truncation(const struct itrace *t);

/* A position on the command line: a sequence number ("1234") or a time
 * since the first event with a unit ("1.5ms", "20us", "2s", "300ns"). */
struct ipos {
	bool set, by_time;
	uint64_t v;
};
int ipos_parse(const char *s, struct ipos *p);

/* An option-like argument: starts with '-' but is not "-" (stdin). */
static inline bool iarg_is_option(const char *a)
{
	return a[0] == '-' && a[1];
}

/* Text from a trace or a guest ELF (paths, mode, symbol names) for a
 * terminal: printable ASCII as it is, other bytes and '\\' escaped
 * (\xNN), so that a hostile trace cannot send escape sequences. */
void fput_text(FILE *f, const char *s);

/* "+0.012345678" seconds since the origin (negative when before it). */
const char *fmt_reltime(char *buf, size_t len, uint64_t t, uint64_t t0);

/* Where the guest is, from the command line: --guest PATH (that image)
 * and --guest-dir DIR (a folder tried after the recorded path), as in
 * replay.  Both NULL: the recorded guest. */
struct iguest {
	const char *path, *dir;
};

/* Parses --guest/--guest-dir at argv[*i] into @g (as iopt does); true
 * when it was one of them. */
bool iguest_opt(int argc, char **argv, int *i, struct iguest *g, bool *bad);

/* Guest symbols for a trace (notes name t->cmd): g->path (--guest) if
 * given, else the recorded guest as vmm/guest-id.h finds it (the recorded
 * SHA-256, also in g->dir).  Returns 0 with
 * *st possibly NULL (not found: a note on stderr unless @quiet), or
 * INSPECT_BAD_INPUT when an explicit g->path cannot be loaded. */
int inspect_symbols(const struct itrace *t, const struct iguest *g, bool quiet,
		    struct symtab **st);

/* One event as one line of text (no newline) or one JSON object; @pl may
 * be NULL to leave the payload out. */
struct ifmt {
	const struct symtab *syms;
	uint64_t t0;
};
void ifmt_text(FILE *f, const struct ifmt *fmt, const struct trace_event *ev,
	       const uint8_t *pl);
void ifmt_json(FILE *f, const struct ifmt *fmt, const struct trace_event *ev,
	       const uint8_t *pl);
/* The decoded fields of ifmt_text alone: what follows the type name. */
void ifmt_fields(FILE *f, const struct ifmt *fmt, const struct trace_event *ev,
		 const uint8_t *pl);
/* JSON string body (without quotes) of @len bytes. */
void json_str(FILE *f, const uint8_t *s, size_t len);
/* "<sym+off>" for @rip into @buf, or "" */
const char *ifmt_sym(char *buf, size_t len, const struct symtab *st,
		     uint64_t rip);

/* Command-line helpers.  iopt: if argv[*i] is "--NAME VALUE" or
 * "--NAME=VALUE", returns VALUE (advancing *i) and sets *bad when VALUE is
 * missing; else NULL. */
const char *iopt(int argc, char **argv, int *i, const char *name, bool *bad);
/* Comma lists: VCPU ids (or "vm" for VM-wide events) and event type names.
 * Return 0 or -1 (message printed, naming @opt). */
struct ivcpu_set {
	bool any, none;
	uint8_t ids[INSPECT_MAX_VCPUS / 8];
};
int ivcpu_set_parse(const char *cmd, const char *opt, const char *s,
		    struct ivcpu_set *set);
bool ivcpu_set_has(const struct ivcpu_set *set, uint32_t vcpu);
int itype_set_parse(const char *cmd, const char *opt, const char *s,
		    bool types[TEV__COUNT]);

/* Subcommands. */
int inspect_summary_main(int argc, char **argv);
int inspect_dump_main(int argc, char **argv);
int inspect_follow_main(int argc, char **argv);
int inspect_diff_main(int argc, char **argv);
int export_chrome(struct itrace *t, FILE *out, const struct symtab *st);
int export_html(struct itrace *t, FILE *out, const struct symtab *st);
/* The summary of @path on @out; returns an inspect_status.  Events read
 * are stored in *events (for the benchmark). */
int inspect_summary_file(const char *path, FILE *out, uint64_t *events);

#endif
