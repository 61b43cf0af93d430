/* bh-openinvm-serve: the service bulkhead.OpenInVM, in the disposable
 * that bh-open-in-dvm called (installed in templates as
 * /etc/bulkhead/rpc/bulkhead.OpenInVM).
 *
 * It reads one request on stdin (guest/openinvm.h; untrusted: the file
 * comes from another qube, and is why we are a disposable), writes the
 * file into a fresh private folder, opens it with, in order,
 *   1. OIV_OPENER_PATH (/usr/local/etc/bulkhead/open-in-vm), an
 *      executable on the disposable template's private volume, so that
 *      each DVM may choose its own;
 *   2. xdg-open, when on PATH;
 * and waits until the viewer and every process it started have exited
 * (we are their child subreaper: see wait_viewer). Then it answers with
 * one reply on stdout: the status, and the new content when the file
 * changed (unless the request was view-only), and removes its folder.
 * The disposable is destroyed by the daemon once the call ends. Exit
 * status 0 when the reply said success, else 1. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest/openinvm.h"
#include "lib/util.h"

#define PROG "bh-openinvm-serve"

struct req_ctx {
	int dirfd;
	int fd;                 /* the file being written */
	char name[OIV_MAX_NAME + 1];
	uint32_t flags;
	crypto_hash_sha256_state sha; /* of the content as received */
	char why[256];
};

static int req_header(void *vctx, const struct oiv_hdr *h, const char *name)
{
	struct req_ctx *c = vctx;
	int e;

	c->flags = h->flags;
	snprintf(c->name, sizeof(c->name), "%s", name);
	/* A fresh folder of ours: O_EXCL and O_NOFOLLOW only for good
	 * measure. */
	c->fd = openat(c->dirfd, name,
		       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		       0600);
	if (c->fd < 0) {
		e = errno;
		snprintf(c->why, sizeof(c->why), "cannot create the file: %s",
			 strerror(e));
		return -e;
	}
	return 0;
}

static int req_data(void *vctx, const uint8_t *untrusted_buf, size_t len)
{
	struct req_ctx *c = vctx;
	int r = bh_write_all(c->fd, untrusted_buf, len);

	if (r < 0)
		snprintf(c->why, sizeof(c->why), "cannot write the file: %s",
			 strerror(-r));
	else
		crypto_hash_sha256_update(&c->sha, untrusted_buf, len);
	return r;
}

/* Answers and returns our exit status. content_fd: the changed file,
 * or -1. */
static int reply(uint32_t status, const char *text, int content_fd,
		 uint64_t size)
{
	struct oiv_hdr h = { .version = OIV_VERSION, .status = status };
	char msg[256];

	if (content_fd >= 0) {
		h.flags = OIV_F_CHANGED;
		h.size = size;
	}
	if (status)
		fprintf(stderr, "%s: %s\n", PROG, text);
	if (oiv_send(STDOUT_FILENO, OIV_REPLY, &h, text, content_fd, msg,
		     sizeof(msg)) < 0) {
		fprintf(stderr, "%s: %s\n", PROG, msg);
		return 1;
	}
	return status ? 1 : 0;
}

/* The viewer: the DVM's own opener, else xdg-open on PATH. Returns 0
 * with the program in out, or -ENOENT/-EACCES with a message in why. */
static int find_viewer(char *out, size_t cap, char *why, size_t why_cap)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;

	if (access(OIV_OPENER_PATH, F_OK) == 0) {
		if (access(OIV_OPENER_PATH, X_OK) < 0) {
			snprintf(why, why_cap, "%s is not executable",
				 OIV_OPENER_PATH);
			return -EACCES;
		}
		snprintf(out, cap, "%s", OIV_OPENER_PATH);
		return 0;
	}
	copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	for (dir = copy ? strtok_r(copy, ":", &save) : NULL; dir;
	     dir = strtok_r(NULL, ":", &save)) {
		if (bh_path_fmt(out, cap, "%s/xdg-open", dir) == 0 &&
		    access(out, X_OK) == 0) {
			free(copy);
			return 0;
		}
	}
	free(copy);
	snprintf(why, why_cap, "no application to open it: the disposable "
		 "has neither %s nor xdg-open", OIV_OPENER_PATH);
	return -ENOENT;
}

