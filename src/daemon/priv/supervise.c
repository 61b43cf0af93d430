/* bulkheadd's root parent: control's start, restarts and end
 * (supervise.h). */
#include "daemon/priv/supervise.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/priv/priv_serve.h"
#include "lib/log.h"
#include "lib/util.h"

int restart_allowed(struct restart_window *w, int64_t now)
{
	unsigned i;

	/* Forget the restarts that left the window. */
	while (w->n && now - w->at[0] >= CONTROL_RESTART_WINDOW_MS) {
		for (i = 1; i < w->n; i++)
			w->at[i - 1] = w->at[i];
		w->n--;
	}
	if (w->n == CONTROL_RESTART_MAX)
		return 0;
	w->at[w->n++] = now;
	return 1;
}

/* In the child: dies with the parent (a kill -9 of bulkheadd ends its
 * control too, as it ended the single daemon before the split), and
 * checks that the parent did not die before that was armed. */
static int become_control(pid_t parent, int parent_sig_fd, int parent_link)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
	    getppid() != parent)
		_exit(1);
	close(parent_sig_fd);
	close(parent_link);
	return 0;
}

/* Why control ended, for the log. */
static void describe(int st, char *out, size_t cap)
{
	if (WIFSIGNALED(st))
		snprintf(out, cap, "killed by signal %d (%s)%s", WTERMSIG(st),
			 strsignal(WTERMSIG(st)),
			 WCOREDUMP(st) ? ", core dumped" : "");
	else
		snprintf(out, cap, "exited with status %d", WEXITSTATUS(st));
}

struct supervisor {
	pid_t control;
	int sig_fd;
	int stopping;  /* SIGTERM or SIGINT passed on: no restart */
	unsigned restarts;
	struct restart_window window;
	const char *log_path;
	const char *admin_sock;
	struct priv_serve *serve;
};

/* A signal for the daemon goes to control, which stops (with its qubes,
 * as before the split); the parent follows once control has exited. */
static void pass_on(struct supervisor *s, const struct signalfd_siginfo *si)
{
	bh_log_follow(s->log_path);
	if (!s->stopping)
		LOG_INFO("stopping: %s from pid %u (uid %u), passed on to "
			 "control (pid %d)",
			 si->ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT",
			 si->ssi_pid, si->ssi_uid, (int)s->control);
	s->stopping = 1;
	kill(s->control, (int)si->ssi_signo);
}

/* Control has ended with wait status ST. Returns 1 when a new one is to
 * be started, or exits the parent. */
static int control_ended(struct supervisor *s, int st)
{
	char why[128];

	describe(st, why, sizeof(why));
	bh_log_follow(s->log_path);
	/* An exit of its own is a stop (bh daemon stop, SIGTERM) or a
	 * start-up that failed and said why: both are final. */
	if (WIFEXITED(st) || s->stopping) {
		if (WIFSIGNALED(st))
			LOG_WARN("control (pid %d) %s while stopping",
				 (int)s->control, why);
		priv_serve_stop(s->serve);
		exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
	}
	if (!restart_allowed(&s->window, bh_now_ms())) {
		LOG_ERR("control (pid %d) %s: not restarted, it died %d times "
			"within %d s; the running qubes wait for the next "
			"bulkheadd",
			(int)s->control, why, CONTROL_RESTART_MAX,
			CONTROL_RESTART_WINDOW_MS / 1000);
		unlink(s->admin_sock);
		exit(1);
	}
	s->restarts++;
	LOG_WARN("control (pid %d) %s: starting a new one (restart %u), which "
		 "re-attaches the running qubes",
		 (int)s->control, why, s->restarts);
	return 1;
}

/* Reaps every ended child: control, or a process that control left
 * (a QEMU or channel process of a qube whose control died is ours, as
 * subreaper, until it ends). Returns 1 when control is to be started
 * again. */
static int reap(struct supervisor *s)
{
	int st, again = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == s->control) {
			/* Its link goes with it; the next control has a
			 * new one. */
			priv_serve_detach(s->serve);
			again = control_ended(s, st);
		} else {
			bh_log_follow(s->log_path);
			priv_serve_reaped(s->serve, pid, st);
		}
	}
	return again;
}

/* Control broke its link (a malformed request, a reply it does not
 * read): it is killed, and started again as after any death. */
