/* The races explore's runs show (see explore-races.h). */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tools/analyze-names.h"
#include "tools/analyze-run.h"
#include "tools/analyze.h"
#include "tools/explore-cli.h"
#include "tools/explore-races.h"
#include "tools/inspect-priv.h"

/* A worker's record reaches the parent in one write. */
_Static_assert(sizeof(struct run_record) <= PIPE_BUF,
	       "a run's record must fit one pipe write");

/* A race of the tally: the pair of source lines it was first seen at. */
struct race_seen {
	struct run_race r;
	uint64_t site[2];    /* in order: site[0] <= site[1] */
	unsigned runs, failed;
};

struct explore_races *explore_races_new(void)
{
	return calloc(1, sizeof(struct explore_races));
}

void explore_races_symbols(struct explore_races *er, const char *guest)
{
	char msg[512];

	symtab_free(er->st);
	er->st = symtab_load(guest, msg, sizeof(msg));
}

void explore_races_free(struct explore_races *er)
{
	if (!er)
		return;
	symtab_free(er->st);
	free(er->seen);
	free(er);
}

static void sites_of(const struct symtab *st, const struct run_race *r,
		     uint64_t site[2])
{
	uint64_t a = analyze_site((void *)st, r->rip[0]);
	uint64_t b = analyze_site((void *)st, r->rip[1]);

	site[0] = a < b ? a : b;
	site[1] = a < b ? b : a;
}

/* Keeps hb's races in out, each pair of lines (in either order) once. */
static void keep_races(const struct symtab *st, const struct hb *hb,
		       struct run_races *out)
{
	size_t n;
	const struct hb_race *r = hb_races(hb, &n);

	for (size_t i = 0; i < n; i++) {
		struct run_race rr = {
			.addr = r[i].addr,
			.rip = { r[i].first.rip, r[i].second.rip },
			.rw = { r[i].first.rw, r[i].second.rw },
			.atomic = { r[i].first.atomic, r[i].second.atomic },
		};
		uint64_t s[2], t[2];
		bool known = false;

		sites_of(st, &rr, s);
		for (uint32_t j = 0; j < out->n && !known; j++) {
			sites_of(st, &out->r[j], t);
			known = s[0] == t[0] && s[1] == t[1];
		}
		if (known)
			continue;
		if (out->n == RUN_RACES_MAX) {
			out->more = true;
			return;
		}
		out->r[out->n++] = rr;
	}
}

int explore_races_run(const struct explore_config *cfg, uint64_t seed,
		      const struct symtab *st, struct explore_result *res,
		      struct run_races *out, char *err, size_t errlen)
{
	struct hb_config hc = { .nr_vcpus = cfg->nr_vcpus ? cfg->nr_vcpus : 1,
				.site = analyze_site, .site_arg = (void *)st };
	char dir[ANALYZE_SCRATCH_MAX];
	struct analyze_run ar;
	struct hb *hb;
	int ret;

