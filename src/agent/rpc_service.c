/* RPC services of this qube (see rpc_service.h). */
#include "agent/rpc_service.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/passwd.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/frame.h"

int rpc_service_find(const struct bh_service_req *req,
		     const char *const dirs[2], char *path, size_t cap)
{
	static const char *const std_dirs[2] = { RPC_DIR_LOCAL,
						 RPC_DIR_TEMPLATE };
	const char *const *d = dirs ? dirs : std_dirs;
	struct stat st;
	int i;

	for (i = 0; i < 2; i++) {
		/* SVC+ARG first: an argument may have a service of its
		 * own. Names were checked (rpc_req.h): no '/', no "..". */
		if (bh_path_fmt(path, cap, "%s/%s+%s", d[i], req->service,
				req->arg) == 0 &&
		    stat(path, &st) == 0)
			return 0;
		if (bh_path_fmt(path, cap, "%s/%s", d[i], req->service) == 0 &&
		    stat(path, &st) == 0)
			return 0;
	}
	return -ENOENT;
}

static int connect_socket(const char *path, const struct bh_service_req *req,
			  struct spawned *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char hdr[BH_RPC_SERVICE_MAX + BH_RPC_ARG_MAX + BH_RPC_QUBE_MAX + 4];
	int fd, fd2, n;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -BH_NOSTART_OTHER;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -BH_NOSTART_OTHER;
	n = snprintf(hdr, sizeof(hdr), "%s+%s %s", req->service, req->arg,
		     req->source);
	/* Blocking connect and header: a local socket accepts at once. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    bh_write_all(fd, hdr, (size_t)n + 1) < 0) {
		LOG_WARN("service socket %s: %s", path, strerror(errno));
		close(fd);
		return -BH_NOSTART_OTHER;
	}
	fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (fd2 < 0) {
		close(fd);
		return -BH_NOSTART_OTHER;
	}
	bh_set_nonblock(fd, 1);
	out->pid = 0;
	out->in_fd = fd;
	out->out_fd = fd2;
	out->err_fd = -1;
	return 0;
}

int rpc_service_start(const struct bh_service_req *req, struct spawned *out)
{
	char path[512], e_remote[64], e_arg[300], e_name[100];
	char *argv[3], *envp[4];
	struct bh_exec_req x;
	struct pw_user pw;
	const char *user = req->user;
	struct stat st;

	if (rpc_service_find(req, NULL, path, sizeof(path)) < 0)
		return -BH_NOSTART_NOTFOUND;
	if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		return connect_socket(path, req, out);
	if (!user[0])
		user = passwd_lookup(RPC_DEFAULT_USER, &pw) == 0
			       ? RPC_DEFAULT_USER
			       : "root";
	snprintf(e_remote, sizeof(e_remote), "BH_REMOTE_QUBE=%s", req->source);
	snprintf(e_arg, sizeof(e_arg), "BH_SERVICE_ARGUMENT=%s", req->arg);
	snprintf(e_name, sizeof(e_name), "BH_SERVICE_NAME=%s", req->service);
	argv[0] = path;
	argv[1] = (char *)req->arg;
	argv[2] = NULL;
	envp[0] = e_remote;
	envp[1] = e_arg;
	envp[2] = e_name;
	envp[3] = NULL;
	memset(&x, 0, sizeof(x));
	x.argc = req->arg[0] ? 2 : 1;
	if (!req->arg[0])
		argv[1] = NULL;
	x.envc = 3;
	x.argv = argv;
	x.envp = envp;
	return spawn_command(&x, user, out);
}
