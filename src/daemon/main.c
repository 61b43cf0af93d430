/* bulkheadd: the admin daemon. One single-threaded poll loop owns the admin
 * socket, every QEMU it started (their control channels and QMP sockets)
 * and the signals; nothing blocks in it but the checksum of a changed
 * guest image. Long volume work runs in job children (job.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/admin/client.h"
#include "daemon/core/daemon.h"
#include "daemon/qube/qube_vm.h"
#include "daemon/qube/qube_vm_chan.h"
#include "daemon/qube/qube_vm_end.h"
#include "daemon/jobs/job.h"
#include "daemon/rpc/rpc_ask.h"
#include "daemon/relay/streams.h"
#include "daemon/qube/qube_attach.h"
#include "daemon/qube/qube_power.h"
#include "daemon/priv/priv_serve.h"
#include "daemon/priv/supervise.h"
#include "daemon/core/sd_notify.h"
#include "daemon/state/store_boot.h"
#include "daemon/engine/sandbox.h"
#include "daemon/engine/tsc.h"
#include "daemon/admin/wire.h"
#include "lib/crashpoint.h"
#include "lib/log.h"
#include "lib/util.h"

/* Poll slots: listen + signals + per client 1 + per qube 4. */
#define MAX_POLL 1024
/* bulkheadd.log is rotated past this (lib/log.h): at most three files
 * of about this size. BULKHEAD_LOG_ROTATE_BYTES overrides it, for tests. */
#define LOG_ROTATE_BYTES (8ll << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bulkheadd [--boot-timeout SECONDS] [--ready-fd N] "
		"[-v|--verbose] [-h|--help]\n"
		"\n"
		"The Bulkhead admin daemon. `bh` starts it when none runs.\n"
		"\n"
		"  --boot-timeout S  seconds a qube may take to become ready "
		"(default %d)\n"
		"  --ready-fd N      write one status line to fd N once the "
		"admin socket\n"
		"                    listens, then close it\n"
		"  -v, --verbose     log debug messages\n"
		"  -h, --help        show this help\n"
		"\n"
		"Files live under $BULKHEAD_ROOT (default /): "
		"var/lib/bulkhead, run/bulkhead,\nvar/log/bulkhead. See "
		"bulkheadd(8).\n",
		DEFAULT_BOOT_TIMEOUT_MS / 1000);
}

/* The mount point of every jail's root: only ever mounted on inside a
 * QEMU's own mount namespace, so it stays empty and all qubes share it. */
static int make_jail_root(struct daemon *d)
{
	char path[4200];

	if (bh_path_fmt(path, sizeof(path), "%s/jail", d->paths.run))
		return -1;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -1;
	return chmod(path, 0755);
}

/* Rotates bulkheadd.log when our standard error is that file (bh started
 * us); a daemon run in the foreground to a terminal keeps its stderr. */
static void setup_log_rotation(struct daemon *d)
{
	const char *env = getenv("BULKHEAD_LOG_ROTATE_BYTES");
	long long max = LOG_ROTATE_BYTES;
	char path[4200], *end;

	if (env && env[0]) {
		errno = 0;
		max = strtoll(env, &end, 10);
		if (errno || *end || max < 1)
			max = LOG_ROTATE_BYTES;
	}
	if (bh_path_fmt(path, sizeof(path), "%s/bulkheadd.log", d->paths.log))
		return;
	if (bh_log_rotate_setup(path, max) > 0)
		LOG_DEBUG("%s is rotated past %lld bytes", path, max);
}

static int lock_instance(struct daemon *d)
{
	char path[4200], buf[32];
	int fd;

	if (bh_path_fmt(path, sizeof(path), "%s/bulkheadd.pid", d->paths.run))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return -EBUSY;
	}
	if (ftruncate(fd, 0) == 0) {
		int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

		bh_write_all(fd, buf, (size_t)n);
	}
	return fd; /* held open for the daemon's life */
}

