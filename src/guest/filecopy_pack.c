/* The sender of the file-copy stream: walks the paths it is given (never
 * following a symlink below them), emits the stream with its SHA-256, and
 * waits for the receiver's status. Usable in a qube (bh-copy) and on the
 * host (bh copy).
 *
 * Everything is checked once before the first byte goes out
 * (fc_pack_check), so that an unreadable file, a fifo or a symlink that
 * the receiver would refuse stops the copy with nothing sent. The walk
 * that sends is the same code with `sending` set. */
#include "guest/filecopy.h"
#include "lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Output is gathered and written in pieces this big. */
#define FC_PACK_BUF (256u * 1024u)
/* Progress is shown for copies at least this big, this often. */
#define FC_PROGRESS_MIN (8ull * 1024 * 1024)
#define FC_PROGRESS_MS 250
/* Source paths in messages: the user's argument plus the copied tree. */
#define FC_SHOW_MAX (PATH_MAX + FC_MAX_PATH + 2)

struct packer {
	int out_fd, status_fd;
	const struct fc_pack_opts *opts;
	int sending; /* 0: checking only */
	char *msg;
	size_t cap;
	uint64_t total, done;
	crypto_hash_sha256_state sha;
	uint8_t digest[FC_DIGEST_LEN];
	uint8_t *out;
	size_t out_len;
	/* The receiver's status, as it arrives (fc_status_parse checks
	 * it). */
	uint8_t untrusted_status[FC_STATUS_HDR_LEN + FC_MAX_STATUS_TEXT];
	size_t status_len;
	int status_end; /* complete, malformed, or EOF */
	int64_t progress_ms;
	int progress_shown;
	/* The source path of the entry at hand, for messages. */
	char show[FC_SHOW_MAX];
	size_t show_len;
};

/* A message naming the entry at hand: "PATH: text". */
__attribute__((format(printf, 3, 4))) static int
say(struct packer *p, int err, const char *fmt, ...)
{
	char esc[FC_SHOW_MAX], text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fc_escape(esc, sizeof(esc), (const uint8_t *)p->show, p->show_len);
	snprintf(p->msg, p->cap, "%s: %s", esc, text);
	return err;
}

/* ---- source arguments ---- */

struct source {
	char *dir;  /* the folder to open (the user's, symlinks followed) */
	char *base; /* the name sent at the top */
	const char *arg;
};

static void source_free(struct source *s)
{
	free(s->dir);
	free(s->base);
	s->dir = s->base = NULL;
}

/* "a/b/" -> ("a", "b"); "x" -> (".", "x"); "." and ".." by their real
 * names. A symlink given as an argument is sent as a symlink (as Qubes'
 * qfile-agent does), also with a trailing '/'. */
static int source_split(const char *arg, struct source *s, char *msg,
			size_t cap)
{
	char *c = strdup(arg), *slash, *real = NULL;
	size_t len;

	memset(s, 0, sizeof(*s));
	s->arg = arg;
	if (!c)
		return -ENOMEM;
	len = strlen(c);
	while (len > 1 && c[len - 1] == '/')
		c[--len] = '\0';
	slash = strrchr(c, '/');
	if (len == 0 || !strcmp(c, "/") ||
	    !strcmp(slash ? slash + 1 : c, ".") ||
	    !strcmp(slash ? slash + 1 : c, "..")) {
		real = len ? realpath(c, NULL) : NULL;
		free(c);
		if (!real || !strcmp(real, "/")) {
			free(real);
			snprintf(msg, cap, "%s: cannot copy this path by name; "
				 "name a file or folder inside it", arg);
			return -EINVAL;
		}
		c = real;
		slash = strrchr(c, '/');
	}
	if (!slash) {
		s->dir = strdup(".");
		s->base = strdup(c);
	} else {
		s->base = strdup(slash + 1);
		*slash = '\0';
		s->dir = strdup(slash == c ? "/" : c);
	}
	free(c);
	if (!s->dir || !s->base) {
		source_free(s);
		return -ENOMEM;
	}
	return 0;
}

/* ---- output ---- */