static void link_broken(struct supervisor *s)
{
	LOG_ERR("killing control (pid %d): its priv link broke",
		(int)s->control);
	priv_serve_detach(s->serve);
	kill(s->control, SIGKILL);
}

/* The crash points of tests/crash (lib/crashpoint.h) once control is
 * forked. One of control's strikes the first control only: the test
 * looks at what the next one makes of it. One in a process the parent
 * starts for the first control stays in its environment: a channel
 * process's (chan.*) and a job's (volume.*); a job's kills control
 * alone when only control is to die (BULKHEAD_CRASH_SCOPE=control),
 * else the whole daemon (its parent). */
static void crash_points_after_fork(pid_t control, unsigned restarts)
{
	const char *at = getenv("BULKHEAD_CRASH_AT");
	const char *scope = getenv("BULKHEAD_CRASH_SCOPE");
	char pid[24];

	if (!at)
		return;
	/* What the parent starts for a later control crashes no more. */
	if (restarts || (strncmp(at, "chan.", 5) && strncmp(at, "volume.", 7))) {
		unsetenv("BULKHEAD_CRASH_AT");
		unsetenv("BULKHEAD_CRASH_VICTIM");
		return;
	}
	if (scope && !strcmp(scope, "control")) {
		snprintf(pid, sizeof(pid), "%d", (int)control);
		setenv("BULKHEAD_CRASH_VICTIM", pid, 1);
	}
}

int priv_supervise(int *ready_fd, const char *log_path,
		   const char *admin_sock, struct priv_serve *serve,
		   struct control_start *cs)
{
	struct supervisor s = { .log_path = log_path,
				.admin_sock = admin_sock,
				.serve = serve };
	struct signalfd_siginfo si;
	pid_t self = getpid();

	/* Orphans of a dead control (its QEMUs and channel processes)
	 * come to us, not to init: reaped here, watched by the next
	 * control through pidfds. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return -errno;
	s.sig_fd = bh_make_sigfd();
	if (s.sig_fd < 0)
		return -errno;
	for (;;) {
		int link[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
			       link) < 0) {
			int e = -errno;

			if (s.restarts == 0)
				return e;
			LOG_ERR("cannot make a priv link for a new control: "
				"%s; the running qubes wait for the next "
				"bulkheadd",
				strerror(-e));
			unlink(s.admin_sock);
			exit(1);
		}
		s.control = fork();
		if (s.control < 0) {
			int e = -errno;

			close(link[0]);
			close(link[1]);

			if (s.restarts == 0)
				return e;
			LOG_ERR("cannot start a new control: %s; the running "
				"qubes wait for the next bulkheadd",
				strerror(-e));
			unlink(s.admin_sock);
			exit(1);
		}
		if (s.control == 0) {
			cs->priv_pid = self;
			cs->restarts = s.restarts;
			if (s.restarts)
				*ready_fd = -1;
			cs->priv_fd = link[1];
			return become_control(self, s.sig_fd, link[0]);
		}
		close(link[1]);
		priv_serve_attach(s.serve, link[0]);
		crash_points_after_fork(s.control, s.restarts);
		/* bh reads the ready line until EOF: only the first
		 * control holds the fd. */
		if (*ready_fd >= 0) {
			close(*ready_fd);
			*ready_fd = -1;
		}
		for (;;) {
			struct pollfd p[2] = { { s.sig_fd, POLLIN, 0 },
					       { s.serve->fd, POLLIN, 0 } };

			if (poll(p, s.serve->fd >= 0 ? 2 : 1, -1) < 0 &&
			    errno != EINTR)
				exit(1);
			/* Reaped first: an EXITED goes before the answer to
			 * a request that came after it. */
			while (read(s.sig_fd, &si, sizeof(si)) == sizeof(si))
				if (si.ssi_signo == SIGTERM ||
				    si.ssi_signo == SIGINT)
					pass_on(&s, &si);
			if (reap(&s))
				break;
			if (s.serve->fd >= 0 && p[1].revents) {
				int r;

				bh_log_follow(s.log_path);
				r = priv_serve_input(s.serve);
				if (r < 0)
					link_broken(&s);
				else if (r > 0)
					priv_serve_detach(s.serve);
			}
		}
	}
}