static int listen_admin(struct daemon *d)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct group *g = getgrnam("bulkhead");
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sun.sun_path, d->paths.admin_sock,
	       strlen(d->paths.admin_sock) + 1);
	/* We hold the instance lock, so a socket file here is stale. */
	unlink(d->paths.admin_sock);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 64) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	/* Root and the bulkhead group only. */
	if (g && chown(d->paths.admin_sock, 0, g->gr_gid) == 0)
		chmod(d->paths.admin_sock, 0660);
	else
		chmod(d->paths.admin_sock, 0600);
	return fd;
}

/* How many disposables this host's memory holds at once (daemon.h). */
static unsigned dispvm_cap_for_host(void)
{
	unsigned long long total_kb = 0, mb;
	char line[256];
	FILE *f = fopen("/proc/meminfo", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &total_kb) == 1)
			break;
	if (f)
		fclose(f);
	mb = total_kb / 1024;
	mb = mb > DISPVM_HOST_RESERVE_MB ? mb - DISPVM_HOST_RESERVE_MB : 0;
	mb /= DISPVM_MEMORY_MB + DISPVM_QEMU_OVERHEAD_MB;
	return mb < DISPVM_CAP_MIN ? DISPVM_CAP_MIN
	       : mb > DISPVM_MAX_NO ? DISPVM_MAX_NO
				    : (unsigned)mb;
}

static void handle_signals(struct daemon *d)
{
	struct signalfd_siginfo si;
	int st;
	pid_t pid;

	while (read(d->sig_fd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			/* Who asked is worth a line when a stop surprises. */
			if (!d->stopping) {
				LOG_INFO("stopping: %s from pid %u (uid %u)",
					 si.ssi_signo == SIGTERM ? "SIGTERM"
								 : "SIGINT",
					 si.ssi_pid, si.ssi_uid);
				sd_notify_send("STOPPING=1");
			}
			d->stopping = 1;
		}
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct qube_vm *dv;

		if (job_reaped(d, pid, st))
			continue;
		for (dv = d->qubes; dv; dv = dv->next) {
			if (dv->chan_pid == pid) {
				qube_vm_chan_reaped(dv, st);
				break;
			}
			if (dv->vm_alive && dv->vm.pid == pid) {
				qube_vm_reaped(dv, st);
				break;
			}
		}
	}
}

/* What bulkheadd's parent says (priv/priv_link.h): the end of a
 * QEMU or channel process it started for us (EXITED), and the result
 * of a signal we asked for (DONE). */
static void priv_exited(struct daemon *d, const struct bh_priv_exited *e)
{
	struct qube_vm *dv;
	pid_t pid = (pid_t)e->pid;

	if (e->which == BH_PRIV_JOBPROC) {
		job_reaped_by_priv(d, pid, e->wait_status);
		return;
	}
	/* By pid: a qube started again under its name has new ones. A
	 * re-attached qube's ends come by pidfd instead. */
	for (dv = d->qubes; dv; dv = dv->next) {
		if (dv->adopted)
			continue;
		if (e->which == BH_PRIV_CHAN && dv->chan_pid == pid) {
			qube_vm_chan_reaped(dv, e->wait_status);
			return;
		}
		if (e->which == BH_PRIV_QEMU && dv->vm_alive &&
		    dv->vm.pid == pid) {
			qube_vm_reaped(dv, e->wait_status);
			return;
		}
	}
}

static void handle_priv(struct daemon *d)
{
	struct bh_priv_msg m;
	int r;

	while ((r = priv_link_next(&d->priv, &m)) > 0) {
		if (m.type == BH_PRIV_EXITED)
			priv_exited(d, &m.u.exited);
		/* -ESRCH: it had ended already (its EXITED is on the
		 * way). */
		else if (m.u.done.result < 0 && m.u.done.result != -ESRCH)
			LOG_WARN("bulkheadd's parent could not send a signal "
				 "we asked for: %s",
				 strerror(-m.u.done.result));
	}
	if (r < 0) {
		/* The parent is gone (we die with it: PR_SET_PDEATHSIG) or
		 * ended the link. */
		LOG_ERR("the link to bulkheadd's parent ended; no qube can "
			"start now");
		close(d->priv.fd);
		d->priv.fd = -1;
	}
}

