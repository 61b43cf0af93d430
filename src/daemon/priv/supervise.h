/* The root parent of bulkheadd (issue 12, docs/architecture.md "priv"):
 * it holds the instance lock, forks control (the process that serves the
 * admin socket and runs the qubes) and starts a new control when the
 * last one dies of a signal (kill -9, a crash): the running qubes' QEMUs
 * and channel processes outlive control, become the parent's (it is their
 * subreaper) and are re-attached by the new control exactly as after a
 * restart of the whole daemon (qube/qube_attach.h).
 *
 * Each control has a priv link to the parent (a new socket pair per
 * control), on which the parent starts the qubes' QEMUs and channel
 * processes for it (priv_serve.h): they are the parent's children.
 * Control still runs as root for the rest (docs/architecture.md, "What
 * control still does as root"). */
#ifndef BH_DAEMON_PRIV_SUPERVISE_H
#define BH_DAEMON_PRIV_SUPERVISE_H

#include <stdint.h>
#include <sys/types.h>

/* At most this many restarts of control in CONTROL_RESTART_WINDOW_MS:
 * a control that dies at once every time (a broken store, a bug met at
 * start-up) is not restarted for ever; the parent then exits and the
 * qubes wait for the next daemon. */
#define CONTROL_RESTART_MAX 5
#define CONTROL_RESTART_WINDOW_MS 60000

/* The times of the latest restarts, oldest first. */
struct restart_window {
	int64_t at[CONTROL_RESTART_MAX];
	unsigned n;
};

/* 1 when one more restart at NOW (ms, monotonic) is allowed, and records
 * it; 0 when CONTROL_RESTART_MAX happened within the window before now. */
int restart_allowed(struct restart_window *w, int64_t now);

/* What control learns from its parent. */
struct control_start {
	pid_t priv_pid;
	/* Control's end of the priv link (priv_link.h). */
	int priv_fd;
	/* 0 for the first control, then how many were started after it. */
	unsigned restarts;
};

/* Forks control and supervises it, serving its priv link with serve
 * (priv_serve_init'ed by the caller). Returns 0 in control, with *cs
 * filled and *ready_fd left to the first control only (-1 in later ones:
 * bh waits on it for the first start alone). In the parent it never
 * returns: it exits with control's status once control exits of its own
 * accord (a stop, a failed start-up) or can no longer be restarted.
 * SIGTERM and SIGINT to the parent are passed on to control. log_path is
 * the daemon's log, followed when control rotates it; admin_sock, the
 * admin socket the parent bound for every control, is removed when the
 * parent gives up. Returns -errno in
 * the parent when the first fork fails. */
struct priv_serve;
int priv_supervise(int *ready_fd, const char *log_path,
		   const char *admin_sock, struct priv_serve *serve,
		   struct control_start *cs);

#endif
