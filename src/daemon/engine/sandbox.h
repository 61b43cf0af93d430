/* Confining a process of the daemon that parses bytes others control
 * (docs/architecture.md: control, and the channel process of each qube).
 *
 * bh_sandbox_enter() does, in this order, and never partly: an empty
 * root (a new mount namespace, every mount private, chroot into a
 * root-owned empty folder), the user and group ids (setgroups to none,
 * setresgid, setresuid, through libcap-ng so that every capability set
 * and the bounding set end empty), no_new_privs, and a seccomp filter
 * (libseccomp). After it, the process cannot open a path, gain a
 * privilege back, or make a system call outside its list.
 *
 * The filter is an allow-list (anything else kills the process: a
 * parser that goes astray stops rather than probes), or a deny-list
 * (the calls listed fail with EPERM; for control, which needs a broad
 * set: files of its store, sockets, time). */
#ifndef BH_DAEMON_SANDBOX_H
#define BH_DAEMON_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

enum bh_sandbox_filter {
	BH_SANDBOX_ALLOW_LIST, /* calls: the only ones allowed */
	BH_SANDBOX_DENY_LIST,  /* calls: the ones refused (EPERM) */
};

struct bh_sandbox {
	uid_t uid; /* not 0 */
	gid_t gid; /* not 0 */
	/* chroot here in a mount namespace of its own; NULL: keep the
	 * file system (control keeps its store's folder). The folder must
	 * be root's, empty, and not writable by others. */
	const char *empty_root;
	enum bh_sandbox_filter filter;
	/* System call names as libseccomp knows them ("read", ...). */
	const char *const *calls;
	size_t ncalls;
};

/* The calls a channel process needs (docs/architecture.md, "chan"): I/O
 * on the fds it was given, poll, memory, time, signals' return, exit. */
extern const char *const bh_sandbox_chan_calls[];
extern const size_t bh_sandbox_chan_ncalls;

/* The calls control never needs: tracing, mounts, modules, kexec, BPF,
 * perf, keyrings, namespaces, reboot, and the like. */
extern const char *const bh_sandbox_control_denied[];
extern const size_t bh_sandbox_control_ndenied;

/* The calls that control, while it still runs as root, never makes, nor
 * does anything it starts (jails, QEMU, channel processes, e2fsprogs):
 * tracing and other processes' memory, modules, kexec, BPF, perf,
 * keyrings, the clock, reboot, swap. Mounts, namespaces and uid changes
 * stay: the jails need them. */
extern const char *const bh_sandbox_root_denied[];
extern const size_t bh_sandbox_root_ndenied;

/* For control while it is root (bulkheadd's main.c): no_new_privs, and a
 * filter that makes the calls of bh_sandbox_root_denied fail with EPERM,
 * inherited by everything control starts. Returns 0, or -1 with err. */
int bh_sandbox_harden_root(char *err, size_t cap);

/* Confines the calling process as sb says. Returns 0, or -1 with err
 * saying which step failed; the process must then exit, as it may be
 * confined in part. */
int bh_sandbox_enter(const struct bh_sandbox *sb, char *err, size_t cap);

#endif
