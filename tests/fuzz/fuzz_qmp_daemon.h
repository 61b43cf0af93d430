/* The daemon's side of QMP as the QMP fuzz targets (fuzz_qmp_line,
 * fuzz_qmp_rec) set it up: a struct qmp of a qube with no data ports,
 * whose data-port callbacks check what reaches them (a tag is non-zero
 * and comes in READY; a device id passes qmp_name_ok and goes through
 * dataport_qmp_deleted, which must find no port). Each target is one
 * translation unit: everything here is static. */
#ifndef BH_TESTS_FUZZ_QMP_DAEMON_H
#define BH_TESTS_FUZZ_QMP_DAEMON_H

#include "daemon/core/daemon.h"
#include "daemon/engine/qmp.h"
#include "daemon/relay/dataport.h"

#include "fuzz_common.h"

static struct qmp q;
static struct daemon dmn;
static struct qube_vm dv;

NO_COVERAGE
static void on_reply(void *ctx, uint32_t tag, int ok)
{
	CHECK(ctx == &dv);
	CHECK(tag != 0);
	CHECK(ok == 0 || ok == 1);
	CHECK(q.state == QMP_READY);
	dataport_qmp_reply(ctx, tag, ok);
}

NO_COVERAGE
static void on_deleted(void *ctx, const char *id)
{
	CHECK(ctx == &dv);
	CHECK(qmp_name_ok(id));
	CHECK(q.state == QMP_READY);
	dataport_qmp_deleted(ctx, id);
	CHECK(dmn.dataports == NULL);
}

/* q on fd (the daemon's end of a QMP link), with the callbacks above. */
static inline void fuzz_qmp_daemon_init(int fd)
{
	qmp_init(&q, fd);
	q.on_reply = on_reply;
	q.on_device_deleted = on_deleted;
	q.ctx = &dv;
	dv.d = &dmn;
}

#endif
