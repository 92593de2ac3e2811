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
#include "tools/json-lex.h"

/* A worker's record reaches the parent in one write. */
_Static_assert(sizeof(struct run_record) <= PIPE_BUF,
	       "a run's record must fit one pipe write");

/* A race of the tally: the pair of source lines it was first seen at. */
struct race_seen {
	struct run_race r;
	uint64_t site[2];    /* in order: site[0] <= site[1] */
	unsigned runs, failed;
	uint32_t first_run;  /* the first run (index) it was seen in */
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
	struct explore_config c = *cfg;
	struct analyze_run ar;
	struct hb *hb;
	int ret;

	memset(out, 0, sizeof(*out));
	if (analyze_run_init(&ar, 0)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Not recorded: the observer sees the run's events all the same. */
	c.sched.mode = VM_SCHED_STEP;
	c.observer = &ar.obs;
	ret = explore_run(&c, seed, NULL, res, err, errlen);
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

/* The tally's entry for the pair of lines @site, added (as @r) when new;
 * NULL when out of memory (counted no further). */
static struct race_seen *seen(struct explore_races *er, const struct run_race *r,
			      const uint64_t site[2])
{
	struct race_seen *s;

	for (size_t j = 0; j < er->n; j++)
		if (er->seen[j].site[0] == site[0] &&
		    er->seen[j].site[1] == site[1])
			return &er->seen[j];
	if (er->n == er->cap) {
		size_t cap = er->cap ? 2 * er->cap : 16;
		void *p = realloc(er->seen, cap * sizeof(*s));

		if (!p)
			return NULL;
		er->seen = p;
		er->cap = cap;
	}
	s = &er->seen[er->n++];
	*s = (struct race_seen){ .r = *r, .site = { site[0], site[1] },
				 .first_run = UINT32_MAX };
	return s;
}

static void count(struct race_seen *s, unsigned runs, unsigned failed,
		  uint32_t first_run)
{
	s->runs += runs;
	s->failed += failed;
	if (first_run < s->first_run)
		s->first_run = first_run;
}

void explore_races_add(struct explore_races *er, const struct run_races *rr,
		       bool failed, uint32_t run)
{
	er->runs_more += rr->more;
	er->partial += rr->partial;
	for (uint32_t i = 0; i < rr->n && i < RUN_RACES_MAX; i++) {
		struct race_seen *s;
		uint64_t site[2];

		sites_of(er->st, &rr->r[i], site);
		if ((s = seen(er, &rr->r[i], site)))
			count(s, 1, failed, run);
	}
}

void explore_races_join(struct explore_races *er,
			const struct explore_races *other)
{
	er->runs_more += other->runs_more;
	er->partial += other->partial;
	for (size_t i = 0; i < other->n; i++) {
		const struct race_seen *o = &other->seen[i];
		struct race_seen *s = seen(er, &o->r, o->site);

		if (s)
			count(s, o->runs, o->failed, o->first_run);
	}
}

/* In the order of the runs that first showed them: the same for every
 * number of jobs, and for shards merged. */
static int by_first_run(const void *a, const void *b)
{
	const struct race_seen *x = a, *y = b;

	if (x->first_run != y->first_run)
		return x->first_run < y->first_run ? -1 : 1;
	if (x->site[0] != y->site[0])
		return x->site[0] < y->site[0] ? -1 : 1;
	return (x->site[1] > y->site[1]) - (x->site[1] < y->site[1]);
}

static void sort_races(struct explore_races *er)
{
	if (er->n)
		qsort(er->seen, er->n, sizeof(*er->seen), by_first_run);
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

void explore_races_print(FILE *f, struct explore_races *er, unsigned runs)
{
	sort_races(er);
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

void explore_races_json(FILE *f, struct explore_races *er, bool saved)
{
	sort_races(er);
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
		fprintf(f, ", \"runs\": %u, \"failed_runs\": %u, \"first_run\": %u",
			s->runs, s->failed, s->first_run);
		if (saved)
			fprintf(f, ", \"sites\": [%" PRIu64 ", %" PRIu64 "]",
				s->site[0], s->site[1]);
		fputs(", \"first\": ", f);
		json_side(f, er->st, &s->r, 0);
		fputs(", \"second\": ", f);
		json_side(f, er->st, &s->r, 1);
		fputc('}', f);
	}
	fputc(']', f);
	if (saved)
		fprintf(f, ", \"races_runs_more\": %u, \"races_partial\": %u",
			er->runs_more, er->partial);
}

/* --- reading a saved summary's races (explore --merge) ---------------------- */

static bool bad(struct json_lex *l, const char *what)
{
	snprintf(l->err, sizeof(l->err), "byte %zu: %s", l->tok_pos, what);
	return false;
}

static bool read_side(struct json_lex *l, struct run_race *r, int k)
{
	enum json_token t;
	bool have_rw = false, have_rip = false;

	if (!json_expect(l, JSON_OBJECT, "a race's access"))
		return false;
	while ((t = json_next(l)) == JSON_STRING) {
		char key[16];

		snprintf(key, sizeof(key), "%.15s", l->text);
		if (!json_expect(l, JSON_COLON, "':'"))
			return false;
		t = json_next(l);
		if (!strcmp(key, "access") && t == JSON_STRING) {
			r->rw[k] = !strcmp(l->text, "read") ? HB_READ :
				   !strcmp(l->text, "write") ? HB_WRITE :
				   !strcmp(l->text, "read-modify-write") ?
				   HB_READ | HB_WRITE : 0;
			if (!r->rw[k])
				return bad(l, "not an access (read, write, "
					   "read-modify-write)");
			have_rw = true;
		} else if (!strcmp(key, "atomic") &&
			   (t == JSON_TRUE || t == JSON_FALSE)) {
			r->atomic[k] = t == JSON_TRUE;
		} else if (!strcmp(key, "rip") && t == JSON_NUMBER) {
			if (!json_u64(l, &r->rip[k]))
				return bad(l, "not an address");
			have_rip = true;
		} else if (!json_skip(l, t)) {
			return false;
		}
		if ((t = json_next(l)) != JSON_COMMA)
			break;
	}
	if (t != JSON_OBJECT_END || !have_rw || !have_rip)
		return bad(l, "a race's access without its kind or address");
	return true;
}

static bool read_sites(struct json_lex *l, uint64_t site[2])
{
	if (!json_expect(l, JSON_ARRAY, "'['") ||
	    !json_expect(l, JSON_NUMBER, "a site") || !json_u64(l, &site[0]) ||
	    !json_expect(l, JSON_COMMA, "','") ||
	    !json_expect(l, JSON_NUMBER, "a site") || !json_u64(l, &site[1]) ||
	    !json_expect(l, JSON_ARRAY_END, "']'"))
		return false;
	return site[0] <= site[1] || bad(l, "sites out of order");
}

/* One race object; its counts checked against the shard's runs. */
static bool read_race(struct explore_races *er, struct json_lex *l,
		      unsigned runs, unsigned planned)
{
	struct race_seen r = { .first_run = UINT32_MAX }, *s;
	unsigned have = 0;   /* addr runs failed_runs first_run sites first second */
	enum json_token t;
	uint64_t v = 0;

	if (!json_expect(l, JSON_OBJECT, "a race"))
		return false;
	while ((t = json_next(l)) == JSON_STRING) {
		static const char *const keys[] = { "addr", "runs", "failed_runs",
			"first_run", "sites", "first", "second" };
		char key[16];
		int k = -1;

		snprintf(key, sizeof(key), "%.15s", l->text);
		if (!json_expect(l, JSON_COLON, "':'"))
			return false;
		for (int i = 0; i < 7; i++)
			if (!strcmp(key, keys[i]))
				k = i;
		if (k == 4 ? !read_sites(l, r.site) :
		    k >= 5 ? !read_side(l, &r.r, k - 5) : false)
			return false;
		if (k >= 0 && k < 4 &&
		    (json_next(l) != JSON_NUMBER || !json_u64(l, &v) ||
		     v > UINT32_MAX))
			return bad(l, "not a count");
		if (k < 0 && !json_skip(l, json_next(l)))
			return false;
		if (k == 0)
			r.r.addr = v;
		else if (k == 1)
			r.runs = (unsigned)v;
		else if (k == 2)
			r.failed = (unsigned)v;
		else if (k == 3)
			r.first_run = (uint32_t)v;
		if (k >= 0)
			have |= 1u << k;
		if ((t = json_next(l)) != JSON_COMMA)
			break;
	}
	if (t != JSON_OBJECT_END || have != 0x7f)
		return bad(l, "a race without its address, counts, first run, "
			   "sites or accesses");
	if (!r.runs || r.runs > runs || r.failed > r.runs ||
	    r.first_run >= planned)
		return bad(l, "a race's counts do not add up");
	if ((s = seen(er, &r.r, r.site)))
		count(s, r.runs, r.failed, r.first_run);
	return true;
}

int explore_races_read(struct explore_races *er, struct json_lex *l,
		       unsigned runs, unsigned planned)
{
	enum json_token t;

	if (!json_expect(l, JSON_ARRAY, "'['"))
		return -1;
	for (;;) {
		size_t at = l->pos;

		if ((t = json_next(l)) == JSON_ARRAY_END)
			return 0;
		l->pos = at;
		if (!read_race(er, l, runs, planned))
			return -1;
		if ((t = json_next(l)) == JSON_ARRAY_END)
			return 0;
		if (t != JSON_COMMA)
			return -1;
	}
}

bool explore_races_read_note(struct explore_races *er, const char *key,
			     uint64_t v)
{
	unsigned *note = !strcmp(key, "races_runs_more") ? &er->runs_more :
			 !strcmp(key, "races_partial") ? &er->partial : NULL;

	if (!note)
		return false;
	*note = v < UINT32_MAX ? (unsigned)v : UINT32_MAX;
	return true;
}
