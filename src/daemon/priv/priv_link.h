/* The priv link (proto/msg_priv.h): one SOCK_SEQPACKET pair between
 * bulkheadd's root parent and each control it starts. This is the
 * datagram I/O both ends use (with the fds that travel beside a
 * message) and control's end: a LAUNCH waits for its answer (the parent
 * answers at once: it starts QEMU and the channel process and returns),
 * while KILL's DONE and EXITED come in the loop (priv_link_next). What
 * arrives while a LAUNCH waits is kept for the loop, in order. */
#ifndef BH_DAEMON_PRIV_LINK_H
#define BH_DAEMON_PRIV_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/priv/priv_launch.h"
#include "proto/msg_priv.h"

/* At most this many fds beside one message (ATTACHED's four). */
#define PRIV_FDS_MAX 4
/* How long control waits for LAUNCHED or FAILED: the parent answers as
 * soon as QEMU and the channel process are started (milliseconds); a
 * parent that does not answer in this time is broken. */
#define PRIV_LAUNCH_REPLY_MS 30000

/* Sends m (encoded, so checked) with nfds fds beside it. Returns 0, or
 * -EINVAL when m breaks its own rules, or -errno of the send. */
int priv_msg_send(int fd, const struct bh_priv_msg *m, const int *fds,
		  int nfds);

/* Receives one datagram into *m, checked (bh_priv_parse), and the fds
 * beside it into fds[0..*nfds) (close-on-exec; at most PRIV_FDS_MAX).
 * Returns 1, 0 at the peer's end, -EAGAIN when none is waiting on a
 * non-blocking socket, or -EPROTO for one that is cut (an empty one
 * too), too long, fails its checks or has more than PRIV_FDS_MAX fds
 * beside it (its fds closed). */
int priv_msg_recv(int fd, struct bh_priv_msg *m, int fds[PRIV_FDS_MAX],
		  int *nfds);

/* Control's end. */
struct priv_link {
	int fd; /* non-blocking; -1 when there is none (tests) */
	uint32_t next_id;
	/* What came while a LAUNCH waited, for priv_link_next. */
	struct bh_priv_msg *queue;
	size_t head, n, cap;
};

/* Asks the parent to start l's qube; restore_fd (or -1) travels beside
 * it with BH_PRIV_RESTORE (l's BH_PRIV_RESTORE without a restore_fd is
 * refused here, as is a field out of its rule: nothing is sent).
 * Returns 0 with *out (the pids, and control's two links to the channel
 * process, non-blocking); or a bh exit code with err said. */
int priv_link_launch(struct priv_link *pl, const struct bh_priv_launch *l,
		     int restore_fd, struct priv_started *out, char *err,
		     size_t cap);

/* Asks the parent to start a job (a process of its own, whose records
 * control reads: disk/job_child.h). Returns its pid with *read_fd the
 * read end of its records' pipe (non-blocking); or a negative errno with
 * err said (-EPROTO: the parent refused it, err says why). */
pid_t priv_link_job(struct priv_link *pl, const struct bh_priv_job *j,
		    int *read_fd, char *err, size_t cap);

/* What ATTACHED gives: the pids, control's two links to the channel
 * process (non-blocking) and pidfds of QEMU and of the channel process
 * (their ends are watched by these: they need not be anyone's children
 * here). */
struct priv_attached {
	pid_t qemu, chan;
	int link_fd, qmp_fd, qemu_pidfd, chan_pidfd;
};

/* Asks the parent to re-attach qube name, left running by an earlier
 * control or daemon. 0 with *out filled; or -errno with err said
 * (-EPROTO: the parent refused it, err says why). */
int priv_link_attach(struct priv_link *pl, const char *name,
		     struct priv_attached *out, char *err, size_t cap);

/* Asks the parent to name template tmpl's next root version
 * (disk/volume.h, volume_root_next): cur, the version to copy, and
 * work, the one the template writes, both file names in its folder.
 * 0, or -errno with err said. */
int priv_link_root_next(struct priv_link *pl, const char *tmpl,
			char cur[BH_PRIV_FILE_MAX],
			char work[BH_PRIV_FILE_MAX], char *err, size_t cap);

/* Asks the parent to commit (BH_PRIV_ROOT_OP_COMMIT: back to root,
 * readable by all, made current) or drop (BH_PRIV_ROOT_OP_ABORT)
 * template tmpl's root version work, and waits for its DONE. Returns
 * DONE's result (0 or -errno), or -errno of the link. */
int priv_link_root(struct priv_link *pl, uint32_t op, const char *tmpl,
		   const char *work);

/* Sends req (a request whose only answer is DONE: ROOT's COMMIT and
 * ABORT, LET_GO, LEFTOVERS) and waits for its DONE, up to timeout_ms.
 * Returns DONE's result (0 or -errno), or -errno of the link. */
int priv_link_call(struct priv_link *pl, struct bh_priv_msg *req,
		   int timeout_ms);

/* Asks the parent to kill the job whose process is pid (its DONE comes
 * through priv_link_next, its end as EXITED). 0 or -errno. */
int priv_link_cancel(struct priv_link *pl, pid_t pid);

/* Asks the parent to send signo (SIGKILL or SIGTERM) to qube name's QEMU
 * or channel process (which). Its DONE comes through priv_link_next.
 * Returns 0 or -errno. */
int priv_link_kill(struct priv_link *pl, const char *name, uint32_t which,
		   int signo);

/* The next message from the parent (an EXITED or a DONE): 1 with *m, 0
 * when none is waiting, -EPIPE when the link ended or broke. */
int priv_link_next(struct priv_link *pl, struct bh_priv_msg *m);

/* 1 when priv_link_next has a kept message to give without reading. */
int priv_link_pending(const struct priv_link *pl);

void priv_link_free(struct priv_link *pl);

#endif
