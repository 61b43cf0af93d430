/* Unit tests of src/guest/filecopy_unpack.c: the receiver fed with valid
 * and hostile streams built byte by byte, in one piece and in small
 * chunks. Each test runs in a fresh temporary folder:
 *
 *   TMP/dest/      the receiving folder (Incoming/SOURCE's role)
 *   TMP/outside/   holds only `sentinel`, with known contents
 *
 * and after every stream checks that TMP holds exactly dest and outside,
 * and outside exactly its sentinel: nothing was made, followed or changed
 * outside the receiving folder. Chunks handed to the receiver are heap
 * copies of exactly their length, so that ASan sees a read past one. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest/filecopy.h"
#include "lib/util.h"

#define SENTINEL "do not touch\n"

struct env {
	char top[64];
	char dest[96];
	int dest_fd;
	int keep; /* expect_refused leaves dest as it is */
};

/* ---- stream builder ---- */

struct sb {
	uint8_t *buf;
	size_t len, cap;
};

static void sb_put(struct sb *s, const void *p, size_t n)
{
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2 + 64;
		s->buf = realloc(s->buf, s->cap);
		assert_non_null(s->buf);
	}
	if (n)
		memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void sb_start(struct sb *s)
{
	uint8_t st[FC_START_LEN];

	memset(s, 0, sizeof(*s));
	fc_start_encode(st);
	sb_put(s, st, sizeof(st));
}

/* A header (declaring data_len) and the name; the data is up to the
 * caller. */
static void sb_hdr(struct sb *s, uint32_t type, uint32_t mode, int64_t sec,
		   uint32_t nsec, const char *name, size_t name_len,
		   uint64_t data_len)
{
	struct fc_hdr h = { .type = type, .mode = mode, .mtime_sec = sec,
			    .mtime_nsec = nsec, .name_len = (uint32_t)name_len,
			    .data_len = data_len };
	uint8_t raw[FC_HDR_LEN];

	fc_hdr_encode(raw, &h);
	sb_put(s, raw, sizeof(raw));
	sb_put(s, name, name_len);
}

static void sb_file(struct sb *s, const char *name, uint32_t mode,
		    const char *data)
{
	sb_hdr(s, FC_T_FILE, mode, 1000000000, 5, name, strlen(name),
	       strlen(data));
	sb_put(s, data, strlen(data));
}

static void sb_dir(struct sb *s, const char *name, uint32_t mode)
{
	sb_hdr(s, FC_T_DIR, mode, 1100000000, 7, name, strlen(name), 0);
}

static void sb_dir_end(struct sb *s)
{
	sb_hdr(s, FC_T_DIR_END, 0, 0, 0, "", 0, 0);
}

static void sb_link(struct sb *s, const char *name, const char *target)
{
	sb_hdr(s, FC_T_SYMLINK, 0777, 1200000000, 9, name, strlen(name),
	       strlen(target));
	sb_put(s, target, strlen(target));
}

/* END and the digest of everything before it; `corrupt` flips a bit. */
static void sb_end(struct sb *s, int corrupt)
{
	uint8_t d[FC_DIGEST_LEN];

	sb_hdr(s, FC_T_END, 0, 0, 0, "", 0, 0);
	crypto_hash_sha256(d, s->buf, s->len);
	if (corrupt)
		d[7] ^= 0x10;
	sb_put(s, d, sizeof(d));
}

static void sb_free(struct sb *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* ---- the folders ---- */

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char p[160];
	int fd;

	assert_non_null(e);
	strcpy(e->top, "/tmp/bh-fc-unpack.XXXXXX");
	assert_non_null(mkdtemp(e->top));
	snprintf(e->dest, sizeof(e->dest), "%s/dest", e->top);
	assert_int_equal(mkdir(e->dest, 0700), 0);
	snprintf(p, sizeof(p), "%s/outside", e->top);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/outside/sentinel", e->top);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, SENTINEL, strlen(SENTINEL)),
			 (ssize_t)strlen(SENTINEL));
	close(fd);
	e->dest_fd = open(e->dest, O_RDONLY | O_DIRECTORY);
	assert_true(e->dest_fd >= 0);
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

/* Names in a folder, sorted, joined with ','. */
static void list_dir(const char *path, char *out, size_t cap)
{
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort), i;
	size_t o = 0;

	assert_true(n >= 0);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") &&
		    strcmp(names[i]->d_name, ".."))
			o += (size_t)snprintf(out + o, cap - o, "%s%s",
					      o ? "," : "", names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

static void check_outside(const struct env *e)
{
	char list[512], p[160], buf[64];
	int fd;
	ssize_t n;

	list_dir(e->top, list, sizeof(list));
	assert_string_equal(list, "dest,outside");
	snprintf(p, sizeof(p), "%s/outside", e->top);
	list_dir(p, list, sizeof(list));
	assert_string_equal(list, "sentinel");
	snprintf(p, sizeof(p), "%s/outside/sentinel", e->top);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, (ssize_t)strlen(SENTINEL));
	assert_memory_equal(buf, SENTINEL, strlen(SENTINEL));
}

static void dest_list(const struct env *e, const char *sub, char *out,
		      size_t cap)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", e->dest, sub);
	list_dir(p, out, cap);
}

static void assert_dest(const struct env *e, const char *sub,
			const char *want)
{
	char list[1024];

	dest_list(e, sub, list, sizeof(list));
	assert_string_equal(list, want);
}

