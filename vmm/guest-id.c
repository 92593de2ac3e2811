/* Guest identity: what record takes down, and how a trace's guest is
 * found again. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "traces/sha256.h"
#include "vmm/elf.h"
#include "vmm/guest-id.h"

#define MAX_TRIES 6

/* The folder part of @path: "." when it has none. */
static void dir_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, len, ".");
	else if (slash == path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - path), path);
}

/* @to relative to the folder @from, both canonical absolute paths. */
static int relative_path(const char *from, const char *to, char *out,
			 size_t len)
{
	size_t common = 0, i, o = 0;

	for (i = 0; from[i] && from[i] == to[i]; i++)
		if (from[i] == '/')
			common = i;
	if (!from[i] && to[i] == '/')
		common = i;
	out[0] = 0;
	for (const char *p = from + common; *p; p++) {
		if (p[0] != '/' || !p[1])
			continue;
		if (o + 3 >= len)
			return -1;
		memcpy(out + o, "../", 4);
		o += 3;
	}
	if (o + strlen(to + common + 1) >= len)
		return -1;
	strcpy(out + o, to + common + 1);
	return 0;
}

int guest_id_take(struct run_guest *g, const char *path,
		  const char *trace_path, char *err, size_t errlen)
{
	char dir[PATH_MAX], real_dir[PATH_MAX], real_guest[PATH_MAX], msg[256];
	uint8_t *image;
	size_t len;

	memset(g, 0, sizeof(*g));
	if (strlen(path) >= sizeof(g->path)) {
		snprintf(err, errlen, "%s: a path longer than %zu bytes cannot be "
			 "recorded", path, sizeof(g->path) - 1);
		return -1;
	}
	strcpy(g->path, path);
	if (elf_read_file(path, &image, &len, msg, sizeof(msg)) == 0) {
		sha256(image, len, g->sha256);
		free(image);
	}
	dir_of(trace_path, dir, sizeof(dir));
	if (realpath(dir, real_dir) && realpath(path, real_guest) &&
	    relative_path(real_dir, real_guest, g->from_trace,
			  sizeof(g->from_trace)))
		g->from_trace[0] = 0;  /* too long: the other paths serve */
	return 0;
}

/* --- finding ------------------------------------------------------------- */

struct tries {
	char path[MAX_TRIES][PATH_MAX];
	char why[MAX_TRIES][288];
	unsigned n;
};

/* @rel in @dir (NULL: as it is), unless it was tried already. */
static void add(struct tries *t, const char *dir, const char *rel)
{
	char *p = t->path[t->n];
	int n;

	if (!rel[0] || t->n == MAX_TRIES)
		return;
	if (!dir || rel[0] == '/' || !strcmp(dir, "."))
		n = snprintf(p, PATH_MAX, "%s", rel);
	else
		n = snprintf(p, PATH_MAX, "%s/%s", dir, rel);
	if (n < 0 || n >= PATH_MAX)
		return;
	for (unsigned i = 0; i < t->n; i++)
		if (!strcmp(t->path[i], p))
			return;
	t->why[t->n][0] = 0;
	t->n++;
}

static void candidates(struct tries *t, const struct run_guest *g,
		       const char *trace_path, const char *guest_dir)
{
	const char *base = strrchr(g->path, '/');
	char dir[PATH_MAX];

	dir_of(trace_path, dir, sizeof(dir));
	add(t, dir, g->from_trace);
	if (g->path[0] != '/')
		add(t, dir, g->path);
	add(t, NULL, g->path);
	if (!guest_dir)
		return;
	if (g->path[0] != '/')
		add(t, guest_dir, g->path);
	add(t, guest_dir, base ? base + 1 : g->path);
}

/* 1: the recorded image; 0: another one; -1: it cannot be read.  @why
 * says which. */
