/* A qube's disk images, as files in the state folder.
 *
 * - private: a sparse ext4 image per qube (qubes/NAME/private.img), 2 GiB
 *   by default, grown on request, never shrunk.
 * - root: a template's image, shared read-only by every AppVM of that
 *   template without copying. A template changes it only while it runs,
 *   and then writes into a new version: the folder holds root-N.img files
 *   and a symlink root.img naming the current one. An AppVM opens the
 *   current version at its start and keeps that open file; committing a
 *   new version retargets the symlink atomically, so no AppVM ever sees a
 *   torn image.
 * - volatile is a tmpfs inside the guest: nothing on the host.
 * - clones and StandaloneVMs copy images: a reflink where the filesystem
 *   has them (btrfs, xfs), a sparse copy that keeps holes otherwise.
 *
 * Every image is written under a temporary name (FINAL.tmp-XXXXXX),
 * fsynced, then renamed, and the folder fsynced: a daemon killed at any
 * point leaves whole images under final names and, at worst, temporaries
 * that volume_cleanup_temps removes at the next start.
 *
 * These calls block (mke2fs, e2fsck, resize2fs and copies of gigabytes):
 * the single-threaded daemon makes them in a job's child (job_child.h),
 * or at start-up; the _io variants take what a job needs (struct
 * volume_io).
 * Tools run as child processes with an argv, never through a shell, and
 * are waited for by pid. Errors are -errno with a message for the user in
 * err (which may be NULL). */
#ifndef BH_DAEMON_VOLUME_H
#define BH_DAEMON_VOLUME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VOLUME_MIB (1024ull * 1024)
#define VOLUME_GIB (1024ull * VOLUME_MIB)
#define VOLUME_TIB (1024ull * VOLUME_GIB)

/* Qubes' default private size. */
#define VOLUME_PRIVATE_DEFAULT (2 * VOLUME_GIB)
/* Below this an ext4 with a journal leaves almost no room for a home. */
#define VOLUME_PRIVATE_MIN (16 * VOLUME_MIB)
/* A bound on typing mistakes ("2T" for "2G"); a sparse file costs nothing
 * until written, so a slip would only show once the host disk is full. */
#define VOLUME_PRIVATE_MAX VOLUME_TIB
/* Sizes are whole ext4 blocks, so the guest sees every byte it was given
 * and resize2fs has no partial block to ignore. */
#define VOLUME_SIZE_ALIGN 4096u

/* The steps of the calls below, as their progress reports them. */
enum volume_step {
	VOLUME_STEP_COPY = 1, /* bytes of the source: done, total */
	VOLUME_STEP_MKE2FS,   /* 0 of 1 when it starts, 1 of 1 at its end */
	VOLUME_STEP_E2FSCK,   /* 0 of 1 */
	VOLUME_STEP_RESIZE2FS, /* 0 of 1 */
	VOLUME_STEP_HASH,     /* bytes hashed (job_child.c): done, total */
};

/* What a job (job_child.h) adds to a call; NULL, or any field zero, for
 * none. tmp: the temporary's name, chosen by the caller
 * (FINAL.tmp-XXXXXX, so that volume_cleanup_temps knows it) and not
 * existing yet, so that the caller can remove it when it kills the
 * call's process. no_reflink: always a sparse copy (tests throttle copies
 * and need them to take time). progress: called at each step and after
 * each chunk copied. */
struct volume_io {
	const char *tmp;
	int no_reflink;
	void (*progress)(void *ctx, enum volume_step step, uint64_t done,
			 uint64_t total);
	void *ctx;
};

/* Checks a private volume size against the bounds above; -EINVAL with a
 * message otherwise. The CLI may call it before asking the daemon. */
int volume_private_size_check(uint64_t size, char *err, size_t cap);

/* Creates path as a sparse file of size_bytes holding an empty ext4
 * (label "private", root directory owned by 0:0, no reserved blocks).
 * Refuses to replace an existing file (-EEXIST). -ENOSPC says how much
 * free space mke2fs needs. Mode 0600; the caller chowns it for the jail. */
int volume_private_create(const char *path, uint64_t size_bytes, char *err,
			  size_t cap);
int volume_private_create_io(const char *path, uint64_t size_bytes,
			     const struct volume_io *io, char *err,
			     size_t cap);

