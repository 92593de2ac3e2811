/* vcprr inspect and vcprr export: command dispatch and help. */
#include <stdio.h>
#include <string.h>

#include "tools/inspect.h"
#include "tools/inspect-priv.h"
#include "tools/outfile.h"

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
"Both carry every event with its fields decoded (as inspect dump prints\n"
"them), the failure as a marked instant with its message and, in serial\n"
"and step traces, a 'holds the CPU' track per VCPU saying where it lost\n"
"the CPU.\n"
"  chrome  Chrome Trace Event JSON for ui.perfetto.dev and chrome://tracing:\n"
"          a named thread per VCPU with its states and events, the\n"
"          failure as a global instant, pause lives as flows\n"
"  html    one self-contained offline page: a lane per VCPU coloured by\n"
"          state, the failure one click away, wheel or W/S zoom, A/D pan,\n"
"          pause lives as arrows, a searchable event list, details\n"
"\n"
"options:\n"
"  --format F        chrome or html\n"
"  -o, --output OUT  where to write ('-' = stdout).  OUT appears whole or\n"
"                    not at all; it may not be FILE (or a link to it)\n"
"  -f, --force       replace an existing OUT\n"
"  --guest PATH      symbolise RIPs with this guest ELF\n"
"  --guest-dir DIR   look for the recorded guest in DIR too\n"
"\n"
"FILE may be '-' (standard input).  Exit status: 0 written, 2 usage (or OUT\n"
"refused), 3 FILE or the guest could not be read, or OUT not written.\n";

struct export_opts {
	const char *format, *in, *out;
	struct iguest guest;
	bool force;
};

static int export_arg_error(const char *what, const char *arg)
{
	fprintf(stderr, "vcprr export: %s '%s'\nTry 'vcprr export --help'.\n",
		what, arg);
	return -1;
}

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
		else if (iguest_opt(argc, argv, &i, &o->guest, &bad))
			continue;
		else if (bad)
			return export_arg_error("missing value for", argv[i]);
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			o->out = argv[++i];
		else if (!strcmp(argv[i], "-o"))
			return export_arg_error("missing value for", argv[i]);
		else if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--force"))
			o->force = true;
		else if ((argv[i][0] == '-' && argv[i][1]) || o->in)
			return export_arg_error(argv[i][0] == '-' ? "unknown option"
						: "unexpected argument", argv[i]);
		else
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

	ret = inspect_symbols(t, &o->guest, false, &st);
	if (!ret && !strcmp(o->format, "chrome"))
		ret = export_chrome(t, out, st);
	else if (!ret)
		ret = export_html(t, out, st);
	symtab_free(st);
	return ret;
}

int cmd_export(int argc, char **argv)
{
	struct export_opts o;
	struct outfile out;
	struct itrace t;
	const char *inputs[2];
	int ret;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(export_usage, stdout);
			return INSPECT_OK;
		}
	if (export_args(argc, argv, &o))
		return INSPECT_USAGE;
	inputs[0] = o.in;
	inputs[1] = o.guest.path;
	if (outfile_check("export", o.out, inputs, 2, o.force))
		return INSPECT_USAGE;
	ret = itrace_open(&t, o.in, "export");
	if (ret)
		return ret;
	if (outfile_open(&out, "export", o.out, o.force)) {
		itrace_close(&t);
		return INSPECT_BAD_INPUT;
	}
	ret = export_run(&o, &t, out.f);
	if (ret)
		outfile_abort(&out);
	else if (outfile_commit(&out))
		ret = INSPECT_BAD_INPUT;
	itrace_close(&t);
	return ret;
}