static int try_image(const char *path, const uint8_t want[32], char *why,
		     size_t len)
{
	char msg[256], got_hex[65];
	const char *m = msg;
	uint8_t *image, got[32];
	size_t n, plen = strlen(path);

	if (elf_read_file(path, &image, &n, msg, sizeof(msg))) {
		if (!strncmp(msg, path, plen) && !strncmp(msg + plen, ": ", 2))
			m += plen + 2;  /* without the path we name anyway */
		snprintf(why, len, "%s", m);
		return -1;
	}
	sha256(image, n, got);
	free(image);
	if (!memcmp(got, want, 32))
		return 1;
	sha256_hex(got, got_hex);
	snprintf(why, len, "another image: sha256 %s", got_hex);
	return 0;
}

static bool no_hash(const struct run_guest *g)
{
	static const uint8_t zero[32];

	return !memcmp(g->sha256, zero, sizeof(zero));
}

/* --guest PATH: that image only. */
static int find_given(const struct run_guest *g, const struct guest_lookup *l,
		      char *out, size_t outlen, char *err, size_t errlen)
{
	char why[288], want[65];
	int r = try_image(l->guest, g->sha256, why, sizeof(why));

	if (r < 0) {
		snprintf(err, errlen, "%s: %s", l->guest, why);
		return -1;
	}
	snprintf(out, outlen, "%s", l->guest);
	if (r)
		return GUEST_MATCH;
	sha256_hex(g->sha256, want);
	snprintf(err, errlen, "%s is not the guest image this trace was "
		 "recorded with (%s, recorded sha256 %s)%s", l->guest, why,
		 no_hash(g) ? "none: the recording could not read its guest" :
		 want, l->force ? "" : "; give the right one with --guest PATH, "
		 "or --force to use this one anyway");
	return l->force ? GUEST_FORCED : -1;
}

static void not_found(const struct tries *t, const struct run_guest *g,
		      bool force, char *err, size_t errlen)
{
	char path[256], want[65];
	int n;

	run_desc_escape(path, sizeof(path), g->path, sizeof(g->path));
	sha256_hex(g->sha256, want);
	if (no_hash(g))
		n = snprintf(err, errlen, "the trace records no guest image (the "
			     "recording could not read '%s'); tried:", path);
	else
		n = snprintf(err, errlen, "cannot find the guest image this trace "
			     "was recorded with ('%s', sha256 %s); tried:", path,
			     want);
	for (unsigned i = 0; i < t->n && n >= 0 && (size_t)n < errlen; i++) {
		char p[512];

		run_desc_escape(p, sizeof(p), t->path[i], PATH_MAX);
		n += snprintf(err + n, errlen - (size_t)n, "\n  %s: %s", p,
			      t->why[i]);
	}
	if (n >= 0 && (size_t)n < errlen)
		snprintf(err + n, errlen - (size_t)n, "\ngive the image with "
			 "--guest PATH%s", no_hash(g) || force ? " --force" :
			 " (or the folder holding it with --guest-dir DIR)");
}

int guest_id_find(const struct run_guest *g, const char *trace_path,
		  const struct guest_lookup *l, char *out, size_t outlen,
		  char *err, size_t errlen)
{
	struct tries *t;
	int first = -1, ret = -1;

	if (l->guest)
		return find_given(g, l, out, outlen, err, errlen);
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	candidates(t, g, trace_path, l->guest_dir);
	for (unsigned i = 0; i < t->n; i++) {
		int r = try_image(t->path[i], g->sha256, t->why[i],
				  sizeof(t->why[i]));

		if (r > 0) {
			snprintf(out, outlen, "%s", t->path[i]);
			ret = GUEST_MATCH;
			goto out;
		}
		if (r == 0 && first < 0)
			first = (int)i;
	}
	if (l->force && first >= 0) {
		snprintf(out, outlen, "%s", t->path[first]);
		snprintf(err, errlen, "%s is not the recorded guest image (%s)",
			 t->path[first], t->why[first]);
		ret = GUEST_FORCED;
		goto out;
	}
	not_found(t, g, l->force, err, errlen);
out:
	free(t);
	return ret;
}
