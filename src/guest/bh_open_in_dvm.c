/* bh-open-in-dvm: opens a file of this qube in a new disposable, with the
 * application the disposable has for it; when the file was changed there,
 * the new content comes back and replaces it here.
 *
 *   bh-open-in-dvm [--view-only] [--] FILE
 *
 * It calls bulkhead.OpenInVM at @dispvm (the policy allows it; the
 * daemon makes the disposable from this qube's default_dispvm and
 * destroys it when the call ends), sends one request (the name, the
 * content; guest/openinvm.h) and reads one reply: a status, and the new
 * content when it changed. The disposable has opened an untrusted file:
 * its reply is untrusted, bounded (oiv_reply_cap) and checked whole
 * before anything here changes. The new content goes to a temporary file
 * beside FILE, which replaces FILE by rename(2) only once the reply
 * checked out: FILE is never half written. See bh-open-in-dvm(1) and
 * docs/open-in-dvm.md. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/call_client.h"
#include "guest/filecopy.h"
#include "guest/openinvm.h"
#include "lib/util.h"

#define PROG "bh-open-in-dvm"
#define TARGET "@dispvm"

/* Exit codes (bh-open-in-dvm(1)); 125, 126, 127 are the call's. */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1, /* the disposable could not open it */
	EXIT_USAGE = 2,
	EXIT_SOURCE = 3, /* FILE cannot be sent: nothing was sent */
	EXIT_REPLY = 4,  /* the reply was refused: FILE unchanged */
	EXIT_WRITE = 5,  /* the new content could not replace FILE, or FILE
			  * changed here meanwhile */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--view-only] [--] FILE\n"
		"\n"
		"Opens FILE in a new disposable qube (made from this qube's\n"
		"default_dispvm), with the application the disposable has for\n"
		"its type. When the viewer exits, the disposable is destroyed;\n"
		"if FILE was changed there, the new content replaces FILE here\n"
		"(never with --view-only).\n"
		"\n"
		"Exit status: 0 opened (changes written back); 1 the\n"
		"disposable could not open it; 2 usage; 3 FILE cannot be sent;\n"
		"4 the disposable's reply was refused; 5 the new content could\n"
		"not be written, or FILE changed here meanwhile (the new\n"
		"content is kept beside it); 126 refused by the policy; 127\n"
		"no such service in the disposable; 125 the call failed. FILE\n"
		"is left as it was unless the status is 0.\n",
		PROG);
}

/* The reply's receiver: the temporary file beside FILE. */
struct reply_ctx {
	const char *path; /* FILE, resolved */
	mode_t mode;      /* FILE's permission bits */
	int view_only;
	char tmp[PATH_MAX];
	int tmp_fd;       /* -1 until content comes */
	uint32_t status;
	uint32_t flags;
	char text[4 * OIV_MAX_TEXT + 1];
	char why[PATH_MAX + 128]; /* a local error, for the user */
};

static int reply_header(void *vctx, const struct oiv_hdr *h, const char *text)
{
	struct reply_ctx *c = vctx;
	char dir[PATH_MAX], base[PATH_MAX];
	int e;

	c->status = h->status;
	c->flags = h->flags;
	snprintf(c->text, sizeof(c->text), "%s", text);
	if (!(h->flags & OIV_F_CHANGED))
		return 0;
	if (c->view_only) {
		snprintf(c->why, sizeof(c->why),
			 "content came back for a view-only open");
		return -EPROTO;
	}
	snprintf(dir, sizeof(dir), "%s", c->path);
	snprintf(base, sizeof(base), "%s", c->path);
	/* O_EXCL (mkostemp), beside FILE so that rename(2) replaces it in
	 * one step on the same file system. */
	if (snprintf(c->tmp, sizeof(c->tmp), "%s/.%s.bh-open.XXXXXX",
		     dirname(dir), basename(base)) >= (int)sizeof(c->tmp)) {
		snprintf(c->why, sizeof(c->why), "path too long");
		return -ENAMETOOLONG;
	}
	c->tmp_fd = mkostemp(c->tmp, O_CLOEXEC);
	if (c->tmp_fd < 0) {
		e = errno;
		snprintf(c->why, sizeof(c->why),
			 "cannot make a temporary file beside it: %s",
			 strerror(e));
		c->tmp[0] = '\0';
		return -e;
	}
	if (fchmod(c->tmp_fd, c->mode) < 0) {
		e = errno;
		snprintf(c->why, sizeof(c->why), "cannot set the mode of %s: %s",
			 c->tmp, strerror(e));
		return -e;
	}
	return 0;
}

