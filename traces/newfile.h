/* Files that appear whole.
 *
 * A new file is created without a name (O_TMPFILE) in the folder of its
 * final path, or, where the filesystem cannot do that, under a hidden
 * temporary name there (".NAME.XXXXXX").  It gets its final name only when
 * published, so nobody ever finds it half written under that name, and a
 * file that is never published (an error, a kill) leaves nothing behind
 * (a hidden temporary is removed by newfile_discard()).
 *
 * Publishing either refuses an existing file (atomically: -EEXIST) or
 * replaces it (atomically, by rename).  A path naming an existing device,
 * FIFO or socket is written in place: there is nothing to replace.
 * A path that is a symbolic link names the file it points to.
 *
 * Not thread-safe per struct newfile; the fd may be written by another
 * thread while the file is published. */
#ifndef VCPRR_TRACES_NEWFILE_H
#define VCPRR_TRACES_NEWFILE_H

#include <stdbool.h>
#include <stddef.h>

struct newfile {
	int fd;             /* write here; the caller closes it */
	char *path;         /* the final name (owned) */
	char *tmp;          /* the hidden temporary, if any (owned) */
	bool in_place;      /* a device or FIFO, written directly */
	bool published;
};

/* Creates the file for @path.  0, or -errno with a message naming @path
 * (a missing folder, a folder as @path, no permission). */
int newfile_create(struct newfile *nf, const char *path, char *err,
		   size_t errlen);

/* Gives the file its name.  0; -EEXIST (message names the file) when
 * something exists at the path and @replace is false; or -errno. */
int newfile_publish(struct newfile *nf, bool replace, char *err,
		    size_t errlen);

/* Removes the hidden temporary of an unpublished file and frees the names.
 * Does not close fd.  Safe on a zeroed or already discarded struct. */
void newfile_discard(struct newfile *nf);

/* "DIR/.BASE.TAG": a hidden name next to @path, for temporaries.
 * malloc'd; NULL when out of memory. */
char *newfile_hidden_name(const char *path, const char *tag);

/* Renames @from to @to in one step, refusing (-EEXIST) an existing @to
 * unless @replace.  0 or -errno. */
int newfile_rename(const char *from, const char *to, bool replace);

#endif
