/* The state store as the daemon opens it at start-up: the database file,
 * the host's limits, power states reset, the built-in template recorded,
 * the qubes' volumes reconciled with their records. */
#ifndef BH_DAEMON_STORE_BOOT_H
#define BH_DAEMON_STORE_BOOT_H

#include <stddef.h>

#include "daemon/state/qube_paths.h"
#include "daemon/store/store.h"

#define STORE_FILE "bulkhead.db"
/* A restarted daemon stops the qubes of the one that died
 * (leftover_qemu.h) rather than re-attaching to them. */
#define RESTART_REASON "bulkheadd restarted"

/* Opens STATE_DIR/bulkhead.db, sets the host's limits, marks every qube
 * Halted, records the built-in template when it is missing, and checks
 * the qubes' folders against the records (volumes_boot.h). Returns 0
 * or a negative errno with a message in err. */
int store_boot(const char *state_dir, struct store **out, char *err,
	       size_t cap);

#endif
