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

#include "tools/explore-merge.h"
#include "tools/junit.h"
#include "tools/outfile.h"



struct merge {
	struct explore_shard *shards;
	int nshards;
	const char *out, *junit;
	bool json;
};

/* --- do the shards belong together? ------------------------------------ */

static int differs(const struct explore_shard *a, const struct explore_shard *b,
		   const char *what, unsigned long long va,
		   unsigned long long vb)
{
	if (va == vb)
		return 0;
	return merge_error("%s and %s are not shards of one explore: %s %llu and %llu",
			   b->dir, a->dir, what, vb, va);
}

/* The first --arg where @x differs from @y, or 0 when none does. */
static unsigned long long first_arg_diff(const struct explore_opts *x,
					 const struct explore_opts *y)
{
	for (unsigned i = 0; i < x->cfg.input.argc; i++)
		if (x->cfg.input.argv[i] != y->cfg.input.argv[i])
			return x->cfg.input.argv[i];
	return 0;
}

static int same_explore(const struct explore_shard *a, const struct explore_shard *b)
{
	const struct explore_opts *x = &a->o, *y = &b->o;

	if (strcmp(x->guest_sha256, y->guest_sha256))
		return merge_error("%s and %s are not shards of one explore: different "
				   "guests (%s is %.12s..., %s is %.12s...)", b->dir,
				   a->dir, a->guest, x->guest_sha256, b->guest,
				   y->guest_sha256);
	if (strcmp(x->data_sha256, y->data_sha256))
		return merge_error("%s and %s are not shards of one explore: "
				   "different --data", b->dir, a->dir);
	if (strcmp(a->policy, b->policy))
		return merge_error("%s and %s are not shards of one explore: --policy "
				   "%s and %s", b->dir, a->dir, b->policy, a->policy);
	if (x->pause_rate != y->pause_rate)
		return merge_error("%s and %s are not shards of one explore: --pauses "
				   "%g and %g", b->dir, a->dir, y->pause_rate, x->pause_rate);
	if (strcmp(x->calibration_sig, y->calibration_sig))
		return merge_error("%s and %s are not shards of one explore: their "
				   "calibration runs ended differently", b->dir, a->dir);
	if (!a->races != !b->races)
		return merge_error("%s and %s are not shards of one explore: --races "
				   "in %s only", b->dir, a->dir,
				   a->races ? a->dir : b->dir);
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
	       differs(a, b, "numbers of --arg", x->cfg.input.argc,
		       y->cfg.input.argc) ||
	       differs(a, b, "first differing --arg", first_arg_diff(x, y),
		       first_arg_diff(y, x)) ||
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
		return merge_error("out of memory");
	for (int i = 0; i < m->nshards && !r; i++) {
		const struct explore_shard *s = &m->shards[i];
		unsigned k = s->o.shard.k;

		if (i && same_explore(&m->shards[0], s))
			r = -1;
		else if (owner[k - 1] &&
			 !strcmp(m->shards[owner[k - 1] - 1].dir, s->dir))
			r = merge_error("%s is given twice", s->dir);
		else if (owner[k - 1])
			r = merge_error("%s is shard %u/%u again (so is %s)", s->dir, k, n,
					m->shards[owner[k - 1] - 1].dir);
		else
			owner[k - 1] = i + 1;
	}
	for (unsigned k = 0; k < n && !r; k++)
		if (!owner[k])
			r = merge_error("shard %u/%u is missing: give the folders of all "
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
		return merge_error("%s exists: --merge writes a new folder and never "
				   "replaces a file", path);
	for (int i = 0; i < m->nshards; i++) {
		const struct explore_shard *s = &m->shards[i];

		for (unsigned j = 0; j < s->nrec; j++) {
			const char *t = s->recs[j].text;
			if (t[0] == '(')
				continue;
			snprintf(path, sizeof(path), "%s/%s", s->dir, base(t));
			if (stat(path, &src))
				return merge_error("%s: %s (listed in %s)", path,
						   strerror(errno), s->path);
			if (stat(t, &dst) && errno == ENOENT)
				continue;
			if (src.st_dev == dst.st_dev && src.st_ino == dst.st_ino)
				return merge_error("%s is the same file as %s: -o OUT "
						   "must be a new folder", t, path);
			return merge_error("%s exists: --merge never replaces a file", t);
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
		return merge_error("%s: %s", from, strerror(errno));
	if (newfile_create(&nf, to, err, sizeof(err)) < 0) {
		close(in);
		return merge_error("%s", err);
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(nf.fd, buf, (size_t)n) != n)
			break;
	if (n == 0 && newfile_publish(&nf, false, err, sizeof(err)) == 0)
		r = 0;
	else
		merge_error("%s: %s", to, n ? strerror(errno) : err);
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
		const struct explore_shard *s = &m->shards[i];

		for (unsigned j = 0; j < s->nrec; j++) {
			const char *to = s->recs[j].text;
			if (to[0] == '(')
				continue;
			snprintf(from, sizeof(from), "%s/%s", s->dir, base(to));
			if (!link(from, to))
				continue;
			if (errno == EEXIST)
				return merge_error("%s exists: --merge never replaces a "
						   "file", to);
			if (copy_file(from, to))
				return -1;
		}
	}
	return 0;
}

/* --- the merged summary ------------------------------------------------------ */

/* explore --races: the shards' races joined, named by the guest's symbols
 * when the guest is still there and the same (else by address). */
static struct explore_races *join_races(const struct merge *m,
					struct explore_opts *o)
{
	struct explore_races *er = explore_races_new();
	char sha[sizeof(o->guest_sha256)];

	if (!er) {
		merge_error("out of memory");
		return NULL;
	}
	snprintf(sha, sizeof(sha), "%s", o->guest_sha256);
	explore_guest_hash(o);
	if (!strcmp(sha, o->guest_sha256))
		explore_races_symbols(er, o->cfg.guest);
	snprintf(o->guest_sha256, sizeof(o->guest_sha256), "%s", sha);
	for (int i = 0; i < m->nshards; i++)
		explore_races_join(er, m->shards[i].races);
	return er;
}

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
		merge_error("out of memory");
		goto out;
	}
	o.shard.n = o.shard.k = 0;
	o.todo = o.runs;
	o.json = m->json;
	o.dir = m->out ? m->out : m->shards[0].dir;
	if (m->shards[0].races && !(o.races = join_races(m, &o)))
		goto out;
	for (int i = 0; i < m->nshards; i++) {
		const struct explore_shard *s = &m->shards[i];

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
	explore_races_free(o.races);
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
		return merge_error("out of memory");
	for (int i = 0; i < m->nshards; i++)
		inputs[i] = m->shards[i].path;
	if (m->junit)
		r = junit_check_output("explore", m->junit, inputs, m->nshards,
				       false);
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
		if (explore_summary_read(&m.shards[i], m.out))
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
	for (i = 0; i < m.nshards; i++) {
		free(m.shards[i].recs);
		explore_races_free(m.shards[i].races);
	}
	free(m.shards);
	if (created && status == EXIT_USAGE)
		rmdir(m.out);
	return status;
}
