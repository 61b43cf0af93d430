/* Starting a qube's channel process, bulkhead-chan (src/chan/main.c,
 * docs/architecture.md "chan"): the process that holds the qube's
 * control channel, console and QEMU's output, and parses every byte of
 * them, confined to that one qube. The daemon keeps its end of the link
 * (a stream socket pair carrying the same frames as the channel, plus
 * BH_MSG_CHAN_BROKEN) and QMP.
 *
 * The process outlives the daemon and waits for the next one on a
 * listening socket the daemon bound for it (chan_attach_listen); the next
 * daemon re-attaches with chan_attach_connect (proto/chan_attach.h). */
#ifndef BH_DAEMON_CHAN_PROC_H
#define BH_DAEMON_CHAN_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* Channel processes' uids (and gids) are CHAN_UID_BASE + the qube's jail
 * id: just above the jail uids (jail.h), in the same range nothing else
 * allocates, so that a channel process and its qube's QEMU are different
 * users (neither can signal or trace the other) and no two qubes share
 * one. */
#define CHAN_UID_BASE 0x70010000u

/* The socket in a qube's runtime folder where its channel process waits
 * for the next daemon (chan_attach_listen). */
#define CHAN_SOCK_FILE "chan.sock"
/* Its pid and start time in the runtime folder (leftover_qemu.h). */
#define CHAN_PID_FILE "chan.pid"

/* The uid of jail_id's channel process, or (uid_t)-1 when jail_id is not
 * below JAIL_UID_COUNT. */
uid_t chan_uid_for(unsigned jail_id);

/* Finds bulkhead-chan: BULKHEAD_CHAN, else beside this program (the build
 * folder), else PREFIX/lib/bulkhead beside PREFIX/sbin/bulkheadd. 0 with
 * its path in out, or -ENOENT. */
int chan_proc_find(char *out, size_t cap);

/* What the channel process is handed (all kept open by the caller, who
 * closes its copies after the call). */
struct chan_proc_fds {
	int guest;	/* the daemon's end of the qube's control channel */
	int console;	/* the serial console's */
	int qemu_out;	/* the read end of QEMU's stdout and stderr */
	int console_log, console_old, qemu_log, qemu_old;
	int qmp;	/* the daemon's end of QEMU's QMP */
	/* The listening socket of chan_attach_listen, which the process
	 * waits on for the next daemon (fd 13). Given anything else (an fd
	 * that is no listening seqpacket socket), the process ends with
	 * its link, as before re-attaching was built. */
	int attach;
};

/* Starts exe for qube name (a checked qube name) as uid, confined in
 * empty_root. Returns its pid, the daemon's end of the link in *link_fd
 * (a stream: the channel's frames) and of the QMP link in *qmp_fd
 * (seqpacket: QMP records one way, command lines the other; see
 * proto/msg_qmp.h), both non-blocking and close-on-exec; or a negative
 * errno with err set. */
pid_t chan_proc_spawn(const char *exe, const char *name, uid_t uid,
		      const char *empty_root, const struct chan_proc_fds *fds,
		      int *link_fd, int *qmp_fd, char *err, size_t cap);

/* The socket a channel process waits on for the next daemon: a
 * SOCK_SEQPACKET Unix socket bound at path (a stale socket there is
 * removed first; any other file is left and refused with -EEXIST), mode
 * 0600 and the caller's (root's), listening, close-on-exec. Returns its
 * fd (pass it as chan_proc_fds.attach, then close it), or a negative
 * errno with err set. */
int chan_attach_listen(const char *path, char *err, size_t cap);

/* The next daemon's side of a re-attach: connects to the channel process
 * waiting at path and hands it, with the request, its ends of a new frame
 * link (SOCK_STREAM) and QMP link (SOCK_SEQPACKET). 0 with the daemon's
 * ends in *link_fd and *qmp_fd (non-blocking, close-on-exec): the first
 * frame on *link_fd is then BH_MSG_CHAN_ATTACH, unless the process
 * refused (the links then close: EOF). Or a negative errno with err set:
 * -ECONNREFUSED when no process waits there any more (it ended), -ENOENT
 * when there is no socket. Never blocks for long: the connect and the
 * send give up after CHAN_ATTACH_SEND_MS (-EAGAIN). */
#define CHAN_ATTACH_SEND_MS 2000
int chan_attach_connect(const char *path, int *link_fd, int *qmp_fd,
			char *err, size_t cap);

#endif