/* Empties dest. */
static void reset_dest(struct env *e)
{
	close(e->dest_fd);
	assert_int_equal(bh_rm_rf(e->dest), 0);
	assert_int_equal(mkdir(e->dest, 0700), 0);
	e->dest_fd = open(e->dest, O_RDONLY | O_DIRECTORY);
	assert_true(e->dest_fd >= 0);
}

/* Feeds buf to a fresh receiver in pieces of `chunk` bytes, then ends the
 * input; returns the result and copies the message to msg. */
static int unpack(const struct env *e, const uint8_t *buf, size_t len,
		  size_t chunk, char *msg, size_t cap)
{
	struct fc_unpack *u = malloc(sizeof(*u));
	size_t off = 0;
	int r = 0, first = 0;

	assert_non_null(u);
	assert_int_equal(fc_unpack_init(u, e->dest_fd), 0);
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk;
		uint8_t *c = malloc(n);

		assert_non_null(c);
		memcpy(c, buf + off, n);
		r = fc_unpack_feed(u, c, n);
		free(c);
		off += n;
		if (r < 0 && !first)
			first = r;
		if (r < 0) {
			/* Sticky: the same error again, nothing more. */
			assert_int_equal(fc_unpack_feed(u, buf, 1), r);
			break;
		}
	}
	r = fc_unpack_finish(u);
	if (first)
		assert_int_equal(r, first);
	assert_int_equal(fc_unpack_finish(u), r); /* twice is harmless */
	if (msg)
		snprintf(msg, cap, "%s", fc_unpack_message(u));
	if (r == 0)
		assert_string_equal(fc_unpack_message(u), "");
	else
		assert_true(fc_unpack_message(u)[0] != '\0');
	free(u);
	check_outside(e);
	return r;
}

/* The same stream in one piece, then, when dest started empty, byte by
 * byte and in 7-byte pieces (emptying dest before each): the result must
 * not depend on the split. */
static int unpack_splits(struct env *e, const struct sb *s, char *msg,
			 size_t cap)
{
	static const size_t chunks[] = { 1, 7 };
	char first_list[1024], list[1024];
	size_t i;
	int r, was_empty;

	dest_list(e, "", list, sizeof(list));
	was_empty = list[0] == '\0';
	r = unpack(e, s->buf, s->len, s->len + 1, msg, cap);
	dest_list(e, "", first_list, sizeof(first_list));
	for (i = 0; was_empty && i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		reset_dest(e);
		assert_int_equal(unpack(e, s->buf, s->len, chunks[i], NULL, 0),
				 r);
		dest_list(e, "", list, sizeof(list));
		assert_string_equal(list, first_list);
	}
	return r;
}

static void read_file(const struct env *e, const char *rel, char *out,
		      size_t cap)
{
	char p[512];
	int fd;
	ssize_t n;

	snprintf(p, sizeof(p), "%s/%s", e->dest, rel);
	fd = open(p, O_RDONLY | O_NOFOLLOW);
	assert_true(fd >= 0);
	n = read(fd, out, cap - 1);
	assert_true(n >= 0);
	out[n] = '\0';
	close(fd);
}

static void lstat_dest(const struct env *e, const char *rel, struct stat *st)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", e->dest, rel);
	assert_int_equal(lstat(p, st), 0);
}

/* ---- valid streams ---- */

static void test_valid_tree(void **state)
{
	struct env *e = *state;
	struct sb s;
	struct stat st;
	char buf[64], link[64];
	char p[512];
	ssize_t n;

	sb_start(&s);
	sb_file(&s, "top.txt", 0644, "hello\n");
	sb_dir(&s, "d", 0550); /* read-only: applied after its children */
	sb_file(&s, "suid", 06755, "#!/bin/sh\n");
	sb_file(&s, "empty", 0600, "");
	sb_link(&s, "up", "../top.txt");
	sb_dir(&s, "e", 01777);
	sb_link(&s, "upup", "../../d/./empty");
	sb_dir_end(&s);
	sb_dir_end(&s);
	sb_link(&s, "dangling", "nothing/here");
	sb_end(&s, 0);
	assert_int_equal(unpack_splits(e, &s, NULL, 0), 0);
	sb_free(&s);

	assert_dest(e, "", "d,dangling,top.txt");
	assert_dest(e, "d", "e,empty,suid,up");
	read_file(e, "top.txt", buf, sizeof(buf));
	assert_string_equal(buf, "hello\n");
	lstat_dest(e, "top.txt", &st);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_mtim.tv_sec, 1000000000);
	assert_int_equal(st.st_mtim.tv_nsec, 5);
	/* setuid and setgid dropped, sticky too. */
	lstat_dest(e, "d/suid", &st);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0755);
	lstat_dest(e, "d/e", &st);
	assert_int_equal(st.st_mode & 07777, 0777);
	lstat_dest(e, "d/empty", &st);
	assert_int_equal(st.st_size, 0);
	lstat_dest(e, "d", &st);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0550);
	assert_int_equal(st.st_mtim.tv_sec, 1100000000);
	assert_int_equal(st.st_mtim.tv_nsec, 7);
	lstat_dest(e, "d/up", &st);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(st.st_mtim.tv_sec, 1200000000);
	snprintf(p, sizeof(p), "%s/d/e/upup", e->dest);
	n = readlink(p, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "../../d/./empty");
}

static void test_empty_stream(void **state)
{
	struct env *e = *state;
	struct sb s;

	sb_start(&s);
	sb_end(&s, 0);
	assert_int_equal(unpack_splits(e, &s, NULL, 0), 0);
	assert_dest(e, "", "");
	sb_free(&s);
}

