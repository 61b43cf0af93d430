#include "cli/admin_client.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
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

/* The progress line of a job of qube `subject` (admin_once_progress). */
struct progress {
	struct bh_chan ev;
	const char *verb, *subject;
	int shown;
};

/* "job-progress" NUL SUBJECT NUL job=.. op=.. step=S done=D total=T. */
static void progress_event(struct progress *pg, const uint8_t *p, uint32_t len)
{
	const char *s = (const char *)p, *end = s + len, *step = "";
	unsigned long long done = 0, total = 0;
	int field = 0, match = 0;

	if (len == 0 || p[len - 1] != '\0')
		return;
	for (; s < end; s += strlen(s) + 1, field++) {
		if (field == 0 && strcmp(s, "job-progress"))
			return;
		if (field == 1)
			match = !strcmp(s, pg->subject);
		else if (!strncmp(s, "step=", 5))
			step = s + 5;
		else if (!strncmp(s, "done=", 5))
			done = strtoull(s + 5, NULL, 10);
		else if (!strncmp(s, "total=", 6))
			total = strtoull(s + 6, NULL, 10);
	}
	if (!match || total == 0)
		return;
	if (!strcmp(step, "copy") || !strcmp(step, "hash"))
		fprintf(stderr, "\r%s: %s %s: %3llu%% (%llu of %llu MiB)\033[K",
			pg->verb, pg->subject,
			!strcmp(step, "copy") ? "copying" : "hashing",
			done * 100 / total, done >> 20, (total + (1 << 20) - 1) >> 20);
	else
		fprintf(stderr, "\r%s: %s: %s\033[K", pg->verb, pg->subject,
			!strcmp(step, "mke2fs")	    ? "making the file system"
			: !strcmp(step, "e2fsck")    ? "checking the file system"
			: !strcmp(step, "resize2fs") ? "growing the file system"
						     : step);
	fflush(stderr);
	pg->shown = 1;
}

/* Reads what the events connection has; a broken one is closed (the
 * call goes on without progress). */
static void progress_input(struct progress *pg)
{
	struct bh_frame_hdr h;
	const uint8_t *p;
	long got = bh_chan_read(&pg->ev);
	int r;

	while ((r = bh_chan_next(&pg->ev, &h, &p)) > 0)
		if (h.type == BH_MSG_ADMIN_EVENT)
			progress_event(pg, p, h.len);
	if (r < 0 || (got <= 0 && got != -EAGAIN && got != -EINTR)) {
		close(pg->ev.fd);
		bh_chan_free(&pg->ev);
		pg->ev.fd = -1;
	}
}

/* Waits until c is readable, showing the progress events meanwhile. */
static void wait_readable(struct admin_conn *c, struct progress *pg)
{
	struct pollfd p[2] = { { c->chan.fd, POLLIN, 0 },
			       { pg ? pg->ev.fd : -1, POLLIN, 0 } };

	while (pg && pg->ev.fd >= 0) {
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		if (p[1].revents)
			progress_input(pg);
		if (p[0].revents)
			return;
		p[1].fd = pg->ev.fd;
	}
}

static int request(struct admin_conn *c, const char *method, const char *dest,
		   const char *arg, const char *body, const char **text,
		   struct progress *pg);

int admin_request(struct admin_conn *c, const char *method, const char *dest,
		  const char *arg, const char *body, const char **text)
{
	return request(c, method, dest, arg, body, text, NULL);
}

static int request(struct admin_conn *c, const char *method, const char *dest,
		   const char *arg, const char *body, const char **text,
		   struct progress *pg)
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
		long got;

		wait_readable(c, pg);
		got = bh_chan_read(&c->chan);

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

/* A subscription to admin.Events on a connection of its own; -1 when
 * there is none (progress is shown only when it can be). */
static int events_open(struct bh_chan *ch)
{
	static uint8_t call[256];
	struct bh_frame_hdr h = { 0 };
	const uint8_t *p;
	int fd = daemon_connect(), n;

	if (fd < 0)
		return -1;
	bh_chan_init(ch, fd, 2 * BH_FRAME_MAX_PAYLOAD);
	n = bh_admin_call_encode(call, sizeof(call), "admin.Events", "", "",
				 NULL, 0);
	if (n < 0 ||
	    bh_chan_send(ch, BH_MSG_ADMIN_CALL, 0, call, (uint32_t)n) < 0 ||
	    bh_chan_flush_all(ch) < 0 || bh_chan_wait_next(ch, &h, &p) < 0 ||
	    h.type != BH_MSG_ADMIN_REPLY || h.len < 4 || bh_get_u32(p) != 0) {
		close(fd);
		bh_chan_free(ch);
		return -1;
	}
	return 0;
}

int admin_once_progress(const char *verb, const char *method,
			const char *dest, const char *arg, const char *body,
			int show, const char *subject)
{
	struct progress pg = { .verb = verb, .subject = subject };
	const char *text;
	struct admin_conn *c;
	int st, on;

	/* A line rewritten in place is for people; scripts get none. */
	if (!isatty(2) || getenv("BH_NO_PROGRESS"))
		return admin_once(verb, method, dest, arg, body, show);
	if (!(c = admin_open(&st)))
		return st;
	on = events_open(&pg.ev) == 0;
	if (!on)
		pg.ev.fd = -1;
	st = request(c, method, dest, arg, body, &text, on ? &pg : NULL);
	if (pg.shown)
		fputs("\r\033[K", stderr);
	if (st && text[0])
		cli_err("%s: %s", verb, text);
	if (st == 0 && show && text[0])
		fputs(text, stdout);
	if (pg.ev.fd >= 0) {
		close(pg.ev.fd);
		bh_chan_free(&pg.ev);
	}
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
