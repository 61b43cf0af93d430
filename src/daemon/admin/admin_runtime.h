/* Admin calls on the running daemon rather than on the store: a qube's
 * console (admin.vm.Console), the daemon's log (admin.Log) and the event
 * stream (admin.Events). */
#ifndef BH_DAEMON_ADMIN_RUNTIME_H
#define BH_DAEMON_ADMIN_RUNTIME_H

#include <stdint.h>

#include "daemon/core/daemon.h"

/* Default and largest line counts of admin.vm.Console and admin.Log. */
#define RUNTIME_LINES_DEFAULT 50
#define RUNTIME_LINES_MAX 1000

/* admin.vm.Console, admin.Log and admin.Events are handlers of the
 * admin method table (admin_handlers.h). */

/* The last `lines` lines of the file at path that contain needle (all
 * lines when needle is NULL or empty), control characters escaped as in
 * tail_escaped(); whole lines only, as many of the newest as fit in cap.
 * Returns 0 or -errno (the file cannot be read). */
int log_tail_filtered(const char *path, const char *needle, int lines,
		      char *out, size_t cap);

#endif
