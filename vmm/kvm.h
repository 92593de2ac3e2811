/* /dev/kvm: opening it and checking the capabilities vcprr relies on. */
#ifndef VCPRR_VMM_KVM_H
#define VCPRR_VMM_KVM_H

#include <stddef.h>

#define VCPRR_KVM_DEFAULT_PATH "/dev/kvm"

/* Opens the KVM device at `path` (NULL: $VCPRR_KVM_DEV or /dev/kvm) and
 * checks the API version and required capabilities.  Returns the fd, or -1
 * with a message in err that says what is wrong and what to do. */
int kvm_open(const char *path, char *err, size_t errlen);

/* KVM_CHECK_EXTENSION; returns 0 when absent or on error. */
int kvm_cap(int fd, long cap);

/* The most VCPUs one VM may have on this host. */
int kvm_max_vcpus(int kvm_fd);

#endif