enum slot_kind {
	SLOT_LISTEN,
	SLOT_SIGNAL,
	SLOT_PRIV,
	SLOT_CLIENT,
	SLOT_CHAN,
	SLOT_QMP,
	SLOT_JOB,
	/* A re-attached qube's QEMU or channel process ended (pidfds). */
	SLOT_QEMU_END,
	SLOT_CHAN_END,
};

struct slot {
	enum slot_kind kind;
	void *obj;
};

/* One round's poll set: what each slot is, and the nearest timer. */
struct poll_set {
	struct pollfd p[MAX_POLL];
	struct slot s[MAX_POLL];
	nfds_t n;
	int64_t now, next; /* next: the nearest deadline in ms, or -1 */
};

static void add_slot(struct poll_set *ps, int fd, short events,
		     enum slot_kind kind, void *obj)
{
	ps->p[ps->n] = (struct pollfd){ fd, events, 0 };
	ps->s[ps->n++] = (struct slot){ kind, obj };
}

/* While stopping: cancels the jobs and ends the qubes; returns 1 once
 * none is left (the loop ends), else 0. */
static int wind_down(struct daemon *d)
{
	struct client *c;
	struct qube_vm *dv, *next;
	struct job *j;

	for (j = d->jobs; j; j = j->next)
		job_cancel(j, "bulkheadd is stopping");
	for (dv = d->qubes; dv; dv = next) {
		next = dv->next;
		/* bh daemon restart: what runs stays for the next daemon
		 * (qube_attach.h); what cannot stay stops. */
		if (d->keep_qubes && qube_detach(dv, "bulkheadd restarts"))
			continue;
		if (dv->persistent)
			qube_stop_for_exit(dv);
		else
			qube_vm_abort(dv, "bulkheadd is stopping");
	}
	if (d->qubes || d->jobs)
		return 0;
	/* Best effort: tell waiting clients why. */
	for (c = d->clients; c; c = c->next)
		bh_chan_flush(&c->chan);
	return 1;
}

static void add_client_slots(struct daemon *d, struct poll_set *ps)
{
	struct client *c;

	for (c = d->clients; c && ps->n < MAX_POLL; c = c->next) {
		short ev = POLLRDHUP;

		/* While its qube boots, a client's stdin waits in the
		 * socket: the command's stream does not exist yet. */
		if ((!c->dv && !c->run_wait && !c->task) ||
		    (c->sid &&
		     bh_chan_pending(&c->dv->chan) < RELAY_PAUSE_BYTES))
			ev |= POLLIN;
		if (bh_chan_pending(&c->chan))
			ev |= POLLOUT;
		add_slot(ps, c->chan.fd, ev, SLOT_CLIENT, c);
	}
}

static void add_job_slots(struct daemon *d, struct poll_set *ps)
{
	struct job *j;

	for (j = d->jobs; j && ps->n < MAX_POLL; j = j->next)
		if (j->fd >= 0)
			add_slot(ps, j->fd, POLLIN, SLOT_JOB, j);
}

/* A qube's timers (its deadline, its dropped log lines) and, while its
 * QEMU lives, its channel, QMP, console and QEMU log. */
