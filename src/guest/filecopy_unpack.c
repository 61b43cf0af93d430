/* The receiver of the file-copy stream: an incremental state machine that
 * takes the stream in chunks of any size and writes what it describes
 * below one directory, never outside it.
 *
 * Confinement does not rest on path resolution: names are single
 * components (no '/', ".", ".."), and every file system call is one *at()
 * call on a directory fd that this receiver opened itself right after
 * making that directory, with O_NOFOLLOW|O_DIRECTORY. Files are made with
 * O_CREAT|O_EXCL|O_NOFOLLOW (which never follows or reuses a name),
 * directories with mkdirat (fails on any existing name), symlinks with
 * symlinkat (likewise), so nothing is overwritten and no symlink is ever
 * walked through; openat2's RESOLVE_BENEATH would add nothing.
 *
 * All of it happens in a hidden folder of the receiving folder (the
 * stage), so that nothing under a name the user sees is partial or
 * unverified: only when the input has ended right after a correct
 * digest is the stage synced, each of its entries moved into place with
 * renameat2(RENAME_NOREPLACE) (never over an existing name), and the
 * receiving folder synced, before the status says so. Any error removes
 * the stage with what it holds. */
#include "guest/filecopy.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIN(a, b) ((a) < (b) ? (a) : (b))

int fc_sync_fs_default(int fd)
{
	return syncfs(fd) < 0 ? -errno : 0;
}

int (*fc_sync_fs)(int fd) = fc_sync_fs_default;

static int parent_fd(const struct fc_unpack *u)
{
	return u->depth ? u->dirs[u->depth - 1].fd : u->stage_fd;
}

/* Empties a folder of the stage. Every entry in it was made by this
 * receiver: nothing is followed (unlinkat removes a symlink itself,
 * folders are opened O_NOFOLLOW), and a folder is made writable before
 * it is emptied (a read-only one got its mode at its DIR_END). A pass
 * that removes nothing ends it, so it cannot loop. The stage is at most
 * FC_MAX_DEPTH folders deep, which bounds the recursion. */
static void empty_dir(int dfd, size_t depth)
{
	int again = 1;

	while (again) {
		int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *e;

		again = 0;
		if (!d) {
			if (fd >= 0)
				close(fd);
			return;
		}
		while ((e = readdir(d))) {
			int sub;

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (unlinkat(dfd, e->d_name, 0) == 0) {
				again = 1;
				continue;
			}
			if (errno != EISDIR || depth > FC_MAX_DEPTH)
				continue;
			sub = openat(dfd, e->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);
			if (sub < 0)
				continue;
			(void)fchmod(sub, 0700);
			empty_dir(sub, depth + 1);
			close(sub);
			if (unlinkat(dfd, e->d_name, AT_REMOVEDIR) == 0)
				again = 1;
		}
		closedir(d);
	}
}

/* Closes what is open and removes the stage with what is left in it:
 * after an error, everything received; after success, nothing. */
static void release(struct fc_unpack *u)
{
	if (u->file_fd >= 0) {
		close(u->file_fd);
		u->file_fd = -1;
	}
	while (u->depth) {
		u->depth--;
		close(u->dirs[u->depth].fd);
	}
	if (u->stage_fd >= 0) {
		empty_dir(u->stage_fd, 0);
		close(u->stage_fd);
		u->stage_fd = -1;
		unlinkat(u->root_fd, u->stage_name, AT_REMOVEDIR);
	}
}

