/* The jail around each QEMU process (see jail.h). All but jail_spawn runs
 * in the child between clone and execv, as root until the last steps:
 * namespaces, a root holding only what QEMU needs, then a one-way drop to
 * the qube's uid with no capabilities and no way to gain any. */
#include "daemon/engine/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/util.h"

#define SPAWN_STACK_SIZE (256 * 1024)

/* A pidfd of the daemon, set only around the clone in jail_spawn: the
 * child gets its own copy of this variable and of the fd, and jail_enter
 * polls it at the end to learn whether the daemon died meanwhile (before
 * PR_SET_PDEATHSIG was armed, or after the uid change cleared it). */
static int parent_pidfd = -1;
/* The spec's cgroup_fds, moved up beside parent_pidfd in the same way, so
 * that the child's dup2s onto its low fixed numbers cannot clobber them. */
static int cgroup_procs_fds[JAIL_CGROUP_FDS] = { -1, -1 };

static void close_cgroup_fds(void)
{
	size_t i;

	for (i = 0; i < JAIL_CGROUP_FDS; i++) {
		if (cgroup_procs_fds[i] >= 0)
			close(cgroup_procs_fds[i]);
		cgroup_procs_fds[i] = -1;
	}
}

uid_t jail_uid_for(unsigned qube_id)
{
	if (qube_id >= JAIL_UID_COUNT)
		return (uid_t)-1;
	return (uid_t)(JAIL_UID_BASE + qube_id);
}

const char *jail_qemu_sandbox_arg(void)
{
	return "on,obsolete=deny,elevateprivileges=deny,spawn=deny,"
	       "resourcecontrol=deny";
}

/* Writes "what: strerror" into err (when there is one); returns r. */
static int fail(char *err, size_t cap, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t cap, int r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || cap == 0)
		return r;
	va_start(ap, fmt);
	n = vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < cap)
		snprintf(err + n, cap - (size_t)n, ": %s", strerror(-r));
	return r;
}

/* A path shown inside the jail must be absolute and plain: an empty, "."
 * or ".." component would make the path QEMU opens differ from the one
 * that was bound. "/" itself would hide the jail's root. */
static int path_ok(const char *p)
{
	const char *c, *e;
	size_t n;

	if (!p || p[0] != '/' || !p[1] || strlen(p) >= PATH_MAX / 2)
		return 0;
	for (c = p; *c; c = e) {
		c++;
		e = strchrnul(c, '/');
		n = (size_t)(e - c);
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
	}
	return 1;
}

static int hostname_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > 63)
		return 0;
	for (; *h; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		      (*h >= '0' && *h <= '9') || *h == '-' || *h == '.'))
			return 0;
	return 1;
}

int jail_check_spec(const struct jail_spec *s, char *err, size_t cap)
{
	const char *const *lists[] = { s->ro_files, s->rw_files, s->devices };
	const char *const *p;
	struct stat st;
	size_t i;

	/* uid 0 would be no jail; -1 means "unchanged" to setresuid. */
	if (s->uid == 0 || s->gid == 0 || s->uid == (uid_t)-1 ||
	    s->gid == (gid_t)-1)
		return fail(err, cap, -EINVAL, "jail ids %u:%u", s->uid,
			    s->gid);
	if (!path_ok(s->root_dir))
		return fail(err, cap, -EINVAL, "jail root '%s'",
			    s->root_dir ? s->root_dir : "(null)");
	if (stat(s->root_dir, &st) < 0)
		return fail(err, cap, -errno, "jail root %s", s->root_dir);
	/* Someone else able to write there could swap it for a symlink
	 * between our check and the mount. */
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return fail(err, cap, -EINVAL,
			    "jail root %s: not a directory owned and "
			    "writable by root only", s->root_dir);
	if (s->hostname && !hostname_ok(s->hostname))
		return fail(err, cap, -EINVAL, "jail hostname '%s'",
			    s->hostname);
	for (i = 0; i < sizeof(lists) / sizeof(*lists); i++)
		for (p = lists[i]; p && *p; p++)
			if (!path_ok(*p))
				return fail(err, cap, -EINVAL,
					    "jail path '%s'", *p);
	return 0;
}

struct spawn_call {
	int (*fn)(void *);
	void *arg;
};

