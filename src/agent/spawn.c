#include "agent/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/frame.h"
#include "lib/util.h"

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

/* Defaults not overridden by the request, then the request's entries.
 * Returns a malloc'd NULL-terminated array pointing at both. */
static char **merge_env(const struct bh_exec_req *req)
{
	char **env = calloc(N_DEFAULT_ENV + req->envc + 1, sizeof(*env));
	size_t n = 0, i, j;

	if (!env)
		return NULL;
	for (i = 0; i < N_DEFAULT_ENV; i++) {
		int overridden = 0;

		for (j = 0; j < req->envc; j++)
			overridden |= same_name(default_env[i], req->envp[j]);
		if (!overridden)
			env[n++] = (char *)default_env[i];
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

int spawn_command(const struct bh_exec_req *req, struct spawned *out)
{
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, e[2] = { -1, -1 };
	int report[2] = { -1, -1 };
	char **envp = merge_env(req);
	sigset_t all;
	pid_t pid;
	int child_errno = 0;
	ssize_t n;

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
		if (chdir("/root") < 0 && chdir("/") < 0)
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
