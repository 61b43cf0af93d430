/* The jail around each QEMU process. QEMU parses guest-controlled data
 * (virtqueues, device registers, the serial line), so a guest that breaks
 * it must find itself in a process that can reach nothing but its own
 * qube: its own unprivileged uid, new mount, pid, ipc, uts and net
 * namespaces whose root holds only the files it was given, no
 * capabilities (bounding and ambient sets included), no_new_privs, and
 * QEMU's own seccomp filter (-sandbox). What QEMU talks to (QMP, the
 * control channel, the console) is passed in as inherited fds.
 *
 * Use, from the daemon:
 *	pid = jail_spawn(&spec, child_fn, arg);
 * and in child_fn (the new process, PID 1 of its pid namespace): set up
 * the inherited fds, then jail_enter(&spec, ...), then close the other
 * fds and execv(qemu). The daemon's waitpid(pid) gets QEMU's own exit
 * status and kill(pid, SIGKILL) kills QEMU itself: there is no process
 * in between. */
#ifndef BH_DAEMON_JAIL_H
#define BH_DAEMON_JAIL_H

#include <stddef.h>
#include <sys/types.h>

/* Jail uids (and gids, the same numbers) are JAIL_UID_BASE + qube id.
 * 0x70000000 = 1879048192 lies where nothing else allocates ids:
 * - Debian Policy 9.2.2: adduser never picks ids above 65535 by default;
 * - shadow's subordinate ids for rootless containers (/etc/subuid,
 *   SUB_UID_MIN 100000 .. SUB_UID_MAX 600100000 + 65536 in Debian's
 *   login.defs) stay below it;
 * - systemd's UIDS-GIDS.md gives containers 524288..1879048191 and leaves
 *   1879048192..2147352575 unused;
 * - it is below 2^31, so tools that treat uid_t as signed still work.
 * A round 1,000,000 + id would have landed inside both the subuid and the
 * nspawn ranges: a user's rootless container could have run as the same
 * uid as a QEMU and signalled or traced it. */
#define JAIL_UID_BASE 0x70000000u
#define JAIL_UID_COUNT 0x10000u

/* Lowest fd number of the daemon's pidfd in the child (see jail_enter). */
#define JAIL_PARENT_FD_MIN 64
/* cgroup.procs files a child may join (CGROUP_DIRS_MAX, cgroup.h). */
#define JAIL_CGROUP_FDS 2

struct jail_spec {
	uid_t uid; /* the qube's own, never 0: jail_uid_for() */
	gid_t gid; /* likewise */
	/* An existing directory owned by root, used only as the mount point
	 * of the jail's root inside the child's own mount namespace: the
	 * host never sees anything mounted on it, so it stays empty and
	 * every qube may share the same one. */
	const char *root_dir;
	const char *hostname; /* NULL = "qube" */
	/* NULL-terminated lists (each may be NULL). Host paths, shown at the
	 * same path inside; parent directories are made in the jail's root
	 * (root-owned, 0755), so host directory modes do not matter. */
	/* Read-only, exec allowed (QEMU's binary may be one): kernel,
	 * initramfs, template image. Each must be readable by uid. */
	const char *const *ro_files;
	/* Read-write, noexec: the qube's private image, chowned to uid and
	 * mode 0600 by the caller. Must be regular files, not symlinks. */
	const char *const *rw_files;
	/* Character devices beyond /dev/null, /dev/zero and /dev/urandom
	 * (always there), e.g. "/dev/kvm" under KVM: made afresh in the
	 * jail's /dev, owned by uid, mode 0600, so the qube needs no host
	 * group for them. */
	const char *const *devices;
	/* Open cgroup.procs files (cgroup.h: one under cgroup v2, one per
	 * hierarchy under v1) the child joins as the first step of
	 * jail_enter, before anything of the jailed program runs; an entry
	 * of 0 or less = none (a zeroed spec joins nothing). */
	int cgroup_fds[JAIL_CGROUP_FDS];
};

/* The uid (and gid) of qube qube_id, or (uid_t)-1 when qube_id is not
 * below JAIL_UID_COUNT. */
uid_t jail_uid_for(unsigned qube_id);

/* QEMU's -sandbox value: its seccomp filter, with the obsolete, setuid,
 * fork/exec and scheduler/affinity system calls denied. */
const char *jail_qemu_sandbox_arg(void);

/* Checks spec before any process is made: ids not 0, absolute clean
 * paths, root_dir a root-owned directory. Returns 0 or -EINVAL (or the
 * errno of root_dir's stat) with a reason in err. */
int jail_check_spec(const struct jail_spec *s, char *err, size_t cap);

/* Starts child_fn(arg) in a new process that is PID 1 of a new pid
 * namespace, exiting with its return value. Returns the pid, or a
 * negative errno (-EINVAL when jail_check_spec refuses s). */
pid_t jail_spawn(const struct jail_spec *s, int (*child_fn)(void *),
		 void *arg);

/* In the child of jail_spawn, right before execv: enters the jail for
 * good. Joins the spec's cgroups first (when it has any). Unshares mount,
 * ipc, uts and net namespaces; builds a read-only
 * tmpfs root with /usr, /lib*, /etc/ld.so.cache, the three devices and
 * the spec's files; pivots into it; sets the hostname; becomes uid:gid
 * with no supplementary groups and no capabilities (bounding, ambient,
 * inheritable included); sets no_new_privs. PR_SET_PDEATHSIG guards the
 * steps as root only: the jailed program outlives a daemon that dies
 * (so its guest can power off cleanly). Last, checks that the daemon is
 * still there, through a pidfd of the daemon that jail_spawn left in the child
 * at fd JAIL_PARENT_FD_MIN or above (with its copies of cgroup_fds): before
 * this call the child must not close fds or dup2 onto fds at or above
 * that number (its own are below). Both are closed on return. Returns 0, or a negative errno with a
 * reason in err; the child must then exit, half jailed. */
int jail_enter(const struct jail_spec *s, char *err, size_t cap);

#endif
