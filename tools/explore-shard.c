/* What one explore leaves for others: which runs a shard makes (--shard
 * K/N: the runs i with i % N == K - 1, the split replay --check uses), the
 * summary file DIR/explore.json that --merge reads, and the JUnit report. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/explore-cli.h"
#include "tools/junit.h"
#include "tools/outfile.h"
#include "traces/sha256.h"
#include "vmm/guest-id.h"

unsigned explore_shard_size(const struct explore_opts *o)
{
	if (!o->shard.n)
		return o->runs;
	if (o->runs < o->shard.k)
		return 0;
	return (o->runs - o->shard.k) / o->shard.n + 1;
}

uint32_t explore_shard_run(const struct explore_opts *o, unsigned nth)
{
	if (!o->shard.n)
		return nth;
	return nth * o->shard.n + o->shard.k - 1;
}

void explore_guest_hash(struct explore_opts *o)
{
	struct run_guest g;
	char err[256];

	memset(&g, 0, sizeof(g));
	guest_id_take(&g, o->cfg.guest, o->cfg.guest, err, sizeof(err));
	sha256_hex(g.sha256, o->guest_sha256);
}

int explore_save(const struct explore_opts *o, const struct tally *t,
		 double wall)
{
	char path[4200];
	struct outfile out;

	snprintf(path, sizeof(path), "%s/%s", o->dir, EXPLORE_SUMMARY_FILE);
	if (outfile_open(&out, "explore", path, true))
		return -1;
	explore_json(out.f, o, t, wall, true);
	return outfile_commit(&out);
}

/* The failing runs of one signature, in the failure's message. */
static void junit_runs(FILE *f, const struct tally *t, const char *sig)
{
	for (unsigned i = 0; i < t->nfail; i++) {
		const struct run_record *r = &t->failures[i];

		if (strcmp(r->res.signature, sig))
			continue;
		fprintf(f, "run %u, seed %llu: ", r->index,
			(unsigned long long)r->res.seed);
		junit_escape(f, r->text);
		fputc('\n', f);
	}
}

static void junit_signature(FILE *f, const char *suite,
			    const struct signature *s, const struct tally *t)
{
	fprintf(f, "  <testcase classname=\"");
	junit_escape(f, suite);
	fprintf(f, "\" name=\"");
	junit_escape(f, s->text);
	fprintf(f, "\"><failure message=\"%u of %u runs fail so\">", s->count,
		t->done);
	if (s->first.text[0] != '(') {
		fprintf(f, "replay: vcprr replay ");
		junit_escape(f, s->first.text);
		fputc('\n', f);
	}
	junit_runs(f, t, s->text);
	fprintf(f, "</failure></testcase>\n");
}

/* explore --races: the races seen, as the summary tells them. */
static void junit_races(FILE *f, const struct explore_opts *o,
			const struct tally *t)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (!m)
		return;
	explore_races_print(m, o->races, t->done);
	if (!fclose(m)) {
		fprintf(f, "  <system-out>");
		junit_escape(f, text + (text[0] == '\n'));
		fprintf(f, "</system-out>\n");
	}
	free(text);
}

int explore_junit(const char *cmd, const char *path,
		  const struct explore_opts *o, const struct tally *t,
		  double wall)
{
	char suite[4200];
	struct outfile out;
	unsigned tests = t->nsigs ? t->nsigs : 1;

	if (outfile_open(&out, cmd, path, true))
		return -1;
	snprintf(suite, sizeof(suite), "vcprr explore %s", o->cfg.guest);
	fprintf(out.f, JUNIT_HEAD "><testsuite name=\"");
	junit_escape(out.f, suite);
	fprintf(out.f, "\" tests=\"%u\" failures=\"%u\" errors=\"%u\" "
		"time=\"%.3f\">\n", tests + !!t->stopped_by, t->nsigs,
		!!t->stopped_by, wall);
	for (unsigned i = 0; i < t->nsigs; i++)
		junit_signature(out.f, suite, &t->sigs[i], t);
	if (!t->nsigs)
		fprintf(out.f, "  <testcase classname=\"vcprr explore\" name=\"%u "
			"runs from seed %llu, no failure\" time=\"%.3f\"/>\n",
			t->done, (unsigned long long)o->seed, t->run_seconds);
	if (t->stopped_by)
		fprintf(out.f, "  <testcase classname=\"vcprr explore\" "
			"name=\"every run ran\"><error message=\"interrupted "
			"(%s) after %u of %u runs\"/></testcase>\n",
			strsignal(t->stopped_by), t->done, o->todo);
	if (o->races)
		junit_races(out.f, o, t);
	fprintf(out.f, "</testsuite></testsuites>\n");
	return outfile_commit(&out);
}
