/* vcprr inspect and vcprr export: command dispatch and help. */
#include <stdio.h>
#include <string.h>

#include "tools/inspect.h"
#include "tools/inspect-priv.h"

static const char inspect_usage[] =
"usage: vcprr inspect FILE                 summary of a trace\n"
"       vcprr inspect dump FILE [options]  events, filtered, text or JSON\n"
"       vcprr inspect follow FILE REQ      one pause request's life\n"
"       vcprr inspect diff A B [options]   first divergence between traces\n"
"\n"
"The summary shows the header (guest, mode, seed, VCPUs, duration, format,\n"
"complete or truncated), event counts per VCPU and type, pause latencies\n"
"(request -> signal -> taken -> resumed: p50/p99/max), coalesced requests,\n"
"the longest pause and the VM exits by kind.\n"
"\n"
"REQ names a pause request as VCPU:REQ_SEQ (2:17 = the 17th request to\n"
"VCPU 2, as the req= fields of dump show) or #SEQ (the global sequence\n"
"number of its PAUSE_REQUEST event).\n"
"\n"
"'vcprr inspect dump --help' and 'vcprr inspect diff --help' list their\n"
"options.  Exit status: 0 ok (diff: equal), 1 the traces differ, 2 usage\n"
"error, 3 a trace or guest file could not be read.\n";

int cmd_inspect(int argc, char **argv)
{
	if (argc < 2) {
		fputs(inspect_usage, stderr);
		return INSPECT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(inspect_usage, stdout);
		return INSPECT_OK;
	}
	if (!strcmp(argv[1], "dump"))
		return inspect_dump_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "follow"))
		return inspect_follow_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "diff"))
		return inspect_diff_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "summary"))
		return inspect_summary_main(argc - 1, argv + 1);
	return inspect_summary_main(argc, argv);
}

static const char export_usage[] =
"usage: vcprr export --format chrome|html FILE -o OUT\n"
"\n"
"  chrome  Chrome Trace Event JSON for ui.perfetto.dev and chrome://tracing:\n"
"          a track per VCPU with running/paused/halted slices and exits,\n"
"          signals and kicks as instants, pause requests on controller\n"
"          tracks with flow arrows to the pause each one caused\n"
"  html    one self-contained offline page: an SVG timeline with a lane\n"
"          per VCPU, pauses coloured by request, zoom by time range,\n"
"          hover for the event\n"
"\n"
"options:\n"
"  --format F     chrome or html\n"
"  -o, --output OUT  where to write ('-' = stdout)\n"
"  --guest PATH   html: symbolise RIPs with this guest ELF\n";

struct export_opts {
	const char *format, *in, *out, *guest;
};

static int export_args(int argc, char **argv, struct export_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		bool bad = false;
		const char *v;

		if ((v = iopt(argc, argv, &i, "format", &bad)))
			o->format = v;
		else if ((v = iopt(argc, argv, &i, "output", &bad)))
			o->out = v;
		else if ((v = iopt(argc, argv, &i, "guest", &bad)))
			o->guest = v;
		else if (!bad && !strcmp(argv[i], "-o") && i + 1 < argc)
			o->out = argv[++i];
		else if (bad || argv[i][0] == '-' || o->in) {
			fprintf(stderr, "vcprr export: %s '%s'\n", bad ?
				"missing value for" : "unexpected argument",
				argv[i]);
			return -1;
		} else
			o->in = argv[i];
	}
	if (!o->format || !o->in || !o->out) {
		fprintf(stderr, "vcprr export: need --format, FILE and -o OUT\n");
		return -1;
	}
	if (strcmp(o->format, "chrome") && strcmp(o->format, "html")) {
		fprintf(stderr, "vcprr export: --format '%s': expected chrome "
			"or html\n", o->format);
		return -1;
	}
	return 0;
}

static int export_run(const struct export_opts *o, struct itrace *t,
		      FILE *out)
{
	struct symtab *st = NULL;
	int ret;

	if (!strcmp(o->format, "chrome"))
		return export_chrome(t, out);
	ret = inspect_symbols(t, o->guest, false, &st);
	if (!ret)
		ret = export_html(t, out, st);
	symtab_free(st);
	return ret;
}

int cmd_export(int argc, char **argv)
{
	struct export_opts o;
	struct itrace t;
	FILE *out;
	int ret;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(export_usage, stdout);
			return INSPECT_OK;
		}
	if (export_args(argc, argv, &o))
		return INSPECT_USAGE;
	ret = itrace_open(&t, o.in, "export");
	if (ret)
		return ret;
	out = strcmp(o.out, "-") ? fopen(o.out, "w") : stdout;
	if (!out) {
		perror(o.out);
		itrace_close(&t);
		return INSPECT_BAD_INPUT;
	}
	ret = export_run(&o, &t, out);
	if ((fflush(out) || ferror(out)) && !ret) {
		fprintf(stderr, "vcprr export: writing %s failed\n", o.out);
		ret = INSPECT_BAD_INPUT;
	}
	if (out != stdout)
		fclose(out);
	itrace_close(&t);
	return ret;
}
