/* cgroup v2 limits on each QEMU (issue 11, point 7c).
 *
 * The jail (jail.h) takes away what a QEMU may reach; this bounds what it
 * may consume. Each QEMU runs in a group of its own,
 *	CGROUP2/bulkhead/qube-NAME
 * (CGROUP2/bulkhead-HASH/... for a daemon with another BULKHEAD_ROOT,
 * so test daemons never touch the real one's groups), with
 *	memory.max      = the qube's memory + CGROUP_QEMU_OVERHEAD_MB,
 *	memory.swap.max = 0 (where swap accounting exists: guest RAM, and
 *	                  the secrets in it, never goes to swap),
 *	pids.max        = CGROUP_PIDS_BASE + vCPUs.
 * A QEMU that a guest took over can then neither eat the host's memory
 * nor fill its process table; the kernel ends it (OOM in its own group)
 * and the daemon reaps it like any QEMU that died.
 *
 * The child of jail_spawn joins its group (writing 0 to cgroup.procs)
 * as the first step of jail_enter, before QEMU exists, so no guest code
 * ever runs outside it. The group is removed once QEMU is reaped, and at
 * start-up the daemon removes what a killed daemon left (ending any
 * process still in them: only our QEMUs ever are).
 *
 * Our hosts do not run systemd, and some mount cgroup v1 hierarchies
 * (memory, pids among them) with cgroup v2 beside them. cgroups_init
 * uses /sys/fs/cgroup when it is cgroup2, else the first cgroup2 mount in
 * /proc/self/mountinfo, else mounts cgroup2 on /sys/fs/cgroup when that
 * directory is empty. When there is no cgroup2, or it cannot give memory
 * and pids (they are bound to v1, or another group holds processes), the
 * daemon logs one line saying so and runs QEMU without these limits. */
#ifndef BH_DAEMON_CGROUP_H
#define BH_DAEMON_CGROUP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* QEMU's own memory beside the guest's RAM, measured (QEMU 7.2, TCG,
 * microvm, -smp 2, after boot and a parallel read of both disks): RSS
 * about 130 MiB above the 256 MiB guest, of which 55 MiB is TCG's
 * translation cache and about 75 MiB the rest (heap, binary, libraries,
 * device state, I/O buffers). The translation cache would grow to 1 GiB
 * by default, so under TCG it is capped (ENGINE_TCG_TB_MB, engine.h):
 * 128 + 75 leaves about 50 MiB of margin. */
#define CGROUP_QEMU_OVERHEAD_MB 256u
/* QEMU's threads beside its vCPUs, measured (same set-up): main loop,
 * RCU, monitor I/O and block I/O workers, 5 when idle and 8 under 32
 * parallel readers (10 in all with 2 vCPUs). The worker pool may grow to 64 threads (QEMU's
 * thread-pool max), and a failed thread creation aborts QEMU, so room is
 * left for all of them: 64 + 16 for the rest (migration included). */
#define CGROUP_PIDS_BASE 80u

struct cgroups {
	int on;          /* limits are applied */
	int swap;        /* memory.swap.max exists (swap accounting) */
	char dir[PATH_MAX]; /* the daemon's group, e.g. /sys/fs/cgroup/bulkhead */
	char why[600];   /* when off: why, for the log */
};

uint64_t cgroup_memory_max(unsigned memory_mb);
unsigned cgroup_pids_max(unsigned vcpus);

/* The daemon's group name for state root root: "bulkhead" for "/" (or
 * ""), else "bulkhead-" and 16 hex digits of a hash of root. */
void cgroup_group_name(const char *root, char *out, size_t cap);

/* The mount point of the first cgroup2 file system in f (mountinfo
 * format). Returns 0, or -ENOENT. */
int cgroup2_from_mountinfo(FILE *f, char *out, size_t cap);

/* Sets cg up for state root root: finds (or mounts) cgroup2, enables the
 * memory and pids controllers from its root down to the daemon's group,
 * which it makes. fs overrides the cgroup2 mount (tests; NULL = find
 * it). Never fails: cg->on says whether limits apply, cg->why why not. */
void cgroups_init(struct cgroups *cg, const char *root, const char *fs);

/* Makes (or takes over, when a killed daemon left it empty) the group of
 * qube name, writes its limits and opens its cgroup.procs for jail_spec's
 * cgroup_fd. Returns the fd, or a negative errno with a reason in err. */
int cgroup_qube_create(const struct cgroups *cg, const char *name,
		       unsigned memory_mb, unsigned vcpus, char *err,
		       size_t cap);

/* Removes the group of qube name, whose QEMU was reaped. Returns 0 or a
 * negative errno (-ENOENT when there was none). */
int cgroup_qube_remove(const struct cgroups *cg, const char *name);

/* At start-up: removes every group a killed daemon left, killing what
 * still runs in one (cgroup.kill). Returns how many were removed. */
int cgroups_cleanup_stale(const struct cgroups *cg);

/* At a clean stop: removes the daemon's (empty) group, best effort. */
void cgroups_fini(const struct cgroups *cg);

#endif
