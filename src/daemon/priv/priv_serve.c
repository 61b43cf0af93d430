/* The parent's side of the priv link (priv_serve.h). */
#include "daemon/priv/priv_serve.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "daemon/disk/job_child.h"
#include "daemon/disk/volume.h"
#include "daemon/engine/chan_proc.h"
#include "daemon/engine/leftover_qemu.h"
#include "daemon/priv/priv_link.h"
#include "daemon/priv/priv_paths.h"
#include "lib/log.h"
#include "lib/util.h"

void priv_serve_init(struct priv_serve *s, const char *root,
		     const char *state, const char *run)
{
	/* Field by field: the jobs' table (about 1 MiB) is only touched,
	 * and so only counts in the parent's memory, as jobs run. */
	s->fd = -1;
	s->kids = NULL;
	s->n = s->cap = 0;
	s->njobs = 0;
	s->stale_cgroups = 0;
	priv_host_init(&s->host, root, state, run);
}

void priv_serve_setup_cgroups(struct priv_serve *s)
{
	struct cgroups *cg = &s->host.cgroups;

	cgroups_init(cg, s->host.root, NULL);
	if (cg->mode == CGROUP_V2)
		LOG_INFO("cgroups: v2, each QEMU in a group of its own under "
			 "%s (memory.max = memory + %u MiB, pids.max = %u + "
			 "vCPUs%s)",
			 cg->dir[0], CGROUP_QEMU_OVERHEAD_MB, CGROUP_PIDS_BASE,
			 cg->swap ? ", memory.swap.max = 0" : "");
	else if (cg->mode == CGROUP_V1)
		LOG_INFO("cgroups: v1 (memory, pids), each QEMU in a group of "
			 "its own under %s%s%s (memory.limit_in_bytes = "
			 "memory + %u MiB%s, pids.max = %u + vCPUs); cgroup "
			 "v2 lacks these controllers here",
			 cg->dir[0], cg->ndirs > 1 ? " and " : "",
			 cg->ndirs > 1 ? cg->dir[1] : "",
			 CGROUP_QEMU_OVERHEAD_MB,
			 cg->swap ? ", memory.memsw.limit_in_bytes the same: "
				    "no swap"
				  : "",
			 CGROUP_PIDS_BASE);
	else
		LOG_WARN("cgroups: off, QEMU runs without memory and pids "
			 "limits: %s",
			 cg->why);
	s->stale_cgroups = cg->on;
}

void priv_serve_stop(struct priv_serve *s)
{
	cgroups_fini(&s->host.cgroups);
}

