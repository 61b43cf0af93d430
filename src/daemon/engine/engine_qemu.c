/* QEMU behind the engine interface: microvm with ACPI, virtio-mmio devices,
 * no defaults, no display, driven over QMP on an inherited socket. */
#include "daemon/engine/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/engine/jail.h"
#include "lib/util.h"

/* Fixed fd numbers that QEMU inherits. */
#define QEMU_CHAN_FD 3
#define QEMU_QMP_FD 4
#define QEMU_CONSOLE_FD 5
#define QEMU_RESTORE_FD 6 /* ENGINE_RESTORE_URI names it */

void engine_choose_accel(const char *sys_module_dir, const char *dev_kvm,
			 struct engine_accel_choice *out)
{
	const char *force = getenv("BULKHEAD_ACCEL");
	char p1[512], p2[512];
	int hw, fd;

	if (force && !strcmp(force, "tcg")) {
		out->accel = ACCEL_TCG;
		snprintf(out->why, sizeof(out->why),
			 "BULKHEAD_ACCEL=tcg asks for it");
		return;
	}
	snprintf(p1, sizeof(p1), "%s/kvm_intel", sys_module_dir);
	snprintf(p2, sizeof(p2), "%s/kvm_amd", sys_module_dir);
	hw = access(p1, F_OK) == 0 || access(p2, F_OK) == 0;
	if (force && !strcmp(force, "kvm"))
		hw = 1;
	if (!hw) {
		out->accel = ACCEL_TCG;
		snprintf(out->why, sizeof(out->why),
			 "neither kvm_intel nor kvm_amd is loaded: this CPU "
			 "offers no hardware virtualization, so any /dev/kvm "
			 "here would emulate guests far slower than TCG");
		return;
	}
	fd = open(dev_kvm, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		out->accel = ACCEL_TCG;
		snprintf(out->why, sizeof(out->why),
			 "hardware virtualization is loaded but %s cannot be "
			 "opened (%s)", dev_kvm, strerror(errno));
		return;
	}
	close(fd);
	out->accel = ACCEL_KVM;
	snprintf(out->why, sizeof(out->why),
		 "hardware virtualization (kvm_intel/kvm_amd) and %s usable",
		 dev_kvm);
}

struct argv_builder {
	char **argv;
	size_t n, cap;
	char *store;
	size_t used, store_cap;
	int err;
};

static void add(struct argv_builder *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add(struct argv_builder *b, const char *fmt, ...)
{
	va_list ap;
	int len;

	if (b->err)
		return;
	if (b->n + 1 >= b->cap) {
		b->err = -E2BIG;
		return;
	}
	va_start(ap, fmt);
	len = vsnprintf(b->store + b->used, b->store_cap - b->used, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= b->store_cap - b->used) {
		b->err = -E2BIG;
		return;
	}
	b->argv[b->n++] = b->store + b->used;
	b->argv[b->n] = NULL;
	b->used += (size_t)len + 1;
}

/* QEMU's -drive and -chardev values are comma-separated; a comma in a
 * path must be doubled. Our paths never contain one, so refuse them. */
static int path_ok(const char *p)
{
	return p && !strchr(p, ',') && p[0] == '/';
}

/* The name goes into -name and the kernel command line: a comma or a
 * space there would add options. Qube names never have them. */
static int name_ok(const char *n)
{
	if (!n || !n[0] || strlen(n) > 31)
		return 0;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
		      (*n >= '0' && *n <= '9') || *n == '_' || *n == '.' ||
		      *n == '-'))
			return 0;
	return 1;
}

