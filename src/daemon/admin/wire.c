/* The daemon's hooks (core/daemon.h): the functions of the higher
 * layers that the lower ones call. */
#include "daemon/admin/wire.h"

#include "daemon/admin/client.h"
#include "daemon/qube/dispvm_new.h"
#include "daemon/qube/dispvm_pool.h"
#include "daemon/qube/dispvm_snapshot.h"
#include "daemon/qube/disposable.h"
#include "daemon/qube/qube_power.h"
#include "daemon/qube/qube_run.h"
#include "daemon/rpc/rpc.h"
#include "daemon/rpc/rpc_ask.h"

const struct daemon_hooks daemon_hooks = {
	.client_drop = client_drop,
	.qube_ready = qube_ready,
	.qube_stopped = qube_stopped,
	.disposable_start_job = disposable_start_job,
	.disposable_job_done = disposable_job_done,
	.disposable_relaunch_cold = disposable_relaunch_cold,
	.pool_on_hello = pool_on_hello,
	.snapshot_on_hello = snapshot_on_hello,
	.snapshot_qmp_event = snapshot_qmp_event,
	.snapshot_fallback = snapshot_fallback,
	.snapshot_cleanup_stale = snapshot_cleanup_stale,
	.rpc_call_opened = rpc_call_opened,
	.rpc_target_ready = rpc_target_ready,
	.rpc_ask_caller_gone = rpc_ask_caller_gone,
	.rpc_ask = rpc_ask,
	.pool_refill = pool_refill,
	.qube_run_ready = qube_run_ready,
	.qube_run_failed = qube_run_failed,
	.qube_run_client_gone = qube_run_client_gone,
};