static void add_qube_slots(struct daemon *d, struct poll_set *ps)
{
	struct qube_vm *dv;

	for (dv = d->qubes; dv && ps->n + 5 < MAX_POLL; dv = dv->next) {
		int64_t due = qube_log_next_ms(&dv->log_limit, ps->now);
		short ev = 0;

		if (dv->deadline_ms &&
		    (ps->next < 0 || dv->deadline_ms < ps->next))
			ps->next = dv->deadline_ms;
		if (dv->vm_alive && dv->link_deadline_ms &&
		    (ps->next < 0 || dv->link_deadline_ms < ps->next))
			ps->next = dv->link_deadline_ms;
		/* Dropped log lines are reported in time. */
		if (due >= 0 && (ps->next < 0 || due < ps->next))
			ps->next = due;
		/* A re-attached qube's processes are not our children:
		 * their ends come by pidfd. */
		if (dv->adopted && dv->vm_alive && dv->qemu_pidfd >= 0)
			add_slot(ps, dv->qemu_pidfd, POLLIN, SLOT_QEMU_END, dv);
		if (dv->adopted && dv->chan_pidfd >= 0)
			add_slot(ps, dv->chan_pidfd, POLLIN, SLOT_CHAN_END, dv);
		/* After QEMU's end, the link until the channel process
		 * has handed on the rest (qube_vm_finish_ended). */
		if (!dv->vm_alive) {
			if (dv->qemu_ended && !dv->link_eof)
				add_slot(ps, dv->chan.fd, POLLIN, SLOT_CHAN,
					 dv);
			continue;
		}
		/* Back-pressure (daemon.h, QUBE_PAUSE_BYTES): a qube is
		 * not read while it leaves its own queue unread; nothing
		 * another qube does stops it. */
		if (qube_vm_readable(dv, ps->now))
			ev |= POLLIN;
		if (bh_chan_pending(&dv->chan))
			ev |= POLLOUT;
		/* A link at its end (the qube is being killed) would poll
		 * as hung up at once, every round. */
		if (!dv->link_eof)
			add_slot(ps, dv->chan.fd, ev, SLOT_CHAN, dv);
		/* A closed QMP stays readable (EOF) until QEMU is reaped:
		 * stop polling it. */
		if (dv->qmp.state != QMP_CLOSED)
			add_slot(ps, dv->qmp.fd, POLLIN, SLOT_QMP, dv);
	}
}

/* The admin socket (not while stopping), the signals, the clients, the
 * jobs and the qubes; ps->next ends as the nearest timer. */
static void build_poll_set(struct daemon *d, struct poll_set *ps)
{
	ps->n = 0;
	if (!d->stopping)
		add_slot(ps, d->listen_fd, POLLIN, SLOT_LISTEN, NULL);
	add_slot(ps, d->sig_fd, POLLIN, SLOT_SIGNAL, NULL);
	if (d->priv.fd >= 0)
		add_slot(ps, d->priv.fd, POLLIN, SLOT_PRIV, NULL);
	/* Kept while a start waited for its answer: handled at once. */
	if (priv_link_pending(&d->priv))
		ps->next = ps->now;
	add_client_slots(d, ps);
	add_job_slots(d, ps);
	add_qube_slots(d, ps);
}

static int poll_timeout(const struct poll_set *ps)
{
	return ps->next < 0	    ? -1
	       : ps->next <= ps->now ? 0
				     : (int)(ps->next - ps->now);
}

/* Signals first: a reaped qube frees its struct, so they are handled
 * before any slot that points at it; so is the end of a re-attached
 * qube's process, one a round. Returns 1 when they were (the other
 * slots wait for the next round). */
static int dispatch_signals(struct daemon *d, const struct poll_set *ps)
{
	nfds_t i;

	for (i = 0; i < ps->n; i++)
		if (ps->s[i].kind == SLOT_SIGNAL && ps->p[i].revents) {
			handle_signals(d);
			return 1;
		}
	/* Like a signal: an EXITED may free a qube. */
	if (priv_link_pending(&d->priv)) {
		handle_priv(d);
		return 1;
	}
	for (i = 0; i < ps->n; i++)
		if (ps->s[i].kind == SLOT_PRIV && ps->p[i].revents) {
			handle_priv(d);
			return 1;
		}
	for (i = 0; i < ps->n; i++)
		if ((ps->s[i].kind == SLOT_QEMU_END ||
		     ps->s[i].kind == SLOT_CHAN_END) &&
		    ps->p[i].revents) {
			qube_attach_proc_ended(ps->s[i].obj,
					       ps->s[i].kind == SLOT_QEMU_END);
			return 1;
		}
	return 0;
}

