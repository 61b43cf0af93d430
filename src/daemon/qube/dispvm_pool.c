/* Preloaded disposables: see dispvm_pool.h. */
#include "daemon/qube/dispvm_pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/qube/qube_vm.h"
#include "daemon/qube/dispvm_new.h"
#include "daemon/qube/dispvm_snapshot.h"
#include "daemon/store/store.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/frame.h"


/* The feature preload-dispvm-max of dvm, bounded; 0 when unset, invalid
 * or for the minimal template (it has no qube to carry the feature). */
static unsigned wanted(struct daemon *d, const char *dvm)
{
	char v[32], err[STORE_ERR_MAX], *end;
	unsigned long n;

	if (!dvm[0] || !d->store ||
	    store_feature_get(d->store, dvm, "preload-dispvm-max", v,
			      sizeof(v), err, sizeof(err)) < 0)
		return 0;
	n = strtoul(v, &end, 10);
	if (!v[0] || *end || n > POOL_MAX) {
		LOG_WARN("%s: feature preload-dispvm-max must be 0 to %u; no "
			 "preloading",
			 dvm, POOL_MAX);
		return 0;
	}
	return (unsigned)n;
}

static int member_of(const struct qube_vm *dv, const char *dvm)
{
	return dv->pooled && qube_vm_live(dv) && dv->state != DV_STOPPING &&
	       !strcmp(dv->dvm, dvm);
}

void pool_refill(struct daemon *d, const char *dvm)
{
	unsigned want, have = 0;
	struct qube_vm *dv;
	char err[2048];
	int code;

	if (d->stopping)
		return;
	want = wanted(d, dvm);
	for (dv = d->qubes; dv; dv = dv->next) {
		if (!member_of(dv, dvm))
			continue;
		if (have < want) {
			have++;
			continue;
		}
		/* The feature went down: fewer are wanted now. */
		LOG_INFO("%s: no longer preloaded for %s", dv->name, dvm);
		dv->no_fallback = 1;
		qube_vm_kill(dv);
	}
	for (; have < want; have++) {
		if (!dispvm_new(d, dvm, 1, &code, err, sizeof(err))) {
			LOG_INFO("%s: not preloading: %s", dvm, err);
			return;
		}
	}
}

/* Destroys every preloaded qube of dvm: their snapshot is stale. */
static void drop_all(struct daemon *d, const char *dvm)
{
	struct qube_vm *dv;

	for (dv = d->qubes; dv; dv = dv->next)
		if (member_of(dv, dvm)) {
			dv->no_fallback = 1;
			qube_vm_kill(dv);
		}
}

struct qube_vm *pool_take(struct daemon *d, const char *dvm)
{
	struct qube_vm *dv, *found = NULL;
	char *now;

	for (dv = d->qubes; dv && !found; dv = dv->next)
		if (member_of(dv, dvm) && dv->pooled == 2 && dv->snap_manifest)
			found = dv;
	if (!found)
		return NULL;
	now = malloc(SNAPSHOT_MANIFEST_MAX);
	if (!now ||
	    dispvm_snapshot_inputs(d, dvm, now, SNAPSHOT_MANIFEST_MAX) < 0 ||
	    strcmp(now, found->snap_manifest)) {
		LOG_INFO("%s: preloaded disposables are stale (their template, "
			 "kernel or QEMU changed); destroying them",
			 dvm);
		free(now);
		drop_all(d, dvm);
		return NULL;
	}
	free(now);
	/* It was paused at its HELLO; RESUME sets the clock that stood
	 * still meanwhile, reseeds again and answers HELLO once more. */
	found->pooled = 0;
	found->started_ms = bh_now_ms();
	found->deadline_ms = found->started_ms + d->boot_timeout_ms;
	if (snapshot_resume(found, 0) < 0) {
		found->no_fallback = 1;
		qube_vm_kill(found);
		return NULL;
	}
	LOG_INFO("%s: handed out from %s's preloaded disposables", found->name,
		 dvm);
	return found;
}

int pool_on_hello(struct qube_vm *dv)
{
	if (dv->pooled != 1)
		return 0;
	if (qmp_command(&dv->qmp, "stop") < 0) {
		dv->no_fallback = 1;
		qube_vm_kill(dv);
		return 1;
	}
	dv->pooled = 2;
	dv->deadline_ms = 0; /* paused: it waits for a request */
	LOG_INFO("%s: preloaded for %s in %lld ms (restored, warmed, paused)",
		 dv->name, dv->dvm, (long long)(bh_now_ms() - dv->started_ms));
	return 1;
}
