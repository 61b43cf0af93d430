#include "agent/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <signal.h>
#include <stdint.h>
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

/* Where execvpe would look for argv0: each PATH folder of the command's
 * own environment, or argv0 itself when it names a path. Built before
 * vfork, since the child may not allocate. NULL-terminated, malloc'd. */
static char **candidates(const char *argv0, char *const envp[])
{
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
			   "/sbin:/bin";
	char **v;
	size_t n = 2, k = 0;
	const char *c;

	if (strchr(argv0, '/')) {
		v = calloc(2, sizeof(*v));
		if (v && !(v[0] = strdup(argv0))) {
			free(v);
			return NULL;
		}
		return v;
	}
	for (char *const *e = envp; *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			path = *e + 5;
	for (c = path; *c; c++)
		n += *c == ':';
	v = calloc(n, sizeof(*v));
	if (!v)
		return NULL;
	for (c = path; k + 1 < n;) {
		size_t len = strcspn(c, ":");

		/* An empty entry means the current folder, as for execvp. */
		if (asprintf(&v[k], "%.*s%s%s", (int)len, len ? c : ".", "/",
			     argv0) < 0) {
			v[k] = NULL;
			break;
		}
		k++;
		if (!c[len])
			break;
		c += len + 1;
	}
	return v;
}

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

struct child_args {
	int in, out, err;
	int as_user;
	const struct pw_user *pw;
	char **paths;	/* candidates() */
	char **sh_argv; /* for a script without "#!" */
	char **argv;
	char **envp;
	volatile int *child_errno; /* set when the command did not start */
};

/* The child of vfork_exec: only system calls, no allocation, never
 * returns. */
static void __attribute__((noreturn)) exec_child(const struct child_args *a)
{
	int err = ENOENT, seen_eacces = 0;
	sigset_t all;

	/* The agent blocks signals it handles with signalfd; the command
	 * starts with none blocked and default handlers. */
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	if (dup2(a->in, 0) < 0 || dup2(a->out, 1) < 0 || dup2(a->err, 2) < 0 ||
	    (a->as_user && become(a->pw) < 0) ||
	    (chdir(a->pw->home) < 0 && chdir("/") < 0)) {
		*a->child_errno = errno ? errno : EPERM;
		_exit(125);
	}
	for (char **p = a->paths; *p; p++) {
		execve(*p, a->argv, a->envp);
		err = errno;
		if (err == ENOEXEC) {
			/* A script without "#!" runs under /bin/sh, as with
			 * execvpe. */
			a->sh_argv[1] = *p;
			execve(a->sh_argv[0], a->sh_argv, a->envp);
			err = errno;
		}
		if (err == EACCES)
			seen_eacces = 1;
		else if (err != ENOENT && err != ENOTDIR)
			break;
	}
	*a->child_errno = seen_eacces && (err == ENOENT || err == ENOTDIR)
				  ? EACCES
				  : err;
	_exit(127);
}

/* vfork: the agent waits until the command runs (or failed to); no page
 * tables are copied (under TCG a fork costs about a millisecond more). */
static pid_t __attribute__((noinline)) vfork_exec(const struct child_args *a)
{
	pid_t pid = vfork();

	if (pid == 0)
		exec_child(a);
	return pid;
}

int spawn_command(const struct bh_exec_req *req, const char *user,
		  struct spawned *out)
{
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, e[2] = { -1, -1 };
	char home_env[PASSWD_HOME_MAX + 8], user_var[48], logname_var[48];
	char *user_env[3] = { home_env, user_var, logname_var };
	struct pw_user pw = { 0, 0, "/root" };
	int as_user = user && user[0] && strcmp(user, "root");
	char **envp, **paths = NULL, **sh_argv = NULL;
	/* Written by the vfork child, which shares our memory. */
	volatile int child_errno = 0;
	struct child_args args;
	pid_t pid;

	if (as_user) {
		int r = passwd_lookup(user, &pw);

		if (r < 0) {
			LOG_WARN("no user %s in %s: %s", user, PASSWD_FILE,
				 strerror(-r));
			/* The host says so: bh run names the account. */
			return r == -ENOENT ? -BH_NOSTART_NOUSER
					    : -BH_NOSTART_OTHER;
		}
		snprintf(home_env, sizeof(home_env), "HOME=%s", pw.home);
		snprintf(user_var, sizeof(user_var), "USER=%s", user);
		snprintf(logname_var, sizeof(logname_var), "LOGNAME=%s", user);
	}
	envp = merge_env(req, as_user ? user_env : NULL);
	if (!envp)
		return -BH_NOSTART_OTHER;
	paths = candidates(req->argv[0], envp);
	sh_argv = calloc(req->argc + 2, sizeof(*sh_argv));
	if (!paths || !sh_argv || pipe2(in, O_CLOEXEC) < 0 ||
	    pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0)
		goto fail;
	sh_argv[0] = (char *)"/bin/sh";
	for (uint32_t i = 1; i < req->argc; i++)
		sh_argv[i + 1] = req->argv[i];
	args = (struct child_args){ in[0], o[1], e[1], as_user, &pw, paths,
				    sh_argv, req->argv, envp, &child_errno };
	pid = vfork_exec(&args);
	if (pid < 0)
		goto fail;
	free(envp);
	free_strv(paths);
	free(sh_argv);
	close(in[0]);
	close(o[1]);
	close(e[1]);
	/* Here the child has exec'd, or failed and set child_errno. */
	if (child_errno) {
		close(in[1]);
		close(o[0]);
		close(e[0]);
		/* The child has exited; the reaper collects it. */
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
	free_strv(paths);
	free(sh_argv);
	close_pair(in);
	close_pair(o);
	close_pair(e);
	return -BH_NOSTART_OTHER;
}
