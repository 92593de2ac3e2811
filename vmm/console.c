/* The console: per-VCPU line buffers so output from several VCPUs never
 * interleaves mid-line; each line is one write() under a lock (concurrent
 * writes to one regular file may overwrite each other), prefixed with the
 * VCPU id when there is more than one VCPU. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm/console.h"
#include "vmm/end.h"

void console_flush(struct vcpu *v)
{
	char line[CONSOLE_LINE_MAX + 32];
	int n = 0;

	if (!v->con_len)
		return;
	if (vtrace_on(v->vm))
		vcpu_event(v, TEV_CONSOLE, 0, 0, 0, 0, v->con_buf, v->con_len);
	if (v->vm->nr_vcpus > 1)
		n = snprintf(line, sizeof(line), "[vcpu %u] ", v->id);
	memcpy(line + n, v->con_buf, v->con_len);
	n += v->con_len;
	if (line[n - 1] != '\n')
		line[n++] = '\n';
	v->con_len = 0;
	/* Console output is best effort: a closed pipe must not stop the guest. */
	pthread_mutex_lock(&v->vm->console_lock);
	if (write(v->vm->cfg.console_fd, line, n) < 0)
		n = 0;
	pthread_mutex_unlock(&v->vm->console_lock);
}

void console_write(struct vcpu *v, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		v->con_buf[v->con_len++] = buf[i];
		if (buf[i] == '\n' || v->con_len == CONSOLE_LINE_MAX - 1)
			console_flush(v);
	}
}

static int console_access(struct bus_device *dev, struct vcpu *v,
			  uint64_t offset, uint8_t *data, uint32_t size,
			  bool is_write)
{
	if (!is_write) {
		memset(data, 0, size);
		return 0;
	}
	console_write(v, (const char *)data, 1);
	return 0;
}

void console_register(struct vm *vm)
{
	vm->dev_console = (struct bus_device){
		.name = "console", .base = VCPRR_PORT_CONSOLE, .len = 1,
		.access = console_access,
	};
	bus_register(&vm->pio, &vm->dev_console);
}