/* Records the first error: "PATH[/NAME]: reason[: strerror]". */
static int fail_full(struct fc_unpack *u, int err, int with_name,
		     const char *reason, int sys_errno)
{
	char path[FC_MAX_STATUS_TEXT / 2], name[FC_MAX_STATUS_TEXT / 2];
	size_t nlen = u->cur.name_len;

	if (u->err)
		return u->err;
	fc_escape(path, sizeof(path), (const uint8_t *)u->path, u->path_len);
	name[0] = '\0';
	if (with_name) {
		if (nlen > FC_MAX_NAME)
			nlen = FC_MAX_NAME;
		/* Still the sender's bytes while it is being checked. */
		fc_escape(name, sizeof(name),
			  u->state == FC_U_NAME
				  ? u->untrusted_name
				  : (const uint8_t *)u->name,
			  nlen);
	}
	snprintf(u->msg, sizeof(u->msg), "%s%s%s%s%s%s%s", path,
		 path[0] && name[0] ? "/" : "", name,
		 path[0] || name[0] ? ": " : "", reason,
		 sys_errno ? ": " : "", sys_errno ? strerror(sys_errno) : "");
	u->err = err;
	u->state = FC_U_FAILED;
	release(u);
	return err;
}

static int fail(struct fc_unpack *u, int err, int with_name,
		const char *reason)
{
	return fail_full(u, err, with_name, reason, 0);
}

/* A system call failed with errno: the same code goes back. */
static int fail_sys(struct fc_unpack *u, int with_name, const char *what)
{
	int e = errno ? errno : EIO;

	if (e == EEXIST)
		return fail(u, -EEXIST, with_name, "already exists");
	return fail_full(u, -e, with_name, what, e);
}

/* Makes and opens the stage: a new name (random, so that receivers from
 * the same qube at once do not meet), made by us, 0700. */
