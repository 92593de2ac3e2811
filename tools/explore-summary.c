/* Reading the summary an explore left in its folder (DIR/explore.json)
 * for explore --merge.  The file is untrusted: every value is checked, a
 * failed run must be one of the shard's runs, a trace name the run's own
 * fail-SEED.trace; errors name the file and the byte offset. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/explore-merge.h"
#include "tools/json-lex.h"

#define SUMMARY_MAX (256u << 20)

int merge_error(const char *fmt, ...)
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
		merge_error("%s: %s (each DIR must be the -o folder of an explore "
			    "that ended)", path, fd < 0 ? strerror(errno) :
			    !S_ISREG(st.st_mode) ? "not a file" : "too large");
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto out;
	n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		merge_error("%s: cannot read it", path);
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

static int add_run(struct explore_shard *s, struct json_lex *l, const char *out)
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
		return merge_error("%s: byte %zu: a failed run without its signature "
				   "or trace", s->path, l->tok_pos);
	if (r.index >= s->o.runs || !cli_shard_has(&s->o.shard, r.index) ||
	    r.res.seed != s->o.seed + r.index)
		return merge_error("%s: byte %zu: run %u (seed %llu) is not a run of "
				   "shard %u/%u", s->path, l->tok_pos, r.index,
				   (unsigned long long)r.res.seed, s->o.shard.k,
				   s->o.shard.n);
	if (trace[0] != '(' && !trace_name_ok(trace, r.res.seed))
		return merge_error("%s: byte %zu: \"%.200s\" is not the trace name of "
				   "run %u", s->path, l->tok_pos, trace, r.index);
	r.res.failed = true;
	if (trace[0] == '(')
		snprintf(r.text, sizeof(r.text), "%.500s", trace);
	else if (snprintf(r.text, sizeof(r.text), "%s/%s", out ? out :
			  s->dir, trace) >= (int)sizeof(r.text))
		return merge_error("%s: the path of %s is too long", s->dir, trace);
	if (s->nrec == s->cap) {
		unsigned cap = s->cap ? 2 * s->cap : 64;
		struct run_record *n = realloc(s->recs, cap * sizeof(*n));
		if (!n)
			return merge_error("out of memory");
		s->recs = n;
		s->cap = cap;
	}
	s->recs[s->nrec++] = r;
	return 0;
}

static int read_runs(struct explore_shard *s, struct json_lex *l, const char *out)
{
	if (!json_expect(l, JSON_ARRAY, "'['"))
		return -1;
	for (;;) {
		size_t at = l->pos;
		enum json_token t = json_next(l);

		if (t == JSON_ARRAY_END && !s->nrec)
			return 0;
		l->pos = at;
		if (add_run(s, l, out))
			return -1;
		t = json_next(l);
		if (t == JSON_ARRAY_END)
			return 0;
		if (t != JSON_COMMA)
			return -1;
	}
}

/* "args": [N, ...], the guest's --arg values. */
static int read_args(struct vm_guest_input *in, struct json_lex *l)
{
	enum json_token t;

	if (!json_expect(l, JSON_ARRAY, "'['"))
		return -1;
	in->argc = 0;
	for (;;) {
		t = json_next(l);
		if (t == JSON_ARRAY_END && !in->argc)
			return 0;
		if (t != JSON_NUMBER || in->argc == VM_MAX_ARGS ||
		    !json_u64(l, &in->argv[in->argc]))
			return -1;
		in->argc++;
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
	"policy", "preempt", "pauses", "max_hold", "vcpus", "mem",
	"budget", "budget_set", "timeout_ns", "guest_sha256", "stopped_by",
	"run_seconds", "failed_runs", "args", "data_sha256", "data",
};

static int key_bit(const char *key)
{
	for (unsigned i = 0; i < sizeof(required) / sizeof(*required); i++)
		if (!strcmp(key, required[i]))
			return (int)i;
	return -1;
}

/* A number-valued key into its field; false when it is not one of them. */
static bool number_key(struct explore_shard *s, const char *key, uint64_t v)
{
	struct explore_opts *o = &s->o;
	static const char *const keys[] = { "seed", "runs", "failures",
		"calibration_steps", "format", "planned_runs", "shard", "shards",
		"max_hold", "vcpus", "mem", "budget", "timeout_ns",
		"stopped_by" };
	uint64_t *const u64s[] = { &o->seed, NULL, NULL,
		&o->cfg.sched.pct_steps, NULL, NULL, NULL, NULL, NULL, NULL,
		&o->cfg.mem_size, &o->cfg.sched.step_budget,
		&o->cfg.timeout_ns, NULL };
	unsigned *const uints[] = { NULL, &s->done, &s->failures, NULL, NULL,
		&o->runs, &o->shard.k, &o->shard.n, &o->cfg.sched.max_hold,
		&o->cfg.nr_vcpus, NULL, NULL, NULL, NULL };

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

static bool string_key(struct explore_shard *s, const char *key, const char *text)
{
	struct explore_opts *o = &s->o;

	if (!strcmp(key, "guest"))
		snprintf(s->guest, sizeof(s->guest), "%s", text);
	else if (!strcmp(key, "policy"))
		snprintf(s->policy, sizeof(s->policy), "%.63s", text);
	else if (!strcmp(key, "calibration_failure"))
		snprintf(o->calibration_sig, sizeof(o->calibration_sig), "%.*s",
			 EXPLORE_SIG_MAX - 1, text);
	else if (!strcmp(key, "data")) {
		snprintf(s->data, sizeof(s->data), "%s", text);
		o->data_path = s->data[0] ? s->data : NULL;
	} else if (!strcmp(key, "data_sha256"))
		snprintf(o->data_sha256, sizeof(o->data_sha256), "%.64s", text);
	else if (!strcmp(key, "guest_sha256"))
		snprintf(o->guest_sha256, sizeof(o->guest_sha256), "%.64s", text);
	else if (!strcmp(key, "preempt") && (!strcmp(text, "step") ||
					     !strcmp(text, "exit")))
		o->cfg.sched.mode = text[0] == 's' ? VM_SCHED_STEP : VM_SCHED_SERIAL;
	else if (!strcmp(key, "preempt"))
		return false;
	return true;
}

static int read_value(struct explore_shard *s, struct json_lex *l, const char *key,
		      const char *out)
{
	enum json_token t;
	uint64_t v;
	double d;

	if (!strcmp(key, "failed_runs"))
		return read_runs(s, l, out);
	if (!strcmp(key, "args"))
		return read_args(&s->o.cfg.input, l);
	if ((!strcmp(key, "races") || !strncmp(key, "races_", 6)) &&
	    !s->races && !(s->races = explore_races_new()))
		return merge_error("out of memory");
	if (!strcmp(key, "races"))
		return explore_races_read(s->races, l, s->done, s->o.runs);
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
	if (t == JSON_NUMBER && json_u64(l, &v) && s->races &&
	    explore_races_read_note(s->races, key, v))
		return 0;
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

static int parse_summary(struct explore_shard *s, const char *buf, size_t len,
			 const char *out)
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
		if (read_value(s, &l, key, out)) {
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
			return merge_error("%s: no \"%s\": not the summary of a vcprr "
					   "explore of this version", s->path, required[i]);
	return 0;
bad:
	if (!l.err[0])
		snprintf(l.err, sizeof(l.err), "byte %zu: not a summary of "
			 "vcprr explore", l.tok_pos);
	return merge_error("%s: %s", s->path, l.err);
}

static int by_index(const void *a, const void *b)
{
	const struct run_record *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

/* What the numbers of one summary must agree on among themselves. */
static int check_shard(struct explore_shard *s)
{
	struct explore_opts *o = &s->o;

	if (!o->shard.n || !o->shard.k || o->shard.k > o->shard.n)
		return merge_error("%s: shard %u/%u is not a shard", s->path,
				   o->shard.k, o->shard.n);
	o->todo = explore_shard_size(o);
	if (s->done > o->todo || s->nrec != s->failures || s->nrec > s->done)
		return merge_error("%s: %u runs done of %u, %u failures listed of %u: "
				   "the summary does not add up", s->path, s->done,
				   o->todo, s->nrec, s->failures);
	if (s->nrec)
		qsort(s->recs, s->nrec, sizeof(*s->recs), by_index);
	for (unsigned i = 1; i < s->nrec; i++)
		if (s->recs[i].index == s->recs[i - 1].index)
			return merge_error("%s: run %u is listed twice", s->path,
					   s->recs[i].index);
	return 0;
}

int explore_summary_read(struct explore_shard *s, const char *out)
{
	size_t len = 0;
	char *buf;
	int r;

	snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, EXPLORE_SUMMARY_FILE);
	if (strlen(s->dir) > PATH_MAX_LEN)
		return merge_error("%.100s...: the path is too long", s->dir);
	buf = slurp(s->path, &len);
	if (!buf)
		return -1;
	r = parse_summary(s, buf, len, out);
	free(buf);
	if (r)
		return -1;
	s->o.cfg.guest = s->guest;
	s->o.policy_arg = s->policy;
	s->o.dir = s->dir;
	s->o.cfg.sched.pause_ppm = (uint32_t)(s->o.pause_rate * 1e6 + 0.5);
	return check_shard(s);
}

