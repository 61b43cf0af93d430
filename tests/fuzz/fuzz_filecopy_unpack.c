/* libFuzzer target: the file-copy receiver (fc_unpack_feed) on arbitrary
 * streams, cut into arbitrary chunks, writing into a real folder.
 *
 * Input: byte 0 = flags, byte 1 = seed, then the stream.
 *   flags bits 0-2  how the stream is cut into feeds (fuzz_next_chunk's
 *                   modes: 0 = one piece, else random sizes)
 *   flags bit 3     append a correct END header and digest, so that
 *                   mutated entries still reach the end
 *   flags bit 4     prepend the stream start (magic, version)
 *
 * Each process makes one temporary folder TOP with TOP/dest (the
 * receiving folder) and TOP/outside/sentinel. After every input: TOP
 * holds exactly dest and outside, outside exactly its unchanged sentinel;
 * everything in dest is a regular file, folder or symlink with no
 * setuid/setgid/sticky bit, and every symlink stays inside dest, lexically
 * and (when it resolves) physically; the receiver holds no fd any more.
 * Then dest is emptied for the next input.
 *
 * The same bytes also go through fc_status_parse (the sender's parser of
 * the receiver's reply), whose results are checked for consistency. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
			break;
		}
		if (r == 1)
			CHECK(u->state == FC_U_DONE);
	}
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fc_unpack *u = &unpacker;
	uint8_t *stream;
	size_t len = 0, body;
	unsigned flags;
	int dfd, r;

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

	dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dfd >= 0);
	CHECK(fc_unpack_init(u, dfd) == 0);
	r = feed(u, stream, len, flags & 7);
	r = fc_unpack_finish(u);
	CHECK(u->file_fd == -1 && u->depth == 0);
	CHECK(r == 0 ? u->state == FC_U_DONE : r < 0 && u->msg[0] != '\0');
	free(stream);

	check_outside();
	check_and_clean(dfd, dest, 0);
	check_names(dest, "");
	close(dfd);
	return 0;
}