	memset(out, 0, sizeof(*out));
	if (analyze_run_init(&ar, 0)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* The run is recorded (into a trace that vanishes): its pause and
	 * resume edges reach the observer only so. */
	ret = analyze_scratch_make(dir, sizeof(dir), err, errlen);
	if (!ret) {
		ret = analyze_watch_run(cfg, seed, dir, &ar, res, err, errlen);
		analyze_scratch_remove(dir);
	}
	if (!ret && !(hb = access_log_races(ar.log, &hc))) {
		snprintf(err, errlen, "out of memory for the race detector");
		ret = -1;
	}
	if (!ret) {
		keep_races(st, hb, out);
		out->partial = ar.out_of_memory || access_log_full(ar.log) ||
			       hb_full(hb);
		hb_free(hb);
	}
	analyze_run_fini(&ar);
	return ret;
}

void explore_races_add(struct explore_races *er, const struct run_races *rr,
		       bool failed)
{
	er->runs_more += rr->more;
	er->partial += rr->partial;
	for (uint32_t i = 0; i < rr->n && i < RUN_RACES_MAX; i++) {
		struct race_seen *s = NULL;
		uint64_t site[2];

		sites_of(er->st, &rr->r[i], site);
		for (size_t j = 0; j < er->n && !s; j++)
			if (er->seen[j].site[0] == site[0] &&
			    er->seen[j].site[1] == site[1])
				s = &er->seen[j];
		if (!s) {
			if (er->n == er->cap) {
				size_t cap = er->cap ? 2 * er->cap : 16;
				void *p = realloc(er->seen, cap * sizeof(*s));

				if (!p)
					return;   /* counted no further */
				er->seen = p;
				er->cap = cap;
			}
			s = &er->seen[er->n++];
			*s = (struct race_seen){ .r = rr->r[i],
						 .site = { site[0], site[1] } };
		}
		s->runs++;
		s->failed += failed;
	}
}

static const char *rw_name(uint8_t rw)
{
	return rw == (HB_READ | HB_WRITE) ? "read-modify-write" :
	       rw & HB_WRITE ? "write" : "read";
}

static void print_side(FILE *f, const struct symtab *st,
		       const struct run_race *r, int k)
{
	fprintf(f, "       %s%s at ", r->atomic[k] ? "atomic " : "",
		rw_name(r->rw[k]));
	analyze_put_code(f, st, r->rip[k]);
	fputc('\n', f);
}

void explore_races_print(FILE *f, const struct explore_races *er,
			 unsigned runs)
{
	fprintf(f, "\ndata races (every instruction watched): %zu pair%s of "
		"source lines\n", er->n, er->n == 1 ? "" : "s");
	for (size_t i = 0; i < er->n; i++) {
		const struct race_seen *s = &er->seen[i];

		fputs("  on ", f);
		analyze_put_data(f, er->st, s->r.addr);
		fprintf(f, ", in %u of %u runs (%u of them failed):\n",
			s->runs, runs, s->failed);
		print_side(f, er->st, &s->r, 0);
		print_side(f, er->st, &s->r, 1);
	}
	if (er->runs_more)
		fprintf(f, "  (%u runs had more than %d pairs: the others of "
			"those runs are not counted)\n", er->runs_more,
			RUN_RACES_MAX);
	if (er->partial)
		fprintf(f, "  (%u runs filled the access log or the detector's "
			"memory: their later accesses were not all checked)\n",
			er->partial);
}

static void json_side(FILE *f, const struct symtab *st,
		      const struct run_race *r, int k)
{
	const char *fn, *file;
	uint64_t off;
	unsigned line;

	fprintf(f, "{\"access\": \"%s\", \"atomic\": %s, \"rip\": %" PRIu64,
		rw_name(r->rw[k]), r->atomic[k] ? "true" : "false", r->rip[k]);
	fn = st ? symtab_lookup(st, r->rip[k], &off) : NULL;
	if (fn) {
		fputs(", \"function\": \"", f);
		json_str(f, (const uint8_t *)fn, strlen(fn));
		fputc('"', f);
	}
	if (!symtab_source(st, r->rip[k], &file, &line)) {
		fputs(", \"file\": \"", f);
		json_str(f, (const uint8_t *)file, strlen(file));
		fprintf(f, "\", \"line\": %u", line);
	}
	fputc('}', f);
}

void explore_races_json(FILE *f, const struct explore_races *er)
{
	fputc('[', f);
	for (size_t i = 0; i < er->n; i++) {
		const struct race_seen *s = &er->seen[i];
		uint64_t off = 0;
		const char *var = er->st ? symtab_lookup(er->st, s->r.addr, &off)
					 : NULL;

		fprintf(f, "%s{\"addr\": %" PRIu64, i ? ", " : "", s->r.addr);
		if (var) {
			fputs(", \"variable\": \"", f);
			json_str(f, (const uint8_t *)var, strlen(var));
			fprintf(f, "\", \"offset\": %" PRIu64, off);
		}
		fprintf(f, ", \"runs\": %u, \"failed_runs\": %u, \"first\": ",
			s->runs, s->failed);
		json_side(f, er->st, &s->r, 0);
		fputs(", \"second\": ", f);
		json_side(f, er->st, &s->r, 1);
		fputc('}', f);
	}
	fputc(']', f);
}
