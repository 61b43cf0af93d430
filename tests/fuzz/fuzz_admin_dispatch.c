/* libFuzzer target: whole admin calls against a real store (a SQLite file
 * in a temporary folder made once per process): the call parser, every
 * handler's argument and body parsing (the create body's NAME=VALUE list
 * with %XX escapes included) and the store's validation. Invariants: the
 * status is one of the documented ones and the reply text fits. The store
 * keeps what earlier inputs created, as a daemon would. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "daemon/admin/admin.h"
#include "daemon/store/store.h"
#include "daemon/state/store_boot.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/exitcodes.h"

static struct store *store;
static char dir[] = "/tmp/bh-fuzz-admin-XXXXXX";

static void remove_dir(void)
{
	if (store)
		store_close(store);
	bh_rm_rf(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];

	(void)argc;
	(void)argv;
	bh_log_set_level(BH_LOG_ERR);
	CHECK(mkdtemp(dir) != NULL);
	atexit(remove_dir);
	if (store_boot(dir, &store, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_admin_dispatch: %s\n", err);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct admin_reply r;
	unsigned st;

	if (size > 4096)
		return 0;
	r.len = 0;
	r.overflow = 0;
	r.text[0] = '\0';
	st = admin_call(store, dir, data, (uint32_t)size, &r);
	CHECK(st <= BH_ADMIN_NOSUCH);
	CHECK(r.len <= ADMIN_REPLY_MAX);
	return 0;
}
