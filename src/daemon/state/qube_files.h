/* Making and removing a qube's folders and images (qube_paths.h says
 * where), for the admin handlers and start-up.
 *
 * Crash safety comes from the order the callers follow, documented in
 * docs/admin-api.md ("Volumes"): an image that cannot be made again (a
 * copied root, a cloned private volume) is written before the record, so
 * a crash leaves at worst a folder without a record, which start-up moves
 * to STATE/lost+found; an empty private volume is made after the record,
 * so a crash leaves at worst a record without it, which start-up makes.
 * Each image is itself written under a temporary name and renamed
 * (volume.h). */
#ifndef BH_DAEMON_QUBE_FILES_H
#define BH_DAEMON_QUBE_FILES_H

#include <stddef.h>

#include "daemon/store/store.h"

/* Makes path (mode 0700) and fsyncs its parent, which must exist or is
 * made likewise first. -EEXIST when path exists: a leftover the caller
 * must not write into. */
int qube_files_mkdir(const char *path, char *err, size_t cap);

/* Makes STATE/qubes/NAME if needed and an empty private volume of the
 * default size in it. */
int qube_files_private_new(const char *state, const char *name, char *err,
			   size_t cap);

/* Copies the image src to dst (volume_copy: a reflink or a sparse copy). */
int qube_files_copy(const char *src, const char *dst, char *err, size_t cap);

/* Removes STATE/qubes/NAME and, when template is set, STATE/templates/
 * NAME, with everything in them. Never the built-in template's folder. */
int qube_files_remove(const char *state, const char *name, int template);

/* Removes the staging folders (TEMPLATE_BUILD_PREFIX) of template builds
 * that no longer run (bh holds a build's folder locked while it runs;
 * admin_template.c); at start-up, from volumes_boot. Returns how many it
 * removed. */
int template_build_sweep(const char *state_dir);

#endif
