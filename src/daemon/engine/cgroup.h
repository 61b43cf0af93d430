/* cgroup limits on each QEMU (issue 11, point 7c).
 *
 * The jail (jail.h) takes away what a QEMU may reach; this bounds what it
 * may consume. Each QEMU runs in a group of its own, qube-NAME, under the
 * daemon's group "bulkhead" ("bulkhead-HASH" for a daemon with another
 * BULKHEAD_ROOT, so test daemons never touch the real one's groups).
 * A QEMU that a guest took over can then neither eat the host's memory
 * nor fill its process table; the kernel ends it (OOM in its own group)
 * and the daemon reaps it like any QEMU that died.
 *
 * cgroup v2, where its memory and pids controllers are free:
 *	CGROUP2/bulkhead/qube-NAME, with
 *	memory.max      = the qube's memory + CGROUP_QEMU_OVERHEAD_MB,
 *	memory.swap.max = 0 (where swap accounting exists: guest RAM, and
 *	                  the secrets in it, never goes to swap),
 *	pids.max        = CGROUP_PIDS_BASE + vCPUs.
 * cgroup v1, where memory and pids are bound to v1 hierarchies instead
 * (our hosts and CI): one group in each, under the daemon's own group in
 * that hierarchy (from /proc/self/cgroup; it may sit in a nested one),
 *	MEMORY/OWN/bulkhead/qube-NAME and PIDS/OWN/bulkhead/qube-NAME, with
 *	memory.limit_in_bytes       = v2's memory.max,
 *	memory.memsw.limit_in_bytes = the same (where swap accounting exists:
 *	                              memory + swap = memory, no swap),
 *	pids.max                    = v2's pids.max
 * (one group when memory and pids share a hierarchy). Its OOM control is
 * left as it is: the OOM killer ends QEMU, the one process in the group.
 *
 * The child of jail_spawn joins its group(s) (writing 0 to each
 * cgroup.procs, which means the writer in v1 as in v2) as the first step
 * of jail_enter, before QEMU exists, so no guest code ever runs outside
 * them. The groups are removed once QEMU is reaped, and at start-up the
 * daemon removes what a killed daemon left: under v2 it ends any process
 * still in them (cgroup.kill: only our QEMUs ever are); v1 has no
 * cgroup.kill, so it kills, by pidfd, the processes listed that run as a
 * jail uid (jail.h), and leaves a group holding anything else, with a
 * warning.
 *
 * Our hosts do not run systemd. cgroups_init uses /sys/fs/cgroup when it
 * is cgroup2, else the first cgroup2 mount in /proc/self/mountinfo, else
 * mounts cgroup2 on /sys/fs/cgroup when that directory is empty. When
 * that cgroup2 cannot give memory and pids (they are bound to v1, or
 * another group holds processes), it looks for the v1 memory and pids
 * hierarchies in /proc/self/mountinfo. With neither, the daemon logs one
 * line saying why and runs QEMU without these limits. */
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

/* Groups a QEMU joins: one under v2; under v1 one per hierarchy
 * (memory, pids). */
#define CGROUP_DIRS_MAX 2

enum cgroup_mode { CGROUP_OFF = 0, CGROUP_V2, CGROUP_V1 };

struct cgroups {
	int on;          /* limits are applied (mode != CGROUP_OFF) */
	enum cgroup_mode mode;
	/* Swap accounting: v2 memory.swap.max, v1 memory.memsw.* exist. */
	int swap;
	/* The daemon's groups: ndirs of them. dir[0] holds the memory
	 * limits, dir[ndirs - 1] pids.max: under v2 both are one group,
	 * e.g. /sys/fs/cgroup/bulkhead; under v1 the memory and the pids
	 * hierarchy's (one when they are mounted together). */
	unsigned ndirs;
	char dir[CGROUP_DIRS_MAX][PATH_MAX];
	char why[1200];  /* when off: why, for the log */
};