/* Zeros become holes, and a file that ends in one gets its full size. */
static void test_trailing_hole(void **state)
{
	struct env *e = *state;
	struct fc_unpack *u = malloc(sizeof(*u));
	struct sb s;
	struct stat st;
	size_t data_off;
	char *data = calloc(1, 100000);
	char buf[8];
	int fd;

	assert_non_null(u);
	assert_non_null(data);
	sb_start(&s);
	sb_hdr(&s, FC_T_FILE, 0644, 0, 0, "holes", 5, 100000);
	data_off = s.len;
	data[0] = 'A';
	sb_put(&s, data, 100000);
	sb_end(&s, 0);
	/* The first data byte alone, then 99999 zeros and the end. */
	assert_int_equal(fc_unpack_init(u, e->dest_fd), 0);
	assert_int_equal(fc_unpack_feed(u, s.buf, data_off + 1), 0);
	assert_int_equal(fc_unpack_feed(u, s.buf + data_off + 1,
					s.len - data_off - 1),
			 1);
	assert_int_equal(fc_unpack_finish(u), 0);
	assert_int_equal(fstatat(e->dest_fd, "holes", &st, 0), 0);
	assert_int_equal(st.st_size, 100000);
	fd = openat(e->dest_fd, "holes", O_RDONLY);
	assert_int_equal(pread(fd, buf, 2, 0), 2);
	assert_memory_equal(buf, "A\0", 2);
	assert_int_equal(pread(fd, buf, 2, 99998), 2);
	assert_memory_equal(buf, "\0\0", 2);
	close(fd);
	free(data);
	free(u);
	sb_free(&s);
	check_outside(e);
}

/* ---- hostile streams ---- */

/* A stream with one entry made by `fn`, ended properly: must fail with
 * `want`, leaving dest with `left` (what was there before: nothing of a
 * refused copy is kept). */
static void expect_refused(struct env *e, void (*fn)(struct sb *), int want,
			   const char *left, const char *msg_part)
{
	struct sb s;
	char msg[FC_MAX_STATUS_TEXT + 1];

	if (!e->keep)
		reset_dest(e);
	sb_start(&s);
	fn(&s);
	sb_end(&s, 0);
	assert_int_equal(unpack_splits(e, &s, msg, sizeof(msg)), want);
	assert_dest(e, "", left);
	if (msg_part && !strstr(msg, msg_part))
		fail_msg("message \"%s\" lacks \"%s\"", msg, msg_part);
	sb_free(&s);
}

static void s_dotdot(struct sb *s)
{
	sb_file(s, "ok", 0644, "fine");
	sb_file(s, "..", 0644, "x");
}

static void s_dotdot_dir(struct sb *s)
{
	sb_dir(s, "..", 0755);
	sb_file(s, "evil", 0644, "x");
	sb_dir_end(s);
}

static void s_dot(struct sb *s)
{
	sb_dir(s, ".", 0755);
}

static void s_slash_up(struct sb *s)
{
	sb_file(s, "../outside/sentinel", 0644, "x");
}

static void s_absolute(struct sb *s)
{
	sb_file(s, "/tmp/bh-fc-evil", 0644, "x");
}

static void s_inner_slash(struct sb *s)
{
	sb_dir(s, "a", 0755);
	sb_dir_end(s);
	sb_file(s, "a/b", 0644, "x");
}

static void s_empty_name(struct sb *s)
{
	sb_hdr(s, FC_T_FILE, 0644, 0, 0, "", 0, 0);
}

static void test_bad_names(void **state)
{
	struct env *e = *state;

	expect_refused(e, s_dotdot, -EINVAL, "", "..");
	expect_refused(e, s_dotdot_dir, -EINVAL, "", NULL);
	expect_refused(e, s_dot, -EINVAL, "", NULL);
	expect_refused(e, s_slash_up, -EINVAL, "", NULL);
	expect_refused(e, s_absolute, -EINVAL, "", NULL);
	expect_refused(e, s_inner_slash, -EINVAL, "", NULL);
	expect_refused(e, s_empty_name, -EINVAL, "", NULL);
	assert_int_equal(access("/tmp/bh-fc-evil", F_OK), -1);
}

static void s_ctrl(struct sb *s)
{
	sb_file(s, "a\nb", 0644, "x");
}

static void s_esc(struct sb *s)
{
	sb_file(s, "x\x1b]0;owned\x07", 0644, "x");
}

static void s_del(struct sb *s)
{
	sb_dir(s, "d\x7f", 0755);
	sb_dir_end(s);
}

static void s_link_ctrl(struct sb *s)
{
	sb_link(s, "l", "a\rb");
}

static void test_control_chars(void **state)
{
	struct env *e = *state;

	expect_refused(e, s_ctrl, -EILSEQ, "", "a\\x0ab");
	expect_refused(e, s_esc, -EILSEQ, "", NULL);
	expect_refused(e, s_del, -EILSEQ, "", NULL);
	expect_refused(e, s_link_ctrl, -EILSEQ, "", NULL);
}

static void s_link_passwd(struct sb *s)
{
	sb_link(s, "l", "../../etc/passwd");
}

static void s_link_abs(struct sb *s)
{
	sb_link(s, "l", "/etc/passwd");
}

static void s_link_up_top(struct sb *s)
{
	sb_link(s, "l", "../outside/sentinel");
}

static void s_link_deep_escape(struct sb *s)
{
	sb_dir(s, "a", 0755);
	sb_dir(s, "b", 0755);
	sb_link(s, "ok", "../../x");
	sb_link(s, "l", "../../../outside");
	sb_dir_end(s);
	sb_dir_end(s);
}

