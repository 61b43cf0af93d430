/* Where a qube's files live in the state folder; the one place that
 * builds these paths, so the admin handlers, start-up and the power code
 * agree.
 *
 *   STATE/qubes/NAME/private.img   every qube's private volume (0700
 *                                  folder, root); a TemplateVM's too
 *   STATE/qubes/NAME/root.img      a StandaloneVM's own root
 *   STATE/templates/NAME/          a TemplateVM's root: root.img, a plain
 *                                  file or a symlink to root-N.img
 *                                  (volume.h)
 *   STATE/lost+found/              folders start-up found without a qube
 *
 * The built-in template `minimal` has a root only (the guest build's
 * folder) and no private volume.
 *
 * Every call returns 0, -ENAMETOOLONG when out cannot hold the path, or
 * (qube_root_path) volume_root_current's -errno. Names are valid qube
 * names (the store checked them), so they never hold a '/'. */
#ifndef BH_DAEMON_QUBE_PATHS_H
#define BH_DAEMON_QUBE_PATHS_H

#include <stddef.h>

#include "daemon/store/store.h"

/* The template the guest build makes (STATE/templates/minimal/root.img);
 * recorded at every start, and never removed through the admin API. */
#define BUILTIN_TEMPLATE "minimal"
#define BUILTIN_TEMPLATE_LABEL "black"
/* The prefix of template builds' staging folders in STATE/templates
 * (admin_template.c). */
#define TEMPLATE_BUILD_PREFIX ".build-"

#define QUBE_PRIVATE_IMG "private.img"
#define QUBE_ROOT_IMG "root.img"
#define QUBE_LOST_FOUND "lost+found"

/* STATE/qubes/NAME */
int qube_dir(const char *state, const char *name, char *out, size_t cap);
/* STATE/templates/NAME */
int qube_template_dir(const char *state, const char *name, char *out,
		      size_t cap);
/* STATE/qubes/NAME/private.img */
int qube_private_path(const char *state, const char *name, char *out,
		      size_t cap);
/* The root a qube boots: a StandaloneVM's STATE/qubes/NAME/root.img; a
 * TemplateVM's current version in STATE/templates/NAME; an AppVM's (or
 * DispVM's) template's current version. -ENOENT when the image or, for an
 * AppVM, the template is missing. */
int qube_root_path(const char *state, const struct qube_info *qi, char *out,
		   size_t cap);
/* Whether a qube of this record has a private volume in the state folder
 * (all but the built-in template and DispVMs, whose private volume is a
 * fresh copy of their DVM's in the runtime folder while they run). */
int qube_has_private(const struct qube_info *qi);

/* The snapshot folder (STATE/snapshots/KEY, dispvm_snapshot.h) of
 * disposable template dvm ("" = the minimal template) under state, the
 * state folder; also for removing it with its DVM (qube_files.c). */
int snapshot_dir_for(const char *state, const char *dvm, char *out,
		     size_t cap);

#endif
