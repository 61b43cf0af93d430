/* Unit tests of the file-copy sender (src/guest/filecopy_pack.c) against
 * the receiver (fc_receive) over a socket pair: the sender runs in a
 * forked child, as bh-copy runs in its own qube, the receiver here. Each
 * test has a fresh temporary folder:
 *
 *   TMP/src/       what is copied
 *   TMP/dest/      the receiving folder
 *   TMP/outside/   must stay as it is (one sentinel file)
 *
 * Also: sources the sender refuses before sending anything, receivers
 * that misbehave (no status, early success, wrong digest), --move. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest/filecopy.h"
#include "lib/util.h"

#define MIB (1024ull * 1024)
#define BIG_SIZE (200 * MIB)

struct env {
	char top[64];
	char src[96], dest[96], outside[96];
	int dest_fd;
};

struct result {
	int r;
	char msg[2048];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char p[160];
	int fd;

	assert_non_null(e);
	strcpy(e->top, "/tmp/bh-fc-rt.XXXXXX");
	assert_non_null(mkdtemp(e->top));
	snprintf(e->src, sizeof(e->src), "%s/src", e->top);
	snprintf(e->dest, sizeof(e->dest), "%s/dest", e->top);
	snprintf(e->outside, sizeof(e->outside), "%s/outside", e->top);
	assert_int_equal(mkdir(e->src, 0755), 0);
	assert_int_equal(mkdir(e->dest, 0700), 0);
	assert_int_equal(mkdir(e->outside, 0700), 0);
	snprintf(p, sizeof(p), "%s/sentinel", e->outside);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	e->dest_fd = open(e->dest, O_RDONLY | O_DIRECTORY);
	assert_true(e->dest_fd >= 0);
	signal(SIGPIPE, SIG_IGN);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	close(e->dest_fd);
	assert_int_equal(bh_rm_rf(e->top), 0);
	free(e);
	return 0;
}

static void check_outside(const struct env *e)
{
	struct dirent **names;
	int n = scandir(e->outside, &names, NULL, alphasort), i;
	char p[160], buf[8];
	int fd;

	assert_int_equal(n, 3); /* ., .., sentinel */
	assert_string_equal(names[2]->d_name, "sentinel");
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	snprintf(p, sizeof(p), "%s/sentinel", e->outside);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "keep", 4);
	close(fd);
}

/* ---- building sources ---- */

static void path_of(const struct env *e, const char *rel, char *out,
		    size_t cap)
{
	snprintf(out, cap, "%s/%s", e->src, rel);
}