/* A link that climbs out through another link: "a/s -> .." is inside
 * (the receiving folder), "a/t -> s/.." would be its parent. */
static void s_link_through_link(struct sb *s)
{
	sb_dir(s, "a", 0755);
	sb_link(s, "s", "..");
	sb_link(s, "t", "s/..");
	sb_dir_end(s);
}

static void test_symlink_escapes(void **state)
{
	struct env *e = *state;

	expect_refused(e, s_link_passwd, -ENOLINK, "", NULL);
	expect_refused(e, s_link_abs, -ENOLINK, "", NULL);
	expect_refused(e, s_link_up_top, -ENOLINK, "", NULL);
	expect_refused(e, s_link_deep_escape, -ENOLINK, "", "a/b/l");
	expect_refused(e, s_link_through_link, -ENOLINK, "", NULL);
}

static void s_chr(struct sb *s)
{
	sb_hdr(s, FC_T_CHR, 0666, 0, 0, "null", 4, 0);
}

static void s_blk(struct sb *s)
{
	sb_hdr(s, FC_T_BLK, 0660, 0, 0, "sda", 3, 0);
}

static void s_fifo(struct sb *s)
{
	sb_hdr(s, FC_T_FIFO, 0644, 0, 0, "fifo", 4, 0);
}

static void s_sock(struct sb *s)
{
	sb_hdr(s, FC_T_SOCK, 0644, 0, 0, "sock", 4, 0);
}

static void test_special_types(void **state)
{
	struct env *e = *state;

	expect_refused(e, s_chr, -EOPNOTSUPP, "", "device");
	expect_refused(e, s_blk, -EOPNOTSUPP, "", "device");
	expect_refused(e, s_fifo, -EOPNOTSUPP, "", "fifo");
	expect_refused(e, s_sock, -EOPNOTSUPP, "", "socket");
}

static void s_x_file(struct sb *s)
{
	sb_file(s, "x", 0644, "new contents");
}

static void s_x_dir(struct sb *s)
{
	sb_dir(s, "x", 0755);
	sb_file(s, "inside", 0644, "y");
	sb_dir_end(s);
}

static void s_x_link(struct sb *s)
{
	sb_link(s, "x", "elsewhere");
}

static void s_twice(struct sb *s)
{
	sb_file(s, "y", 0644, "first");
	sb_file(s, "y", 0644, "second");
}