static int make_stage(struct fc_unpack *u)
{
	int i;

	for (i = 0; i < 16; i++) {
		uint8_t rnd[8];
		char hex[2 * sizeof(rnd) + 1];

		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
		snprintf(u->stage_name, sizeof(u->stage_name), "%s%s",
			 FC_STAGE_PREFIX, hex);
		if (mkdirat(u->root_fd, u->stage_name, 0700) == 0)
			break;
		if (errno != EEXIST)
			return fail_sys(u, 0, "cannot make a folder to "
					      "receive into");
	}
	if (i == 16) {
		errno = EEXIST;
		return fail_sys(u, 0, "cannot make a folder to receive into");
	}
	u->stage_fd = openat(u->root_fd, u->stage_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (u->stage_fd < 0) {
		int e = errno;

		unlinkat(u->root_fd, u->stage_name, AT_REMOVEDIR);
		errno = e;
		return fail_sys(u, 0, "cannot open the folder to receive into");
	}
	return 0;
}

int fc_unpack_init(struct fc_unpack *u, int dirfd)
{
	memset(u, 0, sizeof(*u));
	u->root_fd = dirfd;
	u->stage_fd = -1;
	u->file_fd = -1;
	u->state = FC_U_START;
	if (sodium_init() < 0) {
		u->err = -EIO;
		u->state = FC_U_FAILED;
		snprintf(u->msg, sizeof(u->msg), "libsodium cannot start");
		return -EIO;
	}
	crypto_hash_sha256_init(&u->sha);
	return make_stage(u);
}

const char *fc_unpack_message(const struct fc_unpack *u)
{
	return u->msg;
}

/* Copies up to `need - u->have` bytes into dst; returns how many. */
static size_t gather(struct fc_unpack *u, uint8_t *dst, size_t need,
		     const uint8_t *buf, size_t len)
{
	size_t take = MIN(len, need - u->have);

	memcpy(dst + u->have, buf, take);
	u->have += take;
	return take;
}

static struct timespec ts_of(int64_t sec, uint32_t nsec)
{
	struct timespec t;

	t.tv_sec = (time_t)sec;
	t.tv_nsec = (long)nsec;
	return t;
}

/* Mode and mtime of the file just written, then close it. */
static int file_done(struct fc_unpack *u)
{
	struct timespec ts[2];
	int fd = u->file_fd;

	if (u->file_sparse && ftruncate(fd, (off_t)u->cur.data_len) < 0)
		return fail_sys(u, 1, "cannot write");
	if (fchmod(fd, u->cur.mode & FC_MODE_KEEP) < 0)
		return fail_sys(u, 1, "cannot set its mode");
	ts[0] = ts[1] = ts_of(u->cur.mtime_sec, u->cur.mtime_nsec);
	if (futimens(fd, ts) < 0)
		return fail_sys(u, 1, "cannot set its time");
	u->file_fd = -1;
	/* Closed either way; what it holds is in doubt. */
	if (close(fd) < 0)
		return fail_sys(u, 1, "cannot write");
	u->files++;
	u->state = FC_U_HDR;
	u->have = 0;
	return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		if (w)
			return 0;
	}
	for (; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* File contents: runs of zeros become holes (a sparse file stays
 * sparse); the size is set at the end. */
static int file_data(struct fc_unpack *u, const uint8_t *untrusted_buf,
		     size_t n)
{
	if (n >= 512 && all_zero(untrusted_buf, n)) {
		if (lseek(u->file_fd, (off_t)n, SEEK_CUR) < 0)
			return fail_sys(u, 1, "cannot write");
		u->file_sparse = 1;
	} else {
		if (bh_write_all(u->file_fd, untrusted_buf, n) < 0)
			return fail_sys(u, 1, "cannot write");
		u->file_sparse = 0;
	}
	u->bytes += n;
	u->data_left -= n;
	return 0;
}

/* The name of the entry in u->cur is complete: check it and make the
 * entry (or start to). */
static int entry_named(struct fc_unpack *u)
{
	const char *why;
	int r, pfd = parent_fd(u), fd;
	size_t full;
	struct stat st;

	r = fc_name_check(u->untrusted_name, u->cur.name_len, &why);
	if (r < 0)
		return fail(u, r, 1, why);
	memcpy(u->name, u->untrusted_name, u->cur.name_len);
	u->name[u->cur.name_len] = '\0';
	/* A top-level name taken in the receiving folder: say so now rather
	 * than after the whole copy (the final move checks again). */
	if (u->depth == 0 && fstatat(u->root_fd, u->name, &st,
				     AT_SYMLINK_NOFOLLOW) == 0)
		return fail(u, -EEXIST, 1, "already exists");
	full = u->path_len + (u->path_len ? 1 : 0) + u->cur.name_len;
	if (full > FC_MAX_PATH)
		return fail(u, -ENAMETOOLONG, 1, "path longer than 4096 bytes");
	u->have = 0;

	switch (u->cur.type) {
	case FC_T_DIR: {
		struct fc_dir *d;

		if (u->depth >= FC_MAX_DEPTH)
			return fail(u, -ENAMETOOLONG, 1,
				    "directories nested too deep");
		if (mkdirat(pfd, u->name, 0700) < 0)
			return fail_sys(u, 1, "cannot make directory");
		fd = openat(pfd, u->name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return fail_sys(u, 1, "cannot open directory");
		d = &u->dirs[u->depth++];
		d->fd = fd;
		d->mode = u->cur.mode;
		d->mtime_sec = u->cur.mtime_sec;
		d->mtime_nsec = u->cur.mtime_nsec;
		d->path_len = u->path_len;
		if (u->path_len)
			u->path[u->path_len++] = '/';
		memcpy(u->path + u->path_len, u->name, u->cur.name_len);
		u->path_len += u->cur.name_len;
		u->path[u->path_len] = '\0';
		u->state = FC_U_HDR;
		return 0;
	}
	case FC_T_FILE:
		fd = openat(pfd, u->name,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC,
			    0600);
		if (fd < 0)
			return fail_sys(u, 1, "cannot create");
		u->file_fd = fd;
		u->file_sparse = 0;
		u->data_left = u->cur.data_len;
		if (u->data_left == 0)
			return file_done(u);
		u->state = FC_U_DATA;
		return 0;
	case FC_T_SYMLINK:
		u->state = FC_U_LINK;
		return 0;
	default: /* fc_hdr_decode let only these three through */
		return fail(u, -EPROTO, 1, "internal: bad entry type");
	}
}

static int link_done(struct fc_unpack *u)
{
	const char *why, *target;
	struct timespec ts[2];
	int r, pfd = parent_fd(u);

	r = fc_link_check(u->untrusted_link, (size_t)u->cur.data_len, u->depth,
			  &why);
	if (r < 0)
		return fail(u, r, 1, why);
	u->untrusted_link[u->cur.data_len] = '\0';
	target = (const char *)u->untrusted_link; /* checked */
	if (symlinkat(target, pfd, u->name) < 0)
		return fail_sys(u, 1, "cannot make symlink");
	ts[0] = ts[1] = ts_of(u->cur.mtime_sec, u->cur.mtime_nsec);
	if (utimensat(pfd, u->name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return fail_sys(u, 1, "cannot set its time");
	u->files++;
	u->have = 0;
	u->state = FC_U_HDR;
	return 0;
}

static int dir_end(struct fc_unpack *u)
{
	struct fc_dir *d;
	struct timespec ts[2];

	if (u->depth == 0)
		return fail(u, -EPROTO, 0, "directory end without a directory");
	d = &u->dirs[u->depth - 1];
	ts[0] = ts[1] = ts_of(d->mtime_sec, d->mtime_nsec);
	if (fchmod(d->fd, d->mode & FC_MODE_KEEP) < 0)
		return fail_sys(u, 0, "cannot set its mode");
	if (futimens(d->fd, ts) < 0)
		return fail_sys(u, 0, "cannot set its time");
	close(d->fd);
	u->depth--;
	u->path_len = d->path_len;
	u->path[u->path_len] = '\0';
	return 0;
}

static int header_done(struct fc_unpack *u)
{
	const char *why;
	int r;

	u->have = 0;
	r = fc_hdr_decode(u->untrusted_fixed, &u->cur, &why);
	if (r < 0)
		return fail(u, r, 0, why);
	switch (u->cur.type) {
	case FC_T_END:
		if (u->depth)
			return fail(u, -EPROTO, 0,
				    "end of stream inside a directory");
		crypto_hash_sha256_final(&u->sha, u->digest);
		u->have_digest = 1;
		u->state = FC_U_DIGEST;
		return 0;
	case FC_T_DIR_END:
		return dir_end(u);
	default:
		u->state = FC_U_NAME;
		return 0;
	}
}

int fc_unpack_feed(struct fc_unpack *u, const uint8_t *untrusted_buf,
		   size_t len)
{
	if (u->err)
		return u->err;
	while (len) {
		size_t take = 0;
		int r = 0;

		switch (u->state) {
		case FC_U_START:
			take = gather(u, u->untrusted_fixed, FC_START_LEN,
				      untrusted_buf, len);
			crypto_hash_sha256_update(&u->sha, untrusted_buf, take);
			if (u->have < FC_START_LEN)
				break;
			u->have = 0;
			if (memcmp(u->untrusted_fixed, FC_MAGIC, 4) != 0) {
				r = fail(u, -EPROTO, 0,
					 "not a file-copy stream");
				break;
			}
			if (fc_get_u32(u->untrusted_fixed + 4) != FC_VERSION) {
				r = fail(u, -EPROTO, 0,
					 "unsupported stream version");
				break;
			}
			u->state = FC_U_HDR;
			break;
		case FC_U_HDR:
			take = gather(u, u->untrusted_fixed, FC_HDR_LEN,
				      untrusted_buf, len);
			crypto_hash_sha256_update(&u->sha, untrusted_buf, take);
			if (u->have == FC_HDR_LEN)
				r = header_done(u);
			break;
		case FC_U_NAME:
			take = gather(u, u->untrusted_name, u->cur.name_len,
				      untrusted_buf, len);
			crypto_hash_sha256_update(&u->sha, untrusted_buf, take);
			if (u->have == u->cur.name_len)
				r = entry_named(u);
			break;
		case FC_U_DATA:
			take = (size_t)MIN((uint64_t)len, u->data_left);
			crypto_hash_sha256_update(&u->sha, untrusted_buf, take);
			r = file_data(u, untrusted_buf, take);
			if (r == 0 && u->data_left == 0)
				r = file_done(u);
			break;
		case FC_U_LINK:
			take = gather(u, u->untrusted_link,
				      (size_t)u->cur.data_len, untrusted_buf,
				      len);
			crypto_hash_sha256_update(&u->sha, untrusted_buf, take);
			if (u->have == u->cur.data_len)
				r = link_done(u);
			break;
		case FC_U_DIGEST:
			take = gather(u, u->untrusted_fixed, FC_DIGEST_LEN,
				      untrusted_buf, len);
			if (u->have < FC_DIGEST_LEN)
				break;
			if (sodium_memcmp(u->untrusted_fixed, u->digest,
					  FC_DIGEST_LEN) != 0) {
				r = fail(u, -EBADMSG, 0, "checksum mismatch");
				break;
			}
			u->state = FC_U_DONE;
			break;
		case FC_U_DONE:
			return fail(u, -EPROTO, 0,
				    "data after the end of the stream");
		case FC_U_FAILED:
			return u->err ? u->err : -EPROTO;
		}
		if (r < 0)
			return r;
		untrusted_buf += take;
		len -= take;
	}
	return u->state == FC_U_DONE ? 1 : 0;
}

/* Moves one top-level entry of the stage into the receiving folder,
 * never over an existing name. Moving a folder to another parent
 * rewrites its "..", which needs write permission on it (unless we are
 * root): a read-only one gets it for the move, then its mode back. */
static int move_into_place(struct fc_unpack *u, const char *name)
{
	struct stat st;
	int dfd = -1, r = 0;

	u->cur.name_len = (uint32_t)strlen(name);
	memcpy(u->name, name, u->cur.name_len + 1);
	if (fstatat(u->stage_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail_sys(u, 1, "cannot move into place");
	if (S_ISDIR(st.st_mode) && !(st.st_mode & S_IWUSR)) {
		dfd = openat(u->stage_fd, name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd < 0 ||
		    fchmod(dfd, (st.st_mode & FC_MODE_KEEP) | S_IWUSR) < 0) {
			r = fail_sys(u, 1, "cannot move into place");
			if (dfd >= 0)
				close(dfd);
			return r;
		}
	}
	if (renameat2(u->stage_fd, name, u->root_fd, name, RENAME_NOREPLACE) <
	    0)
		r = fail_sys(u, 1, "cannot move into place");
	else if (dfd >= 0 && fchmod(dfd, st.st_mode & FC_MODE_KEEP) < 0)
		r = fail_sys(u, 1, "cannot set its mode");
	if (dfd >= 0)
		close(dfd);
	return r;
}

/* The stream is complete, verified and ended: make it durable, give it
 * its names, make those durable. Each pass over the stage moves what it
 * finds, until a pass finds nothing (moving entries out while reading
 * the folder may hide some from that pass). */
static int publish(struct fc_unpack *u)
{
	int r = fc_sync_fs(u->stage_fd), moved = 1;

	if (r < 0)
		return fail_full(u, r, 0, "cannot sync what was received to "
					  "disk", -r);
	while (moved) {
		int fd = openat(u->stage_fd, ".",
				O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *e;

		if (!d) {
			if (fd >= 0)
				close(fd);
			return fail_sys(u, 0, "cannot read the folder "
					      "received into");
		}
		moved = 0;
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			r = move_into_place(u, e->d_name);
			if (r < 0)
				break;
			moved = 1;
		}
		closedir(d);
		if (r < 0)
			return r;
	}
	close(u->stage_fd);
	u->stage_fd = -1;
	if (unlinkat(u->root_fd, u->stage_name, AT_REMOVEDIR) < 0)
		return fail_sys(u, 0, "cannot remove the folder received into");
	r = fc_sync_fs(u->root_fd);
	if (r < 0)
		return fail_full(u, r, 0, "received, but cannot sync it to "
					  "disk", -r);
	return 0;
}

int fc_unpack_finish(struct fc_unpack *u)
{
	static const char *const where[] = {
		[FC_U_START] = "stream truncated at its start",
		[FC_U_HDR] = "stream truncated in an entry header",
		[FC_U_NAME] = "stream truncated in a name",
		[FC_U_DATA] = "stream truncated in a file's contents",
		[FC_U_LINK] = "stream truncated in a symlink target",
		[FC_U_DIGEST] = "stream truncated in its checksum",
	};

	if (!u->err && u->state != FC_U_DONE)
		fail(u, -EPROTO,
		     u->state == FC_U_DATA || u->state == FC_U_LINK,
		     u->state <= FC_U_DIGEST ? where[u->state]
					     : "stream truncated");
	if (!u->err && u->stage_fd >= 0)
		publish(u);
	release(u);
	return u->err;
}

int fc_open_incoming(const char *home, const char *source, char *msg,
		     size_t cap)
{
	int hfd, ifd, sfd;

	if (!fc_qube_name_valid(source)) {
		snprintf(msg, cap, "invalid source qube name");
		return -EINVAL;
	}
	if (!home || home[0] != '/') {
		snprintf(msg, cap, "HOME is not an absolute path");
		return -EINVAL;
	}
	/* HOME is ours (trusted): it may be a symlink, e.g. to /rw/home. */
	hfd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (hfd < 0) {
		int e = errno;

		snprintf(msg, cap, "%s: %s", home, strerror(e));
		return -e;
	}
	if (mkdirat(hfd, "Incoming", 0700) < 0 && errno != EEXIST)
		goto err_home;
	ifd = openat(hfd, "Incoming",
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ifd < 0)
		goto err_home;
	close(hfd);
	if (mkdirat(ifd, source, 0700) < 0 && errno != EEXIST)
		goto err_inc;
	sfd = openat(ifd, source,
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		goto err_inc;
	close(ifd);
	return sfd;

err_home: {
	int e = errno;

	close(hfd);
	snprintf(msg, cap, "%s/Incoming: %s", home, strerror(e));
	return -e;
}
err_inc: {
	int e = errno;

	close(ifd);
	snprintf(msg, cap, "%s/Incoming/%s: %s", home, source, strerror(e));
	return -e;
}
}

/* Bytes read from the sender at a time. */
#define FC_RECV_CHUNK (128u * 1024u)

int fc_receive(int in_fd, int out_fd, int dirfd, char *msg, size_t cap)
{
	struct fc_unpack *u = malloc(sizeof(*u));
	uint8_t *buf = malloc(FC_RECV_CHUNK);
	uint8_t status[FC_STATUS_HDR_LEN + FC_MAX_STATUS_TEXT];
	size_t slen;
	int r, w;

	if (!u || !buf) {
		free(u);
		free(buf);
		snprintf(msg, cap, "out of memory");
		slen = fc_status_encode(status, sizeof(status), ENOMEM, NULL,
					"receiver out of memory");
		bh_write_all(out_fd, status, slen);
		return -ENOMEM;
	}
	/* A file beyond RLIMIT_FSIZE: write() then fails with EFBIG, which
	 * the status reports, instead of the signal killing us silently. */
	signal(SIGXFSZ, SIG_IGN);
	r = fc_unpack_init(u, dirfd);
	/* To the end of the input, also after the digest (r == 1): any byte
	 * after it is an error. The sender ends its side once it sent the
	 * digest. */
	while (r >= 0) {
		ssize_t n = read(in_fd, buf, FC_RECV_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			/* Not the stream's fault: our own message. */
			r = fail_full(u, -e, 0, "reading the stream", e);
			break;
		}
		if (n == 0)
			break;
		r = fc_unpack_feed(u, buf, (size_t)n);
	}
	r = fc_unpack_finish(u);
	slen = fc_status_encode(status, sizeof(status), (uint32_t)-r,
				u->have_digest ? u->digest : NULL,
				r ? u->msg : "ok");
	snprintf(msg, cap, "%s", r ? u->msg : "ok");
	w = bh_write_all(out_fd, status, slen);
	if (w < 0 && r == 0) {
		snprintf(msg, cap, "cannot send the status: %s", strerror(-w));
		r = w;
	}
	free(buf);
	free(u);
	return r;
}