void priv_serve_attach(struct priv_serve *s, int fd)
{
	size_t i;

	/* A new control takes over what it re-attaches (ATTACH). */
	for (i = 0; i < s->n; i++)
		s->kids[i].kept = 0;
	struct timeval tv = { PRIV_SEND_TIMEOUT_MS / 1000,
			      (PRIV_SEND_TIMEOUT_MS % 1000) * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	bh_set_nonblock(fd, 0);
	s->fd = fd;
}

void priv_serve_detach(struct priv_serve *s)
{
	size_t i;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	for (i = 0; i < s->njobs; i++)
		kill(-s->jobs[i].pid, SIGKILL);
}

/* The newest entry of name (a qube started again under its name, after
 * its QEMU ended, is a new entry while the old channel process may still
 * be ending). */
static struct priv_child *find_name(struct priv_serve *s, const char *name)
{
	size_t i = s->n;

	while (i-- > 0)
		if (!strcmp(s->kids[i].name, name))
			return &s->kids[i];
	return NULL;
}

/* A re-attached entry's process that has ended (not our child: nobody
 * reaps it here) is forgotten. */
static void forget_ended(struct priv_child *k, const struct cgroups *h_cgroups)
{
	struct pollfd p[2] = { { k->qemu_pidfd, POLLIN, 0 },
			       { k->chan_pidfd, POLLIN, 0 } };

	if (k->qemu_pidfd >= 0 && poll(&p[0], 1, 0) == 1) {
		close(k->qemu_pidfd);
		k->qemu_pidfd = -1;
		k->qemu = 0;
		/* Its group is empty now. */
		if (h_cgroups && h_cgroups->on)
			cgroup_qube_remove(h_cgroups, k->name);
	}
	if (k->chan_pidfd >= 0 && poll(&p[1], 1, 0) == 1) {
		close(k->chan_pidfd);
		k->chan_pidfd = -1;
		k->chan = 0;
	}
}

static void remove_child(struct priv_serve *s, struct priv_child *k)
{
	size_t i = (size_t)(k - s->kids);

	if (k->qemu_pidfd >= 0)
		close(k->qemu_pidfd);
	if (k->chan_pidfd >= 0)
		close(k->chan_pidfd);
	/* Keep the order: the newest entry of a name wins. */
	memmove(k, k + 1, (s->n - i - 1) * sizeof(*k));
	s->n--;
}

/* Drops the re-attached entries whose processes have all ended. */
static void sweep(struct priv_serve *s)
{
	size_t i = 0;

	while (i < s->n) {
		struct priv_child *k = &s->kids[i];

		forget_ended(k, &s->host.cgroups);
		if (!k->qemu && !k->chan)
			remove_child(s, k);
		else
			i++;
	}
}

/* Why a LAUNCH cannot have a new entry, or NULL. */
static const char *launch_refused(struct priv_serve *s,
				  const struct bh_priv_launch *l)
{
	size_t i;

	sweep(s);
	if (s->n >= PRIV_CHILDREN_MAX)
		return "too many qubes run";
	for (i = 0; i < s->n; i++) {
		if (!s->kids[i].qemu)
			continue;
		if (!strcmp(s->kids[i].name, l->name))
			return "a QEMU of this name still runs";
		if (s->kids[i].jail_id == l->jail_id)
			return "a running qube has this jail id";
	}
	return NULL;
}

static int add_child(struct priv_serve *s, const struct bh_priv_launch *l,
		     const struct priv_started *st)
{
	struct priv_child *k;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		k = realloc(s->kids, cap * sizeof(*k));
		if (!k)
			return -ENOMEM;
		s->kids = k;
		s->cap = cap;
	}
	k = &s->kids[s->n++];
	memset(k, 0, sizeof(*k));
	k->qemu_pidfd = k->chan_pidfd = -1;
	snprintf(k->name, sizeof(k->name), "%s", l->name);
	k->jail_id = l->jail_id;
	k->qemu = st->qemu;
	k->chan = st->chan;
	k->kept = 1;
	return 0;
}

static int send_failed(struct priv_serve *s, uint32_t id, int code,
		       const char *text)
{
	struct bh_priv_msg m;

	memset(&m, 0, sizeof(m));
	m.type = BH_PRIV_FAILED;
	m.id = id;
	m.u.failed.code = code >= 1 && code <= 125 ? code : 1;
	bh_priv_field_set(m.u.failed.text, BH_PRIV_TEXT_MAX, text);
	return priv_msg_send(s->fd, &m, NULL, 0);
}

/* DONE for request id: 0 or -errno (one out of DONE's range is -EIO). */
static int send_done(struct priv_serve *s, uint32_t id, int result)
{
	struct bh_priv_msg ans;

	memset(&ans, 0, sizeof(ans));
	ans.type = BH_PRIV_DONE;
	ans.id = id;
	ans.u.done.result = result < -BH_PRIV_ERRNO_MAX || result > 0 ? -EIO
								       : result;
	return priv_msg_send(s->fd, &ans, NULL, 0);
}

static int serve_launch(struct priv_serve *s, const struct bh_priv_msg *m,
			int restore_fd)
{
	const struct bh_priv_launch *l = &m->u.launch;
	const char *refused = launch_refused(s, l);
	struct priv_started st;
	struct bh_priv_msg ans;
	char err[BH_PRIV_TEXT_MAX];
	int code, r, fds[2];

	if (refused) {
		LOG_WARN("%s: start refused: %s", l->name, refused);
		return send_failed(s, m->id, 1, refused);
	}
	code = priv_launch(&s->host, l, restore_fd, &st, err, sizeof(err));
	/* A QEMU killed after a failure is reaped later: it needs its
	 * entry (its cgroup goes then). */
	if (st.qemu > 0 && add_child(s, l, &st) < 0) {
		if (code == 0) {
			kill(st.qemu, SIGKILL);
			kill(st.chan, SIGKILL);
			close(st.link_fd);
			close(st.qmp_fd);
		}
		snprintf(err, sizeof(err), "out of memory");
		code = 1;
	}
	if (code) {
		LOG_WARN("%s: cannot start: %s", l->name, err);
		return send_failed(s, m->id, code, err);
	}
	memset(&ans, 0, sizeof(ans));
	ans.type = BH_PRIV_LAUNCHED;
	ans.id = m->id;
	ans.u.launched.qemu_pid = (uint32_t)st.qemu;
	ans.u.launched.chan_pid = (uint32_t)st.chan;
	fds[0] = st.link_fd;
	fds[1] = st.qmp_fd;
	r = priv_msg_send(s->fd, &ans, fds, 2);
	close(st.link_fd);
	close(st.qmp_fd);
	if (r < 0) {
		/* Control will never know of it: nothing may run unseen. */
		kill(st.qemu, SIGKILL);
		kill(st.chan, SIGKILL);
	}
	return r;
}