static void test_no_overwrite(void **state)
{
	struct env *e = *state;
	char buf[64], p[160];
	int fd;

	e->keep = 1;
	fd = openat(e->dest_fd, "x", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old", 3), 3);
	close(fd);
	expect_refused(e, s_x_file, -EEXIST, "x", "x: already exists");
	expect_refused(e, s_x_dir, -EEXIST, "x", NULL);
	expect_refused(e, s_x_link, -EEXIST, "x", NULL);
	read_file(e, "x", buf, sizeof(buf));
	assert_string_equal(buf, "old");

	/* The second of two entries with one name: the first is not kept
	 * either. */
	snprintf(p, sizeof(p), "%s/x", e->dest);
	assert_int_equal(unlink(p), 0);
	expect_refused(e, s_twice, -EEXIST, "", "y: already exists");
}

/* The stream plants a symlink, then writes through its name. */
static void s_plant_file(struct sb *s)
{
	sb_link(s, "l", "target");
	sb_file(s, "l", 0644, "through the link");
}

static void s_plant_dir(struct sb *s)
{
	sb_link(s, "l", ".");
	sb_dir(s, "l", 0755);
	sb_file(s, "f", 0644, "x");
	sb_dir_end(s);
}

static void s_evil_file(struct sb *s)
{
	sb_file(s, "evil", 0644, "overwritten");
}

static void s_evil_dir(struct sb *s)
{
	sb_dir(s, "evil", 0755);
	sb_file(s, "sentinel", 0644, "overwritten");
	sb_dir_end(s);
}

static void test_planted_symlinks(void **state)
{
	struct env *e = *state;
	char p[160];

	expect_refused(e, s_plant_file, -EEXIST, "", NULL);
	expect_refused(e, s_plant_dir, -EEXIST, "", NULL);
	/* The link's target was never made. */
	assert_int_equal(faccessat(e->dest_fd, "target", F_OK,
				   AT_SYMLINK_NOFOLLOW),
			 -1);

	/* A symlink already there (from anyone) pointing outside: neither
	 * a file nor a directory entry goes through it. */
	reset_dest(e);
	e->keep = 1;
	snprintf(p, sizeof(p), "%s/outside/sentinel", e->top);
	assert_int_equal(symlinkat(p, e->dest_fd, "evil"), 0);
	expect_refused(e, s_evil_file, -EEXIST, "evil", NULL);
	snprintf(p, sizeof(p), "%s/outside", e->top);
	assert_int_equal(unlinkat(e->dest_fd, "evil", 0), 0);
	assert_int_equal(symlinkat(p, e->dest_fd, "evil"), 0);
	expect_refused(e, s_evil_dir, -EEXIST, "evil", NULL);
}

static void test_checksum(void **state)
{
	struct env *e = *state;
	struct sb s;
	char msg[FC_MAX_STATUS_TEXT + 1];

	/* A wrong digest: reported, and nothing kept. */
	sb_start(&s);
	sb_file(&s, "a", 0644, "data");
	sb_end(&s, 1);
	assert_int_equal(unpack_splits(e, &s, msg, sizeof(msg)), -EBADMSG);
	assert_non_null(strstr(msg, "checksum"));
	assert_dest(e, "", "");
	sb_free(&s);

	/* A byte changed after the digest was made. */
	sb_start(&s);
	sb_file(&s, "a", 0644, "data");
	sb_end(&s, 0);
	s.buf[s.len - FC_DIGEST_LEN - FC_HDR_LEN - 1] ^= 1;
	assert_int_equal(unpack_splits(e, &s, NULL, 0), -EBADMSG);
	assert_dest(e, "", "");
	sb_free(&s);

	/* Trailing bytes after a good digest. */
	sb_start(&s);
	sb_file(&s, "a", 0644, "data");
	sb_end(&s, 0);
	sb_put(&s, "!", 1);
	assert_int_equal(unpack_splits(e, &s, msg, sizeof(msg)), -EPROTO);
	assert_non_null(strstr(msg, "after the end"));
	assert_dest(e, "", "");
	sb_free(&s);
}

/* Every cut of a valid stream is refused, and leaves nothing: no
 * partial file, and not the complete ones before the cut either. */
static void test_truncated(void **state)
{
	struct env *e = *state;
	struct sb s;
	size_t cut;

	sb_start(&s);
	sb_file(&s, "a", 0644, "first file");
	sb_dir(&s, "d", 0755);
	sb_file(&s, "b", 0600, "second, longer file contents");
	sb_link(&s, "l", "b");
	sb_dir_end(&s);
	sb_end(&s, 0);
	for (cut = 0; cut < s.len; cut++) {
		char msg[FC_MAX_STATUS_TEXT + 1];

		reset_dest(e);
		assert_int_equal(unpack(e, s.buf, cut, 5, msg, sizeof(msg)),
				 -EPROTO);
		assert_non_null(strstr(msg, "truncated"));
		assert_dest(e, "", "");
	}
	sb_free(&s);
}

/* Lengths larger than the data: the declared size swallows what
 * follows, the stream ends early, nothing is kept. */
static void test_length_beyond_data(void **state)
{
	struct env *e = *state;
	struct sb s;
	struct stat st;

	sb_start(&s);
	sb_file(&s, "ok", 0644, "ok");
	sb_hdr(&s, FC_T_FILE, 0644, 0, 0, "big", 3, 1000000);
	sb_put(&s, "only a little", 13);
	sb_end(&s, 0);
	assert_int_equal(unpack_splits(e, &s, NULL, 0), -EPROTO);
	assert_dest(e, "", "");
	sb_free(&s);

	/* A symlink target declared longer than what comes. */
	sb_start(&s);
	sb_hdr(&s, FC_T_SYMLINK, 0777, 0, 0, "l", 1, 4000);
	sb_put(&s, "x", 1);
	sb_end(&s, 0);
	assert_int_equal(unpack_splits(e, &s, NULL, 0), -EPROTO);
	assert_dest(e, "", "");
	sb_free(&s);

	/* A name declared longer than what comes. */
	sb_start(&s);
	sb_hdr(&s, FC_T_FILE, 0644, 0, 0, "n", 1, 0);
	s.buf[s.len - 1 - FC_HDR_LEN + 20] = 200; /* name_len 200 */
	sb_end(&s, 0);
	assert_int_equal(unpack_splits(e, &s, NULL, 0), -EPROTO);
	assert_int_equal(fstatat(e->dest_fd, "n", &st, AT_SYMLINK_NOFOLLOW),
			 -1);
	sb_free(&s);
}

static void test_long_names(void **state)
{
	struct env *e = *state;
	struct sb s;
	char name[300], *target;
	int i;

	/* A 256-byte name, declared so. */
	memset(name, 'n', sizeof(name));
	sb_start(&s);
	sb_hdr(&s, FC_T_FILE, 0644, 0, 0, name, 256, 0);
	sb_end(&s, 0);
	assert_int_equal(unpack_splits(e, &s, NULL, 0), -ENAMETOOLONG);
	assert_dest(e, "", "");
	sb_free(&s);

	/* 255 is fine. */
	sb_start(&s);
	sb_hdr(&s, FC_T_FILE, 0644, 0, 0, name, 255, 0);
	sb_end(&s, 0);
	assert_int_equal(unpack(e, s.buf, s.len, 4096, NULL, 0), 0);
	sb_free(&s);
	reset_dest(e);

	/* A path over 4096 bytes: 16 folders of 255 bytes fit (4095 with
	 * the '/'), a 17th component does not. */
	name[255] = '\0';
	sb_start(&s);
	for (i = 0; i < 16; i++)
		sb_dir(&s, name, 0755);
	sb_file(&s, "z", 0644, "");
	for (i = 0; i < 16; i++)
		sb_dir_end(&s);
	sb_end(&s, 0);
	assert_int_equal(unpack(e, s.buf, s.len, 4096, NULL, 0),
			 -ENAMETOOLONG);
	sb_free(&s);

	/* Nested deeper than FC_MAX_DEPTH. */
	reset_dest(e);
	sb_start(&s);
	for (i = 0; i < (int)FC_MAX_DEPTH + 1; i++)
		sb_dir(&s, "a", 0755);
	sb_end(&s, 0);
	assert_int_equal(unpack(e, s.buf, s.len, 4096, NULL, 0),
			 -ENAMETOOLONG);
	sb_free(&s);

	/* A symlink target over 4095 bytes. */
	target = malloc(FC_MAX_LINK + 2);
	assert_non_null(target);
	memset(target, 't', FC_MAX_LINK + 1);
	target[FC_MAX_LINK + 1] = '\0';
	sb_start(&s);
	sb_link(&s, "long", target);
	sb_end(&s, 0);
	assert_int_equal(unpack(e, s.buf, s.len, 4096, NULL, 0),
			 -ENAMETOOLONG);
	free(target);
	sb_free(&s);
}

static void test_malformed(void **state)
{
	struct env *e = *state;
	struct sb s;
	uint8_t raw[FC_HDR_LEN];
	struct fc_hdr h = { .type = FC_T_FILE, .mode = 0644, .name_len = 1 };

	/* Bad magic, bad version. */
	sb_start(&s);
	s.buf[0] = 'X';
	sb_end(&s, 0);
	assert_int_equal(unpack_splits(e, &s, NULL, 0), -EPROTO);
	sb_free(&s);
	sb_start(&s);
	fc_put_u32(s.buf + 4, 2);
	sb_end(&s, 0);
	assert_int_equal(unpack_splits(e, &s, NULL, 0), -EPROTO);
	sb_free(&s);

	/* DIR_END with nothing open; END inside a directory. */
	sb_start(&s);
	sb_dir_end(&s);
	sb_end(&s, 0);
	assert_int_equal(unpack_splits(e, &s, NULL, 0), -EPROTO);
	sb_free(&s);
	sb_start(&s);
	sb_dir(&s, "d", 0755);
	sb_end(&s, 0);
	assert_int_equal(unpack_splits(e, &s, NULL, 0), -EPROTO);
	sb_free(&s);
	reset_dest(e);

	/* Type bits in the mode; unknown type. */
	sb_start(&s);
	h.mode = 0100644;
	fc_hdr_encode(raw, &h);
	sb_put(&s, raw, sizeof(raw));
	sb_put(&s, "f", 1);
	sb_end(&s, 0);
	assert_int_equal(unpack_splits(e, &s, NULL, 0), -EPROTO);
	assert_dest(e, "", "");
	sb_free(&s);
	sb_start(&s);
	h.mode = 0644;
	h.type = 99;
	fc_hdr_encode(raw, &h);
	sb_put(&s, raw, sizeof(raw));
	sb_put(&s, "f", 1);
	sb_end(&s, 0);
	assert_int_equal(unpack_splits(e, &s, NULL, 0), -EPROTO);
	assert_dest(e, "", "");
	sb_free(&s);

	/* Nothing at all. */
	assert_int_equal(unpack(e, (const uint8_t *)"", 0, 1, NULL, 0),
			 -EPROTO);
}

/* The error names where it happened, escaped. */
static void test_message(void **state)
{
	struct env *e = *state;
	struct sb s;
	char msg[FC_MAX_STATUS_TEXT + 1];

	assert_int_equal(mkdirat(e->dest_fd, "pre", 0700), 0);
	sb_start(&s);
	sb_dir(&s, "d", 0755);
	sb_dir(&s, "sub", 0755);
	sb_file(&s, "a\x01", 0644, "x");
	sb_dir_end(&s);
	sb_dir_end(&s);
	sb_end(&s, 0);
	assert_int_equal(unpack(e, s.buf, s.len, 3, msg, sizeof(msg)),
			 -EILSEQ);
	assert_string_equal(msg, "d/sub/a\\x01: name containing a control "
				 "character");
	sb_free(&s);
}

/* ---- what a stream that fails leaves ---- */

/* Names in dest that a user would take for copied files: all but the
 * receiver's own hidden work folder. */
static void visible_list(const struct env *e, char *out, size_t cap)
{
	struct dirent **names;
	int n = scandir(e->dest, &names, NULL, alphasort), i;
	size_t o = 0;

	assert_true(n >= 0);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") &&
		    strcmp(names[i]->d_name, "..") &&
		    strncmp(names[i]->d_name, FC_STAGE_PREFIX,
			    strlen(FC_STAGE_PREFIX)))
			o += (size_t)snprintf(out + o, cap - o, "%s%s",
					      o ? "," : "", names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

/* The receiver is killed in the middle of a file (here: it is simply
 * never fed again): no file of the copy may be found under its name,
 * looking whole, neither the one being written nor the ones before. */
static void test_killed_receiver_leaves_no_whole_looking_file(void **state)
{
	struct env *e = *state;
	struct fc_unpack *u = malloc(sizeof(*u));
	struct sb s;
	size_t cut;
	char list[256];

	assert_non_null(u);
	sb_start(&s);
	sb_file(&s, "done.txt", 0644, "a complete file");
	sb_dir(&s, "d", 0755);
	sb_file(&s, "half.txt", 0644, "0123456789abcdefghij");
	cut = s.len - 10; /* half of half.txt's contents */
	sb_dir_end(&s);
	sb_end(&s, 0);
	assert_int_equal(fc_unpack_init(u, e->dest_fd), 0);
	assert_int_equal(fc_unpack_feed(u, s.buf, cut), 0);
	/* What a user sees now, as after a kill -9 or a crash. */
	visible_list(e, list, sizeof(list));
	assert_string_equal(list, "");
	assert_int_equal(faccessat(e->dest_fd, "done.txt", F_OK,
				   AT_SYMLINK_NOFOLLOW),
			 -1);
	assert_int_equal(faccessat(e->dest_fd, "d/half.txt", F_OK,
				   AT_SYMLINK_NOFOLLOW),
			 -1);
	/* The input ends there: the error leaves nothing at all. */
	assert_int_equal(fc_unpack_finish(u), -EPROTO);
	assert_dest(e, "", "");
	free(u);
	sb_free(&s);
	check_outside(e);
}

/* A stream whose digest does not match: none of its files is kept, as
 * none of them can be trusted to be what was sent. */
static void test_bad_digest_keeps_nothing(void **state)
{
	struct env *e = *state;
	struct sb s;

	sb_start(&s);
	sb_file(&s, "a", 0644, "data");
	sb_dir(&s, "d", 0555);
	sb_file(&s, "b", 0644, "more data");
	sb_dir_end(&s);
	sb_end(&s, 1);
	assert_int_equal(unpack_splits(e, &s, NULL, 0), -EBADMSG);
	assert_dest(e, "", "");
	sb_free(&s);
}

/* Data after a correct digest, in a feed of its own: refused, and the
 * copy is not kept. */
static void test_data_after_digest_keeps_nothing(void **state)
{
	struct env *e = *state;
	struct fc_unpack *u = malloc(sizeof(*u));
	struct sb s;

	assert_non_null(u);
	sb_start(&s);
	sb_file(&s, "a", 0644, "data");
	sb_end(&s, 0);
	assert_int_equal(fc_unpack_init(u, e->dest_fd), 0);
	assert_int_equal(fc_unpack_feed(u, s.buf, s.len), 1);
	assert_int_equal(fc_unpack_feed(u, (const uint8_t *)"!", 1), -EPROTO);
	assert_int_equal(fc_unpack_finish(u), -EPROTO);
	assert_non_null(strstr(fc_unpack_message(u), "after the end"));
	assert_dest(e, "", "");
	free(u);
	sb_free(&s);
	check_outside(e);
}

/* A top-level name taken after the stream started (by another copy, by
 * the user): the move into place does not go over it, and the copy is
 * refused as a whole. */
static void test_name_taken_during_copy_not_overwritten(void **state)
{
	struct env *e = *state;
	struct fc_unpack *u = malloc(sizeof(*u));
	struct sb s;
	char buf[64];
	int fd;

	assert_non_null(u);
	sb_start(&s);
	sb_file(&s, "a", 0644, "from the copy");
	sb_end(&s, 0);
	assert_int_equal(fc_unpack_init(u, e->dest_fd), 0);
	assert_int_equal(fc_unpack_feed(u, s.buf, s.len), 1);
	fd = openat(e->dest_fd, "a", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "mine", 4), 4);
	close(fd);
	assert_int_equal(fc_unpack_finish(u), -EEXIST);
	assert_string_equal(fc_unpack_message(u), "a: already exists");
	assert_dest(e, "", "a");
	read_file(e, "a", buf, sizeof(buf));
	assert_string_equal(buf, "mine");
	free(u);
	sb_free(&s);
	check_outside(e);
}

/* A read-only top-level folder, received by a user other than root (as
 * in a qube): moving a folder to another parent needs write permission
 * on it, which the receiver lends it for the move. As root, the test
 * runs the receiver in a child that became nobody. */
static void test_readonly_top_folder_as_user(void **state)
{
	struct env *e = *state;
	struct sb s;
	struct stat st;
	int ws;
	pid_t pid;

	sb_start(&s);
	sb_dir(&s, "ro", 0555);
	sb_dir(&s, "inner-ro", 0500);
	sb_file(&s, "f", 0444, "read-only");
	sb_dir_end(&s);
	sb_dir_end(&s);
	sb_end(&s, 0);
	if (geteuid() == 0)
		assert_int_equal(fchown(e->dest_fd, 65534, 65534), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct fc_unpack *u = malloc(sizeof(*u));
		int r;

		if (geteuid() == 0 &&
		    (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) ||
		     setresuid(65534, 65534, 65534)))
			_exit(100);
		if (!u || fc_unpack_init(u, e->dest_fd) < 0)
			_exit(101);
		r = fc_unpack_feed(u, s.buf, s.len);
		if (r != 1)
			_exit(102);
		r = fc_unpack_finish(u);
		_exit(r < 0 && -r < 100 ? -r : r ? 103 : 0);
	}
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), 0);
	assert_dest(e, "", "ro");
	lstat_dest(e, "ro", &st);
	assert_int_equal(st.st_mode & 07777, 0555);
	assert_int_equal(st.st_mtim.tv_sec, 1100000000);
	lstat_dest(e, "ro/inner-ro", &st);
	assert_int_equal(st.st_mode & 07777, 0500);
	sb_free(&s);
	check_outside(e);
}

