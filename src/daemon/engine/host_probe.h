/* Facts about the host for admin.host.Info (bh doctor): the CPU, memory,
 * and what QEMU says its version is. Each probe takes its source path so
 * that tests can hand it a file of their own. */
#ifndef BH_DAEMON_HOST_PROBE_H
#define BH_DAEMON_HOST_PROBE_H

#include <stddef.h>

/* How long `QEMU --version` may take before it is killed. */
#define HOST_QEMU_VERSION_TIMEOUT_MS 5000

struct host_cpu {
	char model[128]; /* "model name" of the first CPU; "unknown" */
	const char *virt; /* "vmx", "svm" or "none", from the flags */
};

/* Reads cpuinfo (/proc/cpuinfo). Always fills c; -errno when the file
 * cannot be opened (then model is "unknown" and virt "none"). */
int host_cpu_read(const char *cpuinfo, struct host_cpu *c);

/* MemTotal and MemAvailable of meminfo (/proc/meminfo) in MiB; -1 for a
 * field that is missing. Returns -errno when the file cannot be opened. */
int host_meminfo_read(const char *meminfo, long *total_mib,
		      long *available_mib);

/* Runs `qemu --version` (posix_spawn, empty signal mask, fixed
 * environment, stdin and stderr on /dev/null) and puts the first line of
 * its output in out, control characters replaced by '?'. The child is
 * killed and reaped when it has not finished within timeout_ms. Returns
 * 0, or -errno (-ETIMEDOUT, -EIO for a failed run or no output) with
 * a reason in out. */
int host_qemu_version(const char *qemu, int timeout_ms, char *out,
		      size_t cap);

#endif