static int reply_data(void *vctx, const uint8_t *untrusted_buf, size_t len)
{
	struct reply_ctx *c = vctx;
	int r = bh_write_all(c->tmp_fd, untrusted_buf, len);

	if (r < 0)
		snprintf(c->why, sizeof(c->why), "cannot write %s: %s", c->tmp,
			 strerror(-r));
	return r;
}

static void drop_tmp(struct reply_ctx *c)
{
	if (c->tmp_fd >= 0)
		close(c->tmp_fd);
	c->tmp_fd = -1;
	if (c->tmp[0])
		unlink(c->tmp);
	c->tmp[0] = '\0';
}

/* Reads the reply to its end (or its first error; then what is left is
 * not read). Returns the parser's result and how many bytes came. */
static int read_reply(int fd, struct oiv_dec *d, uint64_t *got)
{
	static uint8_t buf[64 * 1024];
	int r = 0;

	*got = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*got += (uint64_t)n;
		r = oiv_dec_feed(d, buf, (size_t)n);
		if (r < 0)
			return r;
	}
	return oiv_dec_finish(d);
}

/* Sends the request and closes our end, so that the service sees where
 * it ends. A failure to send is not final: the service may have refused
 * early and said why in its reply. */
static void send_request(int fd, int file_fd, const char *name,
			 uint64_t size, int view_only)
{
	struct oiv_hdr h = { .version = OIV_VERSION,
			     .flags = view_only ? OIV_F_VIEW_ONLY : 0,
			     .size = size };
	char msg[256];

	if (oiv_send(fd, OIV_REQUEST, &h, name, file_fd, msg, sizeof(msg)) < 0)
		fprintf(stderr, "%s: %s\n", PROG, msg);
	close(fd);
}

/* path is still the file `was` describes, unchanged: same inode, size
 * and modification time. */
static int same_file(const char *path, const struct stat *was)
{
	struct stat now;

	return stat(path, &now) == 0 && now.st_dev == was->st_dev &&
	       now.st_ino == was->st_ino && now.st_size == was->st_size &&
	       now.st_mtim.tv_sec == was->st_mtim.tv_sec &&
	       now.st_mtim.tv_nsec == was->st_mtim.tv_nsec;
}

