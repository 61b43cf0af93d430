/* Which account a `bh run` command runs as, as Qubes' qvm-run: the one bh
 * names (--user, as BH_RUN_USER in the request), else the default_user
 * property of the qube it runs in; a disposable's is its disposable
 * template's (the property follows the template), and a disposable of
 * the minimal template has minimal's. Read at each run. */
#ifndef BH_DAEMON_RUN_USER_H
#define BH_DAEMON_RUN_USER_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/core/daemon.h"

/* The default_user of qube ("" = the minimal template) into out.
 * Returns 0, or a bh exit code with err set. */
int run_user_of(struct daemon *d, const char *qube, char *out, size_t cap,
		char *err, size_t ecap);

/* Copies the exec request req (len bytes, checked) into a malloc'd
 * *out, *out_len with the user added when bh named none. qube: the qube
 * the command runs in, or for a disposable its disposable template ("":
 * the minimal template). Returns 0, or a bh exit code with err set. */
int run_user_request(struct daemon *d, const char *qube, const uint8_t *req,
		     uint32_t len, uint8_t **out, uint32_t *out_len, char *err,
		     size_t cap);

#endif
