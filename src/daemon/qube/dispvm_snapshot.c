/* Snapshots of booted disposables: see dispvm_snapshot.h. */
#include "daemon/qube/dispvm_snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/core/daemon.h"
#include "daemon/qube/qube_vm.h"
#include "daemon/state/qube_paths.h"
#include "daemon/engine/engine.h"
#include "daemon/jobs/job.h"
#include "daemon/store/store.h"
#include "lib/crashpoint.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/frame.h"

/* First line of every manifest; bump it when the format or what a
 * snapshot holds changes, so older snapshots turn stale. */
#define MANIFEST_MAGIC "bulkhead-snapshot 2"
/* Separates the inputs (compared) from what the take recorded. */
#define MANIFEST_SEP "--\n"
/* The fd name QEMU knows the state file by while it migrates into it. */
#define SNAP_FDNAME "bhsnap"

/* RESTORE steps */
enum { RS_WAIT_QMP, RS_LOADING, RS_RESUMED };
/* TAKE steps */
enum { TK_BOOTING, TK_MIGRATING, TK_COPYING, TK_DONE };

/* The copy of a disposable's private volume kept with its snapshot: a
 * job (dv->snap_job), which may end after its qube (killed meanwhile):
 * then dv is NULL and the job's end removes the build folder, which it
 * was writing into. */
struct take_copy {
	struct qube_vm *dv;
	char build[4200];	/* once dv has gone: the folder to remove */
	int64_t migrated_ms;	/* when the migration completed */
	int64_t deadline_left;	/* of the boot, stopped for the copy */
};

