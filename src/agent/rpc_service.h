/* Starting an RPC service in this qube for a call the host routed here.
 *
 * A service SVC called with argument ARG is the first of these that
 * exists, in this order (as Qubes' qrexec agent looks them up):
 *   /usr/local/etc/bulkhead/rpc/SVC+ARG   (this qube's own, on /rw)
 *   /usr/local/etc/bulkhead/rpc/SVC
 *   /etc/bulkhead/rpc/SVC+ARG             (from the template)
 *   /etc/bulkhead/rpc/SVC
 * An executable runs as the requested user (default: `user` when the
 * qube has that account, else root) with ARG as $1 and, in its
 * environment, BH_REMOTE_QUBE (the caller, named by the daemon),
 * BH_SERVICE_ARGUMENT and BH_SERVICE_NAME. A Unix socket is connected
 * and first sent the line "SVC+ARG SOURCE\0"; then the socket carries
 * the call's data both ways. */
#ifndef BH_AGENT_RPC_SERVICE_H
#define BH_AGENT_RPC_SERVICE_H

#include <stddef.h>

#include "agent/spawn.h"
#include "proto/rpc_req.h"

#define RPC_DIR_LOCAL "/usr/local/etc/bulkhead/rpc"
#define RPC_DIR_TEMPLATE "/etc/bulkhead/rpc"
#define RPC_DEFAULT_USER "user"

/* Finds req's service under the two folders (dirs[0], dirs[1]; NULL for
 * the standard ones) into path. Returns 0, or -ENOENT. */
int rpc_service_find(const struct bh_service_req *req,
		     const char *const dirs[2], char *path, size_t cap);

/* Starts req's service. For an executable, out->pid is its pid; for a
 * socket, out->pid is 0 and out->in_fd/out_fd are the connected socket
 * (two descriptors of it). Returns 0 or a negative enum bh_nostart value
 * (-BH_NOSTART_NOTFOUND when no such service exists). */
int rpc_service_start(const struct bh_service_req *req, struct spawned *out);

#endif
