/* Reaching bulkheadd, and starting it when none runs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/paths.h"
#include "lib/util.h"
#include "proto/exitcodes.h"

/* Start-up of the daemon is a few milliseconds; this bounds a hang. */
#define DAEMON_START_TIMEOUT_MS 30000

void cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("bh: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int try_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* bulkheadd next to bh (build tree), in ../sbin (installed), or on PATH;
 * BULKHEAD_DAEMON overrides. */
static void find_daemon(char *out, size_t cap)
{
	const char *env = getenv("BULKHEAD_DAEMON");
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (env && env[0]) {
		snprintf(out, cap, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (bh_path_fmt(out, cap, "%s/bulkheadd", self) == 0 &&
			    access(out, X_OK) == 0)
				return;
			if (bh_path_fmt(out, cap, "%s/../sbin/bulkheadd",
					self) == 0 &&
			    access(out, X_OK) == 0)
				return;
		}
	}
	snprintf(out, cap, "bulkheadd");
}

static void show_log_tail(const char *log)
{
	char *text;
	size_t len, start;
	int lines = 0;

	if (bh_read_file(log, 1 << 20, &text, &len) < 0)
		return;
	start = len;
	while (start > 0 && lines < 6)
		if (text[--start] == '\n' && start + 1 != len)
			lines++;
	fprintf(stderr, "bh: last lines of %s:\n%s", log,
		text + start + (text[start] == '\n'));
	free(text);
}

#define SYSTEMD_UNIT "bulkheadd.service"

/* Runs systemctl ARGS... with stdin /dev/null and its output on our
 * stderr (bh's stdout is for its own results), or into out[cap] when out
 * is given. Returns its exit status, or -1 when it could not be run. */
static int run_systemctl(char *const argv[], char *out, size_t cap)
{
	int p[2] = { -1, -1 }, st;
	size_t used = 0;
	ssize_t got;
	pid_t pid;

	if (out && pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull < 0 || dup2(devnull, 0) < 0 ||
		    dup2(out ? p[1] : 2, 1) < 0)
			_exit(127);
		execvp("systemctl", argv);
		_exit(127);
	}
	if (out) {
		close(p[1]);
		while (pid > 0 && used + 1 < cap &&
		       (got = read(p[0], out + used, cap - 1 - used)) > 0)
			used += (size_t)got;
		out[used] = '\0';
		close(p[0]);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Why bh starts bulkheadd itself rather than through systemd, or NULL
 * when systemd is to start bulkheadd.service. */
static const char *direct_reason(const struct bh_paths *p)
{
	static char *const show[] = { "systemctl", "show", "--property",
				      "LoadState", "--value", SYSTEMD_UNIT,
				      NULL };
	const char *env = getenv("BULKHEAD_DAEMON");
	char state[64];
	struct stat st;

	/* sd_booted(3)'s test: systemd is PID 1. */
	if (lstat("/run/systemd/system", &st) < 0 || !S_ISDIR(st.st_mode))
		return "systemd is not running";
	/* The unit serves the default root with the installed daemon. */
	if (p->root[0])
		return "BULKHEAD_ROOT is set";
	if (env && env[0])
		return "BULKHEAD_DAEMON is set";
	if (run_systemctl(show, state, sizeof(state)) != 0 ||
	    strcmp(state, "loaded\n") != 0)
		return SYSTEMD_UNIT " is not installed";
	return NULL;
}

/* What bh says before "started bulkheadd ...": why it started one. */
#define NOTE_NONE_RAN "no daemon was running; "

/* systemctl start returns once bulkheadd said READY=1 (Type=notify), or
 * failed. Returns 0, or a negative bh exit code. */
static int start_with_systemd(const char *log, const char *note)
{
	static char *const start[] = { "systemctl", "--no-ask-password",
				       "start", SYSTEMD_UNIT, NULL };
	int r = run_systemctl(start, NULL, 0);

	if (r != 0) {
		cli_err("systemctl start %s failed; see systemctl status "
			"%s and %s",
			SYSTEMD_UNIT, SYSTEMD_UNIT, log);
		return -BH_EXIT_NODAEMON;
	}
	fprintf(stderr, "bh: %sstarted bulkheadd via systemd (%s; log: %s)\n",
		note, SYSTEMD_UNIT, log);
	return 0;
}

/* Returns 0 when a daemon now listens, 1 when another bh started one at
 * the same moment, or a negative bh exit code. */
static int start_daemon(const struct bh_paths *p, const char *note)
{
	char daemon[PATH_MAX], log[PATH_MAX + 32], line[512];
	struct pollfd pfd;
	int pipefd[2], logfd, st;
	ssize_t n = 0, got;
	const char *why;
	pid_t pid;

	find_daemon(daemon, sizeof(daemon));
	/* Also for the unit, whose log is appended to a file there. */
	if (bh_mkdir_p(p->log, 0755) < 0 ||
	    bh_path_fmt(log, sizeof(log), "%s/bulkheadd.log", p->log)) {
		cli_err("cannot create %s: %s", p->log, strerror(errno));
		return -BH_EXIT_NODAEMON;
	}
	why = direct_reason(p);
	if (!why)
		return start_with_systemd(log, note);
	if (bh_mkdir_p(p->run, 0755) < 0) {
		cli_err("cannot create %s: %s", p->run, strerror(errno));
		return -BH_EXIT_NODAEMON;
	}
	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (logfd < 0) {
		cli_err("cannot open the daemon log %s: %s", log,
			strerror(errno));
		return -BH_EXIT_NODAEMON;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		close(logfd);
		return -BH_EXIT_NODAEMON;
	}
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		setsid();
		if (devnull < 0 || dup2(devnull, 0) < 0 ||
		    dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 ||
		    dup2(pipefd[1], 3) < 0)
			_exit(127);
		close_range(4, ~0u, 0);
		/* A grandchild, so that the daemon is not ours to reap. */
		if (fork() != 0)
			_exit(0);
		execlp(daemon, daemon, "--ready-fd=3", (char *)NULL);
		dprintf(2, "bulkheadd: cannot execute %s: %s\n", daemon,
			strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	close(logfd);
	if (pid < 0) {
		close(pipefd[0]);
		cli_err("cannot fork: %s", strerror(errno));
		return -BH_EXIT_NODAEMON;
	}
	waitpid(pid, &st, 0);
	pfd = (struct pollfd){ pipefd[0], POLLIN, 0 };
	while ((size_t)n < sizeof(line) - 1 &&
	       poll(&pfd, 1, DAEMON_START_TIMEOUT_MS) > 0) {
		got = read(pipefd[0], line + n, sizeof(line) - 1 - (size_t)n);
		if (got <= 0)
			break;
		n += got;
	}
	close(pipefd[0]);
	line[n] = '\0';
	if (n > 6 && !strncmp(line, "ready ", 6)) {
		line[strcspn(line, "\n")] = '\0';
		fprintf(stderr,
			"bh: %sstarted bulkheadd directly (%s; log: %s)\n"
			"bh: %s\n",
			note, why, log, line + 6);
		return 0;
	}
	/* No "ready": maybe another bh won the race and its daemon holds
	 * the lock; the caller retries the connection before giving up. */
	return 1;
}

/* After start_daemon: the new daemon's socket, retried for a daemon
 * started by a concurrent bh that may need a moment to listen. Returns
 * the fd, or -BH_EXIT_NODAEMON after saying why. */
static int connect_started(const struct bh_paths *p)
{
	char log[PATH_MAX + 32];
	int fd, tries;

	for (tries = 0; tries < 100; tries++) {
		const struct timespec step = { 0, 50 * 1000 * 1000 };

		fd = try_connect(p->admin_sock);
		if (fd >= 0)
			return fd;
		nanosleep(&step, NULL);
	}
	snprintf(log, sizeof(log), "%s/bulkheadd.log", p->log);
	cli_err("bulkheadd did not start; see %s", log);
	show_log_tail(log);
	return -BH_EXIT_NODAEMON;
}

static int paths(struct bh_paths *p)
{
	if (bh_paths_init(p) == 0)
		return 0;
	cli_err("BULKHEAD_ROOT must be an absolute path, short enough for a "
		"socket path");
	return -BH_EXIT_USAGE;
}

int daemon_connect(void)
{
	struct bh_paths p;
	int fd, r;

	if ((r = paths(&p)) < 0)
		return r;
	fd = try_connect(p.admin_sock);
	if (fd >= 0)
		return fd;
	if (fd == -EACCES || fd == -EPERM) {
		cli_err("permission denied on %s: run bh as root or as a "
			"member of the bulkhead group",
			p.admin_sock);
		return -BH_EXIT_NODAEMON;
	}
	if (fd != -ENOENT && fd != -ECONNREFUSED) {
		cli_err("cannot reach bulkheadd at %s: %s", p.admin_sock,
			strerror(-fd));
		return -BH_EXIT_NODAEMON;
	}
	r = start_daemon(&p, NOTE_NONE_RAN);
	if (r < 0)
		return r;
	return connect_started(&p);
}

int daemon_connect_running(void)
{
	struct bh_paths p;
	int r;

	if ((r = paths(&p)) < 0)
		return r;
	r = try_connect(p.admin_sock);
	if (r == -EACCES || r == -EPERM) {
		cli_err("permission denied on %s: run bh as root or as a "
			"member of the bulkhead group",
			p.admin_sock);
		return -BH_EXIT_NODAEMON;
	}
	if (r < 0 && r != -ENOENT && r != -ECONNREFUSED) {
		cli_err("cannot reach bulkheadd at %s: %s", p.admin_sock,
			strerror(-r));
		return -BH_EXIT_NODAEMON;
	}
	return r < 0 ? DAEMON_NOT_LISTENING : r;
}

int daemon_start_new(void)
{
	struct bh_paths p;
	int r;

	if ((r = paths(&p)) < 0)
		return r;
	r = start_daemon(&p, "");
	if (r < 0)
		return r;
	return connect_started(&p);
}

int daemon_running(pid_t *pid)
{
	char path[PATH_MAX + 32], buf[32];
	struct bh_paths p;
	ssize_t n;
	int fd, r;

	*pid = 0;
	if ((r = paths(&p)) < 0)
		return r;
	if (bh_path_fmt(path, sizeof(path), "%s/bulkheadd.pid", p.run))
		return -BH_EXIT_USAGE;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		cli_err("cannot read %s: %s", path, strerror(errno));
		return -BH_EXIT_NODAEMON;
	}
	/* The daemon holds an exclusive flock on its pid file for its life
	 * (bulkheadd's lock_instance); a shared one taken here means none
	 * does. It is let go at once: a daemon starting in that instant
	 * would take it for another daemon's. */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);
		return 0;
	}
	if (errno != EWOULDBLOCK) {
		cli_err("cannot test the lock on %s: %s", path,
			strerror(errno));
		close(fd);
		return -BH_EXIT_NODAEMON;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		*pid = (pid_t)strtol(buf, NULL, 10);
	}
	return 1;
}

const char *daemon_direct_reason(void)
{
	struct bh_paths p;

	if (bh_paths_init(&p) < 0)
		return "BULKHEAD_ROOT is not valid";
	return direct_reason(&p);
}

int daemon_systemctl(const char *verb)
{
	char *const argv[] = { "systemctl", "--no-ask-password", (char *)verb,
			       SYSTEMD_UNIT, NULL };

	return run_systemctl(argv, NULL, 0);
}
