#include "daemon/core/client_send.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "proto/admin.h"
#include "proto/exitcodes.h"
#include "proto/frame.h"

void client_error(struct client *c, int code, const char *fmt, ...)
{
	uint8_t p[4 + 3072];
	va_list ap;
	int n;

	bh_put_u32(p, (uint32_t)code);
	va_start(ap, fmt);
	n = vsnprintf((char *)p + 4, sizeof(p) - 4, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(p) - 5)
		n = (int)(sizeof(p) - 5);
	bh_chan_send(&c->chan, BH_MSG_ERROR, 0, p, 4 + (uint32_t)n);
	c->closing = 1;
}

void admin_send_text(struct client *c, unsigned st, const char *text,
		     size_t len)
{
	uint8_t *out;

	if (len > ADMIN_REPLY_MAX)
		len = ADMIN_REPLY_MAX;
	out = malloc(4 + len);
	if (!out) {
		client_error(c, BH_ADMIN_FAILED, "bulkheadd is out of memory");
		return;
	}
	if (st)
		LOG_DEBUG("admin call failed (%u): %.*s", st, (int)len, text);
	bh_put_u32(out, st);
	memcpy(out + 4, text, len);
	if (bh_chan_send(&c->chan, BH_MSG_ADMIN_REPLY, 0, out,
			 4 + (uint32_t)len) < 0) {
		/* The client does not read its replies: cut it off. */
		LOG_WARN("admin client does not read its replies; closing");
		c->d->hooks->client_drop(c);
	}
	free(out);
}

void admin_send_replyf(struct client *c, unsigned st, const char *fmt, ...)
{
	char msg[3072];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(msg) - 1)
		n = (int)(sizeof(msg) - 1);
	if (!c) { /* nobody waits (autostart): the log has it */
		if (st)
			LOG_WARN("%s", msg);
		return;
	}
	admin_send_text(c, st, msg, (size_t)n);
}
