/* vcprr explore --merge DIR...: the summaries that the shards of one
 * explore left (DIR/explore.json) joined into the summary one explore of
 * all the runs prints, after checking that the shards belong together:
 * the same guest (SHA-256), options, seeds and calibration, and each of the
 * N shards exactly once.  With -o OUT the failing traces are linked (or
 * copied) into OUT, which also gets the merged explore.json; nothing that
 * exists is ever replaced. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/explore-cli.h"
#include "tools/json-lex.h"
#include "tools/outfile.h"

#define SUMMARY_MAX (256u << 20)
#define PATH_MAX_LEN 4096

struct shard {
	const char *dir;
	char path[PATH_MAX_LEN + 16];   /* DIR/explore.json */
	struct explore_opts o;
	char guest[JSON_TEXT_MAX], policy[64];
	unsigned done, failures;
	int stopped_by;
	double seconds, run_seconds;
	struct run_record *recs;
	unsigned nrec, cap;
	uint32_t seen;                  /* required keys read */
};

struct merge {
	struct shard *shards;
	int nshards;
	const char *out, *junit;
	bool json;
};

static int say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int say(const char *fmt, ...)
{
	va_list ap;

	fputs("vcprr explore: --merge: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* --- reading one summary --------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    st.st_size > SUMMARY_MAX) {
		if (fd >= 0 && !errno)
			errno = EFBIG;
		say("%s: %s (each DIR must be the -o folder of an explore "
		    "that ended)", path, fd < 0 ? strerror(errno) :
		    !S_ISREG(st.st_mode) ? "not a file" : "too large");
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out;
	n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		say("%s: cannot read it", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	*len = (size_t)n;
out:
	if (fd >= 0)
		close(fd);
	return buf;
}

/* "fail-SEED.trace" for the run's own seed, the one name a shard gives a
 * kept trace (an untrusted summary names no other file). */
static bool trace_name_ok(const char *name, uint64_t seed)
{
	char want[64];

	snprintf(want, sizeof(want), "fail-%llu.trace", (unsigned long long)seed);
	return !strcmp(name, want);
}

static int add_run(struct shard *s, struct json_lex *l, const struct merge *m)
{
	struct run_record r = { 0 };
	char trace[JSON_TEXT_MAX] = "";
	uint64_t v;
	enum json_token t;

	if (!json_expect(l, JSON_OBJECT, "a failed run"))
		return -1;
	while ((t = json_next(l)) == JSON_STRING) {
		char key[32];

		snprintf(key, sizeof(key), "%.31s", l->text);
		if (!json_expect(l, JSON_COLON, "':'"))
			return -1;
		t = json_next(l);
		if (t == JSON_NUMBER && json_u64(l, &v)) {
			if (!strcmp(key, "run") && v <= UINT32_MAX)
				r.index = (uint32_t)v;
			else if (!strcmp(key, "seed"))
				r.res.seed = v;
			else if (!strcmp(key, "steps"))
				r.res.stats.steps = v;
			else if (!strcmp(key, "preemptions"))
				r.res.stats.preemptions = v;
			else if (!strcmp(key, "injected"))
				r.res.stats.injected = v;
		} else if (t == JSON_STRING && !strcmp(key, "signature")) {
			snprintf(r.res.signature, sizeof(r.res.signature), "%.*s",
				 EXPLORE_SIG_MAX - 1, l->text);
		} else if (t == JSON_STRING && !strcmp(key, "trace")) {
			snprintf(trace, sizeof(trace), "%s", l->text);
		} else if (!json_skip(l, t)) {
			return -1;
		}
		t = json_next(l);
		if (t == JSON_OBJECT_END)
			break;
		if (t != JSON_COMMA)
			return -1;
	}
	if (t != JSON_OBJECT_END || !r.res.signature[0] || !trace[0])
		return say("%s: byte %zu: a failed run without its signature "
			   "or trace", s->path, l->tok_pos);
	if (r.index >= s->o.runs || !cli_shard_has(&s->o.shard, r.index) ||
	    r.res.seed != s->o.seed + r.index)
		return say("%s: byte %zu: run %u (seed %llu) is not a run of "
			   "shard %u/%u", s->path, l->tok_pos, r.index,
			   (unsigned long long)r.res.seed, s->o.shard.k,
			   s->o.shard.n);
	if (trace[0] != '(' && !trace_name_ok(trace, r.res.seed))
		return say("%s: byte %zu: \"%.200s\" is not the trace name of "
			   "run %u", s->path, l->tok_pos, trace, r.index);
	r.res.failed = true;
	if (trace[0] == '(')
		snprintf(r.text, sizeof(r.text), "%.500s", trace);
	else if (snprintf(r.text, sizeof(r.text), "%s/%s", m->out ? m->out :
			  s->dir, trace) >= (int)sizeof(r.text))
		return say("%s: the path of %s is too long", s->dir, trace);
	if (s->nrec == s->cap) {
		unsigned cap = s->cap ? 2 * s->cap : 64;
		struct run_record *n = realloc(s->recs, cap * sizeof(*n));
		if (!n)
			return say("out of memory");
		s->recs = n;
		s->cap = cap;
	}
	s->recs[s->nrec++] = r;
	return 0;
}

static int read_runs(struct shard *s, struct json_lex *l, const struct merge *m)
{
	if (!json_expect(l, JSON_ARRAY, "'['"))
		return -1;
	for (;;) {
		size_t at = l->pos;
		enum json_token t = json_next(l);

		if (t == JSON_ARRAY_END && !s->nrec)
			return 0;
		l->pos = at;
		if (add_run(s, l, m))
			return -1;
		t = json_next(l);
		if (t == JSON_ARRAY_END)
			return 0;
		if (t != JSON_COMMA)
			return -1;
	}
}

/* The keys a summary must have (one bit each). */
static const char *const required[] = {
	"guest", "seed", "runs", "failures", "seconds", "calibration_steps",
	"calibration_failure", "format", "planned_runs", "shard", "shards",
	"policy", "preempt", "pauses", "max_hold", "vcpus", "mem", "arg",
	"budget", "budget_set", "timeout_ns", "guest_sha256", "stopped_by",
	"run_seconds", "failed_runs",
};

static int key_bit(const char *key)
{
	for (unsigned i = 0; i < sizeof(required) / sizeof(*required); i++)
		if (!strcmp(key, required[i]))
			return (int)i;
	return -1;
}

/* A number-valued key into its field; false when it is not one of them. */
static bool number_key(struct shard *s, const char *key, uint64_t v)
{
	struct explore_opts *o = &s->o;
	static const char *const keys[] = { "seed", "runs", "failures",
		"calibration_steps", "format", "planned_runs", "shard", "shards",
		"max_hold", "vcpus", "mem", "arg", "budget", "timeout_ns",
		"stopped_by" };
	uint64_t *const u64s[] = { &o->seed, NULL, NULL,
		&o->cfg.sched.pct_steps, NULL, NULL, NULL, NULL, NULL, NULL,
		&o->cfg.mem_size, &o->cfg.guest_arg, &o->cfg.sched.step_budget,
		&o->cfg.timeout_ns, NULL };
	unsigned *const uints[] = { NULL, &s->done, &s->failures, NULL, NULL,
		&o->runs, &o->shard.k, &o->shard.n, &o->cfg.sched.max_hold,
		&o->cfg.nr_vcpus, NULL, NULL, NULL, NULL, NULL };

	for (unsigned i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		if (strcmp(key, keys[i]))
			continue;
		if (u64s[i])
			*u64s[i] = v;
		else if (uints[i] && v <= 100000000)
			*uints[i] = (unsigned)v;
		else if (!strcmp(key, "format") && v == EXPLORE_SUMMARY_FORMAT)
			;
		else if (!strcmp(key, "stopped_by") && v < 128)
			s->stopped_by = (int)v;
		else
			return false;
		return true;
	}
	return true;   /* a number we do not need */
}

static bool string_key(struct shard *s, const char *key, const char *text)
{
	struct explore_opts *o = &s->o;

	if (!strcmp(key, "guest"))
		snprintf(s->guest, sizeof(s->guest), "%s", text);
	else if (!strcmp(key, "policy"))
		snprintf(s->policy, sizeof(s->policy), "%.63s", text);
	else if (!strcmp(key, "calibration_failure"))
		snprintf(o->calibration_sig, sizeof(o->calibration_sig), "%.*s",
			 EXPLORE_SIG_MAX - 1, text);
	else if (!strcmp(key, "guest_sha256"))
		snprintf(o->guest_sha256, sizeof(o->guest_sha256), "%.64s", text);
	else if (!strcmp(key, "preempt") && (!strcmp(text, "step") ||
					     !strcmp(text, "exit")))
		o->cfg.sched.mode = text[0] == 's' ? VM_SCHED_STEP : VM_SCHED_SERIAL;
	else if (!strcmp(key, "preempt"))
		return false;
	return true;
}

static int read_value(struct shard *s, struct json_lex *l, const char *key,
		      const struct merge *m)
{
	enum json_token t;
	uint64_t v;
	double d;

	if (!strcmp(key, "failed_runs"))
		return read_runs(s, l, m);
	t = json_next(l);
	if (t == JSON_NUMBER && (!strcmp(key, "seconds") ||
				 !strcmp(key, "run_seconds") ||
				 !strcmp(key, "pauses"))) {
		if (!json_double(l, &d) || !(d >= 0))
			return -1;
		if (key[0] == 's')
			s->seconds = d;
		else if (key[0] == 'r')
			s->run_seconds = d;
		else
			s->o.pause_rate = d;
		return 0;
	}
	if (t == JSON_NUMBER && json_u64(l, &v))
		return number_key(s, key, v) ? 0 : -1;
	if (t == JSON_NUMBER)
		return key_bit(key) >= 0 ? -1 : 0;
	if (t == JSON_STRING)
		return string_key(s, key, l->text) ? 0 : -1;
	if (t == JSON_TRUE || t == JSON_FALSE) {
		if (!strcmp(key, "budget_set"))
			s->o.budget_set = t == JSON_TRUE;
		return 0;
	}
	return json_skip(l, t) ? 0 : -1;
}

static int parse_summary(struct shard *s, const char *buf, size_t len,
			 const struct merge *m)
{
	struct json_lex l;
	enum json_token t;
	uint32_t all = (1u << (sizeof(required) / sizeof(*required))) - 1;

	json_lex_init(&l, buf, len);
	if (!json_expect(&l, JSON_OBJECT, "a JSON object"))
		goto bad;
	while ((t = json_next(&l)) == JSON_STRING) {
		char key[64];
		int bit;

		snprintf(key, sizeof(key), "%.63s", l.text);
		if (!json_expect(&l, JSON_COLON, "':'"))
			goto bad;
		if (read_value(s, &l, key, m)) {
			if (!l.err[0])
				snprintf(l.err, sizeof(l.err), "byte %zu: a bad "
					 "value for \"%s\"", l.tok_pos, key);
			goto bad;
		}
		if ((bit = key_bit(key)) >= 0)
			s->seen |= 1u << bit;
		t = json_next(&l);
		if (t != JSON_COMMA)
			break;
	}
	if (t != JSON_OBJECT_END || json_next(&l) != JSON_END)
		goto bad;
	for (unsigned i = 0; i < sizeof(required) / sizeof(*required); i++)
		if (!(s->seen & (1u << i)) && (all & (1u << i)))
			return say("%s: no \"%s\": not the summary of a vcprr "
				   "explore of this version", s->path, required[i]);
	return 0;
bad:
	if (!l.err[0])
		snprintf(l.err, sizeof(l.err), "byte %zu: not a summary of "
			 "vcprr explore", l.tok_pos);
	return say("%s: %s", s->path, l.err);
}

static int by_index(const void *a, const void *b)
{
	const struct run_record *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* What the numbers of one summary must agree on among themselves. */
static int check_shard(struct shard *s)
{
	struct explore_opts *o = &s->o;

	if (!o->shard.n || !o->shard.k || o->shard.k > o->shard.n)
		return say("%s: shard %u/%u is not a shard", s->path,
			   o->shard.k, o->shard.n);
	o->todo = explore_shard_size(o);
	if (s->done > o->todo || s->nrec != s->failures || s->nrec > s->done)
		return say("%s: %u runs done of %u, %u failures listed of %u: "
			   "the summary does not add up", s->path, s->done,
			   o->todo, s->nrec, s->failures);
	qsort(s->recs, s->nrec, sizeof(*s->recs), by_index);
	for (unsigned i = 1; i < s->nrec; i++)
		if (s->recs[i].index == s->recs[i - 1].index)
			return say("%s: run %u is listed twice", s->path,
				   s->recs[i].index);
	return 0;
}

static int read_shard(struct shard *s, const struct merge *m)
{
	size_t len = 0;
	char *buf;
	int r;

	snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, EXPLORE_SUMMARY_FILE);
	if (strlen(s->dir) > PATH_MAX_LEN)
		return say("%.100s...: the path is too long", s->dir);
	buf = slurp(s->path, &len);
	if (!buf)
		return -1;
	r = parse_summary(s, buf, len, m);
	free(buf);
	if (r)
		return -1;
	s->o.cfg.guest = s->guest;
	s->o.policy_arg = s->policy;
	s->o.dir = s->dir;
	s->o.cfg.sched.pause_ppm = (uint32_t)(s->o.pause_rate * 1e6 + 0.5);
	return check_shard(s);
}

/* --- do the shards belong together? ------------------------------------ */

static int differs(const struct shard *a, const struct shard *b,
		   const char *what, unsigned long long va,
		   unsigned long long vb)
{
	if (va == vb)
		return 0;
	return say("%s and %s are not shards of one explore: %s %llu and %llu",
		   b->dir, a->dir, what, vb, va);
}

static int same_explore(const struct shard *a, const struct shard *b)
{
	const struct explore_opts *x = &a->o, *y = &b->o;

	if (strcmp(x->guest_sha256, y->guest_sha256))
		return say("%s and %s are not shards of one explore: different "
			   "guests (%s is %.12s..., %s is %.12s...)", b->dir,
			   a->dir, a->guest, x->guest_sha256, b->guest,
			   y->guest_sha256);
	if (strcmp(a->policy, b->policy))
		return say("%s and %s are not shards of one explore: --policy "
			   "%s and %s", b->dir, a->dir, b->policy, a->policy);
	if (x->pause_rate != y->pause_rate)
		return say("%s and %s are not shards of one explore: --pauses "
			   "%g and %g", b->dir, a->dir, y->pause_rate, x->pause_rate);
	if (strcmp(x->calibration_sig, y->calibration_sig))
		return say("%s and %s are not shards of one explore: their "
			   "calibration runs ended differently", b->dir, a->dir);
	return differs(a, b, "--seed", x->seed, y->seed) ||
	       differs(a, b, "--runs", x->runs, y->runs) ||
	       differs(a, b, "numbers of shards (N of --shard K/N)", x->shard.n, y->shard.n) ||
	       differs(a, b, "--preempt (step 1, exit 0)",
		       x->cfg.sched.mode == VM_SCHED_STEP,
		       y->cfg.sched.mode == VM_SCHED_STEP) ||
	       differs(a, b, "--max-hold", x->cfg.sched.max_hold,
		       y->cfg.sched.max_hold) ||
	       differs(a, b, "--vcpus", x->cfg.nr_vcpus, y->cfg.nr_vcpus) ||
	       differs(a, b, "--mem", x->cfg.mem_size, y->cfg.mem_size) ||
	       differs(a, b, "--arg", x->cfg.guest_arg, y->cfg.guest_arg) ||
	       differs(a, b, "--budget", x->cfg.sched.step_budget,
		       y->cfg.sched.step_budget) ||
	       differs(a, b, "--timeout (ns)", x->cfg.timeout_ns,
		       y->cfg.timeout_ns) ||
	       differs(a, b, "calibration steps", x->cfg.sched.pct_steps,
		       y->cfg.sched.pct_steps) ? -1 : 0;
}

/* Every shard K of N exactly once. */
static int check_cover(const struct merge *m)
{
	unsigned n = m->shards[0].o.shard.n;
	int *owner = calloc(n, sizeof(*owner)), r = 0;

	if (!owner)
		return say("out of memory");
	for (int i = 0; i < m->nshards && !r; i++) {
		const struct shard *s = &m->shards[i];
		unsigned k = s->o.shard.k;

		if (i && same_explore(&m->shards[0], s))
			r = -1;
		else if (owner[k - 1] &&
			 !strcmp(m->shards[owner[k - 1] - 1].dir, s->dir))
			r = say("%s is given twice", s->dir);
		else if (owner[k - 1])
			r = say("%s is shard %u/%u again (so is %s)", s->dir, k, n,
				m->shards[owner[k - 1] - 1].dir);
		else
			owner[k - 1] = i + 1;
	}
	for (unsigned k = 0; k < n && !r; k++)
		if (!owner[k])
			r = say("shard %u/%u is missing: give the folders of all "
				"%u shards (%d given)", k + 1, n, n, m->nshards);
	free(owner);
	return r;
}

/* --- the traces into OUT ---------------------------------------------------- */

static const char *base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Before anything is linked: every source is there, no target exists. */
static int check_targets(const struct merge *m)
{
	char path[PATH_MAX_LEN + 64];
	struct stat src, dst;

	snprintf(path, sizeof(path), "%s/%s", m->out, EXPLORE_SUMMARY_FILE);
	if (!lstat(path, &dst))
		return say("%s exists: --merge writes a new folder and never "
			   "replaces a file", path);
	for (int i = 0; i < m->nshards; i++) {
		const struct shard *s = &m->shards[i];

		for (unsigned j = 0; j < s->nrec; j++) {
			const char *t = s->recs[j].text;
			if (t[0] == '(')
				continue;
			snprintf(path, sizeof(path), "%s/%s", s->dir, base(t));
			if (stat(path, &src))
				return say("%s: %s (listed in %s)", path,
					   strerror(errno), s->path);
			if (stat(t, &dst) && errno == ENOENT)
				continue;
			if (src.st_dev == dst.st_dev && src.st_ino == dst.st_ino)
				return say("%s is the same file as %s: -o OUT "
					   "must be a new folder", t, path);
			return say("%s exists: --merge never replaces a file", t);
		}
	}
	return 0;
}

static int copy_file(const char *from, const char *to)
{
	struct newfile nf;
	char buf[65536], err[512];
	int in = open(from, O_RDONLY | O_CLOEXEC), r = -1;
	ssize_t n;

	if (in < 0)
		return say("%s: %s", from, strerror(errno));
	if (newfile_create(&nf, to, err, sizeof(err)) < 0) {
		close(in);
		return say("%s", err);
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(nf.fd, buf, (size_t)n) != n)
			break;
	if (n == 0 && newfile_publish(&nf, false, err, sizeof(err)) == 0)
		r = 0;
	else
		say("%s: %s", to, n ? strerror(errno) : err);
	close(nf.fd);
	newfile_discard(&nf);
	close(in);
	return r;
}

/* A hard link where OUT is on the same filesystem, else a copy. */
static int link_traces(const struct merge *m)
{
	char from[PATH_MAX_LEN + 64];

	for (int i = 0; i < m->nshards; i++) {
		const struct shard *s = &m->shards[i];

		for (unsigned j = 0; j < s->nrec; j++) {
			const char *to = s->recs[j].text;
			if (to[0] == '(')
				continue;
			snprintf(from, sizeof(from), "%s/%s", s->dir, base(to));
			if (!link(from, to))
				continue;
			if (errno == EEXIST)
				return say("%s exists: --merge never replaces a "
					   "file", to);
			if (copy_file(from, to))
				return -1;
		}
	}
	return 0;
}

/* --- the merged summary ------------------------------------------------------ */

static int report(const struct merge *m)
{
	struct explore_opts o = m->shards[0].o;
	struct tally t = { 0 };
	double wall = 0;
	unsigned total = 0;
	int status = EXIT_VMM_ERROR;

	for (int i = 0; i < m->nshards; i++)
		total += m->shards[i].nrec;
	t.failures = calloc(total + 1, sizeof(*t.failures));
	t.sigs = calloc(total + 1, sizeof(*t.sigs));
	if (!t.failures || !t.sigs) {
		say("out of memory");
		goto out;
	}
	o.shard.n = o.shard.k = 0;
	o.todo = o.runs;
	o.json = m->json;
	o.dir = m->out ? m->out : m->shards[0].dir;
	for (int i = 0; i < m->nshards; i++) {
		const struct shard *s = &m->shards[i];

		for (unsigned j = 0; j < s->nrec; j++)
			explore_tally_add(&t, &s->recs[j]);
		t.done += s->done - s->nrec;  /* the passing runs */
		t.run_seconds += s->run_seconds;
		if (s->seconds > wall)
			wall = s->seconds;    /* the shards ran side by side */
		if (s->stopped_by && !t.stopped_by)
			t.stopped_by = s->stopped_by;
	}
	explore_summary(&o, &t, wall);
	if (m->out && explore_save(&o, &t, wall))
		goto out;
	if (m->junit && explore_junit("explore", m->junit, &o, &t, wall))
		goto out;
	for (int i = 0; i < m->nshards; i++)
		if (m->shards[i].stopped_by)
			fprintf(stderr, "vcprr explore: --merge: %s was "
				"interrupted after %u of its %u runs: not every "
				"run ran\n", m->shards[i].dir, m->shards[i].done,
				m->shards[i].o.todo);
	status = t.nfail || t.stopped_by;
out:
	free(t.failures);
	free(t.sigs);
	return status;
}

/* --- the command ------------------------------------------------------------- */

static int parse_merge(int argc, char **argv, struct merge *m)
{
	static const struct option longopts[] = {
		{ "merge", no_argument, NULL, 'M' },
		{ "output", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'J' },
		{ "junit", required_argument, NULL, 'U' },
		{ 0 },
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
		if (c == 'o')
			m->out = optarg;
		else if (c == 'J')
			m->json = true;
		else if (c == 'U')
			m->junit = optarg;
		else if (c != 'M')
			return c == '?' ? cli_usage_error("explore", "%s does not "
				"go with --merge (which takes DIR..., -o OUT, "
				"--json, --junit FILE)", argv[optind - 1]) :
				cli_option_error("explore", c, argv);
	}
	if (optind == argc)
		return cli_usage_error("explore", "--merge needs the folders "
				       "of the shards to merge");
	if (m->out && !strcmp(m->out, "-"))
		return cli_usage_error("explore", "-o -: --merge writes a "
				       "folder; give a folder");
	m->nshards = argc - optind;
	return 0;
}

static int check_outputs(const struct merge *m, bool *created)
{
	const char **inputs = calloc(m->nshards, sizeof(*inputs));
	int r = 0;

	if (!inputs)
		return say("out of memory");
	for (int i = 0; i < m->nshards; i++)
		inputs[i] = m->shards[i].path;
	if (m->junit)
		r = outfile_check("explore", m->junit, inputs, m->nshards, true);
	free(inputs);
	if (!r && m->out)
		r = outfile_check_dir("explore", m->out, created) ||
		    check_targets(m);
	return r;
}

int explore_merge_main(int argc, char **argv)
{
	struct merge m = { 0 };
	bool created = false;
	int status, i;

	if ((status = parse_merge(argc, argv, &m)))
		return status;
	m.shards = calloc(m.nshards, sizeof(*m.shards));
	if (!m.shards)
		return EXIT_VMM_ERROR;
	status = EXIT_VMM_ERROR;
	for (i = 0; i < m.nshards; i++) {
		m.shards[i].dir = argv[optind + i];
		if (read_shard(&m.shards[i], &m))
			goto out;
	}
	status = EXIT_USAGE;
	if (check_cover(&m) || check_outputs(&m, &created))
		goto out;
	status = EXIT_VMM_ERROR;
	if (m.out && link_traces(&m))
		goto out;
	status = report(&m);
out:
	for (i = 0; i < m.nshards; i++)
		free(m.shards[i].recs);
	free(m.shards);
	if (created && status == EXIT_USAGE)
		rmdir(m.out);
	return status;
}
