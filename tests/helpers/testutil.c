#include <fcntl.h>
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