static void mk_file(const struct env *e, const char *rel, const void *data,
		    size_t len, mode_t mode)
{
	char p[512];
	int fd;

	path_of(e, rel, p, sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	if (len)
		assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void mk_dir(const struct env *e, const char *rel)
{
	char p[512];

	path_of(e, rel, p, sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
}

static void mk_link(const struct env *e, const char *rel, const char *target)
{
	char p[512];

	path_of(e, rel, p, sizeof(p));
	assert_int_equal(symlink(target, p), 0);
}

static void set_time(const struct env *e, const char *rel, time_t sec,
		     long nsec)
{
	struct timespec ts[2] = { { sec, nsec }, { sec, nsec } };
	char p[512];

	path_of(e, rel, p, sizeof(p));
	assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void set_mode(const struct env *e, const char *rel, mode_t mode)
{
	char p[512];

	path_of(e, rel, p, sizeof(p));
	assert_int_equal(chmod(p, mode), 0);
}

/* ---- running a copy ---- */

/* The sender in a child: fc_pack_paths on one end of a socket pair; its
 * result comes back through a pipe. The receiver's side is `recv_fn`,
 * here, on the other end. */
typedef int (*recv_fn)(struct env *e, int fd, char *msg, size_t cap);

static int real_receiver(struct env *e, int fd, char *msg, size_t cap)
{
	return fc_receive(fd, fd, e->dest_fd, msg, cap);
}

static void run_copy(struct env *e, char *const paths[], size_t n,
		     recv_fn recv, int *recv_r, char *recv_msg,
		     struct result *sent)
{
	int sv[2], rp[2], status;
	pid_t pid;
	char msg[2048];
	ssize_t got = 0, k;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv),
			 0);
	assert_int_equal(pipe(rp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct result res;

		close(sv[0]);
		close(rp[0]);
		memset(&res, 0, sizeof(res));
		res.r = fc_pack_paths(sv[1], sv[1], paths, n, NULL, res.msg,
				      sizeof(res.msg));
		close(sv[1]);
		bh_write_all(rp[1], &res, sizeof(res));
		_exit(0);
	}
	close(sv[1]);
	close(rp[1]);
	*recv_r = recv(e, sv[0], msg, sizeof(msg));
	if (recv_msg)
		strcpy(recv_msg, msg);
	close(sv[0]);
	while (got < (ssize_t)sizeof(*sent) &&
	       (k = read(rp[0], (char *)sent + got,
			 sizeof(*sent) - (size_t)got)) > 0)
		got += k;
	close(rp[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(got, (ssize_t)sizeof(*sent));
	check_outside(e);
}

/* ---- comparing trees ---- */

static void compare_entry(int sfd, int dfd, const char *name, int top);

static void compare_dir_contents(int sfd, int dfd)
{
	struct dirent **names;
	int n = scandirat(sfd, ".", &names, NULL, alphasort), i, count = 0;
	DIR *d;
	struct dirent *de;
	int dfd2 = dup(dfd);

	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") &&
		    strcmp(names[i]->d_name, "..")) {
			compare_entry(sfd, dfd, names[i]->d_name, 0);
			count++;
		}
		free(names[i]);
	}
	free(names);
	/* No more entries on the receiving side. */
	d = fdopendir(dfd2);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			count--;
	closedir(d);
	assert_int_equal(count, 0);
}

static void compare_entry(int sfd, int dfd, const char *name, int top)
{
	struct stat a, b;

	assert_int_equal(fstatat(sfd, name, &a, AT_SYMLINK_NOFOLLOW), 0);
	if (fstatat(dfd, name, &b, AT_SYMLINK_NOFOLLOW) != 0)
		fail_msg("%s missing on the receiving side", name);
	assert_int_equal(a.st_mode & S_IFMT, b.st_mode & S_IFMT);
	assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
	assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
	if (S_ISLNK(a.st_mode)) {
		char ta[256], tb[256];
		ssize_t na = readlinkat(sfd, name, ta, sizeof(ta));
		ssize_t nb = readlinkat(dfd, name, tb, sizeof(tb));

		assert_true(na > 0);
		assert_int_equal(na, nb);
		assert_memory_equal(ta, tb, (size_t)na);
		return;
	}
	/* Permission bits kept, setuid/setgid/sticky dropped. */
	assert_int_equal(b.st_mode & 07777, a.st_mode & 0777);
	if (S_ISREG(a.st_mode)) {
		int fa = openat(sfd, name, O_RDONLY), fb = openat(dfd, name,
								  O_RDONLY);
		char ba[65536], bb[65536];
		ssize_t na, nb;

		assert_true(fa >= 0 && fb >= 0);
		assert_int_equal(a.st_size, b.st_size);
		do {
			na = read(fa, ba, sizeof(ba));
			nb = read(fb, bb, sizeof(bb));
			assert_int_equal(na, nb);
			assert_memory_equal(ba, bb, (size_t)(na > 0 ? na : 0));
		} while (na > 0);
		close(fa);
		close(fb);
	} else if (S_ISDIR(a.st_mode)) {
		int sa = openat(sfd, name, O_RDONLY | O_DIRECTORY);
		int da = openat(dfd, name, O_RDONLY | O_DIRECTORY);

		assert_true(sa >= 0 && da >= 0);
		compare_dir_contents(sa, da);
		close(sa);
		close(da);
	}
	(void)top;
}

/* ---- tests ---- */

static void build_tree(struct env *e)
{
	uint8_t bin[256];
	int i;

	for (i = 0; i < 256; i++)
		bin[i] = (uint8_t)i;
	mk_dir(e, "tree");
	mk_file(e, "tree/a.txt", "alpha\n", 6, 0640);
	mk_file(e, "tree/empty", "", 0, 0600);
	mk_file(e, "tree/suid", "#!/bin/sh\n", 10, 04755);
	mk_file(e, "tree/sgid-sticky", "x", 1, 03711);
	mk_dir(e, "tree/sub");
	mk_dir(e, "tree/sub/deep");
	mk_file(e, "tree/sub/deep/x", bin, sizeof(bin), 0444);
	mk_dir(e, "tree/links");
	mk_link(e, "tree/links/rel", "../a.txt");
	mk_link(e, "tree/links/dot", ".");
	mk_link(e, "tree/links/dangling", "nothere");
	mk_link(e, "tree/links/dirlink", "../sub/deep");
	mk_file(e, "single.bin", bin, sizeof(bin), 0600);
	set_time(e, "tree/a.txt", 946684800, 123456789);
	set_time(e, "tree/empty", 1, 0);
	set_time(e, "tree/links/rel", 1234567890, 42);
	set_time(e, "tree/sub/deep/x", 1500000000, 999999999);
	/* Directories last: making their children changed their times. */
	set_mode(e, "tree/sub/deep", 0500);
	set_mode(e, "tree/sub", 0750);
	set_time(e, "tree/sub/deep", 1600000000, 1);
	set_time(e, "tree/sub", 1600000001, 2);
	set_time(e, "tree/links", 1600000002, 3);
	set_time(e, "tree", 1600000003, 4);
}

static void test_tree_roundtrip(void **state)
{
	struct env *e = *state;
	char p1[160], p2[160], rmsg[2048];
	char *paths[] = { p1, p2 };
	struct result sent;
	int rr, sfd;
	struct stat st;

	build_tree(e);
	snprintf(p1, sizeof(p1), "%s/tree/", e->src); /* trailing '/' */
	snprintf(p2, sizeof(p2), "%s/single.bin", e->src);
	run_copy(e, paths, 2, real_receiver, &rr, rmsg, &sent);
	if (sent.r != 0 || rr != 0)
		fail_msg("sender %d (%s), receiver %d (%s)", sent.r, sent.msg,
			 rr, rmsg);
	sfd = open(e->src, O_RDONLY | O_DIRECTORY);
	assert_true(sfd >= 0);
	compare_dir_contents(sfd, e->dest_fd);
	close(sfd);
	/* Spelled out, the points that matter most. */
	assert_int_equal(fstatat(e->dest_fd, "tree/suid", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(fstatat(e->dest_fd, "tree/sgid-sticky", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0711);
	assert_int_equal(fstatat(e->dest_fd, "tree/sub/deep", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0500);
	assert_int_equal(st.st_mtim.tv_sec, 1600000000);
	assert_int_equal(fstatat(e->dest_fd, "tree/links/dot", &st,
				 AT_SYMLINK_NOFOLLOW),
			 0);
	assert_true(S_ISLNK(st.st_mode));
}

/* 200 MiB, sparse at the source, a few marked bytes so that contents
 * matter; the receiver keeps holes as holes. */
static void test_big_sparse(void **state)
{
	struct env *e = *state;
	static const uint64_t marks[] = { 0, 4096, 100 * MIB + 7,
					  BIG_SIZE - 1 };
	char p[160], p2[160], rmsg[2048];
	char *paths[] = { p, p2 };
	struct result sent;
	struct stat st;
	size_t i;
	int fd, rr;

	/* A file that ends in a hole: its size comes from the header. */
	snprintf(p2, sizeof(p2), "%s/tail-hole", e->src);
	fd = open(p2, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "T", 1), 1);
	assert_int_equal(ftruncate(fd, (off_t)(3 * MIB)), 0);
	close(fd);

	snprintf(p, sizeof(p), "%s/big", e->src);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)BIG_SIZE), 0);
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		uint8_t b = (uint8_t)(0x41 + i);

		assert_int_equal(pwrite(fd, &b, 1, (off_t)marks[i]), 1);
	}
	close(fd);
	run_copy(e, paths, 2, real_receiver, &rr, rmsg, &sent);
	if (sent.r != 0 || rr != 0)
		fail_msg("sender %d (%s), receiver %d (%s)", sent.r, sent.msg,
			 rr, rmsg);
	assert_int_equal(fstatat(e->dest_fd, "tail-hole", &st, 0), 0);
	assert_int_equal(st.st_size, 3 * MIB);
	assert_int_equal(fstatat(e->dest_fd, "big", &st, 0), 0);
	assert_int_equal((uint64_t)st.st_size, BIG_SIZE);
	/* Holes stayed holes (a full copy would take 200 MiB). */
	assert_true((uint64_t)st.st_blocks * 512 < 16 * MIB);
	fd = openat(e->dest_fd, "big", O_RDONLY);
	assert_true(fd >= 0);
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		uint8_t b = 0, z = 1;

		assert_int_equal(pread(fd, &b, 1, (off_t)marks[i]), 1);
		assert_int_equal(b, 0x41 + i);
		if (marks[i] + 1 < BIG_SIZE && marks[i] + 1 != 4096) {
			assert_int_equal(pread(fd, &z, 1,
					       (off_t)marks[i] + 1),
					 1);
			assert_int_equal(z, 0);
		}
	}
	close(fd);
}

/* The receiver's first error comes back to the sender, who fails. */
static void test_receiver_error_reported(void **state)
{
	struct env *e = *state;
	char p[160], rmsg[2048], buf[8];
	char *paths[] = { p };
	struct result sent;
	int rr, fd;

	mk_dir(e, "docs");
	mk_file(e, "docs/a", "new", 3, 0644);
	assert_int_equal(mkdirat(e->dest_fd, "docs", 0700), 0);
	fd = openat(e->dest_fd, "docs/a", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old", 3), 3);
	close(fd);
	snprintf(p, sizeof(p), "%s/docs", e->src);
	run_copy(e, paths, 1, real_receiver, &rr, rmsg, &sent);
	assert_int_equal(rr, -EEXIST);
	assert_int_equal(sent.r, -EEXIST);
	if (!strstr(sent.msg, "docs: already exists"))
		fail_msg("sender's message: %s", sent.msg);
	fd = openat(e->dest_fd, "docs/a", O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "old", 3);
	close(fd);
}

static void expect_check_refused(struct env *e, const char *rel, int want,
				 const char *msg_part)
{
	char p[160], msg[2048];
	char *paths[] = { p };
	int sv[2];
	uint8_t b;

	snprintf(p, sizeof(p), "%s/%s", e->src, rel);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv),
			 0);
	assert_int_equal(fc_pack_paths(sv[1], sv[1], paths, 1, NULL, msg,
				       sizeof(msg)),
			 want);
	if (!strstr(msg, msg_part))
		fail_msg("message \"%s\" lacks \"%s\"", msg, msg_part);
	/* Nothing was sent. */
	assert_int_equal(read(sv[0], &b, 1), -1);
	assert_int_equal(errno, EAGAIN);
	close(sv[0]);
	close(sv[1]);
}

