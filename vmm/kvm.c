/* Opening /dev/kvm with errors a user can act on. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/kvm.h"

struct required_cap {
	long cap;
	const char *name;
	const char *why;
};

static const struct required_cap required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest memory" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "CPUID for long mode" },
	{ KVM_CAP_SET_GUEST_DEBUG, "KVM_CAP_SET_GUEST_DEBUG",
	  "single-step and breakpoints for replay" },
};

int kvm_cap(int fd, long cap)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

int kvm_max_vcpus(int kvm_fd)
{
	int n = kvm_cap(kvm_fd, KVM_CAP_MAX_VCPUS);

	if (n <= 0)
		n = kvm_cap(kvm_fd, KVM_CAP_NR_VCPUS);
	return n > 0 ? n : 4;
}

static void explain_open_error(const char *path, int e, char *err, size_t errlen)
{
	if (e == ENOENT)
		snprintf(err, errlen,
			 "%s: no such device: KVM is not available. Load the kvm "
			 "module (modprobe kvm_intel or kvm_amd) and enable "
			 "virtualisation in the firmware; inside a VM, enable nested "
			 "virtualisation on the host", path);
	else if (e == EACCES || e == EPERM)
		snprintf(err, errlen,
			 "%s: permission denied. Add yourself to the kvm group "
			 "(sudo usermod -aG kvm $USER, then log in again) or run as root",
			 path);
	else
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
}

int kvm_open(const char *path, char *err, size_t errlen)
{
	int fd, version;

	if (!path)
		path = getenv("VCPRR_KVM_DEV");
	if (!path || !*path)
		path = VCPRR_KVM_DEFAULT_PATH;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		explain_open_error(path, errno, err, errlen);
		return -1;
	}
	version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		snprintf(err, errlen, "%s: not a KVM device or unsupported KVM API "
			 "version %d (need %d)", path, version, KVM_API_VERSION);
		goto fail;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (kvm_cap(fd, required_caps[i].cap))
			continue;
		snprintf(err, errlen, "%s: missing capability %s (needed for %s)",
			 path, required_caps[i].name, required_caps[i].why);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}
