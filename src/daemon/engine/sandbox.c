/* Confining a process that parses others' bytes (see sandbox.h). */
#include "daemon/engine/sandbox.h"

#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

const char *const bh_sandbox_chan_calls[] = {
	/* I/O on the fds it holds or is given */
	"read", "write", "readv", "writev", "pread64", "pwrite64",
	"ftruncate", "lseek", "recvmsg", "sendmsg", "close", "fcntl",
	"fstat", "newfstatat",
	/* waiting; and for the next daemon while none is linked
	 * (src/chan/attach.c): a connection on the listening socket it was
	 * given, its peer's uid and the types of the fds it passes */
	"poll", "ppoll", "accept4", "getsockopt",
	/* memory (no mprotect: nothing it maps becomes executable) */
	"brk", "mmap", "munmap", "mremap", "madvise",
	/* time, signals' return, exit */
	"clock_gettime", "gettimeofday", "getpid", "futex", "rt_sigreturn",
	"rt_sigprocmask", "restart_syscall", "exit", "exit_group",
	/* a signal to itself only (its uid is its own): abort() on a
	 * failed check, and the crash points of tests/crash (SIGKILL) */
	"gettid", "tgkill",
};
const size_t bh_sandbox_chan_ncalls = ARRAY_LEN(bh_sandbox_chan_calls);

const char *const bh_sandbox_control_denied[] = {
	/* other processes' memory and state */
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
	"pidfd_getfd",
	/* the file system's shape, and ways around path checks */
	"mount", "umount2", "pivot_root", "chroot", "move_mount",
	"open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
	"mount_setattr", "open_by_handle_at", "name_to_handle_at", "mknod",
	"mknodat", "swapon", "swapoff", "quotactl",
	/* namespaces (clone's namespace flags are refused apart) */
	"unshare", "setns",
	/* the kernel */
	"init_module", "finit_module", "delete_module", "kexec_load",
	"kexec_file_load", "bpf", "perf_event_open", "userfaultfd", "iopl",
	"ioperm", "syslog", "acct", "reboot", "lookup_dcookie", "vhangup",
	"personality",
	/* keyrings, time and names of the host */
	"add_key", "request_key", "keyctl", "settimeofday", "clock_settime",
	"clock_adjtime", "adjtimex", "sethostname", "setdomainname",
	"fanotify_init",
};
const size_t bh_sandbox_control_ndenied = ARRAY_LEN(bh_sandbox_control_denied);

const char *const bh_sandbox_root_denied[] = {
	/* other processes' memory and state: a chan process's fds or a
	 * QEMU's guest memory are never read by tracing them */
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
	"pidfd_getfd",
	/* ways around path checks, and swap */
	"open_by_handle_at", "name_to_handle_at", "swapon", "swapoff",
	"quotactl",
	/* the kernel */
	"init_module", "finit_module", "delete_module", "kexec_load",
	"kexec_file_load", "bpf", "perf_event_open", "userfaultfd", "iopl",
	"ioperm", "syslog", "acct", "reboot", "lookup_dcookie", "vhangup",
	/* keyrings and the host's clock */
	"add_key", "request_key", "keyctl", "settimeofday", "clock_settime",
	"clock_adjtime", "adjtimex", "fanotify_init",
};
const size_t bh_sandbox_root_ndenied = ARRAY_LEN(bh_sandbox_root_denied);

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t cap,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return -1;
}

/* The new root must hold nothing and let nobody but root change it. */
static int check_empty_root(const char *dir, char *err, size_t cap)
{
	struct stat st;
	struct dirent *e;
	DIR *d;

	if (lstat(dir, &st) < 0)
		return fail(err, cap, "empty root %s: %s", dir,
			    strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
		return fail(err, cap,
			    "empty root %s: must be a folder of root's that "
			    "only root may write",
			    dir);
	d = opendir(dir);
	if (!d)
		return fail(err, cap, "empty root %s: %s", dir,
			    strerror(errno));
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			fail(err, cap, "empty root %s: not empty (%s)", dir,
			     e->d_name);
			closedir(d);
			return -1;
		}
	closedir(d);
	return 0;
}

