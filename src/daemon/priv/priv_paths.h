/* Where a qube's files are, said by name on the priv link (LAUNCH,
 * proto/msg_priv.h) rather than by path: control names them, priv turns
 * the names back into paths it builds itself under the state and runtime
 * folders, and checks the files it will hand to a qube's uid.
 *
 *   kver                 STATE/kernels/KVER/vmlinuz and initramfs.img
 *   ROOT_TEMPLATE O F    STATE/templates/O/F
 *   ROOT_QUBE O F        STATE/qubes/O/F
 *   PRIVATE_STATE        STATE/qubes/NAME/private.img
 *   PRIVATE_RUN          RUN/qubes/NAME/private.img (a runtime copy)
 *   the runtime folder   RUN/qubes/NAME
 *
 * The kernels and templates folders are root's (bh-build-guest and the
 * template import fill them) and may be symbolic links (tests link the
 * built images in), so read-only files are resolved with realpath. A file
 * a qube may write is handed to its uid (chown): it must be a regular
 * file with one link, not a symbolic link, in a folder that is not one,
 * so that a name planted there cannot turn the chown onto another file
 * of the host. */
#ifndef BH_DAEMON_PRIV_PATHS_H
#define BH_DAEMON_PRIV_PATHS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/msg_priv.h"

/* Control's side: the names of a path it built under state (not
 * resolved: the folders may be links). STATE/kernels/KVER/vmlinuz gives
 * KVER; STATE/templates/O/F and STATE/qubes/O/F give the kind, O and F.
 * 0, or -EINVAL for a path of another shape or a name LAUNCH refuses. */
int priv_kver_of(const char *state, const char *kernel_path, char *kver,
		 size_t cap);
int priv_root_of(const char *state, const char *root_path, uint32_t *kind,
		 char *owner, size_t ocap, char *file, size_t fcap);

/* Control's side of JOB: the place of a path it built under state or
 * run (not resolved), as area, owner and file. 0, or -EINVAL for a path
 * elsewhere (a template imported from a folder the user names). */
int priv_place_of(const char *state, const char *run, const char *path,
		  struct bh_priv_place *p);

/* priv's side of JOB: the path of a checked place into out (PATH_MAX
 * bytes). The areas control will own (qubes, snapshots, the runtime
 * folder) are not followed through links: the owner's folder must be a
 * real folder, and a file that exists there (a source; a destination is
 * replaced by a rename, which follows no link) a plain file with one
 * link. The kernels and templates folders are root's and resolved.
 * writes: the place is a job's destination. 0, or -errno with err
 * said. */
int priv_place_path(const char *state, const char *run,
		    const struct bh_priv_place *p, int writes, char *out,
		    char *err, size_t cap);

/* priv's side: the files of a checked LAUNCH, canonical (the jail binds
 * a file at its real path). */
struct priv_files {
	char kernel[PATH_MAX], initramfs[PATH_MAX], root[PATH_MAX];
	char private_img[PATH_MAX]; /* "" when private_kind is NONE */
	char run_dir[PATH_MAX];	    /* RUN/qubes/NAME: made by control */
};

/* Fills f from l. Returns 0, or a negative errno with err said (a file
 * that is missing, or one to hand over that breaks the rule above). */
int priv_files_for(const char *state, const char *run,
		   const struct bh_priv_launch *l, struct priv_files *f,
		   char *err, size_t cap);

/* Hands path, a file a qube writes, to uid (owner and group, mode 0600)
 * through an fd opened without following a link, after checking again
 * that it is a regular file with one link. 0, or -errno with err said. */
int priv_hand_file(const char *path, uid_t uid, char *err, size_t cap);

/* Gives path, a template's root version its TemplateVM wrote, back to
 * root (owner and group 0, mode 0644: every AppVM's uid reads it),
 * through an fd opened without following a link, a plain file with one
 * link. 0, or -errno with err said. */
int priv_hand_file_back(const char *path, char *err, size_t cap);

#endif