static int open_in_dvm(const char *file, int view_only)
{
	static struct oiv_dec dec;
	struct reply_ctx ctx = { .tmp_fd = -1 };
	struct oiv_sink sink = { reply_header, reply_data, &ctx };
	char real[PATH_MAX], base[PATH_MAX];
	const char *name, *why = NULL;
	struct call_client call;
	struct stat st;
	uint64_t got;
	int fd, r, st_call;

	if (!realpath(file, real) ||
	    (fd = open(real, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "%s: %s: %s\n%s: nothing was sent\n", PROG,
			file, strerror(errno), PROG);
		return EXIT_SOURCE;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "%s: %s: not a regular file\n%s: nothing was "
			"sent\n", PROG, file, PROG);
		return EXIT_SOURCE;
	}
	snprintf(base, sizeof(base), "%s", real);
	name = basename(base);
	/* The disposable checks the name as well; a name it would refuse
	 * is better refused here, with the reason. */
	if (fc_name_check((const uint8_t *)name, strlen(name), &why) < 0) {
		fprintf(stderr, "%s: %s: the name cannot be sent: %s\n%s: "
			"nothing was sent\n", PROG, file, why, PROG);
		return EXIT_SOURCE;
	}
	ctx.path = real;
	ctx.mode = st.st_mode & 07777;
	ctx.view_only = view_only;
	if (oiv_dec_init(&dec, OIV_REPLY,
			 view_only ? 0 : oiv_reply_cap((uint64_t)st.st_size),
			 &sink) < 0) {
		fprintf(stderr, "%s: cannot start SHA-256\n", PROG);
		return EXIT_FAILED;
	}
	r = call_client_start(PROG, TARGET, OIV_SERVICE, &call);
	if (r)
		return r;
	send_request(call.to_svc, fd, name, (uint64_t)st.st_size, view_only);
	close(fd);
	r = read_reply(call.from_svc, &dec, &got);
	close(call.from_svc);
	st_call = call_client_wait(&call);
	if (r < 0) {
		drop_tmp(&ctx);
		/* Nothing came: the call itself failed, and its status
		 * says why. */
		if (got == 0 && st_call > 0) {
			call_client_explain(PROG, TARGET, OIV_SERVICE,
					    st_call);
			return st_call;
		}
		if (got == 0 && st_call < 0) {
			fprintf(stderr, "%s: the call ended without an answer "
				"(see the host's `bh log`)\n", PROG);
			return 125;
		}
		fprintf(stderr, "%s: %s: the disposable's reply was refused: "
			"%s%s%s\n%s: %s was left unchanged\n", PROG, file,
			dec.msg, ctx.why[0] ? ": " : "", ctx.why, PROG, file);
		return EXIT_REPLY;
	}
	if (ctx.status != 0) {
		fprintf(stderr, "%s: %s: the disposable could not open it: "
			"%s (%s)\n", PROG, file,
			ctx.text[0] ? ctx.text : "no reason given",
			strerror((int)ctx.status));
		return EXIT_FAILED;
	}
	if (!(ctx.flags & OIV_F_CHANGED))
		return EXIT_OK;
	if (fsync(ctx.tmp_fd) < 0 || close(ctx.tmp_fd) < 0) {
		ctx.tmp_fd = -1;
		fprintf(stderr, "%s: cannot write %s: %s\n%s: %s was left "
			"unchanged\n", PROG, ctx.tmp, strerror(errno), PROG,
			file);
		drop_tmp(&ctx);
		return EXIT_WRITE;
	}
	ctx.tmp_fd = -1;
	/* Edited here too while the disposable had it: replacing it would
	 * lose that edit. Keep both and let the user merge. (A change
	 * between this check and the rename is not caught.) */
	if (!same_file(real, &st)) {
		fprintf(stderr, "%s: %s was changed here while it was open in "
			"the disposable: it was left as it is, and the "
			"disposable's version is in %s\n", PROG, file,
			ctx.tmp);
		return EXIT_WRITE;
	}
	if (rename(ctx.tmp, real) < 0) {
		fprintf(stderr, "%s: cannot replace %s: %s\n%s: %s was left "
			"unchanged\n", PROG, real, strerror(errno), PROG,
			file);
		drop_tmp(&ctx);
		return EXIT_WRITE;
	}
	fprintf(stderr, "%s: %s was changed in the disposable: the new "
		"version replaced it\n", PROG, file);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	int view_only = 0, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--view-only")) {
			view_only = 1;
		} else if (!strcmp(argv[i], "--help") ||
			   !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "%s: unknown option %s\n", PROG,
				argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		} else {
			break;
		}
	}
	if (argc - i != 1) {
		fprintf(stderr, "%s: give exactly one FILE\n", PROG);
		usage(stderr);
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	return open_in_dvm(argv[i], view_only);
}
