/* Where a bh connection's frame goes (see client_route.h). */
#include "daemon/admin/client_route.h"

#include <errno.h>
#include <string.h>

#include "daemon/admin/admin.h"
#include "daemon/core/client_send.h"
#include "daemon/qube/disposable.h"
#include "daemon/qube/qube_run.h"
#include "daemon/relay/streams.h"
#include "daemon/rpc/rpc.h"
#include "daemon/store/qube_name.h"
#include "proto/admin.h"
#include "proto/exec_req.h"
#include "proto/exitcodes.h"

int client_route_frame(struct client *c, const struct bh_frame_hdr *h,
		       const uint8_t *payload)
{
	struct bh_exec_req req;

	if (c->closing)
		return 0;
	/* A subscriber only reads events: every call after admin.Events,
	 * whatever its kind (admin.vm.Start, a run request ...), is refused
	 * here, before any dispatcher sees it. */
	if (c->subscriber) {
		client_error(c, BH_ADMIN_INVALID,
			     "this connection receives events (admin.Events) "
			     "and takes no more calls; make them on another "
			     "connection");
		return 0;
	}
	if (h->type == BH_MSG_RUN_DISPVM && !c->dv) {
		if (bh_exec_req_parse(payload, h->len, &req) < 0) {
			client_error(c, BH_EXIT_USAGE,
				     "malformed run request");
			return 0;
		}
		bh_exec_req_free(&req);
		dispvm_start(c->d, c, NULL, payload, h->len);
		return 0;
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
			return 0;
		}
		bh_exec_req_free(&req);
		memcpy(dvm, payload, n + 1);
		dispvm_start(c->d, c, dvm, nul + 1, h->len - (uint32_t)n - 1);
		return 0;
	}
	if ((h->type == BH_MSG_RUN_QUBE || h->type == BH_MSG_RUN_QUBE_NOSTART) &&
	    !c->dv) {
		qube_run(c->d, c, payload, h->len,
			 h->type == BH_MSG_RUN_QUBE);
		return 0;
	}
	if (h->type == BH_MSG_RUN_SERVICE && !c->dv) {
		rpc_run_service(c->d, c, payload, h->len);
		return 0;
	}
	/* One reply per call; the connection stays open for more. */
	if (h->type == BH_MSG_ADMIN_CALL && !c->dv) {
		admin_dispatch(c->d, c, payload, h->len); /* admin.c */
		return 0;
	}
	if (c->dv && qs_client_frame(c, h, payload) == 0)
		return 0;
	return -EPROTO;
}