/* Runs the viewer on path and waits for it and for everything it
 * started. xdg-open (and many launchers) may return while the
 * application it started runs on; as our child subreaper, such orphans
 * become our children, and we wait for them too, so the disposable lives
 * until the application is closed. (An application that hands the file
 * to a process that is not ours, e.g. through D-Bus activation, is not
 * waited for: docs/open-in-dvm.md.) Returns the viewer's wait status, or
 * -errno. */
static int run_viewer(const char *viewer, const char *path, int view_only)
{
	int ws = 0, got = 0;
	pid_t pid, w;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fprintf(stderr, "%s: cannot wait for the viewer's children: "
			"%s\n", PROG, strerror(errno));
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

		/* Our stdout is the reply: the viewer's output goes to
		 * our stderr instead, its stdin is empty. */
		if (nul < 0 || dup2(nul, STDIN_FILENO) < 0 ||
		    dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(126);
		setenv("BH_VIEW_ONLY", view_only ? "1" : "0", 1);
		signal(SIGPIPE, SIG_DFL);
		execl(viewer, viewer, path, (char *)NULL);
		fprintf(stderr, "%s: %s: %s\n", PROG, viewer, strerror(errno));
		_exit(127);
	}
	for (;;) {
		int s;

		w = waitpid(-1, &s, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break; /* ECHILD: all are gone */
		if (w == pid) {
			ws = s;
			got = 1;
		}
	}
	return got ? ws : -ECHILD;
}

/* After the viewer: did the file change? Returns 1 with *out_fd (at
 * offset 0) and *size when it did, 0 when not, or -errno with why. */
static int changed(struct req_ctx *c, const uint8_t before[OIV_DIGEST_LEN],
		   int *out_fd, uint64_t *size, char *why, size_t cap)
{
	uint8_t after[OIV_DIGEST_LEN];
	struct stat st;
	int fd, r;

	/* By name: editors often save by writing a new file and renaming
	 * it over the old one. */
	fd = openat(c->dirfd, c->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, cap, "the file is gone after the viewer "
			 "exited: %s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(why, cap, "the file is no longer a regular file");
		return -EINVAL;
	}
	r = oiv_hash_fd(fd, after, size);
	if (r < 0 || lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		snprintf(why, cap, "cannot read the file back");
		return r < 0 ? r : -EIO;
	}
	if (memcmp(before, after, sizeof(after)) == 0) {
		close(fd);
		return 0;
	}
	*out_fd = fd;
	return 1;
}

/* $HOME when it is a folder (the disposable's private volume, which has
 * room for large files), else /tmp. */
static int make_folder(char *out, size_t cap)
{
	const char *home = getenv("HOME");
	struct stat st;

	if (!home || home[0] != '/' || stat(home, &st) < 0 ||
	    !S_ISDIR(st.st_mode) || access(home, W_OK) < 0)
		home = "/tmp";
	if (bh_path_fmt(out, cap, "%s/bh-open-in-dvm.XXXXXX", home) < 0 ||
	    !mkdtemp(out)) {
		int e = errno;

		out[0] = '\0'; /* nothing of ours to remove */
		return -e;
	}
	return 0;
}

/* Receives, opens, answers; returns our exit status. folder: made here,
 * "" until then. */
static int serve(char folder[PATH_MAX])
{
	static struct oiv_dec dec;
	static uint8_t buf[64 * 1024];
	struct req_ctx ctx = { .dirfd = -1, .fd = -1 };
	struct oiv_sink sink = { req_header, req_data, &ctx };
	uint8_t before[OIV_DIGEST_LEN];
	char path[PATH_MAX + OIV_MAX_NAME + 2];
	char viewer[PATH_MAX], why[PATH_MAX + 128];
	int r = 0, ws, out_fd = -1;
	uint64_t size = 0;

	if (make_folder(folder, PATH_MAX) < 0 ||
	    (ctx.dirfd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
		    0) {
		snprintf(why, sizeof(why), "cannot make a folder for the "
			 "file: %s", strerror(errno));
		return reply(EIO, why, -1, 0);
	}
	/* oiv_dec_init starts libsodium first. */
	if (oiv_dec_init(&dec, OIV_REQUEST, OIV_MAX_SIZE, &sink) < 0 ||
	    crypto_hash_sha256_init(&ctx.sha) != 0)
		return reply(EIO, "cannot start SHA-256", -1, 0);
	/* To the end of the input: bytes after the message are an error. */
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((r = oiv_dec_feed(&dec, buf, (size_t)n)) < 0)
			break;
	}
	r = oiv_dec_finish(&dec);
	if (r == 0 && fsync(ctx.fd) < 0)
		r = -errno;
	if (ctx.fd >= 0)
		close(ctx.fd);
	if (r < 0) {
		/* The partial file is of no use to anyone. */
		if (ctx.name[0])
			unlinkat(ctx.dirfd, ctx.name, 0);
		snprintf(why, sizeof(why), "bad request: %s%s%s", dec.msg,
			 ctx.why[0] ? ": " : "", ctx.why);
		return reply((uint32_t)-r, why, -1, 0);
	}
	crypto_hash_sha256_final(&ctx.sha, before);
	if ((ctx.flags & OIV_F_VIEW_ONLY) &&
	    fchmodat(ctx.dirfd, ctx.name, 0400, 0) < 0)
		fprintf(stderr, "%s: cannot make the file read-only: %s\n",
			PROG, strerror(errno));
	if ((r = find_viewer(viewer, sizeof(viewer), why, sizeof(why))) < 0)
		return reply((uint32_t)-r, why, -1, 0);
	snprintf(path, sizeof(path), "%s/%s", folder, ctx.name);
	ws = run_viewer(viewer, path, ctx.flags & OIV_F_VIEW_ONLY);
	if (ws < 0) {
		snprintf(why, sizeof(why), "cannot run %s: %s", viewer,
			 strerror(-ws));
		return reply((uint32_t)-ws, why, -1, 0);
	}
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		/* Whatever it left in the file is not trusted to be what
		 * the user wanted: nothing goes back. */
		if (WIFEXITED(ws))
			snprintf(why, sizeof(why), "%s failed (exit status "
				 "%d)", viewer, WEXITSTATUS(ws));
		else
			snprintf(why, sizeof(why), "%s was killed by signal "
				 "%d", viewer, WTERMSIG(ws));
		return reply(ECANCELED, why, -1, 0);
	}
	if (ctx.flags & OIV_F_VIEW_ONLY)
		return reply(0, "viewed", -1, 0);
	r = changed(&ctx, before, &out_fd, &size, why, sizeof(why));
	if (r < 0)
		return reply((uint32_t)-r, why, -1, 0);
	if (r == 0)
		return reply(0, "unchanged", -1, 0);
	r = reply(0, "changed", out_fd, size);
	close(out_fd);
	return r;
}

int main(int argc, char **argv)
{
	char folder[PATH_MAX] = "";
	int r;

	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1) {
		fprintf(stderr, "usage: %s   (the service bulkhead.OpenInVM; "
			"the request on stdin, the reply on stdout)\n", PROG);
		return 2;
	}
	umask(077);
	r = serve(folder);
	/* The disposable goes anyway; a qube that is not one (a policy of
	 * the administrator's) keeps no copy. */
	if (folder[0] && bh_rm_rf(folder) < 0)
		fprintf(stderr, "%s: cannot remove %s\n", PROG, folder);
	return r;
}
