/* QMP records from a channel process to the daemon (see msg_qmp.h). */
#include "proto/msg_qmp.h"

#include <errno.h>
#include <string.h>

#include "proto/frame.h"

void bh_qmp_field_set(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1), i;

	memset(dst, 0, cap);
	for (i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
}

void bh_qmp_rec_encode(uint8_t out[BH_QMP_REC_LEN], const struct bh_qmp_rec *r)
{
	bh_put_u32(out, r->kind);
	bh_put_u32(out + 4, r->tag);
	bh_put_u32(out + 8, r->ok);
	memcpy(out + 12, r->name, BH_QMP_NAME_MAX);
	memcpy(out + 12 + BH_QMP_NAME_MAX, r->arg, BH_QMP_ARG_MAX);
	memcpy(out + 12 + BH_QMP_NAME_MAX + BH_QMP_ARG_MAX, r->text,
	       BH_QMP_TEXT_MAX);
}

/* A field as msg_qmp.h says: printable, NUL-terminated, zeros after. */
static int field_ok(const uint8_t *untrusted_p, size_t cap)
{
	size_t i = 0;

	while (i < cap && untrusted_p[i] >= 0x20 && untrusted_p[i] < 0x7f)
		i++;
	if (i == cap)
		return 0;
	for (; i < cap; i++)
		if (untrusted_p[i] != 0)
			return 0;
	return 1;
}

int bh_qmp_rec_parse(const uint8_t *untrusted_buf, size_t len,
		     struct bh_qmp_rec *out)
{
	const uint8_t *name = untrusted_buf + 12;
	const uint8_t *arg = name + BH_QMP_NAME_MAX;
	const uint8_t *text = arg + BH_QMP_ARG_MAX;
	uint32_t kind, ok;

	if (len != BH_QMP_REC_LEN)
		return -EPROTO;
	kind = bh_get_u32(untrusted_buf);
	ok = bh_get_u32(untrusted_buf + 8);
	if (kind < BH_QMP_READY || kind > BH_QMP_BROKEN || ok > 1 ||
	    !field_ok(name, BH_QMP_NAME_MAX) ||
	    !field_ok(arg, BH_QMP_ARG_MAX) ||
	    !field_ok(text, BH_QMP_TEXT_MAX))
		return -EPROTO;
	out->kind = kind;
	out->tag = bh_get_u32(untrusted_buf + 4);
	out->ok = ok;
	memcpy(out->name, name, BH_QMP_NAME_MAX);
	memcpy(out->arg, arg, BH_QMP_ARG_MAX);
	memcpy(out->text, text, BH_QMP_TEXT_MAX);
	return 0;
}
