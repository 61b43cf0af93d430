/* Re-attaching a channel process: the request and BH_MSG_CHAN_ATTACH's
 * payload (see chan_attach.h). */
#include "proto/chan_attach.h"

#include <errno.h>
#include <string.h>

#define MAGIC_LEN 8u

_Static_assert(sizeof(BH_ATTACH_MAGIC) - 1 == MAGIC_LEN,
	       "the magic is 8 bytes");
_Static_assert(MAGIC_LEN + 4u == BH_ATTACH_REQ_LEN,
	       "the request is the magic and a u32");

void bh_attach_req_encode(uint8_t out[BH_ATTACH_REQ_LEN])
{
	memcpy(out, BH_ATTACH_MAGIC, MAGIC_LEN);
	bh_put_u32(out + MAGIC_LEN, BH_ATTACH_VERSION);
}

int bh_attach_req_parse(const uint8_t *untrusted_buf, size_t len)
{
	if (len != BH_ATTACH_REQ_LEN ||
	    memcmp(untrusted_buf, BH_ATTACH_MAGIC, MAGIC_LEN) ||
	    bh_get_u32(untrusted_buf + MAGIC_LEN) != BH_ATTACH_VERSION)
		return -EPROTO;
	return 0;
}

size_t bh_attach_info_encode(uint8_t *out, const struct bh_attach_info *info)
{
	uint32_t i, count = info->count;
	uint8_t *p = out + BH_ATTACH_INFO_FIXED_LEN;

	if (count > BH_ATTACH_STREAMS_MAX)
		count = BH_ATTACH_STREAMS_MAX;
	bh_put_u32(out, info->flags);
	bh_put_u32(out + 4, info->hello_version);
	bh_put_u32(out + 8, info->hello_flags);
	bh_put_u32(out + 12, count);
	for (i = 0; i < count; i++, p += 8) {
		bh_put_u32(p, info->streams[i].id);
		bh_put_u32(p + 4, info->streams[i].flags);
	}
	return BH_ATTACH_INFO_FIXED_LEN + 8u * (size_t)count;
}

/* The flags a stream of this side may carry: the daemon's input EOF only
 * on a stream the daemon opened (on the guest's, the guest sends the
 * input). */
static uint32_t stream_flags_allowed(uint32_t id)
{
	return (id & BH_STREAM_GUEST_BIT) ? 0u : BH_ATTACH_S_INPUT_EOF;
}

int bh_attach_info_parse(const uint8_t *untrusted_buf, size_t len,
			 struct bh_attach_info *out)
{
	uint32_t untrusted_count, i, j, side[2] = { 0, 0 };
	const uint8_t *p;

	if (len < BH_ATTACH_INFO_FIXED_LEN)
		return -EPROTO;
	untrusted_count = bh_get_u32(untrusted_buf + 12);
	if (untrusted_count > BH_ATTACH_STREAMS_MAX ||
	    len != BH_ATTACH_INFO_FIXED_LEN + 8u * (size_t)untrusted_count)
		return -EPROTO;
	memset(out, 0, sizeof(*out));
	out->flags = bh_get_u32(untrusted_buf);
	out->hello_version = bh_get_u32(untrusted_buf + 4);
	out->hello_flags = bh_get_u32(untrusted_buf + 8);
	if (out->flags & ~(BH_ATTACH_HELLO | BH_ATTACH_OVERFLOW))
		return -EPROTO;
	if (!(out->flags & BH_ATTACH_HELLO) &&
	    (out->hello_version || out->hello_flags))
		return -EPROTO;
	p = untrusted_buf + BH_ATTACH_INFO_FIXED_LEN;
	for (i = 0; i < untrusted_count; i++, p += 8) {
		uint32_t id = bh_get_u32(p), fl = bh_get_u32(p + 4);

		if (id == 0 || (fl & ~stream_flags_allowed(id)) ||
		    ++side[(id & BH_STREAM_GUEST_BIT) != 0] > BH_MAX_STREAMS)
			return -EPROTO;
		/* At most 512 streams: the quadratic check is cheap. */
		for (j = 0; j < i; j++)
			if (out->streams[j].id == id)
				return -EPROTO;
		out->streams[i].id = id;
		out->streams[i].flags = fl;
	}
	out->count = untrusted_count;
	return 0;
}
