/* `vcprr run` options and the run driver, shared with `vcprr record`. */
#ifndef VCPRR_TOOLS_RUN_H
#define VCPRR_TOOLS_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/vm.h"

struct run_opts {
	const char *guest;
	unsigned nr_vcpus;
	uint64_t mem_size;
	uint64_t timeout_ns;   /* 0: none */
	struct vm_guest_input input;  /* --arg ..., --data */
	const char *data_path;        /* --data: an input record -o keeps */
	struct sched_config sched;
	/* built-in controller */
	uint64_t pause_every_ns, hold_ns;
	uint64_t seed;
	bool seed_given;       /* --seed; otherwise drawn at random */
	const char *pause_script;
	/* vcprr record */
	const char *output;    /* trace file ("-": stdout); NULL for vcprr run */
	bool force;            /* --force: replace an existing output */
	bool lossy;
	uint64_t max_trace;    /* --max-trace: bytes, 0 for no limit */
};

/* Parses run options from argv (after the subcommand name).  Returns 0, or
 * EXIT_USAGE after printing the problem. */
int run_opts_parse(const char *cmd, int argc, char **argv, struct run_opts *o);

/* Creates the VM, runs it to the end (SIGINT/SIGTERM and --timeout stop it
 * cleanly), prints diagnostics, and returns the process exit status. */
int run_guest(const struct run_opts *o);

#endif
