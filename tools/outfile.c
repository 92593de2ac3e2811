/* Checking and writing the outputs of vcprr commands. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/outfile.h"

static void say(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vcprr %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The input that @st is, or NULL. */
static const char *same_as_input(const struct stat *st,
				 const char *const *inputs, int ninputs)
{
	struct stat in;

	for (int i = 0; i < ninputs; i++)
		if (inputs[i] && !stat(inputs[i], &in) &&
		    in.st_dev == st->st_dev && in.st_ino == st->st_ino)
			return inputs[i];
	return NULL;
}

/* The folder @path would be created in must exist and be writable. */
static int check_folder(const char *cmd, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	struct stat st;
	int r = 0;

	if (!slash)
		dir = strdup(".");
	else
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (!dir)
		return -1;
	if (stat(dir, &st)) {
		say(cmd, "cannot create %s: %s", path, errno == ENOENT ?
		    "its folder does not exist" : strerror(errno));
		r = -1;
	} else if (!S_ISDIR(st.st_mode)) {
		say(cmd, "cannot create %s: %s is not a folder", path, dir);
		r = -1;
	} else if (access(dir, W_OK | X_OK)) {
		say(cmd, "cannot create %s: %s", path, strerror(errno));
		r = -1;
	}
	free(dir);
	return r;
}

/* A missing input is the first thing the user must hear about, not an
 * existing output they would otherwise fix first for nothing: with one, the
 * output checks are left to after the command has failed to open it (it
 * writes no output then, see above). */
static bool inputs_exist(const char *const *inputs, int ninputs)
{
	struct stat st;

	for (int i = 0; i < ninputs; i++)
		if (inputs[i] && strcmp(inputs[i], "-") && stat(inputs[i], &st))
			return false;
	return true;
}

int outfile_check(const char *cmd, const char *path,
		  const char *const *inputs, int ninputs, bool force)
{
	const char *in;
	struct stat st;

	if (!inputs_exist(inputs, ninputs))
		return 0;
	if (!strcmp(path, "-")) {
		/* `>> INPUT` would read and write the same file */
		if (!fstat(1, &st) && S_ISREG(st.st_mode) &&
		    (in = same_as_input(&st, inputs, ninputs))) {
			say(cmd, "standard output is %s, an input of this "
			    "command: refusing to write it", in);
			return -1;
		}
		return 0;
	}
	if (stat(path, &st))
		return check_folder(cmd, path);
	if ((in = same_as_input(&st, inputs, ninputs))) {
		if (strcmp(in, path))
			say(cmd, "%s is the same file as the input %s: refusing "
			    "to overwrite an input", path, in);
		else
			say(cmd, "%s is an input of this command: refusing to "
			    "overwrite it", path);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		say(cmd, "%s is a folder; give a file name", path);
		return -1;
	}
	if (S_ISREG(st.st_mode) && !force) {
		say(cmd, "%s exists; use --force to replace it, or choose "
		    "another name", path);
		return -1;
	}
	return 0;
}

int outfile_check_dir(const char *cmd, const char *dir, bool *created)
{
	struct stat st;

	*created = mkdir(dir, 0777) == 0;
	if (!*created && errno != EEXIST) {
		say(cmd, "cannot create the folder %s: %s", dir,
		    errno == ENOENT ? "its parent folder does not exist" :
		    strerror(errno));
		return -1;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		say(cmd, "%s exists and is not a folder", dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK)) {
		say(cmd, "cannot write in %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int outfile_open(struct outfile *o, const char *cmd, const char *path,
		 bool replace)
{
	char err[512];

	memset(o, 0, sizeof(*o));
	o->cmd = cmd;
	o->path = path;
	o->replace = replace;
	o->nf.fd = -1;
	if (!strcmp(path, "-")) {
		o->f = stdout;
		return 0;
	}
	if (newfile_create(&o->nf, path, err, sizeof(err))) {
		say(cmd, "%s", err);
		return -1;
	}
	o->f = fdopen(o->nf.fd, "w");
	if (!o->f) {
		say(cmd, "%s: %s", path, strerror(errno));
		close(o->nf.fd);
		newfile_discard(&o->nf);
		return -1;
	}
	return 0;
}

int outfile_commit(struct outfile *o)
{
	char err[512];
	int r = 0, pr;

	if (fflush(o->f) || ferror(o->f) ||
	    (o->f != stdout && !o->nf.in_place && fsync(fileno(o->f)))) {
		say(o->cmd, "writing %s failed: %s", o->f == stdout ?
		    "standard output" : o->path, strerror(errno ? errno : EIO));
		r = -1;
	} else if (o->f != stdout &&
		   (pr = newfile_publish(&o->nf, o->replace, err, sizeof(err)))) {
		say(o->cmd, "%s%s", err, pr == -EEXIST ?
		    "; use --force to replace it" : "");
		r = -1;
	}
	if (o->f != stdout) {
		fclose(o->f);
		newfile_discard(&o->nf);
	}
	o->f = NULL;
	return r;
}

void outfile_abort(struct outfile *o)
{
	if (!o->f)
		return;
	if (o->f == stdout) {
		fflush(stdout);
	} else {
		fclose(o->f);
		newfile_discard(&o->nf);
	}
	o->f = NULL;
}

/* --- stdout held until released ---------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Called with h->lock held. */
static void relay(struct held_stdout *h, const char *p, size_t n)
{
	if (h->failed)
		return;
	if (h->released) {
		h->failed = write_all(1, p, n) != 0;
		return;
	}
	if (h->len + n > h->cap) {
		size_t cap = (h->len + n) * 2;
		char *b = realloc(h->buf, cap);

		if (!b) {
			h->failed = true;
			return;
		}
		h->buf = b;
		h->cap = cap;
	}
	memcpy(h->buf + h->len, p, n);
	h->len += n;
}

static void *relay_thread(void *arg)
{
	struct held_stdout *h = arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(h->rd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		pthread_mutex_lock(&h->lock);
		relay(h, buf, (size_t)n);
		pthread_mutex_unlock(&h->lock);
	}
	return NULL;
}

int held_stdout_open(struct held_stdout *h)
{
	int p[2];
	sigset_t all, old;

	memset(h, 0, sizeof(*h));
	if (pipe2(p, O_CLOEXEC))
		return -1;
	h->rd = p[0];
	h->fd = p[1];
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&h->lock, NULL);
	/* process-directed signals belong to the other threads */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	errno = pthread_create(&h->thread, NULL, relay_thread, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (errno) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	return 0;
}

void held_stdout_release(struct held_stdout *h)
{
	pthread_mutex_lock(&h->lock);
	h->released = true;
	h->failed = h->failed || write_all(1, h->buf, h->len) != 0;
	h->len = 0;
	pthread_mutex_unlock(&h->lock);
}

int held_stdout_close(struct held_stdout *h, const char *cmd)
{
	pthread_join(h->thread, NULL);
	close(h->rd);
	free(h->buf);
	pthread_mutex_destroy(&h->lock);
	if (h->released && h->failed)
		fprintf(stderr, "vcprr %s: writing to standard output failed: "
			"the trace there is incomplete\n", cmd);
	return h->released && h->failed ? -1 : 0;
}
