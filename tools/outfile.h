/* The files vcprr commands write.
 *
 * Every command that writes checks each output before it starts any work
 * (outfile_check, outfile_check_dir), and writes through a struct outfile
 * or a trace published the same way (traces/newfile.h): the output appears
 * whole under its name or not at all, so a failure or a kill never leaves
 * a half or empty output, and never destroys what was there.
 *
 * The rules: "-" is stdout; an output is never the same file as one of the
 * command's inputs (same device and inode, so hard and symbolic links are
 * caught too); an existing regular file is replaced only with --force;
 * an existing device or FIFO is written in place; while an input is
 * missing the output is not judged (the command fails on the input first
 * and writes nothing).  Messages are
 * "vcprr CMD: ..." on stderr.  Not thread-safe. */
#ifndef VCPRR_TOOLS_OUTFILE_H
#define VCPRR_TOOLS_OUTFILE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "traces/newfile.h"

/* 0 when @path may be written by CMD, else -1 after printing why.
 * @inputs has @ninputs paths (NULL entries are skipped). */
int outfile_check(const char *cmd, const char *path,
		  const char *const *inputs, int ninputs, bool force);

/* For a folder of outputs: creates @dir if missing (its parent must
 * exist; *created tells) and checks that it is a writable folder.
 * 0 or -1 (printed). */
int outfile_check_dir(const char *cmd, const char *dir, bool *created);

struct outfile {
	const char *cmd, *path;
	FILE *f;               /* write here */
	struct newfile nf;
	bool replace;
};

/* Opens @path ("-": stdout) for writing.  0, or -1 after printing why. */
int outfile_open(struct outfile *o, const char *cmd, const char *path,
		 bool replace);

/* Flushes and gives the output its name.  0, or -1 after printing why
 * (the output is then dropped).  Frees everything either way. */
int outfile_commit(struct outfile *o);

/* Drops the output: nothing appears under its name. */
void outfile_abort(struct outfile *o);

/* A stream to stdout that starts only once released: what is written to
 * `fd` before then is held, and dropped if it never is (a recording to
 * `-o -` whose run cannot start writes nothing).  A relay thread moves the
 * bytes; SIGPIPE is ignored from then on (a closed stdout is an error). */
struct held_stdout {
	int fd;                /* the write end: the producer owns and closes it */
	int rd;
	pthread_t thread;
	pthread_mutex_t lock;
	bool released, failed;
	char *buf;
	size_t len, cap;
};

int held_stdout_open(struct held_stdout *h);
void held_stdout_release(struct held_stdout *h);
/* Waits until the producer has closed fd and everything is relayed.
 * 0, or -1 when writing to stdout failed (printed). */
int held_stdout_close(struct held_stdout *h, const char *cmd);

#endif
