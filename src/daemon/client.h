/* One connection on the admin socket (a `bh` process). */
#ifndef BH_DAEMON_CLIENT_H
#define BH_DAEMON_CLIENT_H

#include "daemon/daemon.h"

/* Admin peers are trusted (root or the bulkhead group), but a stuck one
 * must not make the daemon buffer without end. */
#define CLIENT_OUT_MAX (2u * BH_STREAM_WINDOW + 4u * BH_FRAME_MAX_PAYLOAD)

void client_accept(struct daemon *d);
void client_input(struct client *c);
void client_output(struct client *c);
/* Handles the frames buffered from a client, as far as its qube's state
 * allows (none while the qube boots). */
void client_process(struct client *c);
/* Queues an ERROR (bh's exit code + message) and closes after it. */
void client_error(struct client *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Closes and frees closed clients. */
void client_reap_closed(struct daemon *d);
void client_drop(struct client *c);

#endif
