/* vcprr inspect / vcprr export / vcprr bench inspect: looking at traces.
 *
 *   vcprr inspect FILE                 summary (header, counts, pauses, exits)
 *   vcprr inspect dump FILE [filters]  one event per line, or JSON Lines
 *   vcprr inspect follow FILE REQ      one pause request's life
 *   vcprr inspect diff A B             first divergence, per VCPU
 *   vcprr export --format chrome|html FILE -o OUT
 *
 * Exit statuses: 0 success (diff: equal), 1 diff: the traces differ,
 * 2 usage error (bad option or value), 3 a trace or guest file could not be
 * read (missing, not a trace, corrupt; the message names the file and byte
 * offset).  A truncated trace is not an error: it is said so. */
#ifndef VCPRR_TOOLS_INSPECT_H
#define VCPRR_TOOLS_INSPECT_H

int cmd_inspect(int argc, char **argv);
int cmd_export(int argc, char **argv);
/* `vcprr bench inspect [--json] [--events N]`: summary speed and memory on
 * a synthetic 10-million-event trace. */
int bench_inspect_main(int argc, char **argv);

#endif
