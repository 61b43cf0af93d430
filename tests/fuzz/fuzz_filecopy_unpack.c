/* libFuzzer target: the file-copy receiver (fc_unpack_feed) on arbitrary
 * streams, cut into arbitrary chunks, writing into a real folder.
 *
 * Input: byte 0 = flags, byte 1 = seed, then the stream.
 *   flags bits 0-2  how the stream is cut into feeds (fuzz_next_chunk's
 *                   modes: 0 = one piece, else random sizes)
 *   flags bit 3     append a correct END header and digest, so that
 *                   mutated entries still reach the end
 *   flags bit 4     prepend the stream start (magic, version)
 *   flags bit 5     then feed 1..16 more bytes (the first of the body),
 *                   in a feed of their own: data after the digest, which
 *                   must be refused
 *   flags bit 6     go through the service, fc_receive, instead: a thread
 *                   writes the pieces as records of a SEQPACKET socket,
 *                   so that each read gets exactly one piece, the extra
 *                   bytes one of their own, then ends its side; the
 *                   status comes on a pipe and must match the result
 *
 * Each process makes one temporary folder TOP with TOP/dest (the
 * receiving folder) and TOP/outside/sentinel. While the stream is fed,
 * dest holds nothing but the receiver's hidden folder (a receiver killed
 * then leaves no file under its name). After every input: TOP holds
 * exactly dest and outside, outside exactly its unchanged sentinel; a
 * failed stream left dest empty (nothing of it is kept), a successful
 * one was synced before its entries got their names and after; everything
 * in dest is a regular file, folder or symlink with no setuid/setgid/
 * sticky bit, and every symlink stays inside dest, lexically and (when
 * it resolves) physically; the receiver holds no fd any more. Then dest
 * is emptied for the next input.
 *
 * The same bytes also go through fc_status_parse (the sender's parser of
 * the receiver's reply), whose results are checked for consistency. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/filecopy.h"
#include "lib/log.h"
#include "lib/util.h"

#include "fuzz_common.h"

#define SENTINEL "sentinel contents\n"

static char top[64], dest[96], outside[96], sentinel[128];
static char dest_real[PATH_MAX];
static struct fc_unpack unpacker;
/* The receiver's syncs: counted, not done (the fuzzer writes to /tmp a
 * great deal; durability is not what it checks). `visible` is whether
 * anything but the hidden folder was in dest at each. */
static int syncs, visible_at_sync[2];
static int dest_fd_for_sync = -1;

/* Entries of dest other than the receiver's hidden folder. */
NO_COVERAGE
static int dest_visible(int dfd, const char *stage)
{
	DIR *d;
	struct dirent *e;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0;

	CHECK(fd >= 0);
	d = fdopendir(fd);
	CHECK(d != NULL);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, stage))
			n++;
	closedir(d);
	return n;
}

/* At the first sync, dest holds only the hidden folder: through
 * fc_unpack_*, `unpacker`'s (not counted); through fc_receive, whose own
 * we do not know, one entry. */
NO_COVERAGE
static int counting_sync(int fd)
{
	(void)fd;
	if (syncs < 2)
		visible_at_sync[syncs] =
			dest_visible(dest_fd_for_sync, unpacker.stage_name);
	syncs++;
	return 0;
}

static void cleanup_top(void)
{
	if (top[0] && bh_rm_rf(top) < 0)
		fprintf(stderr, "could not remove %s\n", top);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	(void)argc;
	(void)argv;
	bh_log_set_level(BH_LOG_ERR);
	strcpy(top, "/tmp/bh-fuzz-filecopy.XXXXXX");
	CHECK(mkdtemp(top) != NULL);
	atexit(cleanup_top);
	snprintf(dest, sizeof(dest), "%s/dest", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	snprintf(sentinel, sizeof(sentinel), "%s/sentinel", outside);
	CHECK(mkdir(dest, 0700) == 0);
	CHECK(mkdir(outside, 0700) == 0);
	fd = open(sentinel, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, SENTINEL, strlen(SENTINEL)) ==
	      (ssize_t)strlen(SENTINEL));
	close(fd);
	CHECK(realpath(dest, dest_real) != NULL);
	fc_sync_fs = counting_sync;
	return 0;
}

/* Exactly the names `want` (sorted, ','-joined) in path. */
NO_COVERAGE
static void check_names(const char *path, const char *want)
{
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort), i;
	char got[256];
	size_t o = 0;

	CHECK(n >= 0);
	got[0] = '\0';
	for (i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") &&
		    strcmp(names[i]->d_name, "..") && o < sizeof(got))
			o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%s",
					      o ? "," : "", names[i]->d_name);
		free(names[i]);
	}
	free(names);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "%s holds \"%s\", not \"%s\"\n", path, got,
			want);
	CHECK(strcmp(got, want) == 0);
}

/* A link `depth` folders below dest with this target: resolved by
 * names alone, it must not climb above dest. Independent of
 * fc_link_check: plain counting, ".." anywhere. */
