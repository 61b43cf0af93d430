/* priv's LAUNCH: a qube's QEMU and channel process (priv_launch.h). */
#include "daemon/priv/priv_launch.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/engine/chan_proc.h"
#include "daemon/engine/console_log.h"
#include "daemon/engine/jail.h"
#include "daemon/priv/priv_paths.h"
#include "lib/util.h"
#include "proto/exitcodes.h"

void priv_host_init(struct priv_host *h, const char *root,
		    const char *state, const char *run)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->root, sizeof(h->root), "%s", root);
	snprintf(h->state, sizeof(h->state), "%s", state);
	snprintf(h->run, sizeof(h->run), "%s", run);
	if (bh_path_fmt(h->jail_root, sizeof(h->jail_root), "%s/jail", run))
		h->jail_root[0] = '\0';
	engine_choose_accel("/sys/module", "/dev/kvm", &h->accel);
}

/* The channel process, once QEMU runs: it takes the qube's channel,
 * QMP, console, QEMU's output and the two logs; control gets its two
 * links to it. The caller closes vm's fds and the logs either way. */
static pid_t start_chan(const struct priv_host *h, const char *name,
			unsigned jail_id, const char *run_dir,
			const struct engine_vm *vm,
			const struct console_log *console,
			const struct console_log *qemu_log, int *link,
			int *qmp_link, char *err, size_t cap)
{
	struct chan_proc_fds fds = {
		.guest = vm->chan_fd,
		.console = vm->console_fd,
		.qemu_out = vm->log_fd,
		.console_log = console->fd,
		.console_old = console->old_fd,
		.qemu_log = qemu_log->fd,
		.qemu_old = qemu_log->old_fd,
		.qmp = vm->qmp_fd,
		.attach = -1,
	};
	char exe[4096], why[512], sock[4200];
	pid_t pid;

	/* Where it waits for the next daemon, should control go
	 * (proto/chan_attach.h). */
	if (bh_path_fmt(sock, sizeof(sock), "%s/" CHAN_SOCK_FILE, run_dir)) {
		snprintf(err, cap, "runtime paths too long");
		return -ENAMETOOLONG;
	}
	fds.attach = chan_attach_listen(sock, why, sizeof(why));
	if (fds.attach < 0) {
		snprintf(err, cap, "cannot listen on %.1500s: %s", sock, why);
		return fds.attach;
	}
	if (chan_proc_find(exe, sizeof(exe)) < 0) {
		snprintf(err, cap, "bulkhead-chan not found beside bulkheadd "
				   "(or BULKHEAD_CHAN); reinstall Bulkhead "
				   "(make install, or ./setup)");
		pid = -ENOENT;
	} else {
		pid = chan_proc_spawn(exe, name, chan_uid_for(jail_id),
				      h->jail_root, &fds, link, qmp_link, why,
				      sizeof(why));
		if (pid < 0)
			snprintf(err, cap,
				 "cannot start the channel process: %s", why);
	}
	close(fds.attach);
	return pid;
}

/* The spec engine_start takes, from the request and its files. */
static void spec_from(const struct bh_priv_launch *l,
		      const struct priv_files *f, int restore_fd,
		      struct qube_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->name = l->name;
	spec->kernel = f->kernel;
	spec->initramfs = f->initramfs;
	spec->root_img = f->root;
	spec->root_writable = !!(l->flags & BH_PRIV_ROOT_WRITABLE);
	spec->private_img = f->private_img[0] ? f->private_img : NULL;
	spec->memory_mb = l->memory_mb;
	spec->vcpus = l->vcpus;
	spec->disposable = !!(l->flags & BH_PRIV_DISPOSABLE);
	spec->tsc_khz = l->tsc_khz;
	spec->kernelopts = l->kernelopts;
	spec->jail_id = l->jail_id;
	spec->restore_fd = restore_fd;
	spec->cmdline_name = l->cmdline_name[0] ? l->cmdline_name : NULL;
}

/* The files a qube writes, handed to its uid. */
static int hand_over(const struct bh_priv_launch *l,
		     const struct priv_files *f, uid_t uid, char *err,
		     size_t cap)
{
	int r = 0;

	if (l->flags & BH_PRIV_ROOT_WRITABLE)
		r = priv_hand_file(f->root, uid, err, cap);
	if (r == 0 && f->private_img[0])
		r = priv_hand_file(f->private_img, uid, err, cap);
	return r;
}

