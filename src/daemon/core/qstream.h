/* The stream table of a running qube (struct qube_vm's streams, core/
 * daemon.h): finding a stream and taking a slot, for the relay (chan/
 * streams.h), the direct data ports (chan/dataport.h) and RPC routing
 * alike. */
#ifndef BH_DAEMON_CORE_QSTREAM_H
#define BH_DAEMON_CORE_QSTREAM_H

#include <stdint.h>

#include "daemon/core/daemon.h"

/* The live stream id of dv; NULL when there is none (or id is 0). */
struct qstream *qs_find(struct qube_vm *dv, uint32_t id);
/* A new stream id of the host's on dv (never 0, never the guest bit). */
uint32_t qs_next_host_id(struct qube_vm *dv);
/* Takes a slot for id. NULL when id is live already or the table is
 * full. */
struct qstream *qs_new(struct qube_vm *dv, uint32_t id, enum qstream_role role);

#endif
