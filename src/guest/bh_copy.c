/* bh-copy: copies files and folders from this qube to another, which the
 * policy picks (the target is @default: the user chooses, as with Qubes'
 * qvm-copy). The files land in ~/Incoming/THIS-QUBE/ there.
 *
 *   bh-copy [--move] [--] FILE...
 *
 * It checks every source first (nothing is sent if one cannot be), then
 * runs `bh-call @default bulkhead.Filecopy -- bh-copy --pack-to-stdout
 * ...`: bh-call connects that second bh-copy's stdout to the receiving
 * service's stdin (bh-filecopy-recv) and its stdin to the service's
 * stdout, where the receiver's status arrives. The packer exits 0 only
 * when the receiver confirmed the copy; with --move it then removes the
 * sources. See bh-copy(1) and docs/filecopy.md. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest/filecopy.h"

#define PROG "bh-copy"
#define SERVICE "bulkhead.Filecopy"

/* Exit codes (bh-copy(1)). */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1,   /* refused by the receiver, or the copy broke */
	EXIT_USAGE = 2,
	EXIT_SOURCE = 3,   /* a source cannot be sent: nothing was sent */
	EXIT_REMOVE = 4,   /* --move: copied, but a source not removed */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [--move] [--] FILE...\n"
		   "Copies FILEs (files, folders, symlinks) to another qube, "
		   "into ~/Incoming/QUBE/\n"
		   "there; the policy decides which qube. --move removes "
		   "them once the copy is\nconfirmed.\n",
		PROG);
}

/* The receiving side of bh-call: stream on stdout, status on stdin. */
static int pack_to_stdout(char *const paths[], size_t n, int move)
{
	struct fc_pack_opts opts = { .progress_fd = -1, .prog = PROG };
	char msg[2048];
	int r;

	signal(SIGPIPE, SIG_IGN);
	if (isatty(STDERR_FILENO))
		opts.progress_fd = STDERR_FILENO;
	r = fc_pack_paths(STDOUT_FILENO, STDIN_FILENO, paths, n, &opts, msg,
			  sizeof(msg));
	close(STDOUT_FILENO);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", PROG, msg);
		if (move)
			fprintf(stderr, "%s: nothing was removed\n", PROG);
		return EXIT_FAILED;
	}
	if (move && fc_remove_sources(paths, n, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "%s: %s\n", PROG, msg);
		return EXIT_REMOVE;
	}
	return EXIT_OK;
}

/* The packer may run in another folder: give it absolute paths. */
static char *absolute(const char *path, const char *cwd)
{
	char *out;

	if (path[0] == '/')
		return strdup(path);
	if (asprintf(&out, "%s/%s", cwd, path) < 0)
		return NULL;
	return out;
}

int main(int argc, char **argv)
{
	int move = 0, pack = 0, i, first;
	char self[PATH_MAX], cwd[PATH_MAX], msg[2048];
	const char *call;
	char **args;
	size_t n, k = 0;
	ssize_t sl;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--move")) {
			move = 1;
		} else if (!strcmp(argv[i], "--pack-to-stdout")) {
			pack = 1;
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
	first = i;
	n = (size_t)(argc - first);
	if (n == 0) {
		fprintf(stderr, "%s: no file to copy\n", PROG);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (pack)
		return pack_to_stdout(argv + first, n, move);

	if (fc_pack_check(argv + first, n, NULL, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "%s: %s\n%s: nothing was sent\n", PROG, msg,
			PROG);
		return EXIT_SOURCE;
	}
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl < 0 || !getcwd(cwd, sizeof(cwd))) {
		fprintf(stderr, "%s: cannot find itself or the current "
			"folder: %s\n", PROG, strerror(errno));
		return EXIT_FAILED;
	}
	self[sl] = '\0';
	args = calloc(n + 9, sizeof(*args));
	if (!args) {
		fprintf(stderr, "%s: out of memory\n", PROG);
		return EXIT_FAILED;
	}
	/* BH_CALL: another bh-call, for tests and development. */
	call = getenv("BH_CALL");
	if (!call || !call[0])
		call = "bh-call";
	args[k++] = (char *)call;
	args[k++] = "@default";
	args[k++] = SERVICE;
	args[k++] = "--";
	args[k++] = self;
	args[k++] = "--pack-to-stdout";
	if (move)
		args[k++] = "--move";
	args[k++] = "--";
	for (i = first; i < argc; i++) {
		args[k] = absolute(argv[i], cwd);
		if (!args[k++]) {
			fprintf(stderr, "%s: out of memory\n", PROG);
			return EXIT_FAILED;
		}
	}
	args[k] = NULL;
	execvp(call, args);
	fprintf(stderr, "%s: cannot run %s: %s (bh-call comes with the "
		"Bulkhead guest tools)\n", PROG, call, strerror(errno));
	return EXIT_FAILED;
}
