/* bh-filecopy-recv: the service bulkhead.Filecopy in the receiving qube.
 * The stream comes on stdin; one status message goes back on stdout.
 * Files land in $HOME/Incoming/SOURCE/, SOURCE being the sending qube's
 * name as the daemon sets it in BH_REMOTE_QUBE (trusted, and still
 * checked against Qubes' naming rule: it becomes a folder name). Nothing
 * outside that folder is touched, nothing is overwritten, and nothing
 * gets its name there before the whole copy is verified and synced; see
 * docs/filecopy.md. Exit status 0 when the copy succeeded, else 1 (the
 * reason is in the status sent back, and on stderr). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/filecopy.h"
#include "lib/util.h"

#define PROG "bh-filecopy-recv"

/* Refuses the whole copy before reading it. */
static int refuse(int code, const char *text)
{
	uint8_t st[FC_STATUS_HDR_LEN + FC_MAX_STATUS_TEXT];
	size_t len = fc_status_encode(st, sizeof(st), (uint32_t)code, NULL,
				      text);

	fprintf(stderr, "%s: %s\n", PROG, text);
	bh_write_all(STDOUT_FILENO, st, len);
	return 1;
}

int main(int argc, char **argv)
{
	const char *src = getenv("BH_REMOTE_QUBE");
	char msg[FC_MAX_STATUS_TEXT - 16], text[FC_MAX_STATUS_TEXT];
	int dfd, r;

	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1) {
		fprintf(stderr, "usage: %s   (the service bulkhead.Filecopy; "
			"the stream on stdin, BH_REMOTE_QUBE set)\n", PROG);
		return 2;
	}
	if (!src || !fc_qube_name_valid(src))
		return refuse(EINVAL, "receiver: BH_REMOTE_QUBE is missing or "
				      "not a valid qube name");
	umask(077);
	dfd = fc_open_incoming(getenv("HOME"), src, msg, sizeof(msg));
	if (dfd < 0) {
		snprintf(text, sizeof(text), "receiver: %s", msg);
		return refuse(-dfd, text);
	}
	r = fc_receive(STDIN_FILENO, STDOUT_FILENO, dfd, msg, sizeof(msg));
	close(dfd);
	if (r < 0) {
		fprintf(stderr, "%s: from %s: %s\n", PROG, src, msg);
		return 1;
	}
	return 0;
}