/* ---- the service (fc_receive) ---- */

/* Runs fc_receive here on the stream that a child writes on a socket,
 * followed by `extra` bytes, then the end of the input (the child half
 * closes, as the sender does). A SEQPACKET socket keeps the two writes
 * apart: each read gets one of them, so the extra bytes come in a read
 * after the one that ends the stream. The status goes to a pipe and is
 * parsed into *st. Returns fc_receive's result. */
static int receive_from_child(struct env *e, const struct sb *s,
			      size_t extra, struct fc_status *st)
{
	int sv[2], out[2], r, ws;
	uint8_t buf[FC_STATUS_HDR_LEN + FC_MAX_STATUS_TEXT];
	char msg[FC_MAX_STATUS_TEXT + 1];
	ssize_t n;
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				    sv),
			 0);
	assert_int_equal(pipe(out), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t *junk = malloc(extra ? extra : 1);

		signal(SIGPIPE, SIG_IGN);
		close(sv[0]);
		if (!junk)
			_exit(2);
		memset(junk, 'J', extra ? extra : 1);
		/* One record each; a receiver that stopped reading is no
		 * error here. */
		if (write(sv[1], s->buf, s->len) == (ssize_t)s->len && extra)
			(void)!write(sv[1], junk, extra);
		shutdown(sv[1], SHUT_WR);
		_exit(0);
	}
	close(sv[1]);
	r = fc_receive(sv[0], out[1], e->dest_fd, msg, sizeof(msg));
	close(sv[0]);
	close(out[1]);
	n = read(out[0], buf, sizeof(buf));
	close(out[0]);
	assert_true(n > 0);
	assert_int_equal(fc_status_parse(buf, (size_t)n, st), n);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	check_outside(e);
	return r;
}

