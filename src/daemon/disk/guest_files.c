#include "daemon/disk/guest_files.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util.h"

int sha256_file_hex(const char *path, char out[65])
{
	crypto_hash_sha256_state st;
	unsigned char buf[1 << 16], digest[crypto_hash_sha256_BYTES];
	int fd = open(path, O_RDONLY | O_CLOEXEC), i;
	ssize_t n;

	if (fd < 0)
		return -errno;
	crypto_hash_sha256_init(&st);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;

			close(fd);
			return e;
		}
		crypto_hash_sha256_update(&st, buf, (size_t)n);
	}
	close(fd);
	crypto_hash_sha256_final(&st, digest);
	for (i = 0; i < (int)sizeof(digest); i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
	return 0;
}

/* Finds NAME's digest in a sha256sum-format file. */
static int expected_sum(const char *sums_path, const char *name, char out[65])
{
	char *text, *line, *save = NULL;
	int r = bh_read_file(sums_path, 64 * 1024, &text, NULL);

	if (r < 0)
		return r;
	r = -ENOENT;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		/* "<64 hex>  <name>" or "<64 hex> *<name>" */
		if (strlen(line) < 67 || line[64] != ' ')
			continue;
		const char *fname = line + 66;

		if (strcmp(fname, name))
			continue;
		memcpy(out, line, 64);
		out[64] = '\0';
		r = 0;
		break;
	}
	free(text);
	return r;
}

int guest_files_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* 0 when f (its path set) is as it was when last verified; else 1 with
 * *pend naming it, or an error. */
static int verify(struct verified_file *f, const char *what,
		  struct guest_files_pending *pend, char *err, size_t cap)
{
	char sums[PATH_MAX], *slash;
	struct stat st;

	if (stat(f->path, &st) < 0) {
		snprintf(err, cap,
			 "%s not found at %s; build the guest images with "
			 "`bh-build-guest` (or run ./setup)",
			 what, f->path);
		f->ok = 0;
		return -ENOENT;
	}
	if (f->ok && guest_files_same(&f->st, &st))
		return 0;
	f->ok = 0;
	slash = strrchr(f->path, '/');
	if (bh_path_fmt(sums, sizeof(sums), "%.*s/SHA256SUMS",
			(int)(slash - f->path), f->path) ||
	    expected_sum(sums, slash + 1, pend->want) < 0) {
		snprintf(err, cap,
			 "no checksum for %s in %s; rebuild the guest images "
			 "with `bh-build-guest --force`",
			 f->path, sums);
		return -EBADMSG;
	}
	pend->f = f;
	pend->what = what;
	pend->st = st;
	return 1;
}

int guest_files_hashed(const struct guest_files_pending *pend,
		       const char *digest, char *err, size_t err_cap)
{
	struct verified_file *f = pend->f;
	struct stat st;

	if (strcmp(pend->want, digest)) {
		snprintf(err, err_cap,
			 "%s %s is corrupt (its checksum does not match "
			 "SHA256SUMS); rebuild it with `bh-build-guest "
			 "--force`",
			 pend->what, f->path);
		return -EBADMSG;
	}
	/* What was read may not be what is there now: only the file the
	 * check saw, unchanged since, counts as verified. */
	if (stat(f->path, &st) < 0 || !guest_files_same(&st, &pend->st))
		return 0;
	f->st = st;
	f->ok = 1;
	return 0;
}

/* Sets g->kernel_version: kernel when given, else what kernels/current
 * names. */
static int pick_kernel(struct guest_files *g, const char *state_dir,
		       const char *kernel, char *err, size_t err_cap)
{
	char link[PATH_MAX];
	ssize_t n;

	if (kernel && kernel[0]) {
		/* The property's syntax (props.c) keeps it one plain name;
		 * check again, as it becomes a path. */
		if (strlen(kernel) >= sizeof(g->kernel_version) ||
		    strchr(kernel, '/') || kernel[0] == '.') {
			snprintf(err, err_cap, "bad kernel name '%.200s'",
				 kernel);
			return -EINVAL;
		}
		snprintf(g->kernel_version, sizeof(g->kernel_version), "%s",
			 kernel);
		return 0;
	}
	if (bh_path_fmt(link, sizeof(link), "%s/kernels/current", state_dir)) {
		snprintf(err, err_cap, "the state folder path is too long");
		return -ENAMETOOLONG;
	}
	n = readlink(link, g->kernel_version, sizeof(g->kernel_version) - 1);
	if (n <= 0 || memchr(g->kernel_version, '/', (size_t)n)) {
		snprintf(err, err_cap,
			 "no guest kernel recorded at %s; build the guest "
			 "images with `bh-build-guest` (or run ./setup)",
			 link);
		return -ENOENT;
	}
	g->kernel_version[n] = '\0';
	return 0;
}

int guest_files_locate(struct guest_files *g, const char *state_dir,
		       const char *kernel, const char *tmpl, char *err,
		       size_t err_cap)
{
	char kdir[PATH_MAX];
	int r;

	r = pick_kernel(g, state_dir, kernel, err, err_cap);
	if (r < 0)
		return r;
	if (bh_path_fmt(kdir, sizeof(kdir), "%s/kernels/%s", state_dir,
			g->kernel_version) ||
	    bh_path_fmt(g->kernel.path, sizeof(g->kernel.path), "%s/vmlinuz",
			kdir) ||
	    bh_path_fmt(g->initramfs.path, sizeof(g->initramfs.path),
			"%s/initramfs.img", kdir) ||
	    bh_path_fmt(g->root.path, sizeof(g->root.path),
			"%s/templates/%s/root.img", state_dir, tmpl)) {
		snprintf(err, err_cap, "the state folder path is too long");
		return -ENAMETOOLONG;
	}
	if (kernel && kernel[0] && access(kdir, F_OK) < 0) {
		snprintf(err, err_cap,
			 "kernel %s is not installed (no folder %s); set the "
			 "kernel property to one of the folders in "
			 "%s/kernels, or to an empty value for the current "
			 "one",
			 kernel, kdir, state_dir);
		return -ENOENT;
	}
	return 0;
}

int guest_files_check(struct guest_files *g, const char *state_dir,
		      const char *kernel, const char *tmpl,
		      struct guest_files_pending *pend, char *err,
		      size_t err_cap)
{
	int r = guest_files_locate(g, state_dir, kernel, tmpl, err, err_cap);

	if (r == 0)
		r = verify(&g->kernel, "guest kernel", pend, err, err_cap);
	if (r == 0)
		r = verify(&g->initramfs, "guest initramfs", pend, err,
			   err_cap);
	if (r == 0)
		r = verify(&g->root, "template root image", pend, err,
			   err_cap);
	return r;
}