static void test_sender_refuses_first(void **state)
{
	struct env *e = *state;
	char p[160], msg[2048];
	char *two[2];
	char p1[160], p2[160];

	expect_check_refused(e, "missing", -ENOENT, "missing");
	path_of(e, "fifo", p, sizeof(p));
	assert_int_equal(mkfifo(p, 0644), 0);
	expect_check_refused(e, "fifo", -EOPNOTSUPP, "not a regular file");
	/* Inside a folder too: nothing is sent although "a" comes first. */
	mk_dir(e, "d");
	mk_file(e, "d/a", "a", 1, 0644);
	path_of(e, "d/fifo", p, sizeof(p));
	assert_int_equal(mkfifo(p, 0644), 0);
	expect_check_refused(e, "d", -EOPNOTSUPP, "d/fifo");
	mk_link(e, "passwd", "/etc/passwd");
	expect_check_refused(e, "passwd", -ENOLINK, "absolute");
	mk_dir(e, "e");
	mk_link(e, "e/up", "../../outside");
	expect_check_refused(e, "e", -ENOLINK, "e/up");
	mk_dir(e, "f");
	mk_file(e, "f/bad\nname", "x", 1, 0644);
	expect_check_refused(e, "f", -EILSEQ, "bad\\x0aname");

	/* Two sources with one name. */
	mk_dir(e, "x1");
	mk_dir(e, "x2");
	mk_file(e, "x1/same", "1", 1, 0644);
	mk_file(e, "x2/same", "2", 1, 0644);
	snprintf(p1, sizeof(p1), "%s/x1/same", e->src);
	snprintf(p2, sizeof(p2), "%s/x2/same", e->src);
	two[0] = p1;
	two[1] = p2;
	assert_int_equal(fc_pack_check(two, 2, NULL, msg, sizeof(msg)),
			 -EEXIST);
	assert_non_null(strstr(msg, "two sources"));
	/* The root cannot be copied by name; nothing to copy is an error. */
	two[0] = "/";
	assert_int_equal(fc_pack_check(two, 1, NULL, msg, sizeof(msg)),
			 -EINVAL);
	assert_int_equal(fc_pack_check(two, 0, NULL, msg, sizeof(msg)),
			 -EINVAL);
}

