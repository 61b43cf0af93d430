/* A bh connection on the admin socket: accepting it, reading and writing
 * its frames, and its end (client.h). What a frame asks for is
 * client_route.c's. */
#include "daemon/admin/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/admin/admin.h"
#include "daemon/admin/client_route.h"
#include "daemon/qube/qube_vm_chan.h"
#include "daemon/qube/qube_power.h"
#include "daemon/rpc/rpc_ask.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/exitcodes.h"

void client_accept(struct daemon *d)
{
	struct client *c;
	int fd = accept4(d->listen_fd, NULL, NULL,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->d = d;
	bh_chan_init(&c->chan, fd, CLIENT_OUT_MAX);
	c->next = d->clients;
	d->clients = c;
}

/* The client's run or call ends with it (a disposable goes too). */
static void forget_qube(struct client *c)
{
	admin_task_client_gone(c);
	if (c->dv)
		qube_vm_client_gone(c->dv, c);
	c->dv = NULL;
	c->sid = 0;
	free(c->svc);
	c->svc = NULL;
	if (c->ask_agent)
		rpc_ask_agent_gone(c->d, c);
	c->ask_agent = 0;
}

/* The connection is unusable: forget it; its qube, if any, goes too. */
void client_drop(struct client *c)
{
	qube_client_gone(c->d, c);
	forget_qube(c);
	c->closing = 2; /* close now, without flushing */
}

/* One frame: routed by its kind (client_route.c); one that fits no
 * route ends the connection's run and the connection. */
static void handle_frame(struct client *c, const struct bh_frame_hdr *h,
			 const uint8_t *payload)
{
	if (client_route_frame(c, h, payload) == 0)
		return;
	LOG_WARN("admin client sent an unexpected frame (type %u)", h->type);
	forget_qube(c);
	client_error(c, BH_EXIT_FAILURE, "protocol error on the admin socket");
}

void client_process(struct client *c)
{
	struct bh_frame_hdr h;
	const uint8_t *payload;
	int r;

	/* Frames behind a run request (the command's stdin) wait in the
	 * buffer while its qube boots: the stream does not exist yet. */
	while (!(c->dv && !c->sid) && !c->run_wait && !c->task &&
	       c->closing != 2 &&
	       (r = bh_chan_next(&c->chan, &h, &payload)) != 0) {
		if (r < 0) {
			client_drop(c);
			return;
		}
		handle_frame(c, &h, payload);
	}
}

void client_input(struct client *c)
{
	long n = bh_chan_read(&c->chan);

	if (n == 0 || (n < 0 && n != -EAGAIN && n != -ENOBUFS)) {
		client_drop(c);
		return;
	}
	client_process(c);
}

void client_output(struct client *c)
{
	if (bh_chan_flush(&c->chan) < 0)
		client_drop(c);
}

void client_reap_closed(struct daemon *d)
{
	struct client **pp = &d->clients;

	while (*pp) {
		struct client *c = *pp;

		if (c->closing == 2 ||
		    (c->closing == 1 && bh_chan_pending(&c->chan) == 0)) {
			forget_qube(c);
			qube_client_gone(d, c);
			*pp = c->next;
			close(c->chan.fd);
			bh_chan_free(&c->chan);
			free(c);
			continue;
		}
		pp = &c->next;
	}
}