int engine_qemu_argv(const char *qemu, const struct qube_spec *spec,
		     enum engine_accel accel, const struct engine_fds *fds,
		     char **argv, size_t cap, char *store, size_t store_cap)
{
	struct argv_builder b = { argv, 0, cap, store, 0, store_cap, 0 };

	if (!name_ok(spec->name) || !path_ok(spec->kernel) || !path_ok(spec->initramfs) ||
	    (spec->cmdline_name && !name_ok(spec->cmdline_name)) ||
	    !path_ok(spec->root_img) ||
	    (spec->private_img && !path_ok(spec->private_img)))
		return -EINVAL;
	add(&b, "%s", qemu);
	add(&b, "-name");
	add(&b, "%s,debug-threads=on", spec->name);
	add(&b, "-M");
	add(&b, "microvm,acpi=on");
	add(&b, "-accel");
	if (accel == ACCEL_KVM)
		add(&b, "kvm");
	else
		add(&b, "tcg,tb-size=%u", ENGINE_TCG_TB_MB);
	add(&b, "-cpu");
	add(&b, "%s", accel == ACCEL_KVM ? "host" : "max");
	add(&b, "-m");
	add(&b, "%uM", spec->memory_mb);
	add(&b, "-smp");
	add(&b, "%u", spec->vcpus);
	add(&b, "-nodefaults");
	add(&b, "-no-user-config");
	add(&b, "-sandbox");
	add(&b, "%s", jail_qemu_sandbox_arg());
	add(&b, "-display");
	add(&b, "none");
	add(&b, "-no-reboot");
	add(&b, "-kernel");
	add(&b, "%s", spec->kernel);
	add(&b, "-initrd");
	add(&b, "%s", spec->initramfs);
	add(&b, "-append");
	{
		char tsc[40] = "";

		if (accel == ACCEL_TCG && spec->tsc_khz)
			snprintf(tsc, sizeof(tsc), " tsc_early_khz=%u",
				 spec->tsc_khz);
		add(&b,
		    "console=ttyS0 quiet panic=-1%s%s%s bh.name=%s "
		    "bh.root=/dev/vda%s%s%s",
		    tsc, spec->kernelopts && spec->kernelopts[0] ? " " : "",
		    spec->kernelopts ? spec->kernelopts : "",
		    spec->cmdline_name ? spec->cmdline_name : spec->name,
		    spec->root_writable ? " bh.rootrw=1" : "",
		    spec->private_img ? " bh.private=/dev/vdb" : "",
		    spec->disposable ? " bh.disposable=1" : "");
	}
	add(&b, "-chardev");
	add(&b, "socket,id=console,fd=%d", fds->console);
	add(&b, "-serial");
	add(&b, "chardev:console");
	add(&b, "-drive");
	add(&b, "id=root,file=%s,format=raw,if=none%s", spec->root_img,
	    spec->root_writable ? "" : ",readonly=on");
	add(&b, "-device");
	add(&b, "virtio-blk-device,drive=root");
	if (spec->private_img) {
		add(&b, "-drive");
		add(&b, "id=private,file=%s,format=raw,if=none",
		    spec->private_img);
		add(&b, "-device");
		add(&b, "virtio-blk-device,drive=private");
	}
	add(&b, "-device");
	/* Port 0 is reserved for a console, 1 is the control channel, the
	 * rest are data ports plugged per bulk call (daemon/relay/dataport.h), rather
	 * than the default 31. Each port costs the guest driver two
	 * virtqueues at boot; 2 → 6 measured no boot time above the noise
	 * (docs/rpc-data-path.md, "Figures"). */
	add(&b, "virtio-serial-device,max_ports=%u",
	    2u + ENGINE_DATA_PORTS_MAX);
	add(&b, "-chardev");
	add(&b, "socket,id=control,fd=%d", fds->chan);
	add(&b, "-device");
	add(&b, "virtserialport,chardev=control,name=bulkhead.control");
	add(&b, "-object");
	add(&b, "rng-random,id=rng,filename=/dev/urandom");
	add(&b, "-device");
	add(&b, "virtio-rng-device,rng=rng");
	add(&b, "-chardev");
	add(&b, "socket,id=qmp,fd=%d", fds->qmp);
	add(&b, "-mon");
	add(&b, "chardev=qmp,mode=control");
	if (spec->disposable) {
		/* MIGRATION events tell the daemon when a snapshot is
		 * written or loaded, with no polling (dispvm_snapshot.h). */
		add(&b, "-global");
		add(&b, "migration.x-events=on");
	}
	if (spec->restore_fd > 0) {
		/* Paused until the daemon has sent migrate-incoming, seen the
		 * load complete, and queued the agent's RESUME. */
		add(&b, "-S");
		add(&b, "-incoming");
		add(&b, "defer");
	}
	return b.err;
}