static int spawn_main(void *p)
{
	const struct spawn_call *c = p;

	_exit(c->fn(c->arg));
}

pid_t jail_spawn(const struct jail_spec *s, int (*child_fn)(void *),
		 void *arg)
{
	struct spawn_call call = { child_fn, arg };
	long page = sysconf(_SC_PAGESIZE);
	size_t len = SPAWN_STACK_SIZE + (size_t)page;
	char *stack;
	int fd, r;
	size_t i;
	pid_t pid;

	if (jail_check_spec(s, NULL, 0) < 0)
		return -EINVAL;
	fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (fd < 0)
		return -errno;
	/* Above the fixed numbers children dup2 their fds onto. */
	parent_pidfd = fcntl(fd, F_DUPFD_CLOEXEC, JAIL_PARENT_FD_MIN);
	r = -errno;
	close(fd);
	if (parent_pidfd < 0)
		return r;
	for (i = 0; i < JAIL_CGROUP_FDS; i++) {
		if (s->cgroup_fds[i] <= 0)
			continue;
		cgroup_procs_fds[i] = fcntl(s->cgroup_fds[i], F_DUPFD_CLOEXEC,
					    JAIL_PARENT_FD_MIN);
		if (cgroup_procs_fds[i] < 0) {
			r = -errno;
			close_cgroup_fds();
			close(parent_pidfd);
			parent_pidfd = -1;
			return r;
		}
	}
	/* The child runs on a stack of its own (clone's rule) with a guard
	 * page below it; it is a copy, so ours goes right after. */
	stack = mmap(NULL, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED || mprotect(stack, (size_t)page, PROT_NONE)) {
		r = -errno;
		if (stack != MAP_FAILED)
			munmap(stack, len);
		close(parent_pidfd);
		parent_pidfd = -1;
		close_cgroup_fds();
		return r;
	}
	/* CLONE_NEWPID here rather than unshare+fork in the child: the
	 * daemon's child is QEMU itself (PID 1 inside), so waitpid gets
	 * QEMU's own status and SIGKILL to the pid reaches QEMU. */
	pid = clone(spawn_main, stack + len, CLONE_NEWPID | SIGCHLD, &call);
	r = pid < 0 ? -errno : pid;
	close(parent_pidfd);
	parent_pidfd = -1;
	close_cgroup_fds();
	munmap(stack, len);
	return r;
}

/* ---- building the root, in the child's own mount namespace ---- */

/* Where host path p appears while the jail is being built. */
static int in_jail(char *out, const struct jail_spec *s, const char *p)
{
	return bh_path_fmt(out, PATH_MAX, "%s%s", s->root_dir, p);
}

/* Makes the directories above jail path t (root-owned, 0755: the qube's
 * uid may pass, not write). */
static int make_parents(const char *t)
{
	char parent[PATH_MAX];
	int r = bh_path_fmt(parent, sizeof(parent), "%s", t);

	if (r < 0)
		return r;
	*strrchr(parent, '/') = '\0';
	return bh_mkdir_p(parent, 0755);
}

/* Makes what a bind mount of a host object of type `type` lands on: a
 * directory or an empty file, with its parents. Something already there
 * (a path inside the jail's /usr, say) serves as it is, unless it is a
 * symlink: mount would follow it, out of the jail's tree while we still
 * stand in the host's root, and the file would not show where QEMU looks. */
static int make_mount_point(const char *t, mode_t type)
{
	struct stat st;
	int r;

	if (lstat(t, &st) == 0)
		return S_ISLNK(st.st_mode) ? -ELOOP : 0;
	r = make_parents(t);
	if (r < 0)
		return r;
	if (S_ISDIR(type))
		return mkdir(t, 0755) < 0 ? -errno : 0;
	return mknod(t, S_IFREG | 0444, 0) < 0 ? -errno : 0;
}

enum bind_kind {
	BIND_SYSTEM, /* /usr and co: read-only, exec */
	BIND_RO,     /* spec's ro_files: read-only, exec */
	BIND_RW,     /* spec's rw_files: read-write, noexec */
	BIND_DEVICE, /* null, zero, urandom: devices allowed, noexec */
};

/* Binds host path src at the same path in the jail. The source is opened
 * first and bound through /proc/self/fd, so what is bound is what was
 * checked: its type, its owner and (for rw) that it is no symlink. */