static int open_logs(const char *run_dir, struct console_log *clog,
		     struct console_log *qlog, char *err, size_t cap)
{
	char console[4200], qemu_log[4200];
	int r;

	if (bh_path_fmt(console, sizeof(console), "%s/console.log", run_dir) ||
	    bh_path_fmt(qemu_log, sizeof(qemu_log), "%s/qemu.log", run_dir)) {
		snprintf(err, cap, "runtime paths too long");
		return -ENAMETOOLONG;
	}
	r = console_log_open(clog, console);
	if (r < 0) {
		snprintf(err, cap, "cannot create %.1500s: %s", console,
			 strerror(-r));
		return r;
	}
	r = console_log_open(qlog, qemu_log);
	if (r < 0)
		snprintf(err, cap, "cannot create %.1500s: %s", qemu_log,
			 strerror(-r));
	return r;
}

static void close_vm_fds(struct engine_vm *vm)
{
	close(vm->chan_fd);
	close(vm->qmp_fd);
	close(vm->console_fd);
	close(vm->log_fd);
}

int priv_launch(struct priv_host *h, const struct bh_priv_launch *l,
		int restore_fd, struct priv_started *out, char *err,
		size_t cap)
{
	struct console_log clog = { .fd = -1, .old_fd = -1 };
	struct console_log qlog = { .fd = -1, .old_fd = -1 };
	uid_t uid = jail_uid_for(l->jail_id);
	struct priv_files *f = calloc(1, sizeof(*f));
	struct qube_spec spec;
	struct engine_vm vm;
	struct stat st;
	char qemu[4096];
	size_t i;
	int r, cgroup = 0;

	memset(out, 0, sizeof(*out));
	out->link_fd = out->qmp_fd = -1;
	if (!f) {
		snprintf(err, cap, "out of memory");
		return BH_EXIT_FAILURE;
	}
	if (uid == (uid_t)-1) {
		snprintf(err, cap, "jail id %u is out of range", l->jail_id);
		r = -EINVAL;
	} else if (engine_find_qemu(qemu, sizeof(qemu)) < 0) {
		snprintf(err, cap,
			 "QEMU not found (qemu-system-x86_64 on PATH or "
			 "BULKHEAD_QEMU); install it with `apt-get install "
			 "qemu-system-x86` or run ./setup");
		free(f);
		return BH_EXIT_SETUP;
	} else {
		r = priv_files_for(h->state, h->run, l, f, err, cap);
	}
	/* Control made the runtime folder; priv writes the logs in it. */
	if (r == 0 && (lstat(f->run_dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
		snprintf(err, cap, "the runtime folder %.1500s is missing",
			 f->run_dir);
		r = -ENOTDIR;
	}
	if (r == 0)
		r = hand_over(l, f, uid, err, cap);
	if (r == 0)
		r = open_logs(f->run_dir, &clog, &qlog, err, cap);
	spec_from(l, f, restore_fd, &spec);
	if (r == 0 && h->cgroups.on) {
		/* Its limits hold before QEMU runs (cgroup.h); a group that
		 * cannot be made fails the start rather than letting this
		 * QEMU run unbounded where the others are bounded. */
		r = cgroup_qube_create(&h->cgroups, l->name, l->memory_mb,
				       l->vcpus, spec.cgroup_fds, err, cap);
		cgroup = r >= 0;
		if (r >= 0)
			r = 0;
	}
	if (r == 0)
		r = engine_start(qemu, &spec, h->accel.accel, h->jail_root, &vm,
				 err, cap);
	if (r == 0) {
		out->qemu = vm.pid;
		out->chan = start_chan(h, l->name, l->jail_id, f->run_dir, &vm,
				       &clog, &qlog, &out->link_fd,
				       &out->qmp_fd, err, cap);
		close_vm_fds(&vm);
		if (out->chan < 0) {
			r = (int)out->chan;
			out->chan = 0;
			/* Its end comes as any QEMU's; the group goes when
			 * it is reaped. */
			kill(out->qemu, SIGKILL);
			cgroup = 0;
		}
	}
	console_log_close(&clog);
	console_log_close(&qlog);
	for (i = 0; i < CGROUP_DIRS_MAX; i++)
		if (spec.cgroup_fds[i] > 0)
			close(spec.cgroup_fds[i]);
	if (r < 0 && cgroup)
		cgroup_qube_remove(&h->cgroups, l->name);
	free(f);
	if (r == 0)
		return 0;
	return r == -ENOSPC ? BH_EXIT_NOSPACE : BH_EXIT_FAILURE;
}
