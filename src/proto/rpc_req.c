/* Call and service requests (see rpc_req.h). */
#include "proto/rpc_req.h"

#include <errno.h>
#include <string.h>

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int bh_rpc_service_ok(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > BH_RPC_SERVICE_MAX || !is_alnum(s[0]))
		return 0;
	for (i = 1; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' &&
		    s[i] != '-')
			return 0;
	return 1;
}

int bh_rpc_arg_ok(const char *s, size_t len)
{
	size_t i;

	if (len > BH_RPC_ARG_MAX)
		return 0;
	/* The service gets the argument as its argv[1]: one that began with
	 * '-' would be an option to it (--help, -e ...), chosen by the
	 * caller. */
	if (len > 0 && s[0] == '-')
		return 0;
	for (i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '+' && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

int bh_rpc_qube_ok(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > BH_RPC_QUBE_MAX || !is_alpha(s[0]))
		return 0;
	for (i = 1; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' &&
		    s[i] != '-')
			return 0;
	return 1;
}

static int is_word(const char *s, size_t len, const char *w)
{
	return len == strlen(w) && memcmp(s, w, len) == 0;
}

/* A uuid as Qubes writes it: 8-4-4-4-12 lowercase hex digits. */
static int uuid_ok(const char *s, size_t len)
{
	size_t i;

	if (len != BH_RPC_UUID_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ?
			    s[i] != '-' :
			    !((s[i] >= '0' && s[i] <= '9') ||
			      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* NAME, or uuid:UUID. */
static int qube_or_uuid_ok(const char *s, size_t len)
{
	if (len > 5 && memcmp(s, "uuid:", 5) == 0)
		return uuid_ok(s + 5, len - 5);
	return bh_rpc_qube_ok(s, len);
}

int bh_rpc_target_ok(const char *s, size_t len)
{
	if (is_word(s, len, "@default") || is_word(s, len, "@dispvm") ||
	    is_word(s, len, "@adminvm"))
		return 1;
	if (len > 8 && memcmp(s, "@dispvm:", 8) == 0)
		return qube_or_uuid_ok(s + 8, len - 8);
	/* "dom0" passes as a qube name. */
	return qube_or_uuid_ok(s, len);
}

int bh_rpc_user_ok(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > BH_RPC_USER_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return 0;
	for (i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return 0;
	return 1;
}

/* Copies len bytes and a NUL; cap was checked by the syntax rules. */
static void put(char *dst, const char *src, size_t len)
{
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Splits svc[+arg] of len bytes into out. */
static int split(const char *s, size_t len, struct bh_call_req *out)
{
	const char *plus = memchr(s, '+', len);
	size_t slen = plus ? (size_t)(plus - s) : len;

	if (!bh_rpc_service_ok(s, slen))
		return -EINVAL;
	put(out->service, s, slen);
	out->has_arg = plus != NULL;
	out->arg[0] = '\0';
	if (plus) {
		size_t alen = len - slen - 1;

		if (!bh_rpc_arg_ok(plus + 1, alen))
			return -EINVAL;
		put(out->arg, plus + 1, alen);
	}
	return 0;
}

int bh_rpc_split_service(const char *svc_arg, struct bh_call_req *out)
{
	size_t len = strnlen(svc_arg, BH_RPC_SERVICE_MAX + BH_RPC_ARG_MAX + 2);

	if (len > BH_RPC_SERVICE_MAX + BH_RPC_ARG_MAX + 1)
		return -EINVAL;
	return split(svc_arg, len, out);
}

/* The next NUL-terminated field of buf[*off..len): its start and length.
 * Returns -EPROTO when no NUL ends it. */
static int next_field(const uint8_t *untrusted_buf, size_t len, size_t *off,
		      const char **start, size_t *flen)
{
	const uint8_t *nul;

	if (*off >= len)
		return -EPROTO;
	nul = memchr(untrusted_buf + *off, '\0', len - *off);
	if (!nul)
		return -EPROTO;
	*start = (const char *)untrusted_buf + *off;
	*flen = (size_t)(nul - (untrusted_buf + *off));
	*off += *flen + 1;
	return 0;
}

int bh_call_req_parse(const uint8_t *untrusted_buf, size_t len,
		      struct bh_call_req *out)
{
	const char *t, *s;
	size_t off = 0, tlen, slen;

	memset(out, 0, sizeof(*out));
	if (next_field(untrusted_buf, len, &off, &t, &tlen) < 0 ||
	    next_field(untrusted_buf, len, &off, &s, &slen) < 0 ||
	    off != len || !bh_rpc_target_ok(t, tlen) ||
	    split(s, slen, out) < 0)
		return -EPROTO;
	put(out->target, t, tlen);
	return 0;
}

int bh_call_req_encode(uint8_t *out, size_t cap, const char *target,
		       const char *svc_arg)
{
	struct bh_call_req chk;
	size_t tlen = strnlen(target, BH_RPC_TARGET_MAX + 1);
	size_t slen = strnlen(svc_arg, BH_RPC_SERVICE_MAX + BH_RPC_ARG_MAX + 2);

	if (!bh_rpc_target_ok(target, tlen) ||
	    bh_rpc_split_service(svc_arg, &chk) < 0)
		return -EINVAL;
	if (tlen + slen + 2 > cap)
		return -E2BIG;
	memcpy(out, target, tlen + 1);
	memcpy(out + tlen + 1, svc_arg, slen + 1);
	return (int)(tlen + slen + 2);
}

int bh_service_req_parse(const uint8_t *untrusted_buf, size_t len,
			 struct bh_service_req *out)
{
	const char *f[4];
	size_t fl[4], off = 0, i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < 4; i++)
		if (next_field(untrusted_buf, len, &off, &f[i], &fl[i]) < 0)
			return -EPROTO;
	if (off != len || !bh_rpc_service_ok(f[0], fl[0]) ||
	    !bh_rpc_arg_ok(f[1], fl[1]) || !bh_rpc_qube_ok(f[2], fl[2]) ||
	    (fl[3] && !bh_rpc_user_ok(f[3], fl[3])))
		return -EPROTO;
	put(out->service, f[0], fl[0]);
	put(out->arg, f[1], fl[1]);
	put(out->source, f[2], fl[2]);
	put(out->user, f[3], fl[3]);
	return 0;
}

int bh_service_req_encode(uint8_t *out, size_t cap,
			  const struct bh_service_req *req)
{
	const char *f[4] = { req->service, req->arg, req->source, req->user };
	size_t off = 0, i;

	if (!bh_rpc_service_ok(req->service, strlen(req->service)) ||
	    !bh_rpc_arg_ok(req->arg, strlen(req->arg)) ||
	    !bh_rpc_qube_ok(req->source, strlen(req->source)) ||
	    (req->user[0] && !bh_rpc_user_ok(req->user, strlen(req->user))))
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		size_t n = strlen(f[i]) + 1;

		if (n > cap - off)
			return -E2BIG;
		memcpy(out + off, f[i], n);
		off += n;
	}
	return (int)off;
}
