#include "proto/admin.h"

#include <errno.h>
#include <string.h>

#include "proto/frame.h"

enum field { F_METHOD, F_DEST, F_ARG };

static int char_ok(enum field f, unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.')
		return 1;
	if (f == F_DEST)
		return c == '-';
	if (f == F_ARG)
		return c == '-' || c == ':' || c == '+' || c == '=';
	return 0;
}

static size_t field_max(enum field f)
{
	return f == F_METHOD ? BH_ADMIN_METHOD_MAX
	       : f == F_DEST ? BH_ADMIN_DEST_MAX
			     : BH_ADMIN_ARG_MAX;
}

static int field_ok(enum field f, const char *s, size_t n)
{
	size_t i;

	if (n > field_max(f) || (f == F_METHOD && n == 0))
		return 0;
	for (i = 0; i < n; i++)
		if (!char_ok(f, (unsigned char)s[i]))
			return 0;
	return 1;
}

int bh_admin_call_encode(uint8_t *out, size_t cap, const char *method,
			 const char *dest, const char *arg, const void *body,
			 size_t body_len)
{
	const char *s[3] = { method, dest ? dest : "", arg ? arg : "" };
	size_t off = 0, i;

	if (cap > BH_FRAME_MAX_PAYLOAD)
		cap = BH_FRAME_MAX_PAYLOAD;
	for (i = 0; i < 3; i++) {
		size_t n = strlen(s[i]);

		if (!field_ok((enum field)i, s[i], n))
			return -EINVAL;
		if (n + 1 > cap - off)
			return -E2BIG;
		memcpy(out + off, s[i], n + 1);
		off += n + 1;
	}
	if (body_len > cap - off)
		return -E2BIG;
	if (body_len)
		memcpy(out + off, body, body_len);
	return (int)(off + body_len);
}

int bh_admin_call_parse(const uint8_t *buf, size_t len,
			struct bh_admin_call *out)
{
	const char *s[3];
	size_t off = 0, i;

	if (len > BH_FRAME_MAX_PAYLOAD)
		return -EPROTO;
	for (i = 0; i < 3; i++) {
		const uint8_t *nul;
		size_t n;

		if (off >= len)
			return -EPROTO;
		nul = memchr(buf + off, '\0', len - off);
		if (!nul)
			return -EPROTO;
		n = (size_t)(nul - (buf + off));
		if (!field_ok((enum field)i, (const char *)buf + off, n))
			return -EPROTO;
		s[i] = (const char *)buf + off;
		off += n + 1;
	}
	out->method = s[0];
	out->dest = s[1];
	out->arg = s[2];
	out->body = buf + off;
	out->body_len = len - off;
	return 0;
}
