#include "daemon/disk/volume.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/crashpoint.h"
#include "lib/util.h"

/* One copy_file_range or read/write step: large enough to keep the disk
 * busy, small enough that a read buffer of this size is cheap. */
#define COPY_CHUNK (1u << 20)
/* What we keep of a tool's output: its first lines say what went wrong. */
#define TOOL_OUTPUT_MAX 2048
/* mkstemp's six random characters after ".tmp-". */
#define TEMP_SUFFIX ".tmp-"
#define TEMP_RANDOM_LEN 6

static void seterr(char *err, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (!err || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
}

/* "2 GiB", "65 MiB" (rounded up): sizes in messages read at a glance. */
static const char *human(uint64_t b, char *out, size_t cap)
{
	if (b >= VOLUME_GIB && b % VOLUME_GIB == 0)
		snprintf(out, cap, "%llu GiB", (unsigned long long)(b >> 30));
	else if (b >= 10 * VOLUME_GIB)
		snprintf(out, cap, "%.1f GiB", (double)b / VOLUME_GIB);
	else
		snprintf(out, cap, "%llu MiB",
			 (unsigned long long)((b + VOLUME_MIB - 1) >> 20));
	return out;
}

/* ---- paths, temporaries, publishing ---- */

static int dir_of(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return bh_path_fmt(out, cap, ".");
	if (slash == path)
		return bh_path_fmt(out, cap, "/");
	return bh_path_fmt(out, cap, "%.*s", (int)(slash - path), path);
}

static int fsync_parent(const char *path)
{
	char dir[PATH_MAX];

	if (dir_of(path, dir, sizeof(dir)))
		return -ENAMETOOLONG;
	return bh_fsync_dir(dir);
}

static uint64_t free_bytes(const char *dir)
{
	struct statvfs sv;

	if (statvfs(dir, &sv) < 0)
		return UINT64_MAX; /* unknown: do not claim it is full */
	return (uint64_t)sv.f_bavail * sv.f_frsize;
}

/* FINAL.tmp-XXXXXX next to final, so the rename stays in one folder and
 * one filesystem, and volume_cleanup_temps recognises it. Mode 0600. */
static int make_temp(const char *final, char *tmp, size_t cap,
		     const struct volume_io *io)
{
	int fd;

	if (io && io->tmp) {
		/* The caller's name (job_child.h): it removes the file if we
		 * are killed, so it must be ours alone. */
		if (bh_path_fmt(tmp, cap, "%s", io->tmp))
			return -ENAMETOOLONG;
		fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		return fd < 0 ? -errno : fd;
	}
	if (bh_path_fmt(tmp, cap, "%s" TEMP_SUFFIX "XXXXXX", final))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void progress(const struct volume_io *io, enum volume_step step,
		     uint64_t done, uint64_t total)
{
	if (io && io->progress)
		io->progress(io->ctx, step, done, total);
}

/* Gives the finished temporary its final name, then makes that durable.
 * Without replace an existing file is never overwritten: a private
 * volume holds a user's data. */
static int publish(const char *tmp, const char *final, int replace)
{
	if (replace) {
		if (rename(tmp, final) < 0)
			return -errno;
	} else if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final,
			     RENAME_NOREPLACE) < 0) {
		if (errno != EINVAL && errno != ENOSYS)
			return -errno;
		/* A filesystem without RENAME_NOREPLACE: link() refuses an
		 * existing name just as atomically. A crash before the
		 * unlink leaves only a temporary name for cleanup. */
		if (link(tmp, final) < 0)
			return -errno;
		unlink(tmp);
	}
	return fsync_parent(final);
}

/* ---- running e2fsprogs ---- */

/* PATH first (absolute entries only: a relative one would depend on the
 * daemon's working folder), then where Debian puts e2fsprogs, since a
 * daemon's PATH often lacks the sbin folders. */
/* Puts a written temporary image in place: fsync, close (fd is closed
 * either way), the crash point when one is named, rename to final. On
 * failure err says why and the temporary is left for the caller to
 * remove. */
