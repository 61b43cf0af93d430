/* The admin API on bulkheadd's socket: calls named like Qubes' Admin API
 * (admin.vm.List, admin.vm.property.Set, ...), one frame each way.
 *
 * BH_MSG_ADMIN_CALL payload:  METHOD NUL DEST NUL ARG NUL BODY
 *   METHOD  1..BH_ADMIN_METHOD_MAX of [A-Za-z0-9._]
 *   DEST    "" (the admin domain / global) or a qube name, [A-Za-z0-9_.-]
 *   ARG     0..BH_ADMIN_ARG_MAX of [A-Za-z0-9_.:+=-]
 *   BODY    the rest, any bytes (a property value, a feature value, ...)
 * BH_MSG_ADMIN_REPLY payload: u32 status, then text. Status 0 is success
 * and the text is the result (lines); any other status is the exit code
 * bh should return (enum bh_exitcode) and the text says why.
 *
 * Admin peers are root or the bulkhead group, so this is not a hostile
 * boundary like a qube channel; the parser still checks every byte, so that
 * a confused client gets an error, not undefined behaviour. */
#ifndef BH_PROTO_ADMIN_H
#define BH_PROTO_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#define BH_MSG_ADMIN_CALL 0x110u
#define BH_MSG_ADMIN_REPLY 0x111u
/* daemon → bh, after admin.Events: EVENT NUL SUBJECT NUL key=value NUL...
 * (docs/admin-api.md, "Events"). */
#define BH_MSG_ADMIN_EVENT 0x112u

#define BH_ADMIN_METHOD_MAX 64u
/* Qube names are at most 31 bytes; leave room for the future. */
#define BH_ADMIN_DEST_MAX 63u
#define BH_ADMIN_ARG_MAX 255u

struct bh_admin_call {
	const char *method; /* point into the parsed buffer */
	const char *dest;
	const char *arg;
	const uint8_t *body;
	size_t body_len;
};

/* Returns the payload length, or -E2BIG / -EINVAL. */
int bh_admin_call_encode(uint8_t *out, size_t cap, const char *method,
			 const char *dest, const char *arg, const void *body,
			 size_t body_len);

/* Parses in place: the three NULs of untrusted_buf end the strings, so the
 * buffer must stay alive and unchanged while the call is used. Returns 0 or
 * -EPROTO. */
int bh_admin_call_parse(const uint8_t *buf, size_t len,
			struct bh_admin_call *out);

#endif
