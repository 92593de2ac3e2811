/* Guest memory from the plugin's memfds, and dirty logs. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crosvm/plugin-priv.h"

#define PAGE_MASK 0xfffull

struct crosvm_memory {
	int slot;
	void *host;
	uint64_t len;
};

/* crosvm's checks, with its errnos: page multiples (-EINVAL), a shrink
 * seal so the mapping can never SIGBUS (-EPERM), inside the file. */
static int check_fd(int fd, uint64_t offset, uint64_t length)
{
	struct stat st;
	int seals;

	if ((offset & PAGE_MASK) || (length & PAGE_MASK))
		return -EINVAL;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return -errno;
	if (!(seals & F_SEAL_SHRINK))
		return -EPERM;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (offset + length < offset)
		return -EOVERFLOW;
	if (offset + length > (uint64_t)st.st_size)
		return -EINVAL;
	return 0;
}

int crosvm_create_memory(struct crosvm *self, int fd, uint64_t offset,
			 uint64_t length, uint64_t start, bool read_only,
			 bool dirty_log, struct crosvm_memory **out)
{
	struct plugin *p = self->p;
	struct crosvm_memory *m;
	int r = check_fd(fd, offset, length);

	if (r)
		return r;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_lock(&p->lock);
	r = -ENOMEM;  /* VCPRR_MEM */
	if (length > p->mem_limit - p->mem_used)
		goto fail;
	m->len = length;
	m->host = mmap(NULL, length, PROT_READ | (read_only ? 0 : PROT_WRITE),
		       MAP_SHARED, fd, offset);
	if (m->host == MAP_FAILED) {
		r = -errno;
		goto fail;
	}
	r = vm_add_memory(p->vm, start, length, m->host,
			  (read_only ? VM_MEM_READONLY : 0) |
			  (dirty_log ? VM_MEM_DIRTY_LOG : 0));
	if (r < 0) {
		munmap(m->host, length);
		goto fail;
	}
	m->slot = r;
	p->mem_used += length;
	pthread_mutex_unlock(&p->lock);
	*out = m;
	return 0;
fail:
	pthread_mutex_unlock(&p->lock);
	free(m);
	return r;
}

int crosvm_destroy_memory(struct crosvm *self, struct crosvm_memory **mp)
{
	struct plugin *p = self->p;
	struct crosvm_memory *m = *mp;
	int r;

	pthread_mutex_lock(&p->lock);
	r = vm_remove_memory(p->vm, m->slot);
	if (!r) {
		p->mem_used -= m->len;
		munmap(m->host, m->len);
		free(m);
		*mp = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	return r;
}

int crosvm_memory_get_dirty_log(struct crosvm *self, struct crosvm_memory *m,
				uint8_t *log)
{
	uint64_t pages = m->len >> 12;
	/* KVM writes whole longs; the caller's buffer has one bit per page. */
	size_t kbytes = (pages + 63) / 64 * 8;
	uint8_t *buf = calloc(1, kbytes ? kbytes : 8);
	int r;

	if (!buf)
		return -ENOMEM;
	r = vm_get_dirty_log(self->p->vm, m->slot, buf);
	if (!r)
		memcpy(log, buf, (pages + 7) / 8);
	free(buf);
	return r;
}
