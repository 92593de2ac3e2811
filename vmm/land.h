/* Replaying a parallel trace: each recorded pause landed at its recorded
 * position and resumed the way the recording did (the landing mode,
 * mode.h).  The VCPU runs to the recorded exit count, then to the
 * recorded RIP (a hardware breakpoint) until the register digest matches,
 * stepping over other visits, publishes the recorded requests and takes
 * the pause there; stopped, it resumes itself with the recorded data and
 * register edits. */
#ifndef VCPRR_VMM_LAND_H
#define VCPRR_VMM_LAND_H

#include "vmm/mode.h"

extern const struct vm_mode landing_mode;

#endif
