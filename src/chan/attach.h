/* The channel process's side of a re-attach (proto/chan_attach.h): while
 * no daemon is linked, it waits on the listening socket it was given
 * (fd 13) for the next daemon's request.
 *
 * Nothing here may hold the relay up: the listening socket is
 * non-blocking, and so is each connection accepted from it. A
 * connection whose request has not arrived yet is kept, at most
 * CHAN_ATTACH_PENDING_MAX of them and each at most CHAN_ATTACH_WAIT_MS
 * (the daemon sends its request right after its connect: a connection
 * may be accepted between the two); while all the places are taken, the
 * listening socket is not polled (others wait in its backlog). A
 * connection that sends nothing is closed at its time, one that sends
 * anything but the request at once: either way the process waits on. */
#ifndef BH_CHAN_ATTACH_H
#define BH_CHAN_ATTACH_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CHAN_ATTACH_PENDING_MAX 4
#define CHAN_ATTACH_WAIT_MS 2000
/* poll entries chan_attach_poll_fds may fill. */
#define CHAN_ATTACH_POLL_MAX (1 + CHAN_ATTACH_PENDING_MAX)

struct chan_attach {
	int listen_fd;
	uid_t uid; /* the only peer uid allowed (the process's starter's) */
	int pending[CHAN_ATTACH_PENDING_MAX];
	int64_t deadline[CHAN_ATTACH_PENDING_MAX]; /* bh_now_ms() */
	size_t npending;
	/* Called with one line for each connection refused (why). */
	void (*log)(const char *line);
};

void chan_attach_init(struct chan_attach *a, int listen_fd, uid_t uid,
		      void (*log)(const char *line));

/* Fills p (CHAN_ATTACH_POLL_MAX entries at least) with what to wait on
 * while detached; returns how many. Lowers *timeout_ms (-1: none) to the
 * first pending connection's deadline. */
size_t chan_attach_poll_fds(struct chan_attach *a, struct pollfd *p,
			    int *timeout_ms);

/* After poll, with the n entries chan_attach_poll_fds filled: accepts,
 * reads requests, drops connections past their time. Returns 1 with the
 * new links in *link_fd (SOCK_STREAM) and *qmp_fd (SOCK_SEQPACKET),
 * both non-blocking and close-on-exec, and every other pending
 * connection closed; else 0. */
int chan_attach_events(struct chan_attach *a, const struct pollfd *p,
		       size_t n, int *link_fd, int *qmp_fd);

/* Closes every pending connection (on attaching, or at the end). */
void chan_attach_drop_all(struct chan_attach *a);

/* An int socket option of fd at SOL_SOCKET (SO_TYPE, SO_DOMAIN, ...), or
 * -1. */
int chan_sock_opt(int fd, int opt);

/* One message from an accepted connection conn: 1 when it is exactly
 * the request with exactly a SOCK_STREAM and a SOCK_SEQPACKET Unix
 * socket (then in *link_fd and *qmp_fd, non-blocking and close-on-exec);
 * 0 when nothing has arrived yet; -1 when the connection is to be closed,
 * with why set (every fd it carried already closed). */
int chan_attach_take(int conn, int *link_fd, int *qmp_fd, char *why,
		     size_t cap);

#endif