/* Bytes after the digest in a read of their own: EPROTO, nothing kept. */
static void test_data_after_digest_in_later_read(void **state)
{
	struct env *e = *state;
	struct fc_status st;
	struct sb s;

	sb_start(&s);
	sb_file(&s, "a", 0644, "data");
	sb_end(&s, 0);
	/* Without the extra bytes, the same stream is fine. */
	assert_int_equal(receive_from_child(e, &s, 0, &st), 0);
	assert_int_equal(st.code, 0);
	assert_dest(e, "", "a");
	reset_dest(e);
	assert_int_equal(receive_from_child(e, &s, 4096, &st), -EPROTO);
	assert_int_equal(st.code, EPROTO);
	assert_non_null(strstr(st.text, "after the end"));
	assert_dest(e, "", "");
	sb_free(&s);
}

/* A file beyond the receiving process's RLIMIT_FSIZE: an EFBIG status,
 * not a death by SIGXFSZ without a word. `hole`: the file is all zeros
 * (written as a hole, the size set at its end). */
static void fsize_limited_receive(struct env *e, int hole)
{
	struct sb s;
	uint8_t buf[FC_STATUS_HDR_LEN + FC_MAX_STATUS_TEXT];
	struct fc_status st;
	char path[160];
	size_t big = 1024 * 1024;
	char *data = malloc(big + 1);
	int in, out[2], ws;
	ssize_t n;
	pid_t pid;

	assert_non_null(data);
	memset(data, hole ? 0 : 'x', big);
	sb_start(&s);
	sb_hdr(&s, FC_T_FILE, 0644, 0, 0, "big", 3, big);
	sb_put(&s, data, big);
	sb_end(&s, 0);
	free(data);
	snprintf(path, sizeof(path), "%s/stream", e->top);
	in = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(in >= 0);
	assert_int_equal(bh_write_all(in, s.buf, s.len), 0);
	assert_int_equal(lseek(in, 0, SEEK_SET), 0);
	assert_int_equal(unlink(path), 0);
	sb_free(&s);
	assert_int_equal(pipe(out), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { 64 * 1024, 64 * 1024 };
		char msg[FC_MAX_STATUS_TEXT + 1];
		int r;

		close(out[0]);
		/* As a fresh process has it. */
		signal(SIGXFSZ, SIG_DFL);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(100);
		r = fc_receive(in, out[1], e->dest_fd, msg, sizeof(msg));
		_exit(r < 0 && -r < 100 ? -r : 101);
	}
	close(in);
	close(out[1]);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	if (WIFSIGNALED(ws))
		fail_msg("the receiver was killed by signal %d",
			 WTERMSIG(ws));
	assert_true(WIFEXITED(ws));
	assert_int_equal(WEXITSTATUS(ws), EFBIG);
	n = read(out[0], buf, sizeof(buf));
	close(out[0]);
	assert_true(n > 0);
	assert_int_equal(fc_status_parse(buf, (size_t)n, &st), n);
	assert_int_equal(st.code, EFBIG);
	assert_non_null(strstr(st.text, "big"));
	assert_dest(e, "", "");
	check_outside(e);
}

