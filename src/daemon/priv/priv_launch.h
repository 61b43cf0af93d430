/* priv's LAUNCH (proto/msg_priv.h): a qube's QEMU started in its jail,
 * and its channel process, by bulkheadd's root parent on control's
 * request. Everything that needs root for a start is here: the files a
 * qube writes handed to its uid, its cgroup, the jail, the channel
 * process's uid and empty root. Control gets back the pids and its two
 * links to the channel process, nothing else: QEMU's and the console's
 * fds go to the channel process, the logs are opened here.
 *
 * The paths come from the names in the request (priv_paths.h) and the
 * state and runtime folders, never from control. */
#ifndef BH_DAEMON_PRIV_LAUNCH_H
#define BH_DAEMON_PRIV_LAUNCH_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "daemon/engine/cgroup.h"
#include "daemon/engine/engine.h"
#include "proto/msg_priv.h"

/* What priv knows of the host, set once at its start. */
struct priv_host {
	char root[PATH_MAX], state[PATH_MAX], run[PATH_MAX];
	char jail_root[PATH_MAX]; /* RUN/jail */
	struct engine_accel_choice accel;
	/* The groups each QEMU runs in (cgroup.h): set up by
	 * priv_serve_setup_cgroups; zeroed (off) until then. */
	struct cgroups cgroups;
};

/* Fills h for the folders of paths' root (lib/paths.h's fields). */
void priv_host_init(struct priv_host *h, const char *root,
		    const char *state, const char *run);

struct priv_started {
	pid_t qemu, chan;
	int link_fd, qmp_fd; /* control's ends, for LAUNCHED */
};

/* Starts l's qube (restore_fd: the snapshot's state for
 * BH_PRIV_RESTORE, else -1). Returns 0 with *out filled; or a bh exit
 * code (proto/exitcodes.h) with err said, after undoing what it did.
 * QEMU, when it had started, is killed: its end comes as any other's
 * (out->qemu is then still set, > 0; else 0). */
int priv_launch(struct priv_host *h, const struct bh_priv_launch *l,
		int restore_fd, struct priv_started *out, char *err,
		size_t cap);

#endif