static int read_status(struct packer *p)
{
	struct fc_status st;
	ssize_t n;
	long r;

	n = read(p->status_fd, p->untrusted_status + p->status_len,
		 sizeof(p->untrusted_status) - p->status_len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0) {
		p->status_end = 1;
		return 1;
	}
	p->status_len += (size_t)n;
	r = fc_status_parse(p->untrusted_status, p->status_len, &st);
	if (r != 0 || p->status_len == sizeof(p->untrusted_status))
		p->status_end = 1;
	return p->status_end;
}

/* The receiver stopped (a status or EOF came while we were sending). */
#define FC_STOPPED (-ECONNABORTED)

static void progress(struct packer *p, int last)
{
	int64_t now;

	if (!p->opts || p->opts->progress_fd < 0 || !p->sending ||
	    p->total < FC_PROGRESS_MIN)
		return;
	now = bh_now_ms();
	if (!last && p->progress_shown && now - p->progress_ms < FC_PROGRESS_MS)
		return;
	p->progress_ms = now;
	p->progress_shown = 1;
	dprintf(p->opts->progress_fd, "\r%s: %.1f of %.1f MiB sent%s",
		p->opts->prog ? p->opts->prog : "copy",
		(double)p->done / (1024.0 * 1024.0),
		(double)p->total / (1024.0 * 1024.0), last ? "\n" : "");
}

static int flush_out(struct packer *p)
{
	size_t off = 0;

	while (off < p->out_len) {
		struct pollfd pfd[2] = {
			{ .fd = p->out_fd, .events = POLLOUT },
			{ .fd = p->status_fd, .events = POLLIN },
		};
		int n = poll(pfd, 2, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[1].revents) {
			int r = read_status(p);

			if (r < 0)
				return r;
			if (r > 0)
				return FC_STOPPED;
		}
		if (pfd[0].revents) {
			ssize_t w = write(p->out_fd, p->out + off,
					  p->out_len - off);

			if (w < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				return -errno;
			}
			off += (size_t)w;
		}
	}
	p->out_len = 0;
	progress(p, 0);
	return 0;
}

/* Appends len bytes to the stream (hashed unless it is the digest). */
static int emit(struct packer *p, const void *buf, size_t len, int hash)
{
	const uint8_t *b = buf;

	if (hash)
		crypto_hash_sha256_update(&p->sha, b, len);
	while (len) {
		size_t take = FC_PACK_BUF - p->out_len;
		int r;

		if (take > len)
			take = len;
		memcpy(p->out + p->out_len, b, take);
		p->out_len += take;
		b += take;
		len -= take;
		if (p->out_len == FC_PACK_BUF && (r = flush_out(p)) < 0)
			return r;
	}
	return 0;
}

static int emit_hdr(struct packer *p, uint32_t type, const struct stat *st,
		    const char *name, uint64_t data_len)
{
	uint8_t h[FC_HDR_LEN];
	struct fc_hdr hd = { .type = type, .data_len = data_len };
	int r;

	if (st) {
		hd.mode = (uint32_t)(st->st_mode & FC_MODE_WIRE);
		hd.mtime_sec = (int64_t)st->st_mtim.tv_sec;
		hd.mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	}
	if (name)
		hd.name_len = (uint32_t)strlen(name);
	fc_hdr_encode(h, &hd);
	r = emit(p, h, sizeof(h), 1);
	if (r == 0 && name)
		r = emit(p, name, hd.name_len, 1);
	return r;
}

/* ---- the walk ---- */

static int push_show(struct packer *p, const char *name, size_t *saved)
{
	size_t n = strlen(name);

	*saved = p->show_len;
	if (p->show_len + 1 + n >= sizeof(p->show))
		return say(p, -ENAMETOOLONG, "path too long");
	if (p->show_len && p->show[p->show_len - 1] != '/')
		p->show[p->show_len++] = '/';
	memcpy(p->show + p->show_len, name, n + 1);
	p->show_len += n;
	return 0;
}