static int file_identity(const char *path, char *out, size_t cap)
{
	struct stat st;
	int n;

	if (stat(path, &st) < 0)
		return -errno;
	n = snprintf(out, cap, "%s %llu:%llu:%lld:%lld.%09ld:%lld.%09ld", path,
		     (unsigned long long)st.st_dev,
		     (unsigned long long)st.st_ino, (long long)st.st_size,
		     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		     (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* "argv A B C...\n" for spec under a fixed name, into out. */
static int argv_line(const char *qemu, const struct qube_spec *spec, int kvm,
		     char *out, size_t cap)
{
	static const struct engine_fds fds = { 3, 4, 5 };
	struct qube_spec s = *spec;
	char *argv[96], *store = malloc(8192);
	size_t used = 0, i;
	int r, n;

	if (!store)
		return -ENOMEM;
	s.name = "snapshot";
	s.cmdline_name = NULL;
	s.restore_fd = 0;
	r = engine_qemu_argv(qemu, &s, kvm ? ACCEL_KVM : ACCEL_TCG, &fds, argv,
			     sizeof(argv) / sizeof(*argv), store, 8192);
	n = r < 0 ? -1 : snprintf(out, cap, "argv");
	for (i = 0; n >= 0 && (size_t)n < cap - used && argv[i]; i++) {
		used += (size_t)n;
		n = snprintf(out + used, cap - used, " %s", argv[i]);
	}
	if (n >= 0 && (size_t)n < cap - used) {
		used += (size_t)n;
		n = snprintf(out + used, cap - used, "\n");
	}
	free(store);
	if (r < 0)
		return r;
	return n < 0 || (size_t)n >= cap - used ? -ENAMETOOLONG : 0;
}

int snapshot_manifest_inputs(const char *qemu, const struct qube_spec *spec,
			     int kvm, const char *private_src, char *out,
			     size_t cap)
{
	const char *keys[5] = { "qemu", "kernel", "initramfs", "root",
				"private" };
	const char *paths[5] = { qemu, spec->kernel, spec->initramfs,
				 spec->root_img, private_src };
	size_t used;
	int n, i, r;

	n = snprintf(out, cap,
		     MANIFEST_MAGIC "\nproto %u\naccel %s\ntsc_khz %u\n"
				    "memory_mb %u\nvcpus %u\nkernelopts %s\n",
		     BH_PROTO_VERSION, kvm ? "kvm" : "tcg", spec->tsc_khz,
		     spec->memory_mb, spec->vcpus,
		     spec->kernelopts ? spec->kernelopts : "");
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	used = (size_t)n;
	for (i = 0; i < 5; i++) {
		char id[PATH_MAX + 128];

		if (!paths[i] || !paths[i][0]) {
			snprintf(id, sizeof(id), "none");
		} else {
			r = file_identity(paths[i], id, sizeof(id));
			if (r < 0)
				return r;
		}
		n = snprintf(out + used, cap - used, "%s %s\n", keys[i], id);
		if (n < 0 || (size_t)n >= cap - used)
			return -ENAMETOOLONG;
		used += (size_t)n;
	}
	/* Last, QEMU's command line as the daemon builds it today (the
	 * name and fds aside): a change of device layout in a new daemon
	 * (more virtio-serial ports, say) must not meet an old stream. It
	 * names the images too; the lines above come first so that the log
	 * says which input changed. */
	return argv_line(qemu, spec, kvm, out + used, cap - used);
}

/* Snapshots can be turned off per disposable template with the feature
 * dispvm-snapshot set to "" or "0" (any other value, or none: on), and
 * for the whole daemon with BULKHEAD_DISPVM_SNAPSHOTS=0. */
static int snapshots_wanted(struct daemon *d, const char *dvm)
{
	const char *env = getenv("BULKHEAD_DISPVM_SNAPSHOTS");
	char v[256], err[STORE_ERR_MAX];

	if (env && !strcmp(env, "0"))
		return 0;
	if (!dvm[0] || !d->store)
		return 1;
	if (store_feature_get(d->store, dvm, "dispvm-snapshot", v, sizeof(v),
			      err, sizeof(err)) < 0)
		return 1;
	return v[0] && strcmp(v, "0");
}

/* Names the first line where two manifests differ, for the log. */
static void first_difference(const char *a, const char *b, char *out,
			     size_t cap)
{
	while (*a && *b) {
		const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
		size_t la = ea ? (size_t)(ea - a) : strlen(a);
		size_t lb = eb ? (size_t)(eb - b) : strlen(b);

		if (la != lb || memcmp(a, b, la)) {
			const char *sp = memchr(a, ' ', la);

			snprintf(out, cap, "%.*s",
				 (int)(sp ? (size_t)(sp - a) : la), a);
			return;
		}
		a += la + (ea ? 1 : 0);
		b += lb + (eb ? 1 : 0);
	}
	snprintf(out, cap, "%s", "format");
}

/* Reads KEY/manifest: its inputs part into inputs, and the name and
 * state size the take recorded. */
static int read_manifest(const char *dir, char **inputs, char *name,
			 size_t name_cap, long long *state_size)
{
	char path[PATH_MAX], *text = NULL, *sep, *line;
	size_t len;
	int r;

	if (bh_path_fmt(path, sizeof(path), "%s/manifest", dir))
		return -ENAMETOOLONG;
	r = bh_read_file(path, SNAPSHOT_MANIFEST_MAX, &text, &len);
	if (r < 0)
		return r;
	sep = strstr(text, "\n" MANIFEST_SEP);
	if (!sep) {
		free(text);
		return -EBADMSG;
	}
	sep[1] = '\0';
	name[0] = '\0';
	*state_size = -1;
	for (line = sep + 1 + strlen(MANIFEST_SEP); *line;) {
		char *end = strchr(line, '\n');

		if (end)
			*end = '\0';
		if (!strncmp(line, "name ", 5))
			snprintf(name, name_cap, "%s", line + 5);
		else if (!strncmp(line, "state_size ", 11))
			*state_size = strtoll(line + 11, NULL, 10);
		if (!end)
			break;
		line = end + 1;
	}
	*inputs = text;
	return name[0] && *state_size > 0 ? 0 : -EBADMSG;
}

void snapshot_prepare(struct daemon *d, struct qube_vm *dv,
		      struct qube_spec *spec, char *cmdline_name,
		      size_t cmdline_cap)
{
	char qemu[PATH_MAX], dir[PATH_MAX], state[PATH_MAX], diff[64];
	char *want = NULL, *have = NULL;
	long long state_size;
	struct stat st;
	int r, fd;

	/* dv->snap is DVS_COLD and snap_fd -1 here (launch_disposable). */
	if (!snapshots_wanted(d, dv->dvm))
		return;
	want = malloc(SNAPSHOT_MANIFEST_MAX);
	if (!want || engine_find_qemu(qemu, sizeof(qemu)) < 0 ||
	    snapshot_dir_for(d->paths.state, dv->dvm, dir, sizeof(dir)) ||
	    snprintf(dv->snap_key, sizeof(dv->snap_key), "%s",
		     strrchr(dir, '/') + 1) >= (int)sizeof(dv->snap_key)) {
		free(want);
		return;
	}
	r = snapshot_manifest_inputs(qemu, spec, d->accel.accel == ACCEL_KVM,
				     dv->private_src, want,
				     SNAPSHOT_MANIFEST_MAX);
	if (r < 0) {
		LOG_WARN("%s: cannot describe its boot for a snapshot (%s); "
			 "cold boot",
			 dv->name, strerror(-r));
		free(want);
		return;
	}
	r = read_manifest(dir, &have, cmdline_name, cmdline_cap, &state_size);
	if (r == -ENOENT) {
		LOG_INFO("%s: no snapshot of %s yet: cold boot, snapshot "
			 "after boot",
			 dv->name, dv->snap_key);
		goto take;
	}
	if (r < 0) {
		LOG_WARN("%s: snapshot %s has an unreadable manifest (%s): "
			 "cold boot, new snapshot after boot",
			 dv->name, dv->snap_key, strerror(-r));
		goto take;
	}
	if (strcmp(have, want)) {
		first_difference(have, want, diff, sizeof(diff));
		LOG_INFO("%s: snapshot %s is stale (%s changed): cold boot, "
			 "new snapshot after boot",
			 dv->name, dv->snap_key, diff);
		goto take;
	}
	if (bh_path_fmt(state, sizeof(state), "%s/state", dir) ||
	    (fd = open(state, O_RDONLY | O_CLOEXEC)) < 0) {
		LOG_WARN("%s: cannot open snapshot %s: %s; cold boot",
			 dv->name, dv->snap_key, strerror(errno));
		goto take;
	}
	if (fstat(fd, &st) < 0 || st.st_size != state_size) {
		LOG_WARN("%s: snapshot %s is truncated; cold boot, new "
			 "snapshot after boot",
			 dv->name, dv->snap_key);
		close(fd);
		goto take;
	}
	if (dv->private_src[0] &&
	    bh_path_fmt(dv->private_src, sizeof(dv->private_src),
			"%s/private.img", dir)) {
		close(fd);
		goto take;
	}
	spec->restore_fd = fd;
	spec->cmdline_name = cmdline_name;
	dv->snap = DVS_RESTORE;
	dv->snap_step = RS_WAIT_QMP;
	dv->snap_t0 = bh_now_ms();
	dv->snap_manifest = want; /* a preloaded qube is checked against it */
	free(have);
	return;
take:
	free(have);
	dv->snap = DVS_TAKE;
	dv->snap_step = TK_BOOTING;
	dv->snap_manifest = want;
}

/* TAKE ------------------------------------------------------------------ */

static void take_discard(struct qube_vm *dv, const char *why)
{
	LOG_WARN("%s: no snapshot of %s made: %s", dv->name, dv->snap_key,
		 why);
	if (dv->snap_job) {
		/* Its copy may still be writing into the build folder: the
		 * folder goes once the job has ended (take_copied). */
		struct take_copy *c = dv->snap_job->ctx;

		c->dv = NULL;
		memcpy(c->build, dv->snap_build, sizeof(c->build));
		dv->snap_build[0] = '\0';
		job_cancel(dv->snap_job, why);
		dv->snap_job = NULL;
	}
	if (dv->snap_fd >= 0)
		close(dv->snap_fd);
	dv->snap_fd = -1;
	if (dv->snap_build[0])
		bh_rm_rf(dv->snap_build);
	dv->snap_build[0] = '\0';
	free(dv->snap_manifest);
	dv->snap_manifest = NULL;
	dv->snap = DVS_COLD;
}

/* The qube goes on. Its clock stood still while it was stopped, so it
 * gets a RESUME too (its own name); its HELLO then starts its job (or
 * its calls) as usual. */
static void take_release(struct qube_vm *dv)
{
	if (snapshot_resume(dv, 0) < 0)
		qube_vm_abort(dv, "cannot resume it after its snapshot");
}

int snapshot_on_hello(struct qube_vm *dv)
{
	char snaps[PATH_MAX], state[PATH_MAX];
	struct daemon *d = dv->d;

	if (dv->snap != DVS_TAKE || dv->snap_step != TK_BOOTING)
		return 0;
	if (bh_path_fmt(snaps, sizeof(snaps), "%s/snapshots", d->paths.state) ||
	    bh_mkdir_p(snaps, 0700) < 0 ||
	    bh_path_fmt(dv->snap_build, sizeof(dv->snap_build),
			"%s/.build-%s.XXXXXX", snaps, dv->snap_key) ||
	    !mkdtemp(dv->snap_build)) {
		dv->snap_build[0] = '\0';
		take_discard(dv, strerror(errno));
		return 0;
	}
	if (bh_path_fmt(state, sizeof(state), "%s/state", dv->snap_build)) {
		take_discard(dv, "paths too long");
		return 0;
	}
	dv->snap_fd = open(state, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			   0600);
	if (dv->snap_fd < 0) {
		take_discard(dv, strerror(errno));
		return 0;
	}
	/* QMP answers in order; the MIGRATION event says when it is over.
	 * A command that fails is logged, and its migration never
	 * completes: the boot deadline still runs and ends it. */
	if (qmp_command(&dv->qmp, "stop") < 0 ||
	    qmp_getfd(&dv->qmp, SNAP_FDNAME, dv->snap_fd) < 0 ||
	    qmp_command_str(&dv->qmp, "migrate", "uri",
			    "fd:" SNAP_FDNAME) < 0) {
		take_discard(dv, "QMP is not ready");
		/* "stop" may have gone out: cont is harmless if not. */
		qmp_command(&dv->qmp, "cont");
		return 0;
	}
	dv->snap_step = TK_MIGRATING;
	dv->snap_t0 = bh_now_ms();
	dv->qmp.migration[0] = '\0';
	return 1;
}

static int write_manifest(struct qube_vm *dv, long long state_size)
{
	char path[PATH_MAX];
	FILE *f;
	int ok;

	if (bh_path_fmt(path, sizeof(path), "%s/manifest", dv->snap_build))
		return -ENAMETOOLONG;
	f = fopen(path, "wxe");
	if (!f)
		return -errno;
	ok = fprintf(f, "%s" MANIFEST_SEP "name %s\nstate_size %lld\n",
		     dv->snap_manifest, dv->name, state_size) > 0;
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
	ok = fclose(f) == 0 && ok;
	return ok ? 0 : -EIO;
}

/* Moves the finished build folder to KEY, replacing an older one. A
 * restore in flight holds its own fd and private copy, so removing the
 * old folder under it is safe. */
static int publish(struct qube_vm *dv)
{
	char final[PATH_MAX], old[PATH_MAX + 32], *slash;
	int have_old;

	if (snapshot_dir_for(dv->d->paths.state, dv->dvm, final,
			     sizeof(final)) ||
	    bh_path_fmt(old, sizeof(old), "%s", final))
		return -ENAMETOOLONG;
	slash = strrchr(old, '/');
	snprintf(slash + 1, sizeof(old) - (size_t)(slash + 1 - old),
		 ".old-%s.XXXXXX", dv->snap_key);
	if (!mkdtemp(old))
		return -errno;
	have_old = rename(final, old) == 0;
	if (!have_old && errno != ENOENT)
		return -errno;
	if (!have_old)
		rmdir(old);
	if (rename(dv->snap_build, final) < 0)
		return -errno;
	dv->snap_build[0] = '\0';
	*slash = '\0';
	bh_fsync_dir(old);
	if (have_old) {
		*slash = '/';
		bh_rm_rf(old);
	}
	return 0;
}

/* The snapshot is whole (its private volume's copy too, if it has
 * one): the state synced, the manifest written, the folder put in place.
 * migrated: when the migration completed. */
static void take_keep(struct qube_vm *dv, int64_t migrated)
{
	struct stat st;
	int r;

	if (fstat(dv->snap_fd, &st) < 0 || st.st_size <= 0 ||
	    fdatasync(dv->snap_fd) < 0) {
		take_discard(dv, "the state file is empty or cannot be synced");
		return;
	}
	r = write_manifest(dv, (long long)st.st_size);
	bh_crash_point("snapshot.before-publish");
	if (r == 0)
		r = publish(dv);
	if (r < 0) {
		take_discard(dv, strerror(-r));
		return;
	}
	LOG_INFO("%s: snapshot %s made: %lld ms to migrate, %lld ms to keep "
		 "(%lld KiB of state)",
		 dv->name, dv->snap_key, (long long)(migrated - dv->snap_t0),
		 (long long)(bh_now_ms() - migrated),
		 (long long)st.st_size / 1024);
	close(dv->snap_fd);
	dv->snap_fd = -1;
	free(dv->snap_manifest);
	dv->snap_manifest = NULL;
	dv->snap_step = TK_DONE;
	dv->d->hooks->pool_refill(dv->d, dv->dvm);
}

/* The copy of the private volume for the snapshot has ended; the qube,
 * stopped meanwhile, goes on (unless it is being stopped). */
static void take_copied(void *arg, const struct job_result *res)
{
	struct take_copy *c = arg;
	struct qube_vm *dv = c->dv;
	int64_t migrated = c->migrated_ms;

	if (!dv) {
		/* The qube went first (take_discard). */
		bh_rm_rf(c->build);
		free(c);
		return;
	}
	dv->snap_job = NULL;
	if (c->deadline_left)
		dv->deadline_ms = bh_now_ms() + c->deadline_left;
	free(c);
	if (res->result < 0)
		take_discard(dv, res->msg);
	else
		take_keep(dv, migrated);
	if (dv->state != DV_STOPPING)
		take_release(dv);
}

/* The guest is stopped and QEMU flushed its disks: the private volume
 * now matches the state, and the restores need a copy of it. That copy
 * is a job (a reflink where the file system has them): the guest stays
 * stopped until it has ended, its boot deadline with it. */
static int take_copy_start(struct qube_vm *dv, int64_t migrated)
{
	struct job_spec *js = calloc(1, sizeof(*js));
	struct take_copy *c = calloc(1, sizeof(*c));
	char why[1024];
	struct job *j;

	if (!js || !c) {
		free(js);
		free(c);
		take_discard(dv, "out of memory");
		return -ENOMEM;
	}
	js->op = JOB_COPY;
	snprintf(js->qube, sizeof(js->qube), "%s", dv->name);
	if (bh_path_fmt(js->src, sizeof(js->src), "%s/private.img",
			dv->run_dir) ||
	    bh_path_fmt(js->dst, sizeof(js->dst), "%s/private.img",
			dv->snap_build)) {
		free(js);
		free(c);
		take_discard(dv, "paths too long");
		return -ENAMETOOLONG;
	}
	j = job_start(dv->d, js, take_copied, c, why, sizeof(why));
	free(js);
	if (!j) {
		free(c);
		take_discard(dv, why);
		return -EIO;
	}
	LOG_INFO("%s: its private volume is copied for snapshot %s in job %u",
		 dv->name, dv->snap_key, j->id);
	c->dv = dv;
	c->migrated_ms = migrated;
	if (dv->deadline_ms) {
		c->deadline_left = dv->deadline_ms - migrated;
		if (c->deadline_left < 1)
			c->deadline_left = 1;
	}
	dv->deadline_ms = 0;
	dv->snap_job = j;
	dv->snap_step = TK_COPYING;
	return 0;
}

/* The migration has completed: the snapshot is kept, at once or once its
 * private volume's copy has ended, and the qube goes on. */
static void take_finish(struct qube_vm *dv)
{
	int64_t migrated = bh_now_ms();

	if (dv->private_src[0]) {
		if (take_copy_start(dv, migrated) < 0)
			take_release(dv);
		return;
	}
	take_keep(dv, migrated);
	take_release(dv);
}

/* RESTORE --------------------------------------------------------------- */

/* Lets dv run again after a restore, a preload or its own snapshot: queues
 * what the agent needs first (the time now, fresh entropy, its own name)
 * and sends QMP cont. The RESUME waits in the channel's socket until the
 * guest runs; the agent answers HELLO. */
int snapshot_resume(struct qube_vm *dv, uint32_t flags)
{
	uint8_t p[BH_RESUME_LEN], entropy[BH_RESUME_ENTROPY];
	struct timespec now;
	int r;

	if (getrandom(entropy, sizeof(entropy), 0) != sizeof(entropy) ||
	    clock_gettime(CLOCK_REALTIME, &now) < 0)
		return -EIO;
	r = bh_resume_build(p, (uint64_t)now.tv_sec * 1000000000u +
				       (uint64_t)now.tv_nsec,
			    flags, entropy, dv->name) != BH_RESUME_LEN
		    ? -EINVAL
		    : bh_chan_send(&dv->chan, BH_MSG_RESUME, 0, p, sizeof(p));
	explicit_bzero(entropy, sizeof(entropy));
	explicit_bzero(p, sizeof(p));
	return r < 0 ? r : qmp_command(&dv->qmp, "cont");
}

static void restore_event(struct qube_vm *dv)
{
	if (dv->snap_step == RS_WAIT_QMP && dv->qmp.state == QMP_READY) {
		if (qmp_command_str(&dv->qmp, "migrate-incoming", "uri",
				    ENGINE_RESTORE_URI) < 0) {
			qube_vm_kill(dv);
			return;
		}
		dv->snap_step = RS_LOADING;
		return;
	}
	if (dv->snap_step != RS_LOADING || !dv->qmp.migration_changed)
		return;
	dv->qmp.migration_changed = 0;
	if (!strcmp(dv->qmp.migration, "failed")) {
		LOG_WARN("%s: QEMU could not load snapshot %s", dv->name,
			 dv->snap_key);
		qube_vm_kill(dv);
		return;
	}
	if (strcmp(dv->qmp.migration, "completed"))
		return;
	LOG_INFO("%s: snapshot %s loaded in %lld ms", dv->name, dv->snap_key,
		 (long long)(bh_now_ms() - dv->snap_t0));
	/* A preloaded qube warms up now and pauses at its HELLO (pool.h). */
	if (snapshot_resume(dv, dv->pooled ? BH_RESUME_WARM : 0) < 0) {
		qube_vm_kill(dv);
		return;
	}
	dv->snap_step = RS_RESUMED;
}

void snapshot_qmp_event(struct qube_vm *dv)
{
	if (dv->snap == DVS_RESTORE) {
		restore_event(dv);
		return;
	}
	if (dv->snap != DVS_TAKE || dv->snap_step != TK_MIGRATING ||
	    !dv->qmp.migration_changed)
		return;
	dv->qmp.migration_changed = 0;
	if (!strcmp(dv->qmp.migration, "completed")) {
		take_finish(dv);
	} else if (!strcmp(dv->qmp.migration, "failed") ||
		   !strcmp(dv->qmp.migration, "cancelled")) {
		take_discard(dv, "QEMU's migration failed (see qemu.log)");
		take_release(dv);
	}
}

int snapshot_fallback(struct qube_vm *dv)
{
	char dir[PATH_MAX];

	if (dv->snap == DVS_TAKE) {
		/* It died while (or before) being snapshotted. */
		if (dv->snap_build[0] || dv->snap_manifest)
			take_discard(dv, "the qube stopped");
		return 0;
	}
	if (dv->snap != DVS_RESTORE || dv->snap_step == RS_RESUMED ||
	    dv->no_fallback || dv->pooled)
		return 0;
	LOG_WARN("%s: restoring snapshot %s failed; cold boot instead, and "
		 "a new snapshot after it",
		 dv->name, dv->snap_key);
	/* Whatever broke it would break the next restore too. Restores
	 * in flight hold their own fd and private copy. */
	if (snapshot_dir_for(dv->d->paths.state, dv->dvm, dir,
			     sizeof(dir)) == 0)
		bh_rm_rf(dir);
	return 1;
}

void snapshot_cleanup_stale(const struct daemon *d)
{
	char dir[PATH_MAX];

	if (bh_path_fmt(dir, sizeof(dir), "%s/snapshots", d->paths.state))
		return;
	bh_rm_prefixed(dir, ".build-");
	bh_rm_prefixed(dir, ".old-");
}