static void dispatch_client(struct client *c, short revents)
{
	if (c->closing == 2)
		return;
	if (revents & POLLOUT)
		client_output(c);
	if (revents & (POLLIN | POLLERR | POLLHUP))
		client_input(c);
	else if (revents & POLLRDHUP)
		client_drop(c);
}

static void dispatch_ready(struct daemon *d, const struct poll_set *ps)
{
	nfds_t i;

	for (i = 0; i < ps->n; i++) {
		short rev = ps->p[i].revents;

		if (!rev)
			continue;
		switch (ps->s[i].kind) {
		case SLOT_LISTEN:
			client_accept(d);
			break;
		case SLOT_CLIENT:
			dispatch_client(ps->s[i].obj, rev);
			break;
		case SLOT_CHAN:
			if (rev & POLLOUT)
				qube_vm_agent_output(ps->s[i].obj);
			if (rev & (POLLIN | POLLHUP))
				qube_vm_agent_input(ps->s[i].obj);
			break;
		case SLOT_QMP:
			qube_vm_qmp_input(ps->s[i].obj);
			break;
		case SLOT_JOB:
			job_input(ps->s[i].obj);
			break;
		default:
			break;
		}
	}
}

/* The qubes' timers, then what the round's handlers left to send. */
static void end_round(struct daemon *d)
{
	int64_t now = bh_now_ms();
	struct client *c;
	struct qube_vm *dv;

	for (dv = d->qubes; dv; dv = dv->next)
		qube_vm_tick(dv, now);
	/* A qube that became ready releases its client's waiting frames;
	 * then queue what the handlers produced. */
	for (c = d->clients; c; c = c->next)
		if (c->dv && c->sid)
			client_process(c);
	for (c = d->clients; c; c = c->next) {
		if (c->closing != 2)
			qs_flush_client_credit(c);
		if (c->closing != 2 && bh_chan_pending(&c->chan))
			client_output(c);
	}
	for (dv = d->qubes; dv; dv = dv->next) {
		qs_flush_credit(dv);
		if (dv->vm_alive && bh_chan_pending(&dv->chan))
			qube_vm_agent_output(dv);
	}
}

static int run_loop(struct daemon *d)
{
	static struct poll_set ps;

	for (;;) {
		/* Asks past their deadline are denied first; the nearest
		 * other deadline starts the round's timeout. */
		ps.now = bh_now_ms();
		ps.next = rpc_ask_tick(d, bh_now_ms());
		/* Qubes whose QEMU and channel process have both ended go
		 * here, between rounds: nothing of this round points at
		 * them any more. */
		{
			int64_t due = qube_vm_finish_ended(d, ps.now);

			if (due >= 0 && (ps.next < 0 || due < ps.next))
				ps.next = due;
		}
		client_reap_closed(d);
		if (d->stopping && wind_down(d))
			return 0;
		build_poll_set(d, &ps);
		if (poll(ps.p, ps.n, poll_timeout(&ps)) < 0 &&
		    errno != EINTR) {
			LOG_ERR("poll: %s", strerror(errno));
			return -1;
		}
		if (!dispatch_signals(d, &ps))
			dispatch_ready(d, &ps);
		end_round(d);
	}
}

