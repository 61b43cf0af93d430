/* The files a qube boots from: the kernel and initramfs of the recorded
 * kernel version (STATE/kernels/current, or a qube's kernel property) and
 * a template's root image.
 * Each is checked against the SHA256SUMS the guest build wrote, once per
 * change of the file (size, mtime, inode), so a corrupt or half-written
 * image is refused with a clear message instead of a guest that never
 * boots. */
#ifndef BH_DAEMON_GUEST_FILES_H
#define BH_DAEMON_GUEST_FILES_H

#include <limits.h>
#include <sys/types.h>
#include <time.h>

struct verified_file {
	char path[PATH_MAX];
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int ok;
};

struct guest_files {
	char kernel_version[128];
	struct verified_file kernel, initramfs, root;
};

/* Locates and verifies the kernel and initramfs of kernel version
 * `kernel` (STATE/kernels/KERNEL; NULL or "" for the one kernels/current
 * names) and the root image of template `tmpl` under state_dir. Returns
 * 0, or -ENOENT (missing) / -EBADMSG (checksum mismatch or unreadable
 * sums) / -EINVAL (a kernel name that is not one plain name) with a
 * message for the user in err. */
int guest_files_check(struct guest_files *g, const char *state_dir,
		      const char *kernel, const char *tmpl, char *err,
		      size_t err_cap);

/* sha256 of a file as 64 lowercase hex digits. */
int sha256_file_hex(const char *path, char out[65]);

#endif