NO_COVERAGE
static void check_link_lexically(const char *target, size_t depth)
{
	long level = (long)depth;
	const char *p = target;

	CHECK(target[0] != '/');
	while (*p) {
		const char *s = strchr(p, '/');
		size_t n = s ? (size_t)(s - p) : strlen(p);

		if (n == 2 && p[0] == '.' && p[1] == '.')
			level--;
		else if (n > 0 && !(n == 1 && p[0] == '.'))
			level++;
		CHECK(level >= 0);
		p += n;
		if (*p == '/')
			p++;
	}
}

/* Walks what the receiver made, checks it, and removes it. */
NO_COVERAGE
static void check_and_clean(int dirfd, const char *path, size_t depth)
{
	DIR *d;
	struct dirent *e;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	CHECK(fd >= 0);
	d = fdopendir(fd);
	CHECK(d != NULL);
	while ((e = readdir(d))) {
		struct stat st;
		char sub[PATH_MAX * 2];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		CHECK(fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0);
		CHECK((st.st_mode & 07000) == 0);
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX + 1], real[PATH_MAX];
			ssize_t n = readlinkat(dirfd, e->d_name, target,
					       sizeof(target) - 1);

			CHECK(n > 0);
			target[n] = '\0';
			check_link_lexically(target, depth);
			if (realpath(sub, real)) {
				size_t l = strlen(dest_real);

				CHECK(strncmp(real, dest_real, l) == 0 &&
				      (real[l] == '\0' || real[l] == '/'));
			}
			CHECK(unlinkat(dirfd, e->d_name, 0) == 0);
		} else if (S_ISDIR(st.st_mode)) {
			int sfd;

			/* Its mode may be anything: let us in. */
			CHECK(fchmodat(dirfd, e->d_name, 0700, 0) == 0);
			sfd = openat(dirfd, e->d_name,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);
			CHECK(sfd >= 0);
			check_and_clean(sfd, sub, depth + 1);
			close(sfd);
			CHECK(unlinkat(dirfd, e->d_name, AT_REMOVEDIR) == 0);
		} else {
			CHECK(S_ISREG(st.st_mode));
			CHECK(unlinkat(dirfd, e->d_name, 0) == 0);
		}
	}
	closedir(d);
}

