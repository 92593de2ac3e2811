/* Which guest image a run ran, and the one rule that finds it again.
 *
 * The rule: an image is the recorded guest when its SHA-256 is the one in
 * the run description.  An all-zero recorded hash means the recording
 * could not read its guest (the run failed to start): no image is that
 * guest, and only --force runs one anyway.  replay, minimize and inspect
 * all find their guest with guest_id_find().
 *
 * Thread-safe; no allocation survives a call. */
#ifndef VCPRR_VMM_GUEST_ID_H
#define VCPRR_VMM_GUEST_ID_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/run-desc.h"

/* Fills @g for the guest image at @path of a run recorded into
 * @trace_path: the path as given, the path from the trace's folder (so a
 * trace moved together with its guest finds it), and the SHA-256 (zero
 * when the image cannot be read: the run then fails and says why).
 * Returns 0, or -1 with a message when a path does not fit. */
int guest_id_take(struct run_guest *g, const char *path,
		  const char *trace_path, char *err, size_t errlen);

struct guest_lookup {
	const char *guest;      /* --guest: this image and no other */
	const char *guest_dir;  /* --guest-dir: a folder tried last */
	bool force;             /* accept an image whose SHA-256 differs */
};

enum guest_found {
	GUEST_MATCH = 0,        /* the recorded image */
	GUEST_FORCED = 1,       /* another image, accepted by @force: a
				   warning saying so is in @err */
};

/* Finds the guest of @g for the trace at @trace_path.  With l->guest, that
 * image only.  Else, in order: the path from the trace's folder; the
 * recorded path (a relative one from the trace's folder, then from the
 * current one); in l->guest_dir that path, then its file name.  The first
 * image with the recorded SHA-256 wins; with l->force, else the first
 * that can be read.  Returns an enum guest_found with the path in @out,
 * or -1 with a message naming every path tried and how to give the right
 * one.  Recorded paths reach messages escaped. */
int guest_id_find(const struct run_guest *g, const char *trace_path,
		  const struct guest_lookup *l, char *out, size_t outlen,
		  char *err, size_t errlen);

#endif