static int send_file(struct packer *p, int fd, const struct stat *st,
		     const char *name)
{
	uint64_t left = (uint64_t)st->st_size;
	int r = emit_hdr(p, FC_T_FILE, st, name, left);

	while (r == 0 && left) {
		size_t room = FC_PACK_BUF - p->out_len;
		ssize_t n;

		if (room > left)
			room = (size_t)left;
		n = read(fd, p->out + p->out_len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return say(p, -errno, "cannot read: %s", strerror(errno));
		if (n == 0)
			return say(p, -EIO, "file shrank while being sent; "
				   "copy it again when it is not changing");
		crypto_hash_sha256_update(&p->sha, p->out + p->out_len,
					  (size_t)n);
		p->out_len += (size_t)n;
		p->done += (uint64_t)n;
		left -= (uint64_t)n;
		if (p->out_len == FC_PACK_BUF)
			r = flush_out(p);
	}
	return r;
}

/* rel_len: bytes of the receiver-side path of the parent ("" at the top);
 * depth: directories between the top and this entry. */
static int walk(struct packer *p, int dirfd, const char *name, size_t depth,
		size_t rel_len)
{
	struct stat st;
	const char *why;
	size_t saved, my_len;
	int r, fd;

	r = push_show(p, name, &saved);
	if (r < 0)
		return r;
	my_len = rel_len + (rel_len ? 1 : 0) + strlen(name);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = say(p, -errno, "%s", strerror(errno));
		goto out;
	}
	r = fc_name_check((const uint8_t *)name, strlen(name), &why);
	if (r < 0) {
		say(p, r, "%s; rename it", why);
		goto out;
	}
	if (my_len > FC_MAX_PATH) {
		r = say(p, -ENAMETOOLONG, "path longer than %u bytes below "
			"the copied folder", FC_MAX_PATH);
		goto out;
	}

	if (S_ISREG(st.st_mode)) {
		fd = openat(dirfd, name,
			    O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			r = say(p, -errno, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (!p->sending) {
			p->total += (uint64_t)st.st_size;
		} else if (fstat(fd, &st) < 0) {
			r = say(p, -errno, "%s", strerror(errno));
		} else if (!S_ISREG(st.st_mode)) {
			r = say(p, -EAGAIN, "changed while being sent");
		} else {
			r = send_file(p, fd, &st, name);
		}
		close(fd);
	} else if (S_ISDIR(st.st_mode)) {
		DIR *d;
		struct dirent *e;

		if (depth >= FC_MAX_DEPTH) {
			r = say(p, -ENAMETOOLONG, "folders nested deeper than "
				"%u levels", FC_MAX_DEPTH);
			goto out;
		}
		fd = openat(dirfd, name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || !(d = fdopendir(fd))) {
			r = say(p, -errno, "cannot read folder: %s",
				strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		if (p->sending)
			r = emit_hdr(p, FC_T_DIR, &st, name, 0);
		while (r == 0) {
			errno = 0;
			e = readdir(d);
			if (!e) {
				if (errno)
					r = say(p, -errno,
						"cannot read folder: %s",
						strerror(errno));
				break;
			}
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			r = walk(p, fd, e->d_name, depth + 1, my_len);
		}
		closedir(d);
		if (r == 0 && p->sending)
			r = emit_hdr(p, FC_T_DIR_END, NULL, NULL, 0);
	} else if (S_ISLNK(st.st_mode)) {
		char target[FC_MAX_LINK + 1];
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target));

		if (n < 0) {
			r = say(p, -errno, "%s", strerror(errno));
			goto out;
		}
		r = fc_link_check((const uint8_t *)target, (size_t)n, depth,
				  &why);
		if (r < 0) {
			char esc[64];

			fc_escape(esc, sizeof(esc), (const uint8_t *)target,
				  (size_t)n);
			say(p, r, "symlink to %s%s refused: %s; copy what it "
				"points to instead", esc,
			    (size_t)n > 40 ? "..." : "", why);
			goto out;
		}
		if (p->sending) {
			r = emit_hdr(p, FC_T_SYMLINK, &st, name, (uint64_t)n);
			if (r == 0)
				r = emit(p, target, (size_t)n, 1);
		}
	} else {
		r = say(p, -EOPNOTSUPP, "not a regular file, folder or "
			"symlink; only those are copied");
	}
out:
	p->show_len = saved;
	p->show[saved] = '\0';
	return r;
}

static int cmp_base(const void *a, const void *b)
{
	return strcmp(((const struct source *)a)->base,
		      ((const struct source *)b)->base);
}

/* The walk over every argument, checking or sending. */
static int walk_sources(struct packer *p, char *const paths[], size_t n)
{
	struct source *src = calloc(n ? n : 1, sizeof(*src));
	size_t i;
	int r = 0;

	if (!src) {
		snprintf(p->msg, p->cap, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n && r == 0; i++)
		r = source_split(paths[i], &src[i], p->msg, p->cap);
	if (r == -ENOMEM)
		snprintf(p->msg, p->cap, "out of memory");
	if (r == 0 && !p->sending && n > 1) {
		struct source *sorted = malloc(n * sizeof(*sorted));

		if (!sorted) {
			snprintf(p->msg, p->cap, "out of memory");
			r = -ENOMEM;
		} else {
			memcpy(sorted, src, n * sizeof(*sorted));
			qsort(sorted, n, sizeof(*sorted), cmp_base);
			for (i = 1; i < n && r == 0; i++) {
				if (strcmp(sorted[i - 1].base, sorted[i].base))
					continue;
				p->show_len = 0;
				push_show(p, sorted[i].base, &(size_t){ 0 });
				r = say(p, -EEXIST, "two sources have this "
					"name (%s and %s); copy them one at "
					"a time", sorted[i - 1].arg,
					sorted[i].arg);
			}
			free(sorted);
		}
	}
	for (i = 0; i < n && r == 0; i++) {
		int dfd = open(src[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		p->show_len = 0;
		p->show[0] = '\0';
		if (strcmp(src[i].dir, ".") &&
		    push_show(p, src[i].dir, &(size_t){ 0 }) < 0) {
			r = -ENAMETOOLONG;
		} else if (dfd < 0) {
			r = say(p, -errno, "%s", strerror(errno));
		} else {
			r = walk(p, dfd, src[i].base, 0, 0);
		}
		if (dfd >= 0)
			close(dfd);
	}
	for (i = 0; i < n; i++)
		source_free(&src[i]);
	free(src);
	return r;
}

static int packer_start(struct packer *p, char *msg, size_t cap)
{
	memset(p, 0, sizeof(*p));
	p->msg = msg;
	p->cap = cap;
	p->out_fd = p->status_fd = -1;
	if (cap)
		msg[0] = '\0';
	if (sodium_init() < 0) {
		snprintf(msg, cap, "libsodium cannot start");
		return -EIO;
	}
	crypto_hash_sha256_init(&p->sha);
	return 0;
}

int fc_pack_check(char *const paths[], size_t n, uint64_t *total_bytes,
		  char *msg, size_t cap)
{
	struct packer *p = malloc(sizeof(*p));
	int r;

	if (!p) {
		snprintf(msg, cap, "out of memory");
		return -ENOMEM;
	}
	r = packer_start(p, msg, cap);
	if (r == 0 && n == 0) {
		snprintf(msg, cap, "nothing to copy");
		r = -EINVAL;
	}
	if (r == 0)
		r = walk_sources(p, paths, n);
	if (total_bytes)
		*total_bytes = p->total;
	free(p);
	return r;
}

/* The stream is all out: the receiver reads to its end before it
 * answers (a byte after the digest is an error), so end it. A socket is
 * shut down for writing, keeping its other direction for the status;
 * another fd (bh-copy's stdout, a pipe) is replaced by /dev/null, which
 * drops our hold on the pipe while the fd number stays the caller's. */
static int end_stream(int out_fd, int status_fd)
{
	int nul;

	if (shutdown(out_fd, SHUT_WR) == 0)
		return 0;
	if (errno != ENOTSOCK || out_fd == status_fd)
		return -errno;
	nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (nul < 0)
		return -errno;
	if (dup2(nul, out_fd) < 0) {
		int e = errno;

		close(nul);
		return -e;
	}
	close(nul);
	return 0;
}

/* Waits for the rest of the status (poll: status_fd may be non-blocking
 * when it is out_fd). */
static int wait_status(struct packer *p)
{
	while (!p->status_end) {
		struct pollfd pfd = { .fd = p->status_fd, .events = POLLIN };
		int r;

		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		r = read_status(p);
		if (r < 0)
			return r;
	}
	return 0;
}

/* What the receiver said, as our result. */
static int judge_status(struct packer *p, int sent_all)
{
	struct fc_status st;
	long r = fc_status_parse(p->untrusted_status, p->status_len, &st);

	if (r == 0) {
		snprintf(p->msg, p->cap, "the receiving qube closed the "
			 "connection without a status (refused, or it "
			 "failed)");
		return -ECONNRESET;
	}
	if (r < 0) {
		snprintf(p->msg, p->cap, "the receiving qube sent a "
			 "malformed status");
		return -EPROTO;
	}
	if (st.code != 0) {
		int code = st.code < 4096 ? (int)st.code : EPROTO;

		snprintf(p->msg, p->cap, "the receiving qube refused the "
			 "copy: %s", st.text);
		return -code;
	}
	if (!sent_all) {
		snprintf(p->msg, p->cap, "the receiving qube reported "
			 "success before the end of the stream");
		return -EPROTO;
	}
	if (sodium_memcmp(st.digest, p->digest, FC_DIGEST_LEN) != 0) {
		snprintf(p->msg, p->cap, "the receiving qube confirmed a "
			 "different checksum than the one sent");
		return -EBADMSG;
	}
	return 0;
}

int fc_pack_paths(int out_fd, int status_fd, char *const paths[], size_t n,
		  const struct fc_pack_opts *opts, char *msg, size_t cap)
{
	struct packer *p;
	uint8_t start[FC_START_LEN];
	uint64_t total = 0;
	int r, fl;

	r = fc_pack_check(paths, n, &total, msg, cap);
	if (r < 0)
		return r;
	p = malloc(sizeof(*p));
	if (!p) {
		snprintf(msg, cap, "out of memory");
		return -ENOMEM;
	}
	r = packer_start(p, msg, cap);
	if (r < 0) {
		free(p);
		return r;
	}
	p->out = malloc(FC_PACK_BUF);
	if (!p->out) {
		free(p);
		snprintf(msg, cap, "out of memory");
		return -ENOMEM;
	}
	p->out_fd = out_fd;
	p->status_fd = status_fd;
	p->opts = opts;
	p->sending = 1;
	p->total = total;
	/* Non-blocking while we send, so that a receiver that stopped
	 * reading cannot keep us from reading its status. */
	fl = fcntl(out_fd, F_GETFL);
	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(out_fd, F_SETFL, fl | O_NONBLOCK);

	fc_start_encode(start);
	r = emit(p, start, sizeof(start), 1);
	if (r == 0)
		r = walk_sources(p, paths, n);
	if (r == 0)
		r = emit_hdr(p, FC_T_END, NULL, NULL, 0);
	if (r == 0) {
		crypto_hash_sha256_final(&p->sha, p->digest);
		r = emit(p, p->digest, FC_DIGEST_LEN, 0);
	}
	if (r == 0)
		r = flush_out(p);
	if (r == 0 && (r = end_stream(out_fd, status_fd)) < 0)
		snprintf(msg, cap, "ending the stream: %s", strerror(-r));
	if (p->progress_shown)
		progress(p, 1);

	if (r == 0 || r == FC_STOPPED || r == -EPIPE ||
	    r == -ECONNRESET) {
		/* Sent all, or the receiver stopped us: its word counts. */
		int sent_all = r == 0;

		r = wait_status(p);
		if (r < 0)
			snprintf(msg, cap, "reading the receiver's status: %s",
				 strerror(-r));
		else
			r = judge_status(p, sent_all);
	} else if (!msg[0]) {
		snprintf(msg, cap, "sending: %s", strerror(-r));
	}
	if (fl >= 0 && !(fl & O_NONBLOCK))
		fcntl(out_fd, F_SETFL, fl);
	free(p->out);
	free(p);
	return r;
}

int fc_remove_sources(char *const paths[], size_t n, char *msg, size_t cap)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct source s;
		char *path;
		int r = source_split(paths[i], &s, msg, cap);

		if (r < 0)
			return r;
		if (asprintf(&path, "%s/%s", s.dir, s.base) < 0) {
			source_free(&s);
			snprintf(msg, cap, "out of memory");
			return -ENOMEM;
		}
		r = bh_rm_rf(path);
		if (r < 0) {
			char esc[PATH_MAX];

			fc_escape(esc, sizeof(esc), (const uint8_t *)paths[i],
				  strlen(paths[i]));
			snprintf(msg, cap, "%s: copied, but cannot remove: %s",
				 esc, strerror(-r));
		}
		free(path);
		source_free(&s);
		if (r < 0)
			return r;
	}
	return 0;
}
