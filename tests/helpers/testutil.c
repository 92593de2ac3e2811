#include <fcntl.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/helpers/testutil.h"
#include "vmm/kvm.h"

const char *guest_path(const char *name)
{
	static char path[512];
	const char *build = getenv("VCPRR_BUILD");

	snprintf(path, sizeof(path), "%s/guests/%s.elf", build ? build : "build", name);
	return path;
}

int kvm_usable(void)
{
	static int state = -1;
	char err[512];

	if (state < 0) {
		int fd = kvm_open(NULL, err, sizeof(err));
		state = fd >= 0;
		if (fd >= 0)
			close(fd);
		else
			fprintf(stderr, "SKIP: KVM tests need a usable /dev/kvm: %s\n", err);
	}
	return state;
}

int memfd_new(const char *name)
{
	return memfd_create(name, MFD_CLOEXEC);
}

char *fd_slurp(int fd)
{
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf = malloc(len + 1);

	if (!buf)
		return NULL;
	if (pread(fd, buf, len, 0) != len)
		len = 0;
	buf[len] = 0;
	return buf;
}

int count_lines(const char *text, const char *line)
{
	size_t n = strlen(line);
	int count = 0;

	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len == n && !memcmp(p, line, n))
			count++;
		p = nl ? nl + 1 : NULL;
	}
	return count;
}

int vcprr_sh(char **out, const char *fmt, ...)
{
	char cmd[4096], *buf = NULL;
	const char *build = getenv("VCPRR_BUILD");
	size_t len = 0, r;
	va_list ap;
	FILE *f;
	int n = snprintf(cmd, sizeof(cmd), "V=%s/vcprr; { ", build ? build : "build");
	int st;

	va_start(ap, fmt);
	n += vsnprintf(cmd + n, sizeof(cmd) - n, fmt, ap);
	va_end(ap);
	snprintf(cmd + n, sizeof(cmd) - n, "; } 2>&1");
	f = popen(cmd, "r");
	if (!f)
		return -1;
	do {
		char *b = realloc(buf, len + 4097);
		if (!b)
			break;
		buf = b;
		r = fread(buf + len, 1, 4096, f);
		len += r;
	} while (r);
	if (buf)
		buf[len] = 0;
	st = pclose(f);
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

pid_t vcprr_spawn(const char *const args[])
{
	const char *build = getenv("VCPRR_BUILD");
	const char *argv[16] = { NULL };
	char bin[256];
	size_t n = 1;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/vcprr", build ? build : "build");
	argv[0] = bin;
	while (args[n - 1] && n < 15) {
		argv[n] = args[n - 1];
		n++;
	}
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

int scratch_dir(char *dir, size_t len, const char *name)
{
	snprintf(dir, len, "/tmp/vcprr-%s-XXXXXX", name);
	return mkdtemp(dir) ? 0 : -1;
}

int scratch_dir_remove(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

uint64_t test_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
