/* The files a qube boots from: the kernel and initramfs of the recorded
 * kernel version (STATE/kernels/current, or a qube's kernel property) and
 * a template's root image.
 * Each is checked against the SHA256SUMS the guest build wrote, once per
 * change of the file (size, mtime, inode), so a corrupt or half-written
 * image is refused with a clear message instead of a guest that never
 * boots. The checksum itself is not computed here: reading a whole image
 * would stop the daemon's loop, so the check names the file whose
 * checksum it needs (struct guest_files_pending), the caller computes it
 * in a job (job_child.h, JOB_HASH) and hands it back
 * (guest_files_hashed). */
#ifndef BH_DAEMON_GUEST_FILES_H
#define BH_DAEMON_GUEST_FILES_H

#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>

struct verified_file {
	char path[PATH_MAX];
	struct stat st; /* when ok: the file as it was verified */
	int ok;
};

struct guest_files {
	char kernel_version[128];
	struct verified_file kernel, initramfs, root;
};

/* A file the check could not vouch for from g's record of the last
 * check: it changed (or was never checked) since. Its SHA-256 must be
 * computed and handed to guest_files_hashed. */
struct guest_files_pending {
	struct verified_file *f; /* the record in g: f->path is the file */
	const char *what;	 /* "guest kernel", ... for messages */
	char want[65];		 /* what SHA256SUMS says it must be */
	struct stat st;		 /* the file as the check saw it */
};

/* Sets the paths of g (kernel_version, kernel, initramfs and root) for
 * kernel version `kernel` (STATE/kernels/KERNEL; NULL or "" for the one
 * kernels/current names) and template `tmpl` under state_dir, checking
 * nothing but the kernel's name and folder. Returns 0, or -ENOENT /
 * -EINVAL (a kernel name that is not one plain name) with a message for
 * the user in err. */
int guest_files_locate(struct guest_files *g, const char *state_dir,
		       const char *kernel, const char *tmpl, char *err,
		       size_t err_cap);

/* Locates (as above) and verifies the kernel, initramfs and root image,
 * in that order. Returns 0 when every one is as it was when last
 * verified; 1 when the first that is not needs its checksum computed
 * (*pend says which; the caller hands the digest to guest_files_hashed,
 * then checks again for the next one); or -ENOENT (missing) / -EBADMSG
 * (no checksum in SHA256SUMS) / -EINVAL with a message in err. */
int guest_files_check(struct guest_files *g, const char *state_dir,
		      const char *kernel, const char *tmpl,
		      struct guest_files_pending *pend, char *err,
		      size_t err_cap);

/* The SHA-256 (64 lowercase hex digits) computed of pend's file: when it
 * is the one SHA256SUMS names, pend's record in g is marked verified (if
 * the file is still the one the check saw; otherwise the next check asks
 * again) and 0 is returned; else -EBADMSG with the message for the user
 * (the file is corrupt: rebuild it). */
int guest_files_hashed(const struct guest_files_pending *pend,
		       const char *digest, char *err, size_t err_cap);

/* a and b are the same file, unchanged (device, inode, size, mtime): a
 * checksum of one holds for the other. */
int guest_files_same(const struct stat *a, const struct stat *b);

/* sha256 of a file as 64 lowercase hex digits, read in the calling
 * process: it blocks for as long as the file takes to read, so the
 * daemon's loop never calls it (tests do). */
int sha256_file_hex(const char *path, char out[65]);

#endif
