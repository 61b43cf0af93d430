#include "daemon/core/events.h"

#include <stdio.h>
#include <string.h>

#include "daemon/core/client_send.h"
#include "daemon/store/store.h"
#include "lib/log.h"
#include "proto/admin.h"

/* Appends s and a NUL; 0, or -1 when it does not fit. */
static int put(uint8_t *p, size_t cap, size_t *len, const char *key,
	       const char *s)
{
	int n = snprintf((char *)p + *len, cap - *len, "%s%s", key, s);

	if (n < 0 || (size_t)n + 1 > cap - *len)
		return -1;
	*len += (size_t)n + 1;
	return 0;
}

void events_emit(struct daemon *d, const char *event, const char *subject,
		 const char *state, const char *reason)
{
	char s[1024], r[1024];
	const char *fields[3];
	size_t n = 0;

	if (state) {
		snprintf(s, sizeof(s), "state=%s", state);
		fields[n++] = s;
	}
	if (reason) {
		snprintf(r, sizeof(r), "reason=%s", reason);
		fields[n++] = r;
	}
	fields[n] = NULL;
	events_emit_fields(d, event, subject, fields);
}

void events_emit_fields(struct daemon *d, const char *event,
			const char *subject, const char *const *fields)
{
	uint8_t p[4096];
	size_t len = 0;
	struct client *c;
	int bad = 0;

	if (!d || !event)
		return;
	bad = put(p, sizeof(p), &len, "", event) ||
	      put(p, sizeof(p), &len, "", subject ? subject : "");
	for (; !bad && fields && *fields; fields++)
		bad = put(p, sizeof(p), &len, "", *fields);
	if (bad) {
		LOG_WARN("event %s of %s is too long; not sent", event,
			 subject ? subject : "");
		return;
	}
	for (c = d->clients; c; c = c->next) {
		if (!c->subscriber || c->closing)
			continue;
		if (bh_chan_pending(&c->chan) > CLIENT_OUT_MAX / 2 ||
		    bh_chan_send(&c->chan, BH_MSG_ADMIN_EVENT, 0, p,
				 (uint32_t)len) < 0) {
			LOG_WARN("event subscriber does not read its events; "
				 "dropping it");
			d->hooks->client_drop(c);
		}
	}
}

const char *events_power_event(struct daemon *d, const char *name,
			       const char *state, const char *reason)
{
	char err[STORE_ERR_MAX];
	struct qube_info q;

	if (!strcmp(state, "Halted"))
		return "domain-shutdown";
	if (!strcmp(state, "Paused"))
		return "domain-paused";
	if (!strcmp(state, "Transient"))
		return strcmp(reason, "starting") ? "domain-pre-shutdown"
						  : "domain-pre-start";
	if (!strcmp(state, "Running"))
		return store_qube_get(d->store, name, &q, err, sizeof(err)) ==
				       0 &&
			       !strcmp(q.power_state, "Paused")
			       ? "domain-unpaused"
			       : "domain-start";
	return NULL;
}