/* Grows the private image at path to new_size and its ext4 with it.
 * Shrinking is refused (-EINVAL): it would cut off the guest's data. The
 * work happens on a copy (a reflink where possible): e2fsck -f -p, then
 * truncate and resize2fs, then a rename over path, so that a failed or
 * interrupted resize2fs, which can leave a filesystem needing repair,
 * never touches the original. The caller guarantees the qube is halted. */
int volume_resize(const char *path, uint64_t new_size, char *err, size_t cap);
int volume_resize_io(const char *path, uint64_t new_size,
		     const struct volume_io *io, char *err, size_t cap);

enum volume_copy_how {
	VOLUME_COPY_REFLINK, /* FICLONE: shares extents, instant */
	VOLUME_COPY_SPARSE,  /* data ranges copied, holes kept */
};

/* Copies the regular file src to dst (which must not exist: -EEXIST),
 * keeping its permission bits and owner. Tries a reflink first, then a
 * sparse copy. how, if not NULL, says which one was used. The source must
 * not change meanwhile: the caller copies only halted qubes' images. */
int volume_copy(const char *src, const char *dst, enum volume_copy_how *how,
		char *err, size_t cap);
int volume_copy_io(const char *src, const char *dst,
		   enum volume_copy_how *how, const struct volume_io *io,
		   char *err, size_t cap);

/* The sparse copy behind volume_copy, for callers holding fds and for
 * tests: copies the data ranges of in_fd's first size bytes to the same
 * offsets of out_fd (SEEK_DATA/SEEK_HOLE, copy_file_range or read/write),
 * then sets out_fd's size. out_fd should be empty. */
int volume_copy_sparse(int in_fd, int out_fd, off_t size);
int volume_copy_sparse_io(int in_fd, int out_fd, off_t size,
			  const struct volume_io *io);

/* ---- template root versions ---- */

/* Versions are numbered from 0; a bound keeps the names short. */
#define VOLUME_ROOT_VERSION_MAX 999999999u

/* The path of the current root image of the template in tmpl_dir (for
 * example TMPL/root-3.img, or TMPL/root.img while it is still a plain
 * file). The caller opens it once for QEMU at an AppVM's start; a later
 * commit does not change what that open file reads. -ENOENT if none. */
int volume_root_current(const char *tmpl_dir, char *out, size_t cap);

/* Prepares an update: names the new version root-M.img (M one more than
 * the highest version present) that the template, about to run, writes
 * into (work_path), and the current version it starts as a copy of
 * (cur_path). A plain root.img is first made version 0. Nothing is
 * copied here: the caller copies cur_path to work_path (volume_copy, in a
 * job), which also leaves a stale work copy (an update cut short) alone.
 * Nothing changes what root.img names until commit. */
int volume_root_next(const char *tmpl_dir, char *cur_path, size_t ccap,
		     char *work_path, size_t wcap, char *err, size_t errcap);

/* Makes work_path (volume_root_next's, copied, its template halted) the
 * current
 * version: fsync, then a new symlink under a temporary name renamed over
 * root.img. Older versions stay until volume_root_gc. */
int volume_root_commit(const char *tmpl_dir, const char *work_path);

/* Drops an update: removes work_path. Refuses the current version. */
int volume_root_abort(const char *tmpl_dir, const char *work_path);

/* Removes root-N.img versions that are neither current nor in use. in_use
 * must say yes for every image a QEMU holds (AppVMs' roots, a running
 * template's work copy) and for a work copy whose template has yet to
 * start. Returns how many were removed, or -errno. */
int volume_root_gc(const char *tmpl_dir,
		   int (*in_use)(const char *path, void *ctx), void *ctx);

/* Removes the leftover temporaries (NAME.tmp-XXXXXX files and symlinks)
 * of a daemon killed mid-write. Only at start-up, before any worker could
 * be writing one. Returns how many were removed, or -errno. */
int volume_cleanup_temps(const char *dir);

/* Parses a size typed by the user: decimal bytes, or a whole number with
 * one suffix K, M, G or T (powers of 1024, either case). No sign, spaces,
 * fractions or zero. -EINVAL for junk, -ERANGE past 2^64 - 1. */
int volume_parse_size(const char *untrusted_text, uint64_t *out);

#endif
