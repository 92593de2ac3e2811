/* vcprr export --format html with what vcprr analyze found drawn on it.
 *
 * The page of a step-mode run that analyze watched (analyze_opts.watched
 * keeps its trace) marks each racing access of that run on its VCPU's
 * lane, links the two accesses of a race, and shades the window of each
 * decision of the schedule (decisive ones apart); the details pane names
 * the variable and both source lines.  Accesses are placed by their step:
 * a step inside a holds-the-CPU slice that ran steps [in, out) from t0 to
 * t1 is drawn at t0 + (step - in) * (t1 - t0) / (out - in), since every
 * step of step mode costs about the same.  Not thread-safe. */
#ifndef VCPRR_TOOLS_EXPORT_HTML_H
#define VCPRR_TOOLS_EXPORT_HTML_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tools/analyze.h"
#include "tools/inspect-holds.h"
#include "tools/inspect-priv.h"

/* The page of t with an (NULL: none) on it, its header naming the trace
 * title (NULL: t's path); an inspect_status. */
int export_html_analysis(struct itrace *t, FILE *out, const struct symtab *st,
			 const struct analyze_result *an, const char *title);

/* Writes the page of the trace at path to out (outfile.h rules; replace:
 * an existing out may go), messages naming cmd.  0, or -1 (printed). */
int export_html_file(const char *cmd, const char *path, const char *out,
		     bool replace, const struct symtab *st,
		     const struct analyze_result *an, const char *title);

/* --- between export-html.c and export-html-analysis.c ------------------ */

/* A JSON (and JS) string body, '<' escaped so no "</script>" ends the
 * script early. */
void html_js_str(FILE *f, const char *s);

/* A step the page places in time: a racing access (on its VCPU, drawn in
 * the middle of its step) or the end of a decision's window (on whoever
 * ran that step, at its start). */
struct html_point {
	unsigned vcpu;        /* HTML_ANY_VCPU: whoever held the CPU */
	uint64_t step;
	bool mid, placed;
};
#define HTML_ANY_VCPU UINT32_MAX

/* The points of an: races of the watched run first (race i, side k:
 * point 2i + k), then each window's opening and end (2 * nraces_run +
 * 2j, + 1).  NULL when out of memory (or none: *n = 0). */
struct html_point *html_points(const struct analyze_result *an, size_t *n);
/* Whether hold slice s ran point p's step, and when (ns, absolute).
 * last_step ends a slice still holding the CPU as the trace ends. */
bool html_point_time(const struct html_point *p, const struct hold_slice *s,
		     uint64_t last_step, uint64_t *t);
/* "analysis:{...}" for META (see export-html-page.js). */
void html_analysis_meta(FILE *f, const struct analyze_result *an);

#endif
