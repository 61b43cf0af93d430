/* bulkheadd's root parent serving control's requests on the priv link
 * (proto/msg_priv.h): LAUNCH (priv_launch.h) and KILL, JOB (a volume
 * operation in a process of its own: disk/job_child.h) and CANCEL, ROOT
 * (a template's root versions), ATTACH (a qube an earlier control or
 * daemon left running), and telling control of every end of the
 * processes it started (EXITED). The
 * parent keeps the table of those processes: the qube's name, its
 * QEMU's and its channel process's pids. It outlives a control that
 * dies, so a new control's KILL finds the qubes the last one started.
 *
 * Control is not trusted here: every request is checked by
 * bh_priv_parse, a KILL reaches only a process of this table (never any
 * other pid), a LAUNCH is refused for a name whose QEMU still runs or a
 * jail id a running QEMU has, and the table is bounded. A request that
 * fails its checks ends the link (the supervisor then kills control and
 * starts a new one). */
#ifndef BH_DAEMON_PRIV_SERVE_H
#define BH_DAEMON_PRIV_SERVE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "daemon/priv/priv_launch.h"
#include "proto/msg_priv.h"

/* Qubes started and not yet wholly ended, at most (the jail ids are
 * fewer than this anyway: JAIL_UID_COUNT). */
#define PRIV_CHILDREN_MAX 4096
/* A send to control that does not go through in this time (control
 * stopped reading) ends the link. */
#define PRIV_SEND_TIMEOUT_MS 5000

struct priv_child {
	char name[BH_PRIV_NAME_MAX];
	unsigned jail_id; /* 0: re-attached (not known) */
	pid_t qemu, chan; /* 0 once reaped (or, re-attached, ended) */
	/* A re-attached qube's (ATTACH): pidfds that name its processes,
	 * which are not our children after a restart of the whole daemon;
	 * -1 for those we started (our children until reaped). */
	int qemu_pidfd, chan_pidfd;
	/* Started or re-attached for the current control: LEFTOVERS
	 * leaves its QEMU alone. */
	int kept;
};

/* A job's process, started for the current control (JOB). */
struct priv_job {
	pid_t pid; /* the leader of its process group */
	char qube[BH_PRIV_NAME_MAX];
	char tmp[PATH_MAX]; /* what it writes; removed when it is reaped */
};

/* Jobs at once, at most. */
#define PRIV_JOBS_MAX 256

struct priv_serve {
	int fd; /* the link to the current control, or -1 */
	struct priv_host host;
	struct priv_child *kids;
	size_t n, cap;
	struct priv_job jobs[PRIV_JOBS_MAX];
	size_t njobs;
	/* The groups an earlier daemon left are still to be removed. */
	int stale_cgroups;
};

void priv_serve_init(struct priv_serve *s, const char *root,
		     const char *state, const char *run);

/* Sets up the groups each QEMU runs in (cgroup.h: found or mounted,
 * the daemon's own made), once, before the first control, and says
 * which in the log. The groups an earlier daemon left go at the first
 * LEFTOVERS, once control has re-attached what it keeps. */
void priv_serve_setup_cgroups(struct priv_serve *s);

/* The parent ends (control stopped the daemon): the daemon's groups go
 * when they are empty. */
void priv_serve_stop(struct priv_serve *s);

/* A new control's link (fd: priv's end, blocking sends bounded by
 * PRIV_SEND_TIMEOUT_MS). */
void priv_serve_attach(struct priv_serve *s, int fd);

/* Serves every request waiting on the link. Returns 0; 1 when control
 * closed its end (it is ending: the caller closes ours,
 * priv_serve_detach); -1 when the link must end (a bad request, a send
 * that failed: the caller ends control). */
int priv_serve_input(struct priv_serve *s);

/* Control is gone: the jobs it started are killed (their results had
 * nobody to go to; the next control finds no temporary they left). */
void priv_serve_detach(struct priv_serve *s);

/* A reaped child: when it is a qube's QEMU or channel process, its
 * cgroup goes (QEMU); a job's, its temporary; control is told (EXITED)
 * and 1 is returned; 0 for any other pid. */
int priv_serve_reaped(struct priv_serve *s, pid_t pid, int wstatus);

#endif
