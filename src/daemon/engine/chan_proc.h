/* Starting a qube's channel process, bulkhead-chan (src/chan/main.c,
 * docs/architecture.md "chan"): the process that holds the qube's
 * control channel, console and QEMU's output, and parses every byte of
 * them, confined to that one qube. The daemon keeps its end of the link
 * (a stream socket pair carrying the same frames as the channel, plus
 * BH_MSG_CHAN_BROKEN) and QMP. */
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

#endif