static int serve_kill(struct priv_serve *s, const struct bh_priv_msg *m)
{
	struct priv_child *k;

	sweep(s);
	k = find_name(s, m->u.kill.name);
	pid_t pid = !k ? 0
		    : m->u.kill.which == BH_PRIV_QEMU ? k->qemu
						       : k->chan;
	int pidfd = !k ? -1
		    : m->u.kill.which == BH_PRIV_QEMU ? k->qemu_pidfd
						       : k->chan_pidfd;

	/* Our own child, not reaped yet: its pid cannot have been reused;
	 * a re-attached one's is signalled through its pidfd. */
	if (pid <= 0)
		return send_done(s, m->id, -ESRCH);
	if (pidfd >= 0 ? syscall(SYS_pidfd_send_signal, pidfd,
				 (int)m->u.kill.signo, NULL, 0) < 0
		       : kill(pid, (int)m->u.kill.signo) < 0)
		return send_done(s, m->id, -errno);
	return send_done(s, m->id, 0);
}

/* JOB's op as the child knows it. */
static enum job_op job_op_of(uint32_t op)
{
	return op == BH_PRIV_JOB_COPY	  ? JOB_COPY
	       : op == BH_PRIV_JOB_MKE2FS ? JOB_MKE2FS
	       : op == BH_PRIV_JOB_RESIZE ? JOB_RESIZE
					  : JOB_HASH;
}

/* The job's spec, its paths built here (priv_paths.h). */
static int job_spec_of(struct priv_serve *s, const struct bh_priv_job *pj,
		       struct job_spec *spec, char *err, size_t cap)
{
	const char *st = s->host.state, *run = s->host.run;
	int r = 0;

	memset(spec, 0, sizeof(*spec));
	spec->op = job_op_of(pj->op);
	snprintf(spec->qube, sizeof(spec->qube), "%s", pj->qube);
	snprintf(spec->other, sizeof(spec->other), "%s", pj->other);
	spec->size = pj->size;
	if (pj->src.area)
		r = priv_place_path(st, run, &pj->src, 0, spec->src, err, cap);
	/* A resize changes its file in place: it must be there, plain; the
	 * others write a temporary and rename it over dst. */
	if (r == 0 && pj->dst.area)
		r = priv_place_path(st, run, &pj->dst,
				    pj->op != BH_PRIV_JOB_RESIZE, spec->dst,
				    err, cap);
	return r;
}

static int serve_job(struct priv_serve *s, const struct bh_priv_msg *m)
{
	struct priv_job *j = &s->jobs[s->njobs];
	struct job_spec spec;
	struct bh_priv_msg ans;
	char err[BH_PRIV_TEXT_MAX], lock[PATH_MAX];
	int fd, r;
	pid_t pid;

	if (s->njobs == PRIV_JOBS_MAX)
		return send_failed(s, m->id, 1, "too many jobs run");
	memset(j, 0, sizeof(*j));
	if (job_spec_of(s, &m->u.job, &spec, err, sizeof(err)) < 0)
		return send_failed(s, m->id, 1, err);
	if ((spec.op != JOB_HASH &&
	     job_temp_name(spec.dst, j->tmp, sizeof(j->tmp)) < 0) ||
	    bh_path_fmt(lock, sizeof(lock), "%s/" JOBS_LOCK, s->host.run))
		return send_failed(s, m->id, 1, "a job's path is too long");
	pid = job_child_spawn(&spec, j->tmp, lock, &fd, err, sizeof(err));
	if (pid < 0)
		return send_failed(s, m->id, 1, err);
	j->pid = pid;
	snprintf(j->qube, sizeof(j->qube), "%s", m->u.job.qube);
	s->njobs++;
	memset(&ans, 0, sizeof(ans));
	ans.type = BH_PRIV_JOB_STARTED;
	ans.id = m->id;
	ans.u.job_started.pid = (uint32_t)pid;
	r = priv_msg_send(s->fd, &ans, &fd, 1);
	close(fd);
	if (r < 0)
		kill(-pid, SIGKILL);
	return r;
}

