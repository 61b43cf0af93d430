/* Starting one command for a stream: pipes for its three standard fds,
 * a session of its own, and an exec error reported back exactly. */
#ifndef BH_AGENT_SPAWN_H
#define BH_AGENT_SPAWN_H

#include <sys/types.h>

#include "proto/exec_req.h"

struct spawned {
	pid_t pid;
	int in_fd;  /* we write the command's stdin here */
	int out_fd; /* we read its stdout here */
	int err_fd; /* and its stderr here */
};

/* Starts req as user (NULL or "" for root; else an account of
 * /etc/passwd, with its uid, gid, HOME and working folder). Returns 0 with
 * the command running, or a negative enum bh_nostart value
 * (-BH_NOSTART_NOTFOUND, ...) when it could not start (a user that
 * /etc/passwd lacks is -BH_NOSTART_NOUSER, a malformed entry
 * -BH_NOSTART_OTHER). Our ends of the pipes are non-blocking and
 * close-on-exec. */
int spawn_command(const struct bh_exec_req *req, const char *user,
		  struct spawned *out);

#endif
