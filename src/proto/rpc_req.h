/* The two requests of the RPC system (the role of Qubes' qrexec).
 *
 * Call request, payload of BH_MSG_CALL (guest → host): a process in the
 * qube asks for SERVICE[+ARG] in TARGET.
 *
 *   TARGET NUL SERVICE[+ARG] NUL          nothing after the last NUL
 *
 * Service request, payload of BH_MSG_SERVICE (host → guest): run SERVICE
 * for a caller the daemon names (the caller never names itself).
 *
 *   SERVICE NUL ARG NUL SOURCE NUL USER NUL   ARG and USER may be empty
 *
 * Names follow Qubes: a service is [A-Za-z0-9._-]{1,64} starting with a
 * letter or digit (it becomes a file name in the target); an argument is
 * [A-Za-z0-9+._-]{0,255} and does not start with '-' (the service gets it
 * as argv[1], where it would be an option); a target is a qube name, "dom0", "@adminvm",
 * "@default", "@dispvm" or "@dispvm:NAME", and as in Qubes a qube may be
 * named "uuid:UUID" there (also "@dispvm:uuid:UUID"), UUID 8-4-4-4-12
 * lowercase hex digits; a qube name is
 * [A-Za-z][A-Za-z0-9_.-]{0,30}; a user is [a-z_][a-z0-9_-]{0,31}. The
 * parsers check every byte and never trust a length they did not
 * measure. */
#ifndef BH_PROTO_RPC_REQ_H
#define BH_PROTO_RPC_REQ_H

#include <stddef.h>
#include <stdint.h>

#define BH_RPC_SERVICE_MAX 64
#define BH_RPC_ARG_MAX 255
#define BH_RPC_QUBE_MAX 31
#define BH_RPC_UUID_LEN 36 /* a uuid's text, 8-4-4-4-12 */
/* The longest target: "@dispvm:uuid:" and a uuid ("@dispvm:" and a
 * name is shorter). */
#define BH_RPC_TARGET_MAX (13 + BH_RPC_UUID_LEN)
#define BH_RPC_USER_MAX 32

struct bh_call_req {
	char target[BH_RPC_TARGET_MAX + 1];
	char service[BH_RPC_SERVICE_MAX + 1];
	char arg[BH_RPC_ARG_MAX + 1];
	int has_arg; /* "svc+" (empty argument) differs from "svc" */
};

struct bh_service_req {
	char service[BH_RPC_SERVICE_MAX + 1];
	char arg[BH_RPC_ARG_MAX + 1];
	char source[BH_RPC_QUBE_MAX + 1];
	char user[BH_RPC_USER_MAX + 1];
};

/* Syntax checks of one field (len bytes, no NUL needed). 1 = valid. */
int bh_rpc_service_ok(const char *s, size_t len);
int bh_rpc_arg_ok(const char *s, size_t len);
int bh_rpc_qube_ok(const char *s, size_t len);
int bh_rpc_target_ok(const char *s, size_t len);
int bh_rpc_user_ok(const char *s, size_t len);

/* Splits "SERVICE[+ARG]" (NUL-terminated) into out's service and arg.
 * Returns 0 or -EINVAL. */
int bh_rpc_split_service(const char *svc_arg, struct bh_call_req *out);

/* Parses a call request. Returns 0, or -EPROTO (out then holds nothing
 * meaningful). */
int bh_call_req_parse(const uint8_t *untrusted_buf, size_t len,
		      struct bh_call_req *out);
/* Encodes target and "SERVICE[+ARG]" into out. Returns the length, or
 * -EINVAL (a field breaks its syntax) / -E2BIG (cap too small). */
int bh_call_req_encode(uint8_t *out, size_t cap, const char *target,
		       const char *svc_arg);

int bh_service_req_parse(const uint8_t *untrusted_buf, size_t len,
			 struct bh_service_req *out);
int bh_service_req_encode(uint8_t *out, size_t cap,
			  const struct bh_service_req *req);

#endif