static int serve_cancel(struct priv_serve *s, const struct bh_priv_msg *m)
{
	size_t i;

	/* Only a job of ours, not reaped yet: the pid is still its. */
	for (i = 0; i < s->njobs; i++)
		if (s->jobs[i].pid == (pid_t)m->u.cancel.pid)
			return send_done(s, m->id,
					 kill(-s->jobs[i].pid, SIGKILL) < 0
						 ? -errno
						 : 0);
	return send_done(s, m->id, -ESRCH);
}

/* ROOT: a template's root versions, in STATE/templates/TMPL (root's:
 * control names the template and the version, never a path). */
static int serve_root(struct priv_serve *s, const struct bh_priv_msg *m)
{
	const struct bh_priv_root *rq = &m->u.root;
	char dir[PATH_MAX], work[PATH_MAX], cur[PATH_MAX], err[512];
	struct bh_priv_msg ans;
	int r;

	memset(&ans, 0, sizeof(ans));
	ans.id = m->id;
	if (bh_path_fmt(dir, sizeof(dir), "%s/templates/%s", s->host.state,
			rq->tmpl))
		return send_failed(s, m->id, 1, "a template's path is too long");
	if (rq->op == BH_PRIV_ROOT_OP_NEXT) {
		r = volume_root_next(dir, cur, sizeof(cur), work, sizeof(work),
				     err, sizeof(err));
		if (r < 0)
			return send_failed(s, m->id, 1, err);
		ans.type = BH_PRIV_ROOT_NEXT;
		bh_priv_field_set(ans.u.root_next.cur, BH_PRIV_FILE_MAX,
				  strrchr(cur, '/') + 1);
		bh_priv_field_set(ans.u.root_next.work, BH_PRIV_FILE_MAX,
				  strrchr(work, '/') + 1);
		return priv_msg_send(s->fd, &ans, NULL, 0);
	}
	if (bh_path_fmt(work, sizeof(work), "%s/%s", dir, rq->work))
		return send_done(s, m->id, -ENAMETOOLONG);
	if (rq->op == BH_PRIV_ROOT_OP_ABORT)
		return send_done(s, m->id, volume_root_abort(dir, work));
	/* The version the template wrote goes back to root, readable by
	 * every AppVM's uid, before it becomes current; through an fd that
	 * follows no link. */
	r = priv_hand_file_back(work, err, sizeof(err));
	return send_done(s, m->id, r < 0 ? r : volume_root_commit(dir, work));
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* ATTACH: a qube left running, by its runtime folder RUN/qubes/NAME:
 * its pids as recorded there (checked against their start times), its
 * channel process reached on its socket there (as root: the process
 * takes a re-attach only from the uid that started it). */
static int serve_attach(struct priv_serve *s, const struct bh_priv_msg *m)
{
	const char *name = m->u.attach.name;
	struct priv_child *k;
	struct bh_priv_msg ans;
	char dir[PATH_MAX], sock[PATH_MAX], err[512];
	/* link, QMP, QEMU's pidfd, chan's pidfd */
	int fds[4] = { -1, -1, -1, -1 }, r;
	pid_t qpid = 0, cpid = 0;
	struct stat st;

	sweep(s);
	if (bh_path_fmt(dir, sizeof(dir), "%s/qubes/%s", s->host.run, name) ||
	    bh_path_fmt(sock, sizeof(sock), "%s/" CHAN_SOCK_FILE, dir))
		return send_failed(s, m->id, 1, "its folder's path is too long");
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return send_failed(s, m->id, 1, "it has no runtime folder");
	fds[2] = pid_file_open(dir, QEMU_PID_FILE, &qpid);
	fds[3] = pid_file_open(dir, CHAN_PID_FILE, &cpid);
	if (fds[2] < 0 || fds[3] < 0) {
		close_all(fds, 4);
		return send_failed(s, m->id, 1,
				   fds[2] < 0 ? "its QEMU no longer runs"
					      : "its channel process no longer "
						"runs");
	}
	if (chan_attach_connect(sock, &fds[0], &fds[1], err, sizeof(err)) <
	    0) {
		char why[600];

		close_all(fds, 4);
		snprintf(why, sizeof(why),
			 "its channel process cannot be reached: %s", err);
		return send_failed(s, m->id, 1, why);
	}
	/* Ours already (control died, we started it): the entry stays;
	 * else it is kept by its pidfds. Either way this control has it. */
	k = find_name(s, name);
	if (k && k->qemu == qpid && k->chan == cpid)
		k->kept = 1;
	if (!k || k->qemu != qpid || k->chan != cpid) {
		struct bh_priv_launch l;
		struct priv_started started = { .qemu = qpid, .chan = cpid };

		memset(&l, 0, sizeof(l));
		snprintf(l.name, sizeof(l.name), "%s", name);
		if (add_child(s, &l, &started) < 0) {
			close_all(fds, 4);
			return send_failed(s, m->id, 1, "out of memory");
		}
		k = &s->kids[s->n - 1];
		k->qemu_pidfd = fcntl(fds[2], F_DUPFD_CLOEXEC, 3);
		k->chan_pidfd = fcntl(fds[3], F_DUPFD_CLOEXEC, 3);
	}
	memset(&ans, 0, sizeof(ans));
	ans.type = BH_PRIV_ATTACHED;
	ans.id = m->id;
	ans.u.attached.qemu_pid = (uint32_t)qpid;
	ans.u.attached.chan_pid = (uint32_t)cpid;
	r = priv_msg_send(s->fd, &ans, fds, 4);
	close_all(fds, 4);
	return r;
}

/* pidfd of RUN_DIR/FILE's process, if it runs: SIGKILL. */
static void kill_recorded(const char *run_dir, const char *file)
{
	pid_t pid;
	int fd = pid_file_open(run_dir, file, &pid);

	if (fd >= 0) {
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
		close(fd);
	}
}

/* LET_GO: a qube left running that control does not take over. Its
 * channel process ends (the guest's channel closes: its agent powers
 * off), and a disposable's QEMU with it; LEFTOVERS waits for the
 * others. */
static int serve_let_go(struct priv_serve *s, const struct bh_priv_msg *m)
{
	struct priv_child *k;
	char dir[PATH_MAX];
	struct stat st;

	sweep(s);
	if (bh_path_fmt(dir, sizeof(dir), "%s/qubes/%s", s->host.run,
			m->u.let_go.name) ||
	    lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return send_done(s, m->id, -ENOENT);
	k = find_name(s, m->u.let_go.name);
	if (k)
		k->kept = 0;
	kill_recorded(dir, CHAN_PID_FILE);
	if (m->u.let_go.flags & BH_PRIV_LET_GO_QEMU)
		kill_recorded(dir, QEMU_PID_FILE);
	return send_done(s, m->id, 0);
}

static int keep_for_control(const char *name, void *ctx)
{
	struct priv_serve *s = ctx;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->kids[i].kept && s->kids[i].qemu &&
		    !strcmp(s->kids[i].name, name))
			return 1;
	return 0;
}

/* LEFTOVERS: the QEMUs nobody took over get their time to power off,
 * then are killed (leftover_qemu.h). The parent waits here: it happens
 * once, when a control starts. */
static int serve_leftovers(struct priv_serve *s, const struct bh_priv_msg *m)
{
	char dir[PATH_MAX];
	int r;

	sweep(s);
	if (bh_path_fmt(dir, sizeof(dir), "%s/qubes", s->host.run))
		return send_done(s, m->id, -ENAMETOOLONG);
	r = leftover_qemus_end(dir, (int)m->u.leftovers.timeout_ms,
			       keep_for_control, s);
	/* Once, when the first control has re-attached what it keeps:
	 * the groups of the others go, killing what is left in them. */
	if (s->stale_cgroups && r >= 0) {
		cgroups_cleanup_stale(&s->host.cgroups, keep_for_control, s);
		s->stale_cgroups = 0;
	}
	return send_done(s, m->id, r < 0 ? -EBUSY : 0);
}

int priv_serve_input(struct priv_serve *s)
{
	struct bh_priv_msg m;
	int fds[PRIV_FDS_MAX], nfds, r, restore;

	while (s->fd >= 0) {
		/* Non-blocking reads: serve what waits, then return to the
		 * loop. */
		bh_set_nonblock(s->fd, 1);
		r = priv_msg_recv(s->fd, &m, fds, &nfds);
		bh_set_nonblock(s->fd, 0);
		if (r == -EAGAIN)
			return 0;
		if (r == 0)
			return 1;
		if (r < 0 || !bh_priv_sent_by_control(m.type)) {
			LOG_ERR("control sent a malformed request on the priv "
				"link; ending it");
			if (r > 0)
				for (int i = 0; i < nfds; i++)
					close(fds[i]);
			return -1;
		}
		/* An fd comes with a LAUNCH that restores, and only then. */
		restore = m.type == BH_PRIV_LAUNCH &&
			  (m.u.launch.flags & BH_PRIV_RESTORE);
		if (nfds != (restore ? 1 : 0)) {
			LOG_ERR("control sent %d fds with a request that takes "
				"%d; ending the link",
				nfds, restore);
			for (int i = 0; i < nfds; i++)
				close(fds[i]);
			return -1;
		}
		if (m.type == BH_PRIV_LAUNCH)
			r = serve_launch(s, &m, restore ? fds[0] : -1);
		else if (m.type == BH_PRIV_JOB)
			r = serve_job(s, &m);
		else if (m.type == BH_PRIV_CANCEL)
			r = serve_cancel(s, &m);
		else if (m.type == BH_PRIV_ROOT)
			r = serve_root(s, &m);
		else if (m.type == BH_PRIV_ATTACH)
			r = serve_attach(s, &m);
		else if (m.type == BH_PRIV_LET_GO)
			r = serve_let_go(s, &m);
		else if (m.type == BH_PRIV_LEFTOVERS)
			r = serve_leftovers(s, &m);
		else
			r = serve_kill(s, &m);
		if (restore)
			close(fds[0]);
		if (r < 0) {
			LOG_ERR("cannot answer control on the priv link: %s; "
				"ending it",
				strerror(-r));
			return -1;
		}
	}
	return 1;
}

/* A job's process reaped: what it left half-written goes (a whole one
 * was renamed into place: nothing to remove then). */
static int job_reaped(struct priv_serve *s, pid_t pid, int wstatus)
{
	struct bh_priv_msg m;
	size_t i;

	for (i = 0; i < s->njobs && s->jobs[i].pid != pid; i++)
		;
	if (i == s->njobs)
		return 0;
	if (s->jobs[i].tmp[0])
		unlink(s->jobs[i].tmp);
	memset(&m, 0, sizeof(m));
	m.type = BH_PRIV_EXITED;
	snprintf(m.u.exited.name, sizeof(m.u.exited.name), "%s",
		 s->jobs[i].qube);
	m.u.exited.which = BH_PRIV_JOBPROC;
	m.u.exited.wait_status = wstatus;
	m.u.exited.pid = (uint32_t)pid;
	s->jobs[i] = s->jobs[--s->njobs];
	if (s->fd >= 0 && priv_msg_send(s->fd, &m, NULL, 0) < 0)
		LOG_WARN("cannot tell control that job process %d ended",
			 (int)pid);
	return 1;
}

int priv_serve_reaped(struct priv_serve *s, pid_t pid, int wstatus)
{
	struct bh_priv_msg m;
	struct priv_child *k = NULL;
	size_t i;

	if (job_reaped(s, pid, wstatus))
		return 1;

	for (i = 0; i < s->n && !k; i++)
		if (s->kids[i].qemu == pid || s->kids[i].chan == pid)
			k = &s->kids[i];
	if (!k)
		return 0;
	memset(&m, 0, sizeof(m));
	m.type = BH_PRIV_EXITED;
	snprintf(m.u.exited.name, sizeof(m.u.exited.name), "%s", k->name);
	m.u.exited.wait_status = wstatus;
	m.u.exited.pid = (uint32_t)pid;
	if (k->qemu == pid) {
		m.u.exited.which = BH_PRIV_QEMU;
		k->qemu = 0;
		if (k->qemu_pidfd >= 0)
			close(k->qemu_pidfd);
		k->qemu_pidfd = -1;
		/* QEMU is reaped, so its group is empty. */
		if (s->host.cgroups.on)
			cgroup_qube_remove(&s->host.cgroups, k->name);
	} else {
		m.u.exited.which = BH_PRIV_CHAN;
		k->chan = 0;
		if (k->chan_pidfd >= 0)
			close(k->chan_pidfd);
		k->chan_pidfd = -1;
	}
	if (!k->qemu && !k->chan)
		remove_child(s, k);
	/* No control, or one that does not read: the next one finds the
	 * process gone when it re-attaches. */
	if (s->fd >= 0 && priv_msg_send(s->fd, &m, NULL, 0) < 0)
		LOG_WARN("cannot tell control that pid %d of %s ended",
			 (int)pid, m.u.exited.name);
	return 1;
}
