#include "cli/admin_client.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "proto/admin.h"
#include "proto/chan.h"
#include "proto/exitcodes.h"

struct admin_conn {
	struct bh_chan chan;
	uint8_t call[BH_FRAME_MAX_PAYLOAD];
	char text[BH_FRAME_MAX_PAYLOAD + 1];
};

struct admin_conn *admin_open(int *status)
{
	struct admin_conn *c;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	fd = daemon_connect();
	if (fd < 0) {
		*status = -fd;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		cli_err("out of memory");
		*status = BH_ADMIN_FAILED;
		return NULL;
	}
	bh_chan_init(&c->chan, fd, 2 * BH_FRAME_MAX_PAYLOAD);
	return c;
}

void admin_close(struct admin_conn *c)
{
	if (!c)
		return;
	close(c->chan.fd);
	bh_chan_free(&c->chan);
	free(c);
}

static int lost(const char *why)
{
	cli_err("%s", why);
	return BH_ADMIN_FAILED;
}

int admin_request(struct admin_conn *c, const char *method, const char *dest,
		  const char *arg, const char *body, const char **text)
{
	struct bh_frame_hdr h;
	const uint8_t *p;
	uint32_t st;
	int n, r;

	*text = c->text;
	c->text[0] = '\0';
	n = bh_admin_call_encode(c->call, sizeof(c->call), method, dest, arg, body,
				 body ? strlen(body) : 0);
	if (n < 0) {
		snprintf(c->text, sizeof(c->text), "%s",
			 n == -E2BIG ? "the value is too long"
				     : "a qube, property, feature or tag name "
				       "is not valid: names are letters, "
				       "digits and _ . -");
		return BH_ADMIN_INVALID;
	}
	if (bh_chan_send(&c->chan, BH_MSG_ADMIN_CALL, 0, c->call, (uint32_t)n) <
		    0 ||
	    bh_chan_flush_all(&c->chan) < 0)
		return lost("lost the connection to bulkheadd");
	while ((r = bh_chan_next(&c->chan, &h, &p)) == 0) {
		long got = bh_chan_read(&c->chan);

		if (got <= 0 && got != -EAGAIN && got != -EINTR)
			return lost("lost the connection to bulkheadd "
				    "before its reply; see its log");
	}
	if (r < 0 || h.len < 4 ||
	    (h.type != BH_MSG_ADMIN_REPLY && h.type != BH_MSG_ERROR))
		return lost("bad reply from bulkheadd");
	st = bh_get_u32(p);
	memcpy(c->text, p + 4, h.len - 4);
	c->text[h.len - 4] = '\0';
	if (h.type == BH_MSG_ERROR || st > BH_ADMIN_NOSUCH)
		return st == BH_EXIT_NODAEMON ? BH_EXIT_NODAEMON
					      : BH_ADMIN_FAILED;
	return (int)st;
}

int admin_do(struct admin_conn *c, const char *verb, const char *method,
	     const char *dest, const char *arg, const char *body,
	     const char **text)
{
	int st = admin_request(c, method, dest, arg, body, text);

	if (st && (*text)[0])
		cli_err("%s: %s", verb, *text);
	return st;
}

int admin_once(const char *verb, const char *method, const char *dest,
	       const char *arg, const char *body, int show)
{
	const char *text;
	int st;
	struct admin_conn *c = admin_open(&st);

	if (!c)
		return st;
	st = admin_do(c, verb, method, dest, arg, body, &text);
	if (st == 0 && show && text[0])
		fputs(text, stdout);
	admin_close(c);
	return st;
}

int admin_fetch(const char *verb, const char *method, const char *dest,
		const char *arg, char **copy)
{
	const char *text;
	int st;
	struct admin_conn *c = admin_open(&st);

	*copy = NULL;
	if (!c)
		return st;
	st = admin_do(c, verb, method, dest, arg, NULL, &text);
	if (st == 0 && !(*copy = strdup(text))) {
		cli_err("out of memory");
		st = BH_ADMIN_FAILED;
	}
	admin_close(c);
	return st;
}

void cli_record_exit_help(FILE *f)
{
	fprintf(f, "Exit status: 0 success, 1 failure, 2 usage or invalid "
		   "value (bad name,\nunknown property, wrong type, missing "
		   "template, memory over the host's),\n3 refused (duplicate "
		   "name, qube in use or running, built-in qube),\n4 no such "
		   "qube, feature or tag; 120 bad BULKHEAD_ROOT, 121 daemon\n"
		   "unreachable. See bh(1).\n");
}
