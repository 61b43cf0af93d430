/* What any layer may do to a bh client (a connection on the admin
 * socket): queue an error for it. Its life (accept, reading, dispatch,
 * dropping it) is the admin socket's (client.h, above every layer); layers below reach
 * that through the daemon's hooks (daemon.h). */
#ifndef BH_DAEMON_CORE_CLIENT_SEND_H
#define BH_DAEMON_CORE_CLIENT_SEND_H

#include "daemon/core/daemon.h"

/* Admin peers are trusted (root or the bulkhead group), but a stuck one
 * must not make the daemon buffer without end. */
#define CLIENT_OUT_MAX (2u * BH_STREAM_WINDOW + 4u * BH_FRAME_MAX_PAYLOAD)

/* Queues an ERROR (bh's exit code + message) and closes after it. */
void client_error(struct client *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