static int finish_temp(int fd, const char *tmp, const char *final,
		       int replace, const char *crash_point, char *err,
		       size_t cap)
{
	int r = fsync(fd) < 0 ? -errno : 0;

	close(fd);
	if (r < 0) {
		seterr(err, cap, "cannot write %s: %s", tmp, strerror(-r));
		return r;
	}
	if (crash_point)
		bh_crash_point(crash_point);
	if ((r = publish(tmp, final, replace)) < 0)
		seterr(err, cap, "cannot rename %s to %s: %s", tmp, final,
		       strerror(-r));
	return r;
}

static int find_tool(const char *name, char *out, size_t cap)
{
	static const char *const fallback[] = { "/usr/sbin", "/sbin" };
	const char *path = getenv("PATH");
	struct stat st;
	size_t i;

	while (path && *path) {
		const char *end = strchrnul(path, ':');

		if (*path == '/' &&
		    !bh_path_fmt(out, cap, "%.*s/%s", (int)(end - path), path,
				 name) &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return 0;
		path = *end ? end + 1 : end;
	}
	for (i = 0; i < sizeof(fallback) / sizeof(*fallback); i++)
		if (!bh_path_fmt(out, cap, "%s/%s", fallback[i], name) &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return 0;
	return -ENOENT;
}

/* The first line of a tool's output, printable, for a one-line message. */
static void first_line(const char *text, char *out, size_t cap)
{
	size_t o = 0;

	while (*text == '\n')
		text++;
	for (; *text && *text != '\n' && o + 1 < cap; text++) {
		unsigned char ch = (unsigned char)*text;

		out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	out[o] = '\0';
}

/* Runs an e2fsprogs tool with argv (argv[0] its name), stdin on
 * /dev/null (a question it asks gets "no", not a hang), stdout and stderr
 * into out. A fixed environment: LC_ALL=C keeps messages in English, and
 * nothing from the daemon's environment (MKE2FS_CONFIG ...) changes what
 * it makes. Returns its exit status, 128 + signal when killed, or -errno
 * when it could not be started. */
static int run_tool(char *const argv[], char *out, size_t cap)
{
	static char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
				     "LC_ALL=C", NULL };
	char tool[PATH_MAX];
	size_t used = 0;
	pid_t pid, parent = getpid();
	int p[2], st, r;

	out[0] = '\0';
	if ((r = find_tool(argv[0], tool, sizeof(tool))) < 0)
		return r;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		sigset_t none;
		int devnull = open("/dev/null", O_RDONLY);

		/* The daemon blocks signals for its signalfd; a tool must
		 * not inherit that. It dies with the daemon: the temporary
		 * it writes is removed at the next start. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(126);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(p[1], 1) < 0 ||
		    dup2(p[1], 2) < 0)
			_exit(126);
		close_range(3, ~0u, 0);
		execve(tool, argv, env);
		dprintf(2, "cannot execute %s: %s\n", tool, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		char sink[512];
		int keep = used + 1 < cap;
		ssize_t n = keep ? read(p[0], out + used, cap - 1 - used)
				 : read(p[0], sink, sizeof(sink));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (keep)
			used += (size_t)n;
	}
	out[used] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A tool that could not run, or failed: one message, one code. */
static int tool_failed(const char *name, int status, const char *output,
		       const char *file, char *err, size_t cap)
{
	char line[256];

	if (status == -ENOENT) {
		seterr(err, cap,
		       "%s not found on PATH, in /usr/sbin or /sbin; install "
		       "e2fsprogs",
		       name);
		return -ENOENT;
	}
	if (status < 0) {
		seterr(err, cap, "cannot run %s: %s", name, strerror(-status));
		return status;
	}
	first_line(output, line, sizeof(line));
	seterr(err, cap, "%s failed on %s (exit status %d): %s", name, file,
	       status, line[0] ? line : "no message");
	return -EIO;
}

/* ---- private volumes ---- */

/* Free space mke2fs (or resize2fs) needs now: the journal (mke2fs 1.47
 * sizes it by the filesystem: 64 MiB at 2 GiB, 1 GiB from 128 GiB up),
 * group descriptors and bitmaps. Measured: 16 MiB -> 1.2 MiB, 2 GiB ->
 * 65 MiB, 1 TiB -> 1.04 GiB written; this stays above those. Inode tables
 * are not written: on a regular file mke2fs punches the file and
 * initialises them lazily. */
static uint64_t meta_estimate(uint64_t size)
{
	uint64_t journal = size / 32;

	if (journal > VOLUME_GIB)
		journal = VOLUME_GIB;
	return journal + size / 1024 + 8 * VOLUME_MIB;
}

static int no_space(const char *what, const char *dir, uint64_t need,
		    uint64_t size, char *err, size_t cap)
{
	char n[32], s[32], f[32];
	uint64_t avail = free_bytes(dir);

	seterr(err, cap,
	       "not enough free space in %s for %s: it needs about %s now, "
	       "and grows up to %s as the qube fills it; %s free. Free some "
	       "space or choose a smaller size",
	       dir, what, human(need, n, sizeof(n)), human(size, s, sizeof(s)),
	       avail == UINT64_MAX ? "unknown" : human(avail, f, sizeof(f)));
	return -ENOSPC;
}

int volume_private_size_check(uint64_t size, char *err, size_t cap)
{
	if (size < VOLUME_PRIVATE_MIN || size > VOLUME_PRIVATE_MAX) {
		seterr(err, cap,
		       "a private volume is between 16 MiB and 1 TiB (for "
		       "example 2G)");
		return -EINVAL;
	}
	if (size % VOLUME_SIZE_ALIGN) {
		seterr(err, cap,
		       "a private volume's size is a multiple of 4 KiB (use a "
		       "K, M or G suffix)");
		return -EINVAL;
	}
	return 0;
}

int volume_private_create(const char *path, uint64_t size, char *err,
			  size_t cap)
{
	return volume_private_create_io(path, size, NULL, err, cap);
}

int volume_private_create_io(const char *path, uint64_t size,
			     const struct volume_io *io, char *err,
			     size_t cap)
{
	char tmp[PATH_MAX], dir[PATH_MAX], out[TOOL_OUTPUT_MAX];
	char *const argv[] = { "mke2fs", "-q", "-t", "ext4", "-L", "private",
			       "-E", "root_owner=0:0", "-m", "0", tmp, NULL };
	uint64_t need = meta_estimate(size);
	struct stat st;
	int fd, r;

	if ((r = volume_private_size_check(size, err, cap)) < 0)
		return r;
	if (dir_of(path, dir, sizeof(dir))) {
		seterr(err, cap, "path too long");
		return -ENAMETOOLONG;
	}
	if (lstat(path, &st) == 0) {
		seterr(err, cap, "%s already exists; not replacing it", path);
		return -EEXIST;
	}
	if (free_bytes(dir) < need)
		return no_space("a private volume", dir, need, size, err, cap);
	if ((fd = make_temp(path, tmp, sizeof(tmp), io)) < 0) {
		seterr(err, cap, "cannot create a file in %s: %s", dir,
		       strerror(-fd));
		return fd;
	}
	progress(io, VOLUME_STEP_MKE2FS, 0, 1);
	if (ftruncate(fd, (off_t)size) < 0) {
		r = -errno;
		seterr(err, cap, "cannot size %s: %s", tmp, strerror(errno));
		goto fail;
	}
	r = run_tool(argv, out, sizeof(out));
	if (r != 0) {
		/* mke2fs says "short write" or similar when the disk fills;
		 * the free space afterwards says it plainly. */
		if (r > 0 && free_bytes(dir) < need)
			r = no_space("a private volume", dir, need, size, err,
				     cap);
		else
			r = tool_failed("mke2fs", r, out, tmp, err, cap);
		goto fail;
	}
	progress(io, VOLUME_STEP_MKE2FS, 1, 1);
	/* mke2fs wrote through its own descriptor; fsync is per file, so
	 * ours flushes its blocks too. */
	r = finish_temp(fd, tmp, path, 0, "volume.before-rename", err, cap);
	fd = -1;
	if (r < 0)
		goto fail;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}

/* ---- copies ---- */

static int pwrite_all(int fd, const char *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Copies [off, off + len) to the same offsets. copy_file_range keeps the
 * bytes in the kernel; where it is refused (across filesystems, on some
 * filesystems) plain reads and writes do the rest. */
static int copy_range(int in, int out, off_t off, off_t len, int *use_cfr,
		      char **buf, const struct volume_io *vio, off_t size)
{
	while (len > 0) {
		size_t want = len > COPY_CHUNK ? COPY_CHUNK : (size_t)len;
		ssize_t n;

		if (*use_cfr) {
			loff_t io = off, oo = off;

			n = copy_file_range(in, &io, out, &oo, want, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL ||
				      errno == ENOSYS || errno == EOPNOTSUPP)) {
				*use_cfr = 0;
				continue;
			}
		} else {
			if (!*buf && !(*buf = malloc(COPY_CHUNK)))
				return -ENOMEM;
			n = pread(in, *buf, want, off);
			if (n > 0) {
				int r = pwrite_all(out, *buf, (size_t)n, off);

				if (r < 0)
					return r;
			}
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ESTALE; /* the source shrank under us */
		off += n;
		len -= n;
		progress(vio, VOLUME_STEP_COPY, (uint64_t)off, (uint64_t)size);
	}
	return 0;
}

int volume_copy_sparse(int in, int out, off_t size)
{
	return volume_copy_sparse_io(in, out, size, NULL);
}

int volume_copy_sparse_io(int in, int out, off_t size,
			  const struct volume_io *io)
{
	char *buf = NULL;
	int use_cfr = 1, r = 0;
	off_t pos = 0;

	while (pos < size) {
		off_t data = lseek(in, pos, SEEK_DATA), hole;

		if (data < 0) {
			if (errno == ENXIO) /* only a hole is left */
				break;
			r = -errno;
			goto out;
		}
		if (data >= size)
			break;
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0) {
			r = -errno;
			goto out;
		}
		if (hole > size)
			hole = size;
		if (hole <= data) { /* cannot be: do not loop forever */
			r = -EIO;
			goto out;
		}
		if ((r = copy_range(in, out, data, hole - data, &use_cfr,
				    &buf, io, size)) < 0)
			goto out;
		pos = hole;
	}
	/* Holes at the end have no data to write: the size makes them. */
	if (ftruncate(out, size) < 0)
		r = -errno;
	if (r == 0)
		progress(io, VOLUME_STEP_COPY, (uint64_t)size, (uint64_t)size);
out:
	free(buf);
	return r;
}

/* Copies the open regular file in (stat st) into a new temporary next to
 * final, with in's permission bits and owner. Returns the temporary's fd
 * (its name in tmp), not yet fsynced, or -errno with the temporary gone. */
static int copy_to_temp(int in, const struct stat *st, const char *src,
			const char *final, char *tmp, size_t tcap,
			enum volume_copy_how *how, const struct volume_io *io,
			char *err, size_t cap)
{
	char dir[PATH_MAX];
	struct stat ost;
	int out, r;

	if (dir_of(final, dir, sizeof(dir))) {
		seterr(err, cap, "path too long");
		return -ENAMETOOLONG;
	}
	if ((out = make_temp(final, tmp, tcap, io)) < 0) {
		seterr(err, cap, "cannot create a file in %s: %s", dir,
		       strerror(-out));
		return out;
	}
	progress(io, VOLUME_STEP_COPY, 0, (uint64_t)st->st_size);
	if (!(io && io->no_reflink) && ioctl(out, FICLONE, in) == 0) {
		*how = VOLUME_COPY_REFLINK;
		progress(io, VOLUME_STEP_COPY, (uint64_t)st->st_size,
			 (uint64_t)st->st_size);
		r = 0;
	} else {
		/* No reflink here (ext4, tmpfs, another filesystem): a
		 * failed clone may have left part, so start empty. */
		*how = VOLUME_COPY_SPARSE;
		r = ftruncate(out, 0) < 0 ? -errno : 0;
		if (r == 0)
			r = volume_copy_sparse_io(in, out, st->st_size, io);
	}
	if (r == -ENOSPC) {
		no_space("a copy of the volume", dir,
			 (uint64_t)st->st_blocks * 512, (uint64_t)st->st_size,
			 err, cap);
		goto fail;
	}
	if (r < 0) {
		seterr(err, cap, "cannot copy %s to %s: %s", src, tmp,
		       strerror(-r));
		goto fail;
	}
	if (fstat(out, &ost) < 0 ||
	    ((ost.st_uid != st->st_uid || ost.st_gid != st->st_gid) &&
	     fchown(out, st->st_uid, st->st_gid) < 0) ||
	    fchmod(out, st->st_mode & 0777) < 0) {
		r = -errno;
		seterr(err, cap, "cannot set the owner and mode of %s: %s",
		       tmp, strerror(errno));
		goto fail;
	}
	return out;
fail:
	close(out);
	unlink(tmp);
	return r;
}

/* Opens a source image: a regular file, else a clear refusal. */
static int open_image(const char *path, struct stat *st, char *err,
		      size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int r = -errno;

		seterr(err, cap, "cannot open %s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		seterr(err, cap, "%s is not a regular file", path);
		return -EINVAL;
	}
	return fd;
}

int volume_copy(const char *src, const char *dst, enum volume_copy_how *how,
		char *err, size_t cap)
{
	return volume_copy_io(src, dst, how, NULL, err, cap);
}

int volume_copy_io(const char *src, const char *dst,
		   enum volume_copy_how *how, const struct volume_io *io,
		   char *err, size_t cap)
{
	enum volume_copy_how used;
	char tmp[PATH_MAX];
	struct stat st;
	int in, out, r;

	if ((in = open_image(src, &st, err, cap)) < 0)
		return in;
	if (lstat(dst, &(struct stat){ 0 }) == 0) {
		close(in);
		seterr(err, cap, "%s already exists; not replacing it", dst);
		return -EEXIST;
	}
	out = copy_to_temp(in, &st, src, dst, tmp, sizeof(tmp), &used, io,
			   err, cap);
	close(in);
	if (out < 0)
		return out;
	r = finish_temp(out, tmp, dst, 0, "volume.before-rename", err, cap);
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	if (how)
		*how = used;
	return 0;
}

/* ---- resize ---- */

int volume_resize(const char *path, uint64_t new_size, char *err, size_t cap)
{
	return volume_resize_io(path, new_size, NULL, err, cap);
}

int volume_resize_io(const char *path, uint64_t new_size,
		     const struct volume_io *io, char *err, size_t cap)
{
	char tmp[PATH_MAX], dir[PATH_MAX], out[TOOL_OUTPUT_MAX];
	char *const fsck[] = { "e2fsck", "-f", "-p", tmp, NULL };
	char *const grow[] = { "resize2fs", tmp, NULL };
	char a[32], b[32];
	enum volume_copy_how how;
	struct stat st;
	int in, fd, r;

	if ((r = volume_private_size_check(new_size, err, cap)) < 0)
		return r;
	if (dir_of(path, dir, sizeof(dir))) {
		seterr(err, cap, "path too long");
		return -ENAMETOOLONG;
	}
	if ((in = open_image(path, &st, err, cap)) < 0)
		return in;
	if (new_size < (uint64_t)st.st_size) {
		close(in);
		seterr(err, cap,
		       "shrinking refused: %s is %s and a private volume only "
		       "grows (a smaller size, %s, could cut off the qube's "
		       "files); give a size above the current one",
		       path, human((uint64_t)st.st_size, a, sizeof(a)),
		       human(new_size, b, sizeof(b)));
		return -EINVAL;
	}
	if (new_size == (uint64_t)st.st_size) {
		close(in);
		return 0;
	}
	fd = copy_to_temp(in, &st, path, path, tmp, sizeof(tmp), &how, io,
			  err, cap);
	close(in);
	if (fd < 0)
		return fd;

	/* resize2fs insists on a freshly checked filesystem, and every
	 * image the guest has mounted was mounted after its last check.
	 * Preen mode (-p) repairs only what is safe without a human; -y
	 * would answer yes to anything. Exit 1 and 2 mean "repaired". */
	progress(io, VOLUME_STEP_E2FSCK, 0, 1);
	r = run_tool(fsck, out, sizeof(out));
	if (r >= 4) {
		char line[256];

		first_line(out, line, sizeof(line));
		seterr(err, cap,
		       "the filesystem in %s has errors that e2fsck -p does "
		       "not repair on its own (%s); check it with `e2fsck -f "
		       "%s` while the qube is halted, then resize again",
		       path, line[0] ? line : "no message", path);
		r = -EUCLEAN;
		goto fail;
	}
	if (r < 0) {
		r = tool_failed("e2fsck", r, out, tmp, err, cap);
		goto fail;
	}
	if (ftruncate(fd, (off_t)new_size) < 0) {
		r = -errno;
		seterr(err, cap, "cannot grow %s: %s", tmp, strerror(errno));
		goto fail;
	}
	progress(io, VOLUME_STEP_RESIZE2FS, 0, 1);
	r = run_tool(grow, out, sizeof(out));
	if (r != 0) {
		uint64_t need = meta_estimate(new_size);

		if (r > 0 && free_bytes(dir) < need)
			r = no_space("the grown volume", dir, need, new_size,
				     err, cap);
		else
			r = tool_failed("resize2fs", r, out, tmp, err, cap);
		goto fail;
	}
	r = finish_temp(fd, tmp, path, 1, NULL, err, cap);
	fd = -1;
	if (r < 0)
		goto fail;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}

/* ---- template root versions ---- */

#define ROOT_LINK "root.img"

/* "root-N.img" with N in canonical decimal (no leading zero, so each
 * version has one name) up to VOLUME_ROOT_VERSION_MAX. */
static int root_version(const char *name, unsigned *v)
{
	const char *p = name + 5;
	unsigned long n = 0;
	size_t digits = 0;

	if (strncmp(name, "root-", 5))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9' && digits < 10; p++, digits++)
		n = n * 10 + (unsigned long)(*p - '0');
	if (digits == 0 || (digits > 1 && name[5] == '0') ||
	    n > VOLUME_ROOT_VERSION_MAX || strcmp(p, ".img"))
		return -EINVAL;
	*v = (unsigned)n;
	return 0;
}

/* What root.img is: the file name of the current version (root-N.img) or
 * "root.img" itself while it is a plain file (*plain = 1). */
static int read_current(const char *tmpl_dir, char *name, size_t cap,
			int *plain)
{
	char lnk[PATH_MAX];
	struct stat st;
	unsigned v;
	ssize_t n;

	if (bh_path_fmt(lnk, sizeof(lnk), "%s/" ROOT_LINK, tmpl_dir))
		return -ENAMETOOLONG;
	if (lstat(lnk, &st) < 0)
		return -errno;
	*plain = S_ISREG(st.st_mode);
	if (*plain)
		return bh_path_fmt(name, cap, ROOT_LINK);
	if (!S_ISLNK(st.st_mode))
		return -EBADMSG;
	n = readlink(lnk, name, cap - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= cap - 1)
		return -ENAMETOOLONG;
	name[n] = '\0';
	/* Only a sibling version: never a path elsewhere. */
	return root_version(name, &v) < 0 ? -EBADMSG : 0;
}

int volume_root_current(const char *tmpl_dir, char *out, size_t cap)
{
	char name[64];
	int plain, r = read_current(tmpl_dir, name, sizeof(name), &plain);

	if (r < 0)
		return r;
	return bh_path_fmt(out, cap, "%s/%s", tmpl_dir, name);
}

/* Points root.img at the sibling target: a symlink made under a temporary
 * name, renamed over root.img (atomic: a reader sees the old target or the
 * new one), then the folder fsynced. */
static int retarget(const char *tmpl_dir, const char *target)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char lnk[PATH_MAX], tmp[PATH_MAX];
	int tries, r;

	if (bh_path_fmt(lnk, sizeof(lnk), "%s/" ROOT_LINK, tmpl_dir))
		return -ENAMETOOLONG;
	for (tries = 0; tries < 100; tries++) {
		unsigned char rnd[TEMP_RANDOM_LEN];
		char suffix[TEMP_RANDOM_LEN + 1];
		int i;

		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			return -EIO;
		for (i = 0; i < TEMP_RANDOM_LEN; i++)
			suffix[i] = alnum[rnd[i] % (sizeof(alnum) - 1)];
		suffix[TEMP_RANDOM_LEN] = '\0';
		if (bh_path_fmt(tmp, sizeof(tmp), "%s" TEMP_SUFFIX "%s", lnk,
				suffix))
			return -ENAMETOOLONG;
		if (symlink(target, tmp) == 0)
			break;
		if (errno != EEXIST)
			return -errno;
	}
	if (tries == 100)
		return -EEXIST;
	if (rename(tmp, lnk) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	return bh_fsync_dir(tmpl_dir);
}

/* Makes a plain root.img (as the guest build writes it) version 0. The
 * order keeps root.img whole at every step: first a second name for the
 * same file, root-0.img (a hard link, no copy), then the symlink renamed
 * over root.img. A crash between the two leaves both names on one file,
 * and the next call finishes the job. */
static int convert_plain(const char *tmpl_dir, char *err, size_t cap)
{
	char lnk[PATH_MAX], v0[PATH_MAX];
	struct stat a, b;
	int r;

	if (bh_path_fmt(lnk, sizeof(lnk), "%s/" ROOT_LINK, tmpl_dir) ||
	    bh_path_fmt(v0, sizeof(v0), "%s/root-0.img", tmpl_dir))
		return -ENAMETOOLONG;
	if (link(lnk, v0) < 0) {
		if (errno != EEXIST) {
			r = -errno;
			seterr(err, cap, "cannot link %s to %s: %s", lnk, v0,
			       strerror(errno));
			return r;
		}
		if (stat(lnk, &a) < 0 || lstat(v0, &b) < 0 ||
		    a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
			seterr(err, cap,
			       "%s holds both a plain root.img and a different "
			       "root-0.img; remove the one that is not the "
			       "template's root",
			       tmpl_dir);
			return -EEXIST;
		}
	}
	if ((r = bh_fsync_dir(tmpl_dir)) < 0 ||
	    (r = retarget(tmpl_dir, "root-0.img")) < 0) {
		seterr(err, cap, "cannot make %s a symlink: %s", lnk,
		       strerror(-r));
		return r;
	}
	return 0;
}

/* The highest root-N.img version present in *max, -1 for none. */
static int highest_version(const char *tmpl_dir, long *max)
{
	DIR *d = opendir(tmpl_dir);
	struct dirent *e;
	unsigned v;

	if (!d)
		return -errno;
	*max = -1;
	while ((e = readdir(d)))
		if (root_version(e->d_name, &v) == 0 && (long)v > *max)
			*max = v;
	closedir(d);
	return 0;
}

int volume_root_next(const char *tmpl_dir, char *cur_path, size_t ccap,
		     char *work_path, size_t wcap, char *err, size_t errcap)
{
	char name[64];
	long max = -1;
	int plain, r;

	r = read_current(tmpl_dir, name, sizeof(name), &plain);
	if (r == -ENOENT) {
		seterr(err, errcap,
		       "the template in %s has no root image (root.img); "
		       "build it with `bh-build-guest`",
		       tmpl_dir);
		return r;
	}
	if (r < 0) {
		seterr(err, errcap,
		       "%s/root.img is neither an image nor a symlink to a "
		       "root-N.img beside it",
		       tmpl_dir);
		return r;
	}
	if (plain) {
		if ((r = convert_plain(tmpl_dir, err, errcap)) < 0)
			return r;
		snprintf(name, sizeof(name), "root-0.img");
	}
	/* Past every version present, not just the current one: a stale
	 * work copy (an update aborted by a crash) is left for gc, never
	 * written over. */
	if ((r = highest_version(tmpl_dir, &max)) < 0) {
		seterr(err, errcap, "cannot list %s: %s", tmpl_dir,
		       strerror(-r));
		return r;
	}
	if (max >= (long)VOLUME_ROOT_VERSION_MAX) {
		seterr(err, errcap, "no version numbers left in %s", tmpl_dir);
		return -EOVERFLOW;
	}
	if (bh_path_fmt(cur_path, ccap, "%s/%s", tmpl_dir, name) ||
	    bh_path_fmt(work_path, wcap, "%s/root-%ld.img", tmpl_dir,
			max + 1)) {
		seterr(err, errcap, "path too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

/* work_path must be TMPL/root-N.img, exactly as volume_root_next named
 * it. */
static const char *work_name(const char *tmpl_dir, const char *work_path)
{
	const char *base = strrchr(work_path, '/');
	size_t dlen = strlen(tmpl_dir);
	unsigned v;

	if (!base || (size_t)(base - work_path) != dlen ||
	    strncmp(work_path, tmpl_dir, dlen) ||
	    root_version(base + 1, &v) < 0)
		return NULL;
	return base + 1;
}

int volume_root_commit(const char *tmpl_dir, const char *work_path)
{
	const char *base = work_name(tmpl_dir, work_path);
	char name[64];
	struct stat st;
	int fd, plain, r;

	if (!base)
		return -EINVAL;
	/* The template's QEMU has exited; what it wrote may still be in
	 * the page cache. The symlink must not name it before it is on
	 * disk. */
	fd = open(work_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	if ((r = read_current(tmpl_dir, name, sizeof(name), &plain)) < 0)
		return r;
	/* Still a plain file (its work copy made some other way): keep it
	 * as version 0 rather than renaming the only name it has away. */
	if (plain && (r = convert_plain(tmpl_dir, NULL, 0)) < 0)
		return r;
	return retarget(tmpl_dir, base);
}

int volume_root_abort(const char *tmpl_dir, const char *work_path)
{
	const char *base = work_name(tmpl_dir, work_path);
	char name[64];
	int plain, r;

	if (!base)
		return -EINVAL;
	r = read_current(tmpl_dir, name, sizeof(name), &plain);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0 && !strcmp(name, base))
		return -EBUSY;
	if (unlink(work_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int volume_root_gc(const char *tmpl_dir,
		   int (*in_use)(const char *path, void *ctx), void *ctx)
{
	char name[64], path[PATH_MAX];
	struct dirent *e;
	int plain, removed = 0, r;
	unsigned v;
	DIR *d;

	/* Without a readable root.img nothing is known to be current:
	 * keep everything. */
	if ((r = read_current(tmpl_dir, name, sizeof(name), &plain)) < 0)
		return r;
	if (!(d = opendir(tmpl_dir)))
		return -errno;
	while ((e = readdir(d))) {
		if (root_version(e->d_name, &v) < 0 ||
		    !strcmp(e->d_name, name))
			continue;
		if (bh_path_fmt(path, sizeof(path), "%s/%s", tmpl_dir,
				e->d_name))
			continue;
		if (in_use && in_use(path, ctx))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	if (removed)
		bh_fsync_dir(tmpl_dir);
	return removed;
}

/* ---- start-up ---- */

/* NAME.tmp-XXXXXX: mkstemp's and retarget's temporaries, nothing else. */
static int is_temp_name(const char *name)
{
	size_t len = strlen(name), i;
	const char *s;

	if (len <= strlen(TEMP_SUFFIX) + TEMP_RANDOM_LEN)
		return 0;
	s = name + len - TEMP_RANDOM_LEN - strlen(TEMP_SUFFIX);
	if (strncmp(s, TEMP_SUFFIX, strlen(TEMP_SUFFIX)))
		return 0;
	for (i = len - TEMP_RANDOM_LEN; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

int volume_cleanup_temps(const char *dir)
{
	struct dirent *e;
	struct stat st;
	int removed = 0;
	DIR *d = opendir(dir);

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		if (!is_temp_name(e->d_name) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	if (removed)
		bh_fsync_dir(dir);
	return removed;
}

/* ---- sizes typed by users ---- */

int volume_parse_size(const char *untrusted_text, uint64_t *out)
{
	const char *p = untrusted_text;
	uint64_t v = 0;
	unsigned shift = 0;

	if (!p || *p < '0' || *p > '9')
		return -EINVAL; /* empty, sign, space, dot */
	for (; *p >= '0' && *p <= '9'; p++)
		;
	switch (*p) {
	case 'k': case 'K': shift = 10; p++; break;
	case 'm': case 'M': shift = 20; p++; break;
	case 'g': case 'G': shift = 30; p++; break;
	case 't': case 'T': shift = 40; p++; break;
	}
	if (*p)
		return -EINVAL; /* a fraction, a second suffix, junk */
	for (p = untrusted_text; *p >= '0' && *p <= '9'; p++)
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			return -ERANGE;
	if (v == 0)
		return -EINVAL; /* no volume has size zero */
	if (v > UINT64_MAX >> shift)
		return -ERANGE;
	*out = v << shift;
	return 0;
}