uint64_t cgroup_memory_max(unsigned memory_mb);
unsigned cgroup_pids_max(unsigned vcpus);

/* The daemon's group name for state root root: "bulkhead" for "/" (or
 * ""), else "bulkhead-" and 16 hex digits of a hash of root. */
void cgroup_group_name(const char *root, char *out, size_t cap);

/* The mount point of the first cgroup2 file system in f (mountinfo
 * format). Returns 0, or -ENOENT. */
int cgroup2_from_mountinfo(FILE *f, char *out, size_t cap);

/* The folder of the daemon's own group in the cgroup v1 hierarchy that
 * holds controller (e.g. "memory"): the mount point of that hierarchy in
 * mountinfo (mountinfo format, file system type "cgroup" with controller
 * among its options) joined with the daemon's path in it from
 * self_cgroup (/proc/self/cgroup format, "ID:CONTROLLERS:PATH"), less
 * the mount's root. Returns 0, or -ENOENT (no such hierarchy, or the
 * daemon's group is not visible under its mount), or -ENAMETOOLONG. */
int cgroup1_own_dir(FILE *mountinfo, FILE *self_cgroup,
		    const char *controller, char *out, size_t cap);

/* One write of a limit file: file, then value. */
struct cgroup_write {
	const char *file;
	char value[32];
};

/* The writes that set a v1 memory group's limits to bytes, in order:
 * memory.memsw.limit_in_bytes (memory + swap) may never be below
 * memory.limit_in_bytes, and a group taken over from a killed daemon
 * holds its old limits, so with swap accounting memsw is lifted to
 * unlimited (-1) first, then the limit written, then memsw. Returns how
 * many (at most 3) were put in w. */
size_t cgroup1_memory_writes(uint64_t bytes, int swap,
			     struct cgroup_write w[3]);

/* Sets cg up for state root root: finds (or mounts) cgroup2, enables the
 * memory and pids controllers from its root down to the daemon's group,
 * which it makes; failing that, makes the daemon's groups in the cgroup
 * v1 memory and pids hierarchies. fs overrides the cgroup2 mount (tests;
 * NULL = find it); with fs, v1 is not tried. Never fails: cg->on says
 * whether limits apply, cg->why why not. */
void cgroups_init(struct cgroups *cg, const char *root, const char *fs);

/* cgroups_init's v1 part, with the files it reads named (tests; the
 * daemon passes /proc/self/mountinfo and /proc/self/cgroup). Returns 0
 * with cg set up in CGROUP_V1 mode, or -1 with cg->why set. */
int cgroups_init_v1(struct cgroups *cg, const char *root,
		    const char *mountinfo, const char *self_cgroup);

/* Makes (or takes over, when a killed daemon left them empty) the
 * group(s) of qube name, writes their limits and opens their cgroup.procs
 * into fds[0..n-1] for jail_spec's cgroup_fds (the rest of fds set to
 * -1). Returns n (1 or 2), or a negative errno with a reason in err
 * (nothing left open or made). */
int cgroup_qube_create(const struct cgroups *cg, const char *name,
		       unsigned memory_mb, unsigned vcpus,
		       int fds[CGROUP_DIRS_MAX], char *err, size_t cap);

/* Removes the group(s) of qube name, whose QEMU was reaped. Returns 0 or
 * the first negative errno (-ENOENT when there was none). */
int cgroup_qube_remove(const struct cgroups *cg, const char *name);

/* At start-up: removes every group a killed daemon left, killing what
 * still runs in one (v2: cgroup.kill; v1: the processes that run as a
 * jail uid), but the groups of the qubes keep (if not NULL) keeps: their
 * QEMUs were re-attached. Returns how many were removed. */
typedef int (*cgroup_keep_fn)(const char *qube, void *ctx);
int cgroups_cleanup_stale(const struct cgroups *cg, cgroup_keep_fn keep,
			  void *ctx);

/* At a clean stop: removes the daemon's (empty) group(s), best effort. */
void cgroups_fini(const struct cgroups *cg);

#endif