int engine_find_qemu(char *out, size_t cap)
{
	const char *env = getenv("BULKHEAD_QEMU");
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	int r = -ENOENT;

	if (env && env[0]) {
		if (access(env, X_OK) < 0)
			return -ENOENT;
		return bh_path_fmt(out, cap, "%s", env);
	}
	copy = strdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	if (!copy)
		return -ENOMEM;
	for (dir = strtok_r(copy, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		if (bh_path_fmt(out, cap, "%s/qemu-system-x86_64", dir) == 0 &&
		    access(out, X_OK) == 0) {
			r = 0;
			break;
		}
	}
	free(copy);
	return r;
}

/* What the jailed child needs between jail_spawn and execv. */
struct child_args {
	const struct jail_spec *jail;
	char *const *argv;
	const char *qemu;
	int log, chan, qmp, con, restore;
};

static int qemu_child(void *p)
{
	const struct child_args *a = p;
	char err[512];
	sigset_t none;
	int devnull = open("/dev/null", O_RDONLY);

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Move the inherited fds above the fixed numbers first, so that the
	 * dup2s below cannot clobber one another (all stay below the
	 * jail's pidfd at JAIL_PARENT_FD_MIN). */
	int c = fcntl(a->chan, F_DUPFD, 10);
	int m = fcntl(a->qmp, F_DUPFD, 10);
	int k = fcntl(a->con, F_DUPFD, 10);
	int s = a->restore > 0 ? fcntl(a->restore, F_DUPFD, 10) : -1;

	if (devnull < 0 || c < 0 || m < 0 || k < 0 || dup2(devnull, 0) < 0 ||
	    dup2(a->log, 1) < 0 || dup2(a->log, 2) < 0 ||
	    dup2(c, QEMU_CHAN_FD) < 0 || dup2(m, QEMU_QMP_FD) < 0 ||
	    dup2(k, QEMU_CONSOLE_FD) < 0 || (a->restore > 0 && s < 0) ||
	    (s >= 0 && dup2(s, QEMU_RESTORE_FD) < 0))
		return 126;
	/* Until execv this child holds every fd the daemon had, the admin
	 * socket's listener among them: were the daemon to die now, a bh
	 * could connect to this child, which never answers. Keep only what
	 * QEMU gets and what the jail needs (at JAIL_PARENT_FD_MIN and up). */
	close_range(s >= 0 ? QEMU_RESTORE_FD + 1 : QEMU_CONSOLE_FD + 1,
		    JAIL_PARENT_FD_MIN - 1, 0);
	if (jail_enter(a->jail, err, sizeof(err)) < 0) {
		dprintf(2, "bulkheadd: cannot jail QEMU: %s\n", err);
		return 126;
	}
	close_range(s >= 0 ? QEMU_RESTORE_FD + 1 : QEMU_CONSOLE_FD + 1, ~0u,
		    0);
	execv(a->qemu, a->argv);
	dprintf(2, "bulkheadd: cannot execute %s: %s\n", a->qemu,
		strerror(errno));
	return 127;
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

int engine_start(const char *qemu, const struct qube_spec *spec,
		 enum engine_accel accel, const char *jail_root,
		 struct engine_vm *vm, char *err, size_t err_cap)
{
	static const struct engine_fds child_fds = {
		QEMU_CHAN_FD, QEMU_QMP_FD, QEMU_CONSOLE_FD
	};
	const char *ro[5] = { spec->kernel, spec->initramfs, NULL, NULL,
			      NULL };
	const char *rw[3] = { NULL, NULL, NULL };
	const char *kvm[2] = { "/dev/kvm", NULL };
	struct jail_spec jail = {
		.uid = jail_uid_for(spec->jail_id),
		.gid = (gid_t)jail_uid_for(spec->jail_id),
		.root_dir = jail_root,
		.hostname = spec->name,
		.ro_files = ro,
		.rw_files = rw,
		.devices = accel == ACCEL_KVM ? kvm : NULL,
		.cgroup_fds = { spec->cgroup_fds[0], spec->cgroup_fds[1] },
	};
	struct child_args args;
	char *argv[96], store[8192];
	int chan[2] = { -1, -1 }, qmp[2] = { -1, -1 }, con[2] = { -1, -1 };
	int log[2] = { -1, -1 };
	int r;
	pid_t pid;

	size_t nro = 2, nrw = 0;

	if (spec->root_writable)
		rw[nrw++] = spec->root_img;
	else
		ro[nro++] = spec->root_img;
	if (spec->private_img)
		rw[nrw++] = spec->private_img;
	/* The jail shows /usr; a QEMU elsewhere must be brought in. */
	if (strncmp(qemu, "/usr/", 5) != 0)
		ro[nro++] = qemu;
	r = engine_qemu_argv(qemu, spec, accel, &child_fds, argv,
			     sizeof(argv) / sizeof(*argv), store,
			     sizeof(store));
	if (r < 0) {
		snprintf(err, err_cap, "cannot build QEMU's command line: %s",
			 strerror(-r));
		return r;
	}
	r = jail_check_spec(&jail, err, err_cap);
	if (r < 0)
		return r;
	/* Both ends non-blocking: QEMU never waits for the daemon to read
	 * its messages (see engine.h). */
	if (pipe2(log, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, con) < 0) {
		r = -errno;
		goto fail;
	}
	args = (struct child_args){ &jail,   argv,   qemu,	 log[1],
				    chan[1], qmp[1], con[1], spec->restore_fd };
	pid = jail_spawn(&jail, qemu_child, &args);
	if (pid < 0) {
		r = (int)pid;
		goto fail;
	}
	close(chan[1]);
	close(qmp[1]);
	close(con[1]);
	close(log[1]);
	bh_set_nonblock(chan[0], 1);
	bh_set_nonblock(qmp[0], 1);
	bh_set_nonblock(con[0], 1);
	vm->pid = pid;
	vm->chan_fd = chan[0];
	vm->qmp_fd = qmp[0];
	vm->console_fd = con[0];
	vm->log_fd = log[0];
	return 0;
fail:
	snprintf(err, err_cap, "cannot start QEMU: %s", strerror(-r));
	close_pair(chan);
	close_pair(qmp);
	close_pair(con);
	close_pair(log);
	return r;
}
