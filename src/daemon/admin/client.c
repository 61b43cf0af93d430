#include "daemon/admin/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/admin/admin.h"
#include "daemon/qube/disposable.h"
#include "daemon/qube/dispvm.h"
#include "daemon/store/qube_name.h"
#include "daemon/qube/qube_power.h"
#include "daemon/qube/qube_run.h"
#include "daemon/rpc/rpc.h"
#include "daemon/rpc/rpc_ask.h"
#include "daemon/relay/streams.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/admin.h"
#include "proto/exec_req.h"
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
		dispvm_client_gone(c->dv, c);
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

static void handle_frame(struct client *c, const struct bh_frame_hdr *h,
			 const uint8_t *payload)
{
	struct bh_exec_req req;

	if (c->closing)
		return;
	/* A subscriber only reads events: every call after admin.Events,
	 * whatever its kind (admin.vm.Start, a run request ...), is refused
	 * here, before any dispatcher sees it. */
	if (c->subscriber) {
		client_error(c, BH_ADMIN_INVALID,
			     "this connection receives events (admin.Events) "
			     "and takes no more calls; make them on another "
			     "connection");
		return;
	}
	if (h->type == BH_MSG_RUN_DISPVM && !c->dv) {
		if (bh_exec_req_parse(payload, h->len, &req) < 0) {
			client_error(c, BH_EXIT_USAGE,
				     "malformed run request");
			return;
		}
		bh_exec_req_free(&req);
		dispvm_start(c->d, c, NULL, payload, h->len);
		return;
	}
	if (h->type == BH_MSG_RUN_DISPVM_FROM && !c->dv) {
		const uint8_t *nul = memchr(payload, '\0', h->len);
		size_t n = nul ? (size_t)(nul - payload) : 0;
		char dvm[QUBE_NAME_MAX + 1];

		if (!nul || n == 0 || n > QUBE_NAME_MAX ||
		    bh_exec_req_parse(nul + 1, h->len - (uint32_t)n - 1,
				      &req) < 0) {
			client_error(c, BH_EXIT_USAGE,
				     "malformed run request");
			return;
		}
		bh_exec_req_free(&req);
		memcpy(dvm, payload, n + 1);
		dispvm_start(c->d, c, dvm, nul + 1, h->len - (uint32_t)n - 1);
		return;
	}
	if ((h->type == BH_MSG_RUN_QUBE || h->type == BH_MSG_RUN_QUBE_NOSTART) &&
	    !c->dv) {
		qube_run(c->d, c, payload, h->len,
			 h->type == BH_MSG_RUN_QUBE);
		return;
	}
	if (h->type == BH_MSG_RUN_SERVICE && !c->dv) {
		rpc_run_service(c->d, c, payload, h->len);
		return;
	}
	/* One reply per call; the connection stays open for more. */
	if (h->type == BH_MSG_ADMIN_CALL && !c->dv) {
		admin_dispatch(c->d, c, payload, h->len); /* admin.c */
		return;
	}
	if (c->dv && qs_client_frame(c, h, payload) == 0)
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
