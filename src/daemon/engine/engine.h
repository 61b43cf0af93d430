/* The engine: everything the daemon knows about the virtual machine
 * monitor sits behind this interface (today QEMU; a smaller monitor of our
 * own can replace it without touching the rest). */
#ifndef BH_DAEMON_ENGINE_H
#define BH_DAEMON_ENGINE_H

#include <stddef.h>
#include <sys/types.h>

#include "proto/msg_priv.h"

enum engine_accel { ACCEL_TCG, ACCEL_KVM };

/* TCG's translation cache, in MiB (-accel tcg,tb-size=). QEMU's default
 * is 1 GiB, mapped at once and filled as guest code is translated: a
 * long-running qube could grow past its cgroup's memory.max
 * (CGROUP_QEMU_OVERHEAD_MB) that way. A boot and some work used about
 * 55 MiB; when the cache is full QEMU flushes it and translates again. */
#define ENGINE_TCG_TB_MB 128u
/* Virtio-serial ports a qube has for data ports (dataport.h), beside
 * the console's and the control channel's: max_ports is 2 + this. */
#define ENGINE_DATA_PORTS_MAX 4u

struct engine_accel_choice {
	enum engine_accel accel;
	char why[256];
};

/* Chooses KVM only when the CPU's hardware virtualization is really there
 * (kvm_intel or kvm_amd loaded under sys_module_dir, and /dev/kvm opens);
 * a /dev/kvm from another module (kvm_pvm on our machines) emulates guests
 * instruction by instruction and is far slower than TCG. BULKHEAD_ACCEL=tcg
 * forces TCG; BULKHEAD_ACCEL=kvm skips the module check (KVM is still used
 * only when /dev/kvm opens). */
void engine_choose_accel(const char *sys_module_dir, const char *dev_kvm,
			 struct engine_accel_choice *out);

struct qube_spec {
	const char *name;
	const char *kernel;
	const char *initramfs;
	const char *root_img;    /* /dev/vda, read-only unless root_writable */
	int root_writable;       /* TemplateVM and StandaloneVM roots */
	const char *private_img; /* NULL = none; else /dev/vdb */
	unsigned memory_mb;
	unsigned vcpus;
	int disposable;
	unsigned tsc_khz; /* TCG: the host TSC rate, 0 = let the guest calibrate */
	/* The qube's kernelopts property (checked printable by props.c), put
	 * before our bh.* settings so that those win. NULL or "" = none. */
	const char *kernelopts;
	/* The jail's id: QEMU runs as uid/gid jail_uid_for(jail_id). */
	unsigned jail_id;
	/* Restoring a snapshot (dispvm_snapshot.h): the migration stream,
	 * inherited read-only; QEMU starts paused with `-incoming defer`
	 * and the daemon sends migrate-incoming and cont over QMP. -1 (or
	 * 0 in a zeroed spec: never a valid stream fd here) = a cold boot. */
	int restore_fd;
	/* The name on the kernel command line (bh.name=), when it must be
	 * the snapshot's rather than this qube's; NULL = name. */
	const char *cmdline_name;
	/* The qube's cgroup.procs files (cgroup.h: one under cgroup v2,
	 * one per hierarchy under v1), which QEMU joins before it runs; an
	 * entry of 0 or less = none (cgroup limits off). */
	int cgroup_fds[2];
	/* The same files by name, for the start through bulkheadd's root
	 * parent, which builds the paths itself (priv/priv_paths.h):
	 * STATE/kernels/KVER, and the root image's kind (enum
	 * bh_priv_root_kind), owner and file name. Set beside the paths
	 * above (qube_spec_where). */
	char kver[BH_PRIV_KVER_MAX];
	unsigned root_kind;
	char root_owner[BH_PRIV_NAME_MAX], root_file[BH_PRIV_FILE_MAX];
};

/* Inherited fds of a QEMU process: control channel, QMP, serial console. */
struct engine_fds {
	int chan, qmp, console;
};

/* The migration URI a restoring QEMU loads from: spec->restore_fd,
 * inherited as its fd 6. */
#define ENGINE_RESTORE_URI "fd:6"


/* Builds QEMU's argument vector into argv (cap entries, NULL-terminated),
 * with strings in store (store_cap bytes). Returns 0, -EINVAL for a name
 * or path QEMU's option syntax could misread, or -E2BIG. */
int engine_qemu_argv(const char *qemu, const struct qube_spec *spec,
		     enum engine_accel accel, const struct engine_fds *fds,
		     char **argv, size_t cap, char *store, size_t store_cap);

/* Finds the QEMU binary: BULKHEAD_QEMU, else qemu-system-x86_64 on PATH.
 * Returns 0 with its path in out, or -ENOENT. */
int engine_find_qemu(char *out, size_t cap);

struct engine_vm {
	pid_t pid;
	int chan_fd; /* our end of the control channel (non-blocking) */
	int qmp_fd;  /* our end of QMP (non-blocking) */
	int console_fd; /* our end of the serial console (non-blocking) */
	/* The read end of the pipe that is QEMU's stdout and stderr
	 * (non-blocking); the daemon copies it into a capped qemu.log. */
	int log_fd;
};

/* Starts QEMU for spec, jailed (see jail.h) with jail_root as the mount
 * point of its root, its stdout and stderr a pipe whose read end is
 * vm->log_fd. The write end is non-blocking: a QEMU that a guest makes
 * print without end loses what does not fit in the pipe (64 KiB) rather
 * than stop while the daemon is busy, so the daemon can read at its own
 * pace and keep what it likes (a capped file: see console_log.h). A QEMU
 * that fails at once leaves its message in the pipe, to read after it is
 * reaped. The paths in spec must
 * be canonical (no symlinks). QEMU outlives a daemon that dies, so its
 * guest can power off cleanly (leftover_qemu.h ends what does not).
 * Returns 0, or
 * a negative errno with a reason in err. */
int engine_start(const char *qemu, const struct qube_spec *spec,
		 enum engine_accel accel, const char *jail_root,
		 struct engine_vm *vm, char *err, size_t err_cap);

#endif