static int enter_empty_root(const char *dir, char *err, size_t cap)
{
	if (check_empty_root(dir, err, cap) < 0)
		return -1;
	/* A mount namespace of its own, whose mounts no longer propagate
	 * back, so that nothing done here reaches the host's. */
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(err, cap, "mount namespace: %s", strerror(errno));
	if (chdir(dir) < 0 || chroot(".") < 0 || chdir("/") < 0)
		return fail(err, cap, "chroot to %s: %s", dir,
			    strerror(errno));
	return 0;
}

/* Ids changed and every capability set empty, bounding set included;
 * then checked, as a failure here must not go unseen. */
static int drop_ids(uid_t uid, gid_t gid, char *err, size_t cap)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int r;

	if (uid == 0 || gid == 0)
		return fail(err, cap, "a sandbox never runs as root");
	capng_clear(CAPNG_SELECT_BOTH);
	r = capng_change_id((int)uid, (int)gid,
			    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
	if (r < 0)
		return fail(err, cap, "cannot change to uid %u gid %u (%d)",
			    (unsigned)uid, (unsigned)gid, r);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return fail(err, cap, "ambient capabilities: %s",
			    strerror(errno));
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 ||
	    ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
	    sg != gid)
		return fail(err, cap, "ids did not change to %u:%u",
			    (unsigned)uid, (unsigned)gid);
	capng_get_caps_process();
	if (capng_have_capabilities(CAPNG_SELECT_BOTH) != CAPNG_NONE)
		return fail(err, cap, "capabilities left after the change");
	return 0;
}

/* clone with a namespace flag, refused in the deny-list filter (unshare
 * and setns are in the list); clone3 says ENOSYS, so that the C library
 * falls back to clone, whose flags a filter can see. */
static int deny_namespace_clones(scmp_filter_ctx ctx)
{
	static const unsigned long flags[] = {
		CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,    CLONE_NEWUSER,
		CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
	};
	size_t i;
	int r;

	for (i = 0; i < ARRAY_LEN(flags); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
				     SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, flags[i],
					     flags[i]));
		if (r < 0)
			return r;
	}
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
				0);
}

/* sb's filter; deny_ns: clones into new namespaces refused too (an
 * unprivileged control's deny-list). */
static int load_filter(const struct bh_sandbox *sb, int deny_ns, char *err,
		       size_t cap)
{
	int allow = sb->filter == BH_SANDBOX_ALLOW_LIST;
	scmp_filter_ctx ctx;
	size_t i;
	int r = 0;

	ctx = seccomp_init(allow ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ALLOW);
	if (!ctx)
		return fail(err, cap, "seccomp: cannot make a filter");
	for (i = 0; i < sb->ncalls && r == 0; i++) {
		int nr = seccomp_syscall_resolve_name(sb->calls[i]);

		if (nr == __NR_SCMP_ERROR) {
			seccomp_release(ctx);
			return fail(err, cap, "seccomp: no system call '%s'",
				    sb->calls[i]);
		}
		r = seccomp_rule_add(ctx,
				     allow ? SCMP_ACT_ALLOW
					   : SCMP_ACT_ERRNO(EPERM),
				     nr, 0);
	}
	if (r == 0 && !allow && deny_ns)
		r = deny_namespace_clones(ctx);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return fail(err, cap, "seccomp: %s", strerror(-r));
	return 0;
}

int bh_sandbox_enter(const struct bh_sandbox *sb, char *err, size_t cap)
{
	if (sb->empty_root && enter_empty_root(sb->empty_root, err, cap) < 0)
		return -1;
	if (drop_ids(sb->uid, sb->gid, err, cap) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(err, cap, "no_new_privs: %s", strerror(errno));
	return load_filter(sb, 1, err, cap);
}

int bh_sandbox_harden_root(char *err, size_t cap)
{
	const struct bh_sandbox sb = {
		.filter = BH_SANDBOX_DENY_LIST,
		.calls = bh_sandbox_root_denied,
		.ncalls = bh_sandbox_root_ndenied,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(err, cap, "no_new_privs: %s", strerror(errno));
	return load_filter(&sb, 0, err, cap);
}
