/* admin.Events: clients that subscribed get one BH_MSG_ADMIN_EVENT frame
 * per change of a qube (power state, creation, removal) and per step of
 * its long work (job.h), for the GUI and tray that come later and for
 * `bh events`. */
#ifndef BH_DAEMON_EVENTS_H
#define BH_DAEMON_EVENTS_H

#include "daemon/core/daemon.h"

/* Sends EVENT NUL SUBJECT NUL [state=STATE NUL] [reason=REASON NUL] to every
 * subscriber; state and reason may be NULL. A subscriber whose queue is
 * over CLIENT_OUT_MAX / 2 is dropped (it does not read). d may be NULL
 * (admin calls run without a daemon in unit tests): nothing is sent. */
void events_emit(struct daemon *d, const char *event, const char *subject,
		 const char *state, const char *reason);

/* The same with any fields: fields is a NULL-terminated list of
 * "key=value" strings (job events: job.h). */
void events_emit_fields(struct daemon *d, const char *event,
			const char *subject, const char *const *fields);

/* The event of a power change of qube name to state, as Qubes names them
 * (domain-pre-start, domain-start, domain-pre-shutdown, domain-shutdown,
 * domain-paused, domain-unpaused). Call it before the store records the
 * new state: Running after Paused is an unpause, otherwise a start. */
const char *events_power_event(struct daemon *d, const char *name,
			       const char *state, const char *reason);

#endif