static void test_file_beyond_fsize_limit_is_efbig(void **state)
{
	fsize_limited_receive(*state, 0);
	fsize_limited_receive(*state, 1);
}

static void test_open_incoming(void **state)
{
	struct env *e = *state;
	char home[160], p[200], msg[256];
	struct stat st;
	int fd;

	snprintf(home, sizeof(home), "%s/dest", e->top);
	fd = fc_open_incoming(home, "work", msg, sizeof(msg));
	assert_true(fd >= 0);
	close(fd);
	snprintf(p, sizeof(p), "%s/Incoming/work", home);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	/* Again: already there is fine. */
	fd = fc_open_incoming(home, "work", msg, sizeof(msg));
	assert_true(fd >= 0);
	close(fd);
	/* Bad source names never reach the file system. */
	assert_int_equal(fc_open_incoming(home, "..", msg, sizeof(msg)),
			 -EINVAL);
	assert_int_equal(fc_open_incoming(home, "a/b", msg, sizeof(msg)),
			 -EINVAL);
	assert_int_equal(fc_open_incoming(home, "", msg, sizeof(msg)),
			 -EINVAL);
	assert_int_equal(fc_open_incoming("relative", "work", msg,
					  sizeof(msg)),
			 -EINVAL);
	/* A symlink in place of the source's folder is not followed. */
	snprintf(p, sizeof(p), "%s/outside", e->top);
	assert_int_equal(symlinkat(p, e->dest_fd, "Incoming/evil"), 0);
	assert_true(fc_open_incoming(home, "evil", msg, sizeof(msg)) < 0);
	check_outside(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid_tree, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_empty_stream, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_trailing_hole, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_control_chars, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_symlink_escapes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_special_types, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_overwrite, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_planted_symlinks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_checksum, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_length_beyond_data, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_long_names, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_incoming, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_killed_receiver_leaves_no_whole_looking_file,
			setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_digest_keeps_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_data_after_digest_keeps_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_name_taken_during_copy_not_overwritten, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_readonly_top_folder_as_user, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_data_after_digest_in_later_read, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_file_beyond_fsize_limit_is_efbig, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
