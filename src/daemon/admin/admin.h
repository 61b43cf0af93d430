/* The admin API's calls on the daemon's state store (docs/admin-api.md):
 * a table of { method, handler }, one BH_MSG_ADMIN_REPLY per call. Qube
 * records and the host report (admin.host.Info) for now; nothing here
 * starts or stops a qube. */
#ifndef BH_DAEMON_ADMIN_H
#define BH_DAEMON_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/admin/admin_reply.h"
#include "proto/frame.h"

struct client;
struct daemon;
struct store;

/* Handles one call (an ADMIN_CALL payload) on store s, whose state folder
 * is state_dir, and fills r. Returns the status: 0, or a bh exit code (enum
 * bh_admin_status) with r's text the message for the user. Needs no
 * daemon, so unit tests call it directly. */
unsigned admin_call(struct store *s, const char *state_dir,
		    const uint8_t *payload, uint32_t len,
		    struct admin_reply *r);

/* Handles one call from client c and queues exactly one reply to it:
 * at once, or when the jobs the call started have ended (admin_job.c). */
void admin_dispatch(struct daemon *d, struct client *c,
		    const uint8_t *payload, uint32_t len);

/* Client c is going: the job its call waits for, if any, is cancelled,
 * and the call ends without a reply. */
void admin_task_client_gone(struct client *c);

#endif
