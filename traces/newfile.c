/* Files that appear whole: created unnamed, named when complete enough. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "traces/newfile.h"

static void seterr(char *err, size_t errlen, const char *fmt, const char *path,
		   int e)
{
	if (err && errlen)
		snprintf(err, errlen, fmt, path, strerror(e));
}

/* The folder part of @path ("." for a bare name).  malloc'd. */
static char *folder_of(const char *path)
{
	char *dir = strdup(path), *slash;

	if (!dir)
		return NULL;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = 0;
	else
		*slash = 0;
	return dir;
}

char *newfile_hidden_name(const char *path, const char *tag)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int dlen = slash ? (int)(slash - path + 1) : 0;
	char *s;

	if (asprintf(&s, "%.*s.%s.%s", dlen, path, base, tag) < 0)
		return NULL;
	return s;
}

/* A symbolic link names the file it points to (when that exists). */
static char *final_name(const char *path)
{
	struct stat st;
	char *real;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) &&
	    (real = realpath(path, NULL)))
		return real;
	return strdup(path);
}

static int create_hidden(struct newfile *nf)
{
	nf->tmp = newfile_hidden_name(nf->path, "XXXXXX");
	if (!nf->tmp)
		return -ENOMEM;
	nf->fd = mkostemp(nf->tmp, O_CLOEXEC);
	if (nf->fd < 0) {
		free(nf->tmp);
		nf->tmp = NULL;
		return -errno;
	}
	fchmod(nf->fd, 0644);
	return 0;
}

int newfile_create(struct newfile *nf, const char *path, char *err,
		   size_t errlen)
{
	struct stat st;
	char *dir;
	int r = 0;

	memset(nf, 0, sizeof(*nf));
	nf->fd = -1;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		seterr(err, errlen, "cannot create %s: %s", path, EISDIR);
		return -EISDIR;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		nf->in_place = true;
		nf->path = strdup(path);
		nf->fd = open(path, O_WRONLY | O_CLOEXEC);
		if (nf->fd < 0)
			r = -errno;
		goto out;
	}
	nf->path = final_name(path);
	dir = nf->path ? folder_of(nf->path) : NULL;
	if (!dir) {
		r = -ENOMEM;
		goto out;
	}
	nf->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	if (nf->fd < 0)
		r = -errno;
	free(dir);
	/* Kernels and filesystems without O_TMPFILE say so in several ways. */
	if (r == -EOPNOTSUPP || r == -EISDIR || r == -EINVAL)
		r = create_hidden(nf);
out:
	if (r) {
		seterr(err, errlen, "cannot create %s: %s", path, -r);
		newfile_discard(nf);
	}
	return r;
}

/* Links the unnamed file @fd at @path; -EEXIST if something is there. */
static int link_fd(int fd, const char *path)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno == EEXIST)
		return -EEXIST;
	/* without /proc: needs CAP_DAC_READ_SEARCH */
	return linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) ? -errno : 0;
}

/* Links @fd under a fresh hidden name, then renames that over @path. */
static int link_fd_replacing(int fd, const char *path)
{
	for (unsigned i = 0; i < 100; i++) {
		char tag[32], *tmp;
		int r;

		snprintf(tag, sizeof(tag), "%d-%u", (int)getpid(), i);
		tmp = newfile_hidden_name(path, tag);
		if (!tmp)
			return -ENOMEM;
		r = link_fd(fd, tmp);
		if (r == 0 && rename(tmp, path)) {
			r = -errno;
			unlink(tmp);
		}
		free(tmp);
		if (r != -EEXIST)
			return r;
	}
	return -EEXIST;
}

int newfile_publish(struct newfile *nf, bool replace, char *err,
		    size_t errlen)
{
	int r;

	if (nf->in_place || nf->published)
		return 0;
	if (nf->tmp)
		r = newfile_rename(nf->tmp, nf->path, replace);
	else if (replace)
		r = link_fd_replacing(nf->fd, nf->path);
	else
		r = link_fd(nf->fd, nf->path);
	if (r == -EEXIST) {
		if (err && errlen)
			snprintf(err, errlen, "%s exists", nf->path);
		return r;
	}
	if (r) {
		seterr(err, errlen, "cannot create %s: %s", nf->path, -r);
		return r;
	}
	free(nf->tmp);
	nf->tmp = NULL;
	nf->published = true;
	return 0;
}

void newfile_discard(struct newfile *nf)
{
	if (nf->tmp && !nf->published)
		unlink(nf->tmp);
	free(nf->tmp);
	free(nf->path);
	nf->tmp = nf->path = NULL;
}

int newfile_rename(const char *from, const char *to, bool replace)
{
	if (replace)
		return rename(from, to) ? -errno : 0;
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* Filesystems without RENAME_NOREPLACE: link refuses an existing
	 * name just as well. */
	if (link(from, to))
		return -errno;
	unlink(from);
	return 0;
}
