/* The VM of a crosvm plugin program: connections, start, pauses, shutdown.
 *
 * crosvm ran plugins as child processes; here the VM lives in the plugin's
 * own process, one per process, created by the first crosvm_connect().  The
 * run ends when the process exits: an on_exit() handler stops the VCPUs and
 * closes the recording with the exit status. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "crosvm/plugin-priv.h"
#include "vmm/recording.h"

#define DEFAULT_MEM_LIMIT (3ull << 30)

static struct plugin *g_plugin;
static pthread_mutex_t g_plugin_lock = PTHREAD_MUTEX_INITIALIZER;

int plugin_env_size(const char *name, uint64_t def, uint64_t *v)
{
	const char *s = getenv(name);
	unsigned shift = 0;
	char *end;

	*v = def;
	if (!s || !*s)
		return 0;
	errno = 0;
	*v = strtoull(s, &end, 0);
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (errno || *end || end == s || *s == '-' || *v > (UINT64_MAX >> shift)) {
		fprintf(stderr, "vcprr: %s='%s': expected a number, with K, M or "
			"G for sizes\n", name, s);
		return -EINVAL;
	}
	*v <<= shift;
	return 0;
}

/* The end of the run (every VCPU thread gone): tell the plugin. */
static void *watch_end(void *arg)
{
	struct plugin *p = arg;
	struct pollfd pfd = { .fd = vm_end_fd(p->vm), .events = POLLIN };
	uint64_t one = 1;

	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&p->lock);
	p->ended = true;
	pthread_mutex_unlock(&p->lock);
	if (write(p->shutdown_fd, &one, sizeof(one)) < 0)
		perror("vcprr: crosvm shutdown eventfd");
	plugin_wake_vcpus(p);
	return NULL;
}

static void plugin_at_exit(int status, void *arg)
{
	struct plugin *p = arg;

	plugin_irq_close(p);  /* before the trace closes */
	if (p->started) {
		vm_stop(p->vm, TEND_GUEST_EXIT, status, "the plugin program exited");
		vm_wait(p->vm, -1);
	}
	plugin_record_close(p, status);
	/* The plugin's threads may still be in library calls: the VM and the
	 * handles are left for the process exit to reclaim. */
}

static int init_vcpus(struct plugin *p)
{
	p->vcpus = calloc(p->nr_vcpus, sizeof(*p->vcpus));
	if (!p->vcpus)
		return -ENOMEM;
	for (unsigned i = 0; i < p->nr_vcpus; i++) {
		struct crosvm_vcpu *vc = &p->vcpus[i];
		vc->p = p;
		vc->id = i;
		pthread_mutex_init(&vc->lock, NULL);
		pthread_cond_init(&vc->cond, NULL);
	}
	return 0;
}

static int create_vm(struct plugin *p)
{
	struct vm_config cfg = {
		.nr_vcpus = p->nr_vcpus, .raw = true, .init_event = true,
		.controlled = true, .raw_hooks = &p->hooks,
	};
	char err[512] = "";

	p->hooks = (struct vm_raw_hooks){ .arg = p, .claim_io = plugin_claim_io,
					  .stopped = plugin_vcpu_stopped };
	if (plugin_record_open(p, err, sizeof(err)))
		goto fail;
	cfg.trace = p->trace;
	p->vm = vm_create(&cfg, NULL, err, sizeof(err));
	if (p->vm)
		return 0;
fail:
	fprintf(stderr, "vcprr: crosvm_connect: %s\n", err);
	return -ENODEV;
}

static struct plugin *plugin_new(int *ret)
{
	struct plugin *p = calloc(1, sizeof(*p));
	uint64_t n;

	*ret = -ENOMEM;
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_rwlock_init(&p->range_lock, NULL);
	pthread_mutex_init(&p->irq_lock, NULL);
	p->irq_wake_fd = -1;
	*ret = -EINVAL;
	if (plugin_env_size("VCPRR_VCPUS", 1, &n) ||
	    plugin_env_size("VCPRR_MEM", DEFAULT_MEM_LIMIT, &p->mem_limit))
		goto fail;
	if (n < 1 || n > PLUGIN_MAX_VCPUS) {
		fprintf(stderr, "vcprr: VCPRR_VCPUS must be 1 to %u\n",
			PLUGIN_MAX_VCPUS);
		goto fail;
	}
	p->nr_vcpus = (unsigned)n;
	*ret = -ENOMEM;
	p->shutdown_fd = eventfd(0, EFD_CLOEXEC);
	if (p->shutdown_fd < 0 || init_vcpus(p))
		goto fail;
	*ret = create_vm(p);
	if (*ret)
		goto fail;
	on_exit(plugin_at_exit, p);
	return p;
fail:
	free(p->vcpus);
	free(p);
	return NULL;
}

static int new_connection(struct plugin *p, struct crosvm **out)
{
	struct crosvm *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->p = p;
	*out = c;
	return 0;
}

int crosvm_connect(struct crosvm **out)
{
	int r = 0;

	pthread_mutex_lock(&g_plugin_lock);
	if (!g_plugin)
		g_plugin = plugin_new(&r);
	pthread_mutex_unlock(&g_plugin_lock);
	if (!g_plugin)
		return r;
	return new_connection(g_plugin, out);
}

int crosvm_new_connection(struct crosvm *self, struct crosvm **out)
{
	return new_connection(self->p, out);
}

int crosvm_destroy_connection(struct crosvm **self)
{
	free(*self);
	*self = NULL;
	return 0;
}

int crosvm_get_shutdown_eventfd(struct crosvm *self)
{
	int fd = dup(self->p->shutdown_fd);

	return fd < 0 ? -errno : fd;
}

int crosvm_start(struct crosvm *self)
{
	struct plugin *p = self->p;
	int r = -EINVAL;

	pthread_mutex_lock(&p->lock);
	if (p->started)
		goto out;
	r = vm_start(p->vm);
	if (r)
		goto out;
	recording_started(p->trace);  /* the recorded memory, durable now */
	p->started = true;
	r = -pthread_create(&p->watcher, NULL, watch_end, p);
	if (!r)
		pthread_detach(p->watcher);
out:
	pthread_mutex_unlock(&p->lock);
	return r;
}

int crosvm_pause_vcpus(struct crosvm *self, uint64_t cpu_mask, void *user)
{
	struct plugin *p = self->p;
	vcpu_mask_t mask = { { 0 } };

	/* crosvm ignores mask bits past the last VCPU. */
	for (unsigned i = 0; i < p->nr_vcpus && i < 64; i++)
		if (cpu_mask & (1ull << i))
			vcpu_mask_set(&mask, i);
	return vm_pause_vcpus(p->vm, &mask, (uint64_t)(uintptr_t)user);
}

int crosvm_get_vcpu(struct crosvm *self, uint32_t id, struct crosvm_vcpu **out)
{
	if (id >= self->p->nr_vcpus)
		return -ENOENT;
	*out = &self->p->vcpus[id];
	return 0;
}