NO_COVERAGE
static void check_outside(void)
{
	char buf[64];
	int fd;
	ssize_t n;

	check_names(top, "dest,outside");
	check_names(outside, "sentinel");
	fd = open(sentinel, O_RDONLY | O_NOFOLLOW);
	CHECK(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	CHECK(n == (ssize_t)strlen(SENTINEL) &&
	      memcmp(buf, SENTINEL, (size_t)n) == 0);
}

NO_COVERAGE
static void check_status(const uint8_t *data, size_t size)
{
	struct fc_status st;
	uint8_t *copy = malloc(size ? size : 1);
	long r;
	size_t i;

	CHECK(copy != NULL);
	if (size)
		memcpy(copy, data, size);
	r = fc_status_parse(copy, size, &st);
	CHECK(r == 0 || r == -EPROTO || r > 0);
	if (r > 0) {
		CHECK((size_t)r <= size && (size_t)r >= FC_STATUS_HDR_LEN);
		CHECK((size_t)r - FC_STATUS_HDR_LEN ==
		      fc_get_u32(data + 8 + FC_DIGEST_LEN));
		CHECK(st.code == fc_get_u32(data + 4));
		CHECK(strlen(st.text) <= FC_MAX_STATUS_TEXT);
		for (i = 0; st.text[i]; i++)
			CHECK((unsigned char)st.text[i] >= 0x20 &&
			      (unsigned char)st.text[i] < 0x7f);
	}
	free(copy);
}

/* The sending side for fc_receive: the stream in records as `mode`
 * cuts it, the extra bytes in one more, then the end. */
struct writer {
	int fd;
	const uint8_t *buf, *extra;
	size_t len, extra_len;
	unsigned mode;
};

static void *write_records(void *arg)
{
	struct writer *w = arg;
	size_t off = 0;

	while (off < w->len) {
		size_t n = fuzz_next_chunk(w->mode);

		if (n > w->len - off)
			n = w->len - off;
		/* The receiver may stop reading (an error): then stop. */
		if (send(w->fd, w->buf + off, n, MSG_NOSIGNAL) != (ssize_t)n)
			break;
		off += n;
	}
	if (off == w->len && w->extra_len)
		(void)!send(w->fd, w->extra, w->extra_len, MSG_NOSIGNAL);
	shutdown(w->fd, SHUT_WR);
	return NULL;
}

/* The stream through fc_receive; returns its result, checked against
 * the status it sent. */
static int receive(int dfd, const uint8_t *buf, size_t len,
		   const uint8_t *extra, size_t extra_len, unsigned mode)
{
	struct writer w = { .buf = buf, .len = len, .extra = extra,
			    .extra_len = extra_len, .mode = mode };
	uint8_t status[FC_STATUS_HDR_LEN + FC_MAX_STATUS_TEXT];
	char msg[FC_MAX_STATUS_TEXT + 1];
	struct fc_status st;
	pthread_t t;
	int sv[2], out[2], r;
	ssize_t n;

	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(pipe2(out, O_CLOEXEC) == 0);
	w.fd = sv[1];
	CHECK(pthread_create(&t, NULL, write_records, &w) == 0);
	r = fc_receive(sv[0], out[1], dfd, msg, sizeof(msg));
	/* Unblocks a writer the receiver stopped listening to. */
	close(sv[0]);
	CHECK(pthread_join(t, NULL) == 0);
	close(sv[1]);
	close(out[1]);
	n = read(out[0], status, sizeof(status));
	close(out[0]);
	CHECK(n > 0);
	CHECK(fc_status_parse(status, (size_t)n, &st) == n);
	CHECK(st.code == (uint32_t)-r);
	CHECK(r <= 0 && (r == 0 ? !strcmp(st.text, "ok") : msg[0] != '\0'));
	return r;
}

/* Feeds buf in chunks as `mode` says; returns the last result. */
static int feed(struct fc_unpack *u, const uint8_t *buf, size_t len,
		unsigned mode)
{
	size_t off = 0;
	int r = 0;

	while (off < len) {
		size_t n = fuzz_next_chunk(mode);
		uint8_t *c;

		if (n > len - off)
			n = len - off;
		c = malloc(n);
		CHECK(c != NULL);
		memcpy(c, buf + off, n);
		r = fc_unpack_feed(u, c, n);
		free(c);
		off += n;
		CHECK(r <= 1);
		if (r < 0) {
			CHECK(u->err == r && u->msg[0] != '\0');
			CHECK(u->file_fd == -1 && u->depth == 0);
			CHECK(u->stage_fd == -1);
			break;
		}
		if (r == 1)
			CHECK(u->state == FC_U_DONE);
		/* Killed here, the receiver would leave nothing under a
		 * name of the copy. */
		CHECK(dest_visible(u->root_fd, u->stage_name) == 0);
	}
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fc_unpack *u = &unpacker;
	uint8_t *stream;
	size_t len = 0, body, extra = 0;
	unsigned flags;
	int dfd, r, fed;

	check_status(data, size);
	if (size < 2)
		return 0;
	flags = data[0];
	fuzz_seed(data);
	body = size - 2;
	stream = malloc(FC_START_LEN + body + FC_HDR_LEN + FC_DIGEST_LEN);
	CHECK(stream != NULL);
	if (flags & 16) {
		fc_start_encode(stream);
		len = FC_START_LEN;
	}
	memcpy(stream + len, data + 2, body);
	len += body;
	if (flags & 8) {
		struct fc_hdr end = { .type = FC_T_END };

		fc_hdr_encode(stream + len, &end);
		len += FC_HDR_LEN;
		crypto_hash_sha256(stream + len, stream, len);
		len += FC_DIGEST_LEN;
	}

	if ((flags & 32) && body)
		extra = 1 + (size_t)(data[1] & 15) < body
				? 1 + (size_t)(data[1] & 15)
				: body;

	dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dfd >= 0);
	dest_fd_for_sync = dfd;
	syncs = 0;
	if (flags & 64) {
		unpacker.stage_name[0] = '\0'; /* not this one's */
		r = receive(dfd, stream, len, data + 2, extra, flags & 7);
		/* Bytes after a stream: never a success (unless they
		 * completed it, which takes a SHA-256 match). */
		CHECK(extra ? r < 0 : 1);
		if (r == 0)
			CHECK(syncs == 2 && visible_at_sync[0] == 1);
		else
			CHECK(dest_visible(dfd, "") == 0);
		goto out;
	}
	CHECK(fc_unpack_init(u, dfd) == 0);
	fed = feed(u, stream, len, flags & 7);
	if (fed >= 0 && extra) {
		/* Data after the stream, in a feed of its own. */
		r = feed(u, data + 2, extra, 0);
		CHECK(fed == 1 ? r == -EPROTO : r <= 1);
		fed = r;
	}
	r = fc_unpack_finish(u);
	CHECK(u->file_fd == -1 && u->depth == 0 && u->stage_fd == -1);
	CHECK(r == 0 ? u->state == FC_U_DONE : r < 0 && u->msg[0] != '\0');
	CHECK(fed < 0 ? r == fed : 1);
	if (r == 0) {
		/* Synced before the names appeared, and after. */
		CHECK(syncs == 2);
		CHECK(visible_at_sync[0] == 0);
	} else {
		/* Nothing of a failed copy is kept. */
		CHECK(dest_visible(dfd, "") == 0);
	}
	CHECK(faccessat(dfd, u->stage_name, F_OK, AT_SYMLINK_NOFOLLOW) < 0);
out:
	free(stream);

	check_outside();
	check_and_clean(dfd, dest, 0);
	check_names(dest, "");
	close(dfd);
	return 0;
}
