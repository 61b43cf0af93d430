#include "agent/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/passwd.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/frame.h"

/* The command's environment starts from these; the request's entries
 * add to them or replace them by name. */
static const char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root", "TERM=dumb", "LANG=C.UTF-8",
};
#define N_DEFAULT_ENV (sizeof(default_env) / sizeof(*default_env))

static int same_name(const char *a, const char *b)
{
	size_t n = strcspn(a, "=");

	return strncmp(a, b, n) == 0 && b[n] == '=';
}

/* Defaults not overridden by the request (with the user's own HOME,
 * USER and LOGNAME when user_env is given), then the request's entries.
 * Returns a malloc'd NULL-terminated array pointing at all of them. */
static char **merge_env(const struct bh_exec_req *req, char *const user_env[3])
{
	char **env = calloc(N_DEFAULT_ENV + 3 + req->envc + 1, sizeof(*env));
	size_t n = 0, i, j;

	if (!env)
		return NULL;
	for (i = 0; i < N_DEFAULT_ENV + 3; i++) {
		const char *e = i < N_DEFAULT_ENV ? default_env[i]
						  : user_env ? user_env[i - N_DEFAULT_ENV]
							     : NULL;
		int overridden = 0;

		if (!e)
			continue;
		/* The user's HOME replaces the default one. */
		if (user_env && i < N_DEFAULT_ENV && same_name(e, "HOME="))
			continue;
		for (j = 0; j < req->envc; j++)
			overridden |= same_name(e, req->envp[j]);
		if (!overridden)
			env[n++] = (char *)e;
	}
	for (j = 0; j < req->envc; j++)
		env[n++] = req->envp[j];
	return env;
}

static void close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

static int nostart_from_errno(int e)
{
	if (e == ENOENT || e == ENOTDIR)
		return BH_NOSTART_NOTFOUND;
	if (e == EACCES || e == ENOEXEC || e == EPERM || e == EISDIR)
		return BH_NOSTART_NOEXEC;
	return BH_NOSTART_OTHER;
}

/* In the child: becomes pw's uid and gid, with no other groups. */
static int become(const struct pw_user *pw)
{
	if (setgroups(1, &pw->gid) < 0 || setgid(pw->gid) < 0 ||
	    setuid(pw->uid) < 0)
		return -1;
	return 0;
}

int spawn_command(const struct bh_exec_req *req, const char *user,
		  struct spawned *out)
{
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, e[2] = { -1, -1 };
	int report[2] = { -1, -1 };
	char home_env[PASSWD_HOME_MAX + 8], user_var[48], logname_var[48];
	char *user_env[3] = { home_env, user_var, logname_var };
	struct pw_user pw = { 0, 0, "/root" };
	int as_user = user && user[0] && strcmp(user, "root");
	char **envp;
	sigset_t all;
	pid_t pid;
	int child_errno = 0;
	ssize_t n;

	if (as_user) {
		int r = passwd_lookup(user, &pw);

		if (r < 0) {
			LOG_WARN("no user %s in %s: %s", user, PASSWD_FILE,
				 strerror(-r));
			return -BH_NOSTART_OTHER;
		}
		snprintf(home_env, sizeof(home_env), "HOME=%s", pw.home);
		snprintf(user_var, sizeof(user_var), "USER=%s", user);
		snprintf(logname_var, sizeof(logname_var), "LOGNAME=%s", user);
	}
	envp = merge_env(req, as_user ? user_env : NULL);
	if (!envp)
		return -BH_NOSTART_OTHER;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0 ||
	    pipe2(e, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0)
		goto fail;
	pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		/* The agent blocks signals it handles with signalfd; the
		 * command starts with none blocked and default handlers. */
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		signal(SIGPIPE, SIG_DFL);
		setsid();
		if (dup2(in[0], 0) < 0 || dup2(o[1], 1) < 0 ||
		    dup2(e[1], 2) < 0)
			_exit(125);
		if (as_user && become(&pw) < 0)
			_exit(125);
		if (chdir(pw.home) < 0 && chdir("/") < 0)
			_exit(125);
		/* PATH lookup uses the command's own PATH. */
		for (char *const *v = envp; *v; v++)
			if (!strncmp(*v, "PATH=", 5))
				setenv("PATH", *v + 5, 1);
		execvpe(req->argv[0], req->argv, envp);
		child_errno = errno;
		n = write(report[1], &child_errno, sizeof(child_errno));
		(void)n;
		_exit(127);
	}
	free(envp);
	close(in[0]);
	close(o[1]);
	close(e[1]);
	close(report[1]);
	/* The report pipe closes on a successful exec, or brings errno. */
	do
		n = read(report[0], &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(report[0]);
	if (n == (ssize_t)sizeof(child_errno)) {
		close(in[1]);
		close(o[0]);
		close(e[0]);
		/* The child exits at once; the reaper collects it. */
		return -nostart_from_errno(child_errno);
	}
	bh_set_nonblock(in[1], 1);
	bh_set_nonblock(o[0], 1);
	bh_set_nonblock(e[0], 1);
	out->pid = pid;
	out->in_fd = in[1];
	out->out_fd = o[0];
	out->err_fd = e[0];
	return 0;
fail:
	free(envp);
	close_pair(in);
	close_pair(o);
	close_pair(e);
	close_pair(report);
	return -BH_NOSTART_OTHER;
}
