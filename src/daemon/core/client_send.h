/* What any layer may do to a bh client (a connection on the admin
 * socket): queue an error or an admin reply for it. Its life (accept,
 * reading, dispatch, dropping it) is the admin socket's (admin/client.h,
 * the top layer); layers below reach that through the daemon's hooks
 * (daemon.h). */
#ifndef BH_DAEMON_CORE_CLIENT_SEND_H
#define BH_DAEMON_CORE_CLIENT_SEND_H

#include "daemon/core/daemon.h"

/* An admin reply's text: a frame's payload minus the u32 status. */
#define ADMIN_REPLY_MAX (BH_FRAME_MAX_PAYLOAD - 4u)

/* Admin peers are trusted (root or the bulkhead group), but a stuck one
 * must not make the daemon buffer without end. */
#define CLIENT_OUT_MAX (2u * BH_STREAM_WINDOW + 4u * BH_FRAME_MAX_PAYLOAD)

/* Queues an ERROR (bh's exit code + message) and closes after it. */
void client_error(struct client *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The one builder of admin replies (admin.h's, and those of any layer
 * that come later): queues a BH_MSG_ADMIN_REPLY frame, u32 status then
 * text, to c; a client that does not read its replies is dropped (the
 * client_drop hook). admin_send_replyf formats a message (at most 3071
 * bytes) for a reply that comes later; with c NULL
 * (nobody waits: autostart) a failure is logged instead. */
void admin_send_text(struct client *c, unsigned status, const char *text,
		     size_t len);
void admin_send_replyf(struct client *c, unsigned status, const char *fmt,
		       ...) __attribute__((format(printf, 3, 4)));

#endif
