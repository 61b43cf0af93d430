/* One connection on the admin socket (a `bh` process). */
#ifndef BH_DAEMON_CLIENT_H
#define BH_DAEMON_CLIENT_H

#include "daemon/core/client_send.h"
#include "daemon/core/daemon.h"

void client_accept(struct daemon *d);
void client_input(struct client *c);
void client_output(struct client *c);
/* Handles the frames buffered from a client, as far as its qube's state
 * allows (none while the qube boots). */
void client_process(struct client *c);
/* Closes and frees closed clients. */
void client_reap_closed(struct daemon *d);
void client_drop(struct client *c);

#endif
