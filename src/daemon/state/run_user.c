/* The account of a bh run command (see run_user.h). */
#include "daemon/state/run_user.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/store/props.h"
#include "daemon/store/store.h"
#include "daemon/state/qube_paths.h"
#include "proto/exec_req.h"
#include "proto/exitcodes.h"
#include "proto/frame.h"

/* Qubes' default when nothing says otherwise (a daemon without a state
 * database, a minimal template without a record). */
#define RUN_USER_FALLBACK "user"

int run_user_of(struct daemon *d, const char *qube, char *out, size_t cap,
		char *err, size_t ecap)
{
	char serr[STORE_ERR_MAX];
	const char *name = qube[0] ? qube : BUILTIN_TEMPLATE;
	int is_default;

	if (!d->store || store_prop_get(d->store, name, "default_user", out,
					cap, &is_default, serr,
					sizeof(serr)) < 0) {
		if (qube[0]) {
			snprintf(err, ecap,
				 "cannot read the default_user of %s: %s",
				 qube, d->store ? serr : "no state database");
			return BH_EXIT_FAILURE;
		}
		snprintf(out, cap, "%s", RUN_USER_FALLBACK);
	}
	return 0;
}

int run_user_request(struct daemon *d, const char *qube, const uint8_t *req,
		     uint32_t len, uint8_t **out, uint32_t *out_len, char *err,
		     size_t cap)
{
	char user[PROP_VALUE_MAX + 1];
	uint8_t *buf;
	int n;

	n = run_user_of(d, qube, user, sizeof(user), err, cap);
	if (n)
		return n;
	buf = malloc(BH_FRAME_MAX_PAYLOAD);
	if (!buf) {
		snprintf(err, cap, "out of memory");
		return BH_EXIT_FAILURE;
	}
	n = bh_exec_req_add_user(req, len, user, buf, BH_FRAME_MAX_PAYLOAD);
	if (n < 0) {
		free(buf);
		if (n == -E2BIG) {
			snprintf(err, cap,
				 "the command, its arguments and environment "
				 "leave no room for the user to run as "
				 "(BH_RUN_USER=%s); shorten them, or name the "
				 "user with --user",
				 user);
			return BH_EXIT_USAGE;
		}
		snprintf(err, cap, "%s",
			 n == -ENOMEM ? "out of memory"
				      : "malformed run request");
		return n == -ENOMEM ? BH_EXIT_FAILURE : BH_EXIT_USAGE;
	}
	*out = buf;
	*out_len = (uint32_t)n;
	return 0;
}
