/* Where a frame from a bh connection goes, by its kind: a run in a new
 * disposable, a run in a qube, a service call from the host, an admin
 * call, or the input of the connection's running command (its stream).
 * The connection itself (reading, writing, its end) is client.c's. */
#ifndef BH_DAEMON_CLIENT_ROUTE_H
#define BH_DAEMON_CLIENT_ROUTE_H

#include <stdint.h>

#include "daemon/core/daemon.h"
#include "proto/frame.h"

/* Acts on one frame of c's (refusing it with an error to c where the
 * request is malformed). Returns 0, or -EPROTO when the frame fits none
 * of the routes (the caller then ends the connection). */
int client_route_frame(struct client *c, const struct bh_frame_hdr *h,
		       const uint8_t *payload);

#endif