/* Top-level symlinks are sent as symlinks (trailing '/' or not); "."
 * is sent under its real name. */
static void test_top_level_args(void **state)
{
	struct env *e = *state;
	char p1[160], p2[160], rmsg[2048];
	char *paths[] = { p1, p2 };
	struct result sent;
	struct stat st;
	int rr;

	mk_dir(e, "real");
	mk_file(e, "real/f", "f", 1, 0644);
	mk_link(e, "lnk", "real");
	snprintf(p1, sizeof(p1), "%s/lnk/", e->src);
	snprintf(p2, sizeof(p2), "%s/real/.", e->src);
	run_copy(e, paths, 2, real_receiver, &rr, rmsg, &sent);
	if (sent.r != 0 || rr != 0)
		fail_msg("sender %d (%s), receiver %d (%s)", sent.r, sent.msg,
			 rr, rmsg);
	assert_int_equal(fstatat(e->dest_fd, "lnk", &st, AT_SYMLINK_NOFOLLOW),
			 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(fstatat(e->dest_fd, "real/f", &st,
				 AT_SYMLINK_NOFOLLOW),
			 0);
	assert_true(S_ISREG(st.st_mode));
}

/* ---- receivers that misbehave ---- */

static int recv_close_at_once(struct env *e, int fd, char *msg, size_t cap)
{
	(void)e;
	snprintf(msg, cap, "closed");
	return 0;
}

static int recv_success_at_once(struct env *e, int fd, char *msg, size_t cap)
{
	uint8_t st[FC_STATUS_HDR_LEN];
	size_t n = fc_status_encode(st, sizeof(st), 0, NULL, "");

	(void)e;
	assert_int_equal(bh_write_all(fd, st, n), 0);
	snprintf(msg, cap, "lied");
	return 0;
}

static int recv_garbage(struct env *e, int fd, char *msg, size_t cap)
{
	(void)e;
	assert_int_equal(bh_write_all(fd, "HTTP/1.0 200 OK\r\n", 17), 0);
	snprintf(msg, cap, "garbage");
	return 0;
}

/* Reads the whole stream properly, then claims success for another
 * digest. */
static int recv_wrong_digest(struct env *e, int fd, char *msg, size_t cap)
{
	struct fc_unpack *u = malloc(sizeof(*u));
	uint8_t buf[4096], st[FC_STATUS_HDR_LEN], dg[FC_DIGEST_LEN];
	size_t n;
	int r = 0;

	assert_non_null(u);
	fc_unpack_init(u, e->dest_fd);
	while (r == 0) {
		ssize_t k = read(fd, buf, sizeof(buf));

		assert_true(k > 0);
		r = fc_unpack_feed(u, buf, (size_t)k);
	}
	assert_int_equal(r, 1);
	assert_int_equal(fc_unpack_finish(u), 0);
	memcpy(dg, u->digest, sizeof(dg));
	dg[0] ^= 1;
	n = fc_status_encode(st, sizeof(st), 0, dg, "");
	assert_int_equal(bh_write_all(fd, st, n), 0);
	free(u);
	snprintf(msg, cap, "digest");
	return 0;
}

/* An error status whose text tries to drive the sender's terminal. */
static int recv_hostile_text(struct env *e, int fd, char *msg, size_t cap)
{
	uint8_t st[FC_STATUS_HDR_LEN + 64];
	size_t n = fc_status_encode(st, sizeof(st), 0x7fffffffu, NULL,
				    "\x1b]0;owned\x07 no");

	(void)e;
	assert_int_equal(bh_write_all(fd, st, n), 0);
	snprintf(msg, cap, "hostile");
	return 0;
}

/* Reads some of the stream, then stops with an error (a full disk):
 * the sender is still sending when the status arrives. */
static int recv_refuse_midway(struct env *e, int fd, char *msg, size_t cap)
{
	uint8_t buf[4096], st[FC_STATUS_HDR_LEN + 64];
	size_t got = 0, n;

	(void)e;
	while (got < 100000) {
		ssize_t k = read(fd, buf, sizeof(buf));

		assert_true(k > 0);
		got += (size_t)k;
	}
	n = fc_status_encode(st, sizeof(st), EDQUOT, NULL, "f: disk full");
	assert_int_equal(bh_write_all(fd, st, n), 0);
	snprintf(msg, cap, "midway");
	return -EDQUOT;
}

static void test_bad_receivers(void **state)
{
	struct env *e = *state;
	char p[160];
	char *paths[] = { p };
	struct result sent;
	int rr;
	char *big = malloc(4 * MIB);

	/* More than a socket buffer holds: the sender is still sending
	 * when each of these receivers answers. */
	assert_non_null(big);
	memset(big, 'b', 4 * MIB);
	mk_file(e, "f", big, 4 * MIB, 0644);
	free(big);
	snprintf(p, sizeof(p), "%s/f", e->src);

	run_copy(e, paths, 1, recv_close_at_once, &rr, NULL, &sent);
	assert_int_equal(sent.r, -ECONNRESET);
	assert_non_null(strstr(sent.msg, "without a status"));

	run_copy(e, paths, 1, recv_refuse_midway, &rr, NULL, &sent);
	assert_int_equal(sent.r, -EDQUOT);
	assert_non_null(strstr(sent.msg, "f: disk full"));

	run_copy(e, paths, 1, recv_success_at_once, &rr, NULL, &sent);
	assert_int_equal(sent.r, -EPROTO);
	assert_non_null(strstr(sent.msg, "before the end"));

	run_copy(e, paths, 1, recv_garbage, &rr, NULL, &sent);
	assert_int_equal(sent.r, -EPROTO);
	assert_non_null(strstr(sent.msg, "malformed"));

	run_copy(e, paths, 1, recv_wrong_digest, &rr, NULL, &sent);
	assert_int_equal(sent.r, -EBADMSG);
	assert_int_equal(unlinkat(e->dest_fd, "f", 0), 0);

	run_copy(e, paths, 1, recv_hostile_text, &rr, NULL, &sent);
	assert_int_equal(sent.r, -EPROTO); /* out-of-range code */
	assert_null(strchr(sent.msg, '\x1b'));
	assert_null(strchr(sent.msg, '\x07'));
	assert_non_null(strstr(sent.msg, "\\x1b]0;owned\\x07 no"));
}

static void test_move(void **state)
{
	struct env *e = *state;
	char p1[160], p2[160], rmsg[2048], msg[256];
	char *paths[] = { p1, p2 };
	struct result sent;
	struct stat st;
	int rr;

	mk_dir(e, "keep");
	mk_file(e, "keep/k", "k", 1, 0644);
	mk_dir(e, "mv");
	mk_file(e, "mv/a", "a", 1, 0644);
	mk_link(e, "mvlink", "keep"); /* removing it must not touch keep/ */
	snprintf(p1, sizeof(p1), "%s/mv", e->src);
	snprintf(p2, sizeof(p2), "%s/mvlink/", e->src);

	/* A failed copy removes nothing: bh-copy --move removes only
	 * after fc_pack_paths returned 0. Here: the name exists. */
	assert_int_equal(mkdirat(e->dest_fd, "mv", 0700), 0);
	run_copy(e, paths, 2, real_receiver, &rr, rmsg, &sent);
	assert_int_equal(sent.r, -EEXIST);
	assert_int_equal(unlinkat(e->dest_fd, "mv", AT_REMOVEDIR), 0);

	run_copy(e, paths, 2, real_receiver, &rr, rmsg, &sent);
	if (sent.r != 0 || rr != 0)
		fail_msg("sender %d (%s), receiver %d (%s)", sent.r, sent.msg,
			 rr, rmsg);
	assert_int_equal(fc_remove_sources(paths, 2, msg, sizeof(msg)), 0);
	assert_int_equal(lstat(p1, &st), -1);
	snprintf(p2, sizeof(p2), "%s/mvlink", e->src);
	assert_int_equal(lstat(p2, &st), -1);
	snprintf(p2, sizeof(p2), "%s/keep/k", e->src);
	assert_int_equal(lstat(p2, &st), 0);
	assert_int_equal(fstatat(e->dest_fd, "mv/a", &st, 0), 0);
}

/* ---- durability before the word "copied" ---- */

/* What the receiver's sync hook saw at each call. */
static struct {
	int calls;
	int fail_at;          /* the call (1, 2...) that fails with EIO */
	int status_fd;        /* where the status will arrive */
	int dest_fd;
	int status_waiting[4]; /* bytes of status already written */
	int visible[4];        /* the copied file under its final name */
} watch;

static int watching_sync(int fd)
{
	int i = watch.calls++, n = -1;

	(void)fd;
	if (i < 4) {
		assert_int_equal(ioctl(watch.status_fd, FIONREAD, &n), 0);
		watch.status_waiting[i] = n;
		watch.visible[i] = faccessat(watch.dest_fd, "mv/a", F_OK,
					     AT_SYMLINK_NOFOLLOW) == 0;
	}
	return watch.calls == watch.fail_at ? -EIO : 0;
}

/* fc_receive with its status going through a pipe that the sync hook
 * can look into; the status is passed on to the sender afterwards. */
static int recv_watching_sync(struct env *e, int fd, char *msg, size_t cap)
{
	uint8_t buf[FC_STATUS_HDR_LEN + FC_MAX_STATUS_TEXT];
	int p[2], r;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	watch.status_fd = p[0];
	watch.dest_fd = e->dest_fd;
	fc_sync_fs = watching_sync;
	r = fc_receive(fd, p[1], e->dest_fd, msg, cap);
	fc_sync_fs = fc_sync_fs_default;
	close(p[1]);
	n = read(p[0], buf, sizeof(buf));
	close(p[0]);
	assert_true(n > 0);
	assert_int_equal(bh_write_all(fd, buf, (size_t)n), 0);
	return r;
}

/* bh-copy --move removes the sources once the receiver said "copied":
 * by then what was received must be on disk. The receiver syncs the
 * files before they get their names, and the names before it answers;
 * a failed sync is an error status, and the sources stay. */
static void test_success_status_only_after_sync(void **state)
{
	struct env *e = *state;
	char p1[160], rmsg[2048], msg[256];
	char *paths[] = { p1 };
	struct result sent;
	struct stat st;
	int rr;

	mk_dir(e, "mv");
	mk_file(e, "mv/a", "a", 1, 0644);
	snprintf(p1, sizeof(p1), "%s/mv", e->src);

	/* The first sync fails: nothing is kept, the sender fails. */
	memset(&watch, 0, sizeof(watch));
	watch.fail_at = 1;
	run_copy(e, paths, 1, recv_watching_sync, &rr, rmsg, &sent);
	assert_int_equal(rr, -EIO);
	assert_int_equal(sent.r, -EIO);
	assert_int_equal(watch.calls, 1);
	assert_int_equal(fstatat(e->dest_fd, "mv", &st, 0), -1);

	/* The last sync fails: the files are there, but the sender is told
	 * of the error (so --move would remove nothing). */
	memset(&watch, 0, sizeof(watch));
	watch.fail_at = 2;
	run_copy(e, paths, 1, recv_watching_sync, &rr, rmsg, &sent);
	assert_int_equal(rr, -EIO);
	assert_int_equal(sent.r, -EIO);
	assert_int_equal(watch.calls, 2);
	assert_int_equal(bh_rm_rf(e->dest), 0);
	assert_int_equal(mkdir(e->dest, 0700), 0);
	close(e->dest_fd);
	e->dest_fd = open(e->dest, O_RDONLY | O_DIRECTORY);
	assert_true(e->dest_fd >= 0);

	/* Success: a sync of the contents before the name appears, one
	 * after, and the status only once both are done. */
	memset(&watch, 0, sizeof(watch));
	run_copy(e, paths, 1, recv_watching_sync, &rr, rmsg, &sent);
	if (sent.r != 0 || rr != 0)
		fail_msg("sender %d (%s), receiver %d (%s)", sent.r, sent.msg,
			 rr, rmsg);
	assert_int_equal(watch.calls, 2);
	assert_int_equal(watch.status_waiting[0], 0);
	assert_int_equal(watch.status_waiting[1], 0);
	assert_int_equal(watch.visible[0], 0);
	assert_int_equal(watch.visible[1], 1);
	assert_int_equal(fc_remove_sources(paths, 1, msg, sizeof(msg)), 0);
	assert_int_equal(lstat(p1, &st), -1);
	assert_int_equal(fstatat(e->dest_fd, "mv/a", &st, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tree_roundtrip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_big_sparse, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_receiver_error_reported,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sender_refuses_first,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_top_level_args, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_receivers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_move, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_success_status_only_after_sync, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
