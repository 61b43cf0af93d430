#include "daemon/core/client_send.h"

#include <stdarg.h>
#include <stdio.h>

#include "lib/util.h"
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