static const struct option daemon_longopts[] = {
	{ "boot-timeout", required_argument, NULL, 't' },
	{ "ready-fd", required_argument, NULL, 'r' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Reads the command line; returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct daemon *d,
		      int *ready_fd)
{
	char *end;
	int o;

	while ((o = getopt_long(argc, argv, "hv", daemon_longopts, NULL)) !=
	       -1) {
		switch (o) {
		case 't': {
			long v = strtol(optarg, &end, 10);

			if (*end || v < 1 || v > 3600) {
				fprintf(stderr, "bulkheadd: --boot-timeout "
						"takes 1..3600 seconds\n");
				return 2;
			}
			d->boot_timeout_ms = (int)v * 1000;
			break;
		}
		case 'r':
			*ready_fd = (int)strtol(optarg, &end, 10);
			if (*end || *ready_fd < 3) {
				fprintf(stderr, "bulkheadd: --ready-fd takes "
						"a descriptor number >= 3\n");
				return 2;
			}
			break;
		case 'v':
			bh_log_set_level(BH_LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "bulkheadd: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The paths, root, and the run and state folders; returns -1 to go on,
 * else the exit status. */
static int prepare_root(struct daemon *d)
{
	if (bh_paths_init(&d->paths) < 0) {
		fprintf(stderr, "bulkheadd: BULKHEAD_ROOT must be an absolute "
				"path short enough for a socket\n");
		return 2;
	}
	/* Whatever the daemon creates is private unless it says otherwise;
	 * the admin socket gets its mode when it exists, so there is no
	 * window in which it is open to all. */
	umask(077);
	if (geteuid() != 0) {
		fprintf(stderr, "bulkheadd: must run as root: it jails each "
				"QEMU in namespaces of its own, as a uid of "
				"its own\n");
		return 1;
	}
	if (bh_mkdir_p(d->paths.run, 0755) < 0 ||
	    bh_mkdir_p(d->paths.state, 0755) < 0 ||
	    chmod(d->paths.run, 0755) < 0 || make_jail_root(d) < 0) {
		fprintf(stderr, "bulkheadd: cannot create %s or %s: %s\n",
			d->paths.run, d->paths.state, strerror(errno));
		return 1;
	}
	return -1;
}

/* BULKHEAD_TEST_JOB_THROTTLE slows volume copies down, for tests. */
static void read_test_throttle(void)
{
	const char *t = getenv("BULKHEAD_TEST_JOB_THROTTLE");

	if (t && t[0]) {
		job_throttle_mib_s = (unsigned)strtoul(t, NULL, 10);
		LOG_WARN("BULKHEAD_TEST_JOB_THROTTLE: job copies and "
			 "checksums go at %u MiB/s and never reflink (tests "
			 "only)",
			 job_throttle_mib_s);
	}
}

/* The qubes an earlier daemon left: re-attached, or ended
 * (qube_attach.h). Returns 0, or -1 when one of its QEMUs could not be
 * ended (said). */
static int clean_up_earlier_daemon(struct daemon *d)
{
	if (qube_attach_all(d) < 0) {
		fprintf(stderr,
			"bulkheadd: a QEMU of the earlier daemon could not be "
			"ended (see %s/bulkheadd.log); end it, then start "
			"bulkheadd again\n",
			d->paths.log);
		return -1;
	}
	return 0;
}

static int open_store(struct daemon *d)
{
	char err[STORE_ERR_MAX] = "";
	int r = store_boot(d->paths.state, &d->store, err, sizeof(err));

	if (r >= 0)
		return 0;
	/* Most of the store's messages name the file already. */
	if (strstr(err, STORE_FILE))
		fprintf(stderr, "bulkheadd: %s\n", err);
	else
		fprintf(stderr, "bulkheadd: state database %s/%s: %s\n",
			d->paths.state, STORE_FILE,
			err[0] ? err : strerror(-r));
	return -1;
}

/* How many disposables fit, KVM or TCG, and the TSC that TCG guests
 * are given. */
static void probe_host(struct daemon *d)
{
	d->dispvm_cap = dispvm_cap_for_host();
	LOG_INFO("at most %u disposables at once (host memory)",
		 d->dispvm_cap);
	engine_choose_accel("/sys/module", "/dev/kvm", &d->accel);
	LOG_INFO("engine: QEMU with %s: %s",
		 d->accel.accel == ACCEL_KVM ? "KVM" : "TCG", d->accel.why);
	if (d->accel.accel == ACCEL_TCG) {
		char cache[4200];

		d->tsc_khz = bh_path_fmt(cache, sizeof(cache), "%s/host-tsc",
					 d->paths.run)
				     ? tsc_khz_measure()
				     : tsc_khz_cached(cache,
						      "/proc/sys/kernel/random/boot_id",
						      tsc_khz_measure);
		LOG_INFO("host TSC: %u kHz (given to guests: they cannot "
			 "calibrate it reliably under TCG)",
			 d->tsc_khz);
	}
}

/* Tells bh (--ready-fd) and systemd that the admin socket listens. */
static void announce_ready(struct daemon *d, int ready_fd)
{
	char st[700];
	int r;

	LOG_INFO("data ports %s", d->dataports_off
					  ? "off (BULKHEAD_DATAPORTS=0): every "
					    "call stays on the relay"
					  : "on");
	LOG_INFO("listening on %s (pid %d)", d->paths.admin_sock,
		 (int)getpid());
	if (ready_fd >= 0) {
		dprintf(ready_fd, "ready engine=%s: %s\n",
			d->accel.accel == ACCEL_KVM ? "KVM" : "TCG",
			d->accel.why);
		close(ready_fd);
	}
	/* Under bulkheadd.service (Type=notify): systemctl start returns
	 * now, and `systemctl status` shows the engine. */
	snprintf(st, sizeof(st), "READY=1\nSTATUS=engine=%s: %.600s",
		 d->accel.accel == ACCEL_KVM ? "KVM" : "TCG", d->accel.why);
	r = sd_notify_send(st);
	if (r < 0)
		LOG_WARN("cannot tell systemd that we are ready "
			 "(NOTIFY_SOCKET): %s",
			 strerror(-r));
}

/* RUN/control.pid: the pid of the process that serves the admin socket
 * (bulkheadd.pid names the root parent), for `bh daemon status` and the
 * tests that look at control's memory and fds. */
static void write_control_pid(struct daemon *d)
{
	char path[4200], buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (bh_path_fmt(path, sizeof(path), "%s/control.pid", d->paths.run) ||
	    bh_write_file_replace(path, buf, (size_t)n, 0644) < 0)
		LOG_WARN("cannot write %s: %s", path, strerror(errno));
}

static void remove_control_pid(struct daemon *d)
{
	char path[4200];

	if (!bh_path_fmt(path, sizeof(path), "%s/control.pid", d->paths.run))
		unlink(path);
}

/* Forks control (priv/supervise.h): returns -1 in control to go on;
 * the parent stays in priv_supervise until it exits. */
static int start_control(struct daemon *d, int *ready_fd)
{
	/* The parent's: what it starts for each control (priv_serve.h). */
	static struct priv_serve serve;
	struct control_start cs;
	char log[4200], why[256];
	int r;

	if (bh_path_fmt(log, sizeof(log), "%s/bulkheadd.log", d->paths.log))
		log[0] = '\0';
	priv_serve_init(&serve, d->paths.root, d->paths.state, d->paths.run);
	/* The groups each QEMU runs in are the parent's (cgroup.h). */
	priv_serve_setup_cgroups(&serve);
	r = priv_supervise(ready_fd, log, d->paths.admin_sock, &serve, &cs);
	if (r < 0) {
		fprintf(stderr, "bulkheadd: cannot start its control process: "
				"%s\n", strerror(-r));
		return 1;
	}
	/* Before anything else: what control and all it starts never
	 * need is refused from here on (sandbox.h). */
	if (bh_sandbox_harden_root(why, sizeof(why)) < 0) {
		fprintf(stderr, "bulkheadd: cannot confine its control "
				"process: %s\n", why);
		return 1;
	}
	d->priv_pid = cs.priv_pid;
	d->control_restarts = cs.restarts;
	d->priv.fd = cs.priv_fd;
	bh_set_nonblock(d->priv.fd, 1);
	/* A crash point (tests/crash) kills the whole daemon, as kill -9 of
	 * bulkheadd does, unless the test kills control alone. */
	if (!getenv("BULKHEAD_CRASH_SCOPE") ||
	    strcmp(getenv("BULKHEAD_CRASH_SCOPE"), "control"))
		bh_crash_point_kill_first(cs.priv_pid);
	if (cs.restarts)
		LOG_INFO("control started again (restart %u, parent pid %d)",
			 cs.restarts, (int)cs.priv_pid);
	write_control_pid(d);
	return -1;
}

/* Everything before the loop but the lock; returns -1 to go on, else
 * the exit status. */
static int start_up(struct daemon *d)
{
	/* Only the daemon that holds the lock may rename its log. */
	setup_log_rotation(d);
	signal(SIGHUP, SIG_IGN);
	d->sig_fd = bh_make_sigfd();
	/* Jobs of a dead daemon die with it; their temporaries are
	 * removed at store_boot, once none is left writing. */
	if (job_wait_stale(d->paths.run, 10000) < 0)
		LOG_WARN("a job of the earlier daemon still runs after 10 s; "
			 "removing temporaries anyway");
	if (open_store(d) < 0 || clean_up_earlier_daemon(d) < 0)
		return 1;
	probe_host(d);
	if (d->sig_fd < 0) {
		fprintf(stderr, "bulkheadd: cannot make a signalfd: %s\n",
			strerror(errno));
		return 1;
	}
	return -1;
}

int main(int argc, char **argv)
{
	static struct daemon d;
	int ready_fd = -1, lock_fd, r;

	bh_sanitize_std_fds();
	bh_log_init("bulkheadd", 1);
	sd_notify_init();
	d.hooks = &daemon_hooks;
	d.priv.fd = -1;
	d.boot_timeout_ms = DEFAULT_BOOT_TIMEOUT_MS;
	/* On unless BULKHEAD_DATAPORTS=0 (bench/rpc measures the relay
	 * that way). */
	d.dataports_off = getenv("BULKHEAD_DATAPORTS") &&
			  !strcmp(getenv("BULKHEAD_DATAPORTS"), "0");
	/* Data port numbers start anywhere: a re-attached qube's QEMU may
	 * still hold a port an earlier daemon plugged (bhdc.N), or answer
	 * its command late, and a number counted from 1 again would meet
	 * them. */
	if (getrandom(&d.next_dataport, sizeof(d.next_dataport), 0) !=
	    sizeof(d.next_dataport))
		d.next_dataport = (uint32_t)getpid();
	d.next_dataport %= BH_DATAPORT_N_MAX - 1;
	if ((r = parse_args(argc, argv, &d, &ready_fd)) >= 0 ||
	    (r = prepare_root(&d)) >= 0)
		return r;
	lock_fd = lock_instance(&d);
	if (lock_fd < 0) {
		fprintf(stderr, "bulkheadd: %s\n",
			lock_fd == -EBUSY ? "another bulkheadd already runs "
					    "for this BULKHEAD_ROOT"
					  : strerror(-lock_fd));
		return 1;
	}
	/* Bound once, by the root parent: every control serves the same
	 * socket, so a bh that connects while a dead control's successor
	 * starts waits in its backlog instead of finding no daemon. */
	d.listen_fd = listen_admin(&d);
	if (d.listen_fd < 0) {
		fprintf(stderr, "bulkheadd: cannot listen on %s: %s\n",
			d.paths.admin_sock, strerror(-d.listen_fd));
		return 1;
	}
	/* Before the fork: the parent forks the jobs' processes. */
	read_test_throttle();
	if ((r = start_control(&d, &ready_fd)) >= 0 ||
	    (r = start_up(&d)) >= 0) {
		/* Nothing serves the socket any more. */
		unlink(d.paths.admin_sock);
		remove_control_pid(&d);
		return r;
	}
	announce_ready(&d, ready_fd);
	qube_autostart(&d);
	r = run_loop(&d);
	unlink(d.paths.admin_sock);
	store_close(d.store);
	remove_control_pid(&d);
	LOG_INFO("stopped");
	close(lock_fd);
	return r < 0 ? 1 : 0;
}