static int bind_path(const struct jail_spec *s, const char *src,
		     enum bind_kind kind, char *err, size_t cap)
{
	static const unsigned long flags[] = {
		[BIND_SYSTEM] = MS_RDONLY | MS_NOSUID | MS_NODEV,
		[BIND_RO] = MS_RDONLY | MS_NOSUID | MS_NODEV,
		[BIND_RW] = MS_NOSUID | MS_NODEV | MS_NOEXEC,
		[BIND_DEVICE] = MS_NOSUID | MS_NOEXEC,
	};
	char target[PATH_MAX], fdpath[32];
	struct stat st;
	int fd, r = 0;

	fd = open(src, O_PATH | O_CLOEXEC | (kind == BIND_RW ? O_NOFOLLOW : 0));
	if (fd < 0)
		return fail(err, cap, -errno, "jail: %s", src);
	if (fstat(fd, &st) < 0) {
		r = fail(err, cap, -errno, "jail: %s", src);
		goto out;
	}
	switch (kind) {
	case BIND_SYSTEM:
	case BIND_RO:
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			r = -EINVAL;
		break;
	case BIND_RW:
		/* The one writable thing: it must be the qube's own and
		 * closed to everyone else, or the jail's promise fails. */
		if (!S_ISREG(st.st_mode) || st.st_uid != s->uid ||
		    (st.st_mode & 077))
			r = -EPERM;
		break;
	case BIND_DEVICE:
		if (!S_ISCHR(st.st_mode))
			r = -EINVAL;
		break;
	}
	if (r < 0) {
		r = fail(err, cap, r,
			 kind == BIND_RW ?
			 "jail: %s must be a regular file (no symlink) owned "
			 "by the qube's uid with mode 0600" :
			 "jail: %s has the wrong file type", src);
		goto out;
	}
	r = in_jail(target, s, src);
	if (r == 0)
		r = make_mount_point(target, st.st_mode & S_IFMT);
	if (r < 0) {
		r = fail(err, cap, r, "jail: mount point for %s", src);
		goto out;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	/* A bind takes the source's mount flags; only a remount sets ours. */
	if (mount(fdpath, target, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags[kind],
		  NULL) < 0)
		r = fail(err, cap, -errno, "jail: binding %s", src);
out:
	close(fd);
	return r;
}

/* /lib and /lib64 are symlinks into /usr on merged-/usr systems: make them
 * again as symlinks, so that the loader's paths resolve inside. */
static int copy_symlink(const struct jail_spec *s, const char *src,
			char *err, size_t cap)
{
	char link[PATH_MAX], target[PATH_MAX];
	ssize_t n = readlink(src, link, sizeof(link) - 1);
	int r;

	if (n < 0)
		return fail(err, cap, -errno, "jail: %s", src);
	link[n] = '\0';
	r = in_jail(target, s, src);
	if (r == 0)
		r = make_parents(target);
	if (r == 0 && symlink(link, target) < 0)
		r = -errno;
	return r < 0 ? fail(err, cap, r, "jail: symlink %s", src) : 0;
}

/* Makes a fresh node for a host character device, owned by the qube, so
 * that it opens the device without any host group or mode change. */
static int make_device(const struct jail_spec *s, const char *src,
		       char *err, size_t cap)
{
	char target[PATH_MAX];
	struct stat st;
	int r;

	if (stat(src, &st) < 0)
		return fail(err, cap, -errno, "jail: %s", src);
	if (!S_ISCHR(st.st_mode))
		return fail(err, cap, -EINVAL, "jail: %s is no character device",
			    src);
	r = in_jail(target, s, src);
	if (r == 0)
		r = make_parents(target);
	if (r == 0 && mknod(target, S_IFCHR | 0600, st.st_rdev) < 0)
		r = -errno;
	if (r == 0 && chown(target, s->uid, s->gid) < 0)
		r = -errno;
	return r < 0 ? fail(err, cap, r, "jail: device %s", src) : 0;
}

/* What any dynamically linked program needs: the libraries, the loader
 * and its cache. QEMU's firmware (/usr/share/qemu, /usr/share/seabios)
 * and its modules (/usr/lib/x86_64-linux-gnu/qemu) are under /usr. */
static const char *const system_paths[] = {
	"/usr", "/lib", "/lib64", "/etc/ld.so.cache", NULL
};
/* QEMU's rng-random backend reads /dev/urandom; /dev/null and /dev/zero
 * are what any program may expect. Bound, not made: their host nodes are
 * world-usable already. */
static const char *const std_devices[] = {
	"/dev/null", "/dev/zero", "/dev/urandom", NULL
};

static int build_root(const struct jail_spec *s, char *err, size_t cap)
{
	const char *const *p;
	struct stat st;
	int r;

	/* A tmpfs of our own: the host's root_dir is only its mount point.
	 * Devices stay allowed on it for the nodes make_device creates;
	 * nothing but root can create one, and root leaves before exec. */
	if (mount("bulkhead-jail", s->root_dir, "tmpfs", MS_NOSUID | MS_NOEXEC,
		  "mode=0755,size=1m,nr_inodes=4096") < 0)
		return fail(err, cap, -errno, "jail: tmpfs on %s", s->root_dir);
	for (p = system_paths; *p; p++) {
		if (lstat(*p, &st) < 0) {
			if (errno == ENOENT)
				continue; /* no /lib64 on this system */
			return fail(err, cap, -errno, "jail: %s", *p);
		}
		r = S_ISLNK(st.st_mode) ? copy_symlink(s, *p, err, cap) :
					  bind_path(s, *p, BIND_SYSTEM, err, cap);
		if (r < 0)
			return r;
	}
	for (p = std_devices; *p; p++)
		if ((r = bind_path(s, *p, BIND_DEVICE, err, cap)) < 0)
			return r;
	for (p = s->devices; p && *p; p++)
		if ((r = make_device(s, *p, err, cap)) < 0)
			return r;
	for (p = s->ro_files; p && *p; p++)
		if ((r = bind_path(s, *p, BIND_RO, err, cap)) < 0)
			return r;
	for (p = s->rw_files; p && *p; p++)
		if ((r = bind_path(s, *p, BIND_RW, err, cap)) < 0)
			return r;
	return 0;
}

/* Makes root_dir the root and drops every other mount: the old root is
 * detached, so nothing of the host stays reachable from this namespace. */
static int enter_root(const struct jail_spec *s, char *err, size_t cap)
{
	/* pivot_root(".", ".") stacks the old root on the new one; the
	 * detach then takes it off (pivot_root(2), "NOTES"). */
	if (chdir(s->root_dir) < 0)
		return fail(err, cap, -errno, "jail: chdir %s", s->root_dir);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(err, cap, -errno, "jail: pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return fail(err, cap, -errno, "jail: detaching the old root");
	if (chdir("/") < 0)
		return fail(err, cap, -errno, "jail: chdir /");
	if (mount(NULL, "/", NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
		  NULL) < 0)
		return fail(err, cap, -errno, "jail: making / read-only");
	return 0;
}

static int check_no_caps(char *err, size_t cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int i, r;

	if (syscall(SYS_capget, &h, d) < 0)
		return fail(err, cap, -errno, "jail: capget");
	for (i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return fail(err, cap, -EPERM, "jail: capabilities left");
	for (i = 0; i < 64; i++) {
		r = prctl(PR_CAPBSET_READ, i, 0, 0, 0);
		if (r < 0)
			break; /* EINVAL: past the last capability */
		if (r > 0 || prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i,
				   0, 0) > 0)
			return fail(err, cap, -EPERM,
				    "jail: capability %d left in the bounding "
				    "or ambient set", i);
	}
	return 0;
}

static int drop_privileges(const struct jail_spec *s, char *err, size_t cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int i;

	/* The bounding set only shrinks while we hold CAP_SETPCAP, that is
	 * before the uid change. Up to the first number the kernel does not
	 * know (EINVAL), so capabilities newer than our headers go too. */
	for (i = 0; i < 64; i++) {
		if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL)
			break;
		return fail(err, cap, -errno, "jail: dropping capability %d",
			    i);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return fail(err, cap, -errno, "jail: clearing ambient caps");
	if (setgroups(0, NULL) < 0 || setresgid(s->gid, s->gid, s->gid) < 0 ||
	    setresuid(s->uid, s->uid, s->uid) < 0)
		return fail(err, cap, -errno, "jail: becoming %u:%u", s->uid,
			    s->gid);
	/* Leaving uid 0 empties the permitted and effective sets unless
	 * SECBIT_KEEP_CAPS was inherited; the inheritable set stays. Empty
	 * all three, which an unprivileged process may always do. */
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return fail(err, cap, -errno, "jail: capset");
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 ||
	    ru != s->uid || eu != s->uid || su != s->uid || rg != s->gid ||
	    eg != s->gid || sg != s->gid || getgroups(0, NULL) != 0)
		return fail(err, cap, -EPERM, "jail: ids did not change");
	return check_no_caps(err, cap);
}

/* The steps as root ran with PR_SET_PDEATHSIG, so a daemon that died
 * then took its half-made jail with it. The uid change cleared it, and it
 * stays cleared: from exec on, QEMU outlives a daemon that dies, so the
 * guest agent sees the channel hang up and powers off cleanly (syncing
 * the private volume), and a restarted daemon ends whatever did not
 * (dispvm_cleanup_stale). One last look that the daemon is still there:
 * starting a qube nobody will ever talk to helps no one. */
static int check_parent_alive(char *err, size_t cap)
{
	struct pollfd p = { parent_pidfd, POLLIN, 0 };
	int n;

	n = poll(&p, 1, 0);
	close(parent_pidfd);
	parent_pidfd = -1;
	if (n < 0)
		return fail(err, cap, -errno, "jail: polling the daemon");
	if (p.revents & POLLNVAL)
		return fail(err, cap, -EBADF,
			    "jail: the daemon's pidfd was closed before "
			    "jail_enter");
	if (n > 0)
		return fail(err, cap, -ESRCH, "jail: the daemon is gone");
	return 0;
}

/* Moves this process into the cgroups whose cgroup.procs jail_spawn left
 * open: their limits hold from here on, for QEMU and every thread it
 * makes. "0" is the writer itself, in cgroup v1 as in v2 (we are PID 1 of
 * our own pid namespace: our own pid would name another process to the
 * kernel, which reads pids in the writer's namespace). */
static int join_cgroups(char *err, size_t cap)
{
	size_t i;
	int r = 0;

	for (i = 0; i < JAIL_CGROUP_FDS && r == 0; i++)
		if (cgroup_procs_fds[i] >= 0 &&
		    write(cgroup_procs_fds[i], "0", 1) != 1)
			r = fail(err, cap, -errno,
				 "jail: joining the qube's cgroup");
	close_cgroup_fds();
	return r;
}

int jail_enter(const struct jail_spec *s, char *err, size_t cap)
{
	const char *host = s->hostname ? s->hostname : "qube";
	size_t i;
	int r;

	/* Without a pid namespace of its own QEMU could see and signal the
	 * host's processes of its uid; refuse to half-jail it. */
	if (getpid() != 1 || parent_pidfd < 0)
		return fail(err, cap, -EINVAL,
			    "jail: not PID 1 of a child of jail_spawn");
	for (i = 0; i < JAIL_CGROUP_FDS; i++)
		if ((s->cgroup_fds[i] > 0) != (cgroup_procs_fds[i] >= 0))
			return fail(err, cap, -EINVAL,
				    "jail: cgroup fd not passed through "
				    "jail_spawn");
	r = join_cgroups(err, cap);
	if (r < 0)
		return r;
	r = jail_check_spec(s, err, cap);
	if (r < 0)
		return r;
	/* For the steps as root only; the uid change clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return fail(err, cap, -errno, "jail: PR_SET_PDEATHSIG");
	/* Modes are spelled out below; the daemon's own umask is 077. */
	umask(0);
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS |
		    CLONE_NEWNET) < 0)
		return fail(err, cap, -errno, "jail: unshare");
	/* Nothing mounted from here on may reach the host's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(err, cap, -errno, "jail: making mounts private");
	r = build_root(s, err, cap);
	if (r == 0)
		r = enter_root(s, err, cap);
	if (r < 0)
		return r;
	if (sethostname(host, strlen(host)) < 0)
		return fail(err, cap, -errno, "jail: sethostname");
	umask(077);
	r = drop_privileges(s, err, cap);
	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(err, cap, -errno, "jail: PR_SET_NO_NEW_PRIVS");
	return check_parent_alive(err, cap);
}
