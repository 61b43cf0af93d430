/* Frame header encoding and per-side validation of frame types and sizes. */
#include "proto/frame.h"

#include <errno.h>
#include <string.h>

void bh_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

uint32_t bh_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

void bh_frame_hdr_encode(uint8_t out[BH_FRAME_HDR_LEN],
			 const struct bh_frame_hdr *h)
{
	bh_put_u32(out, h->type);
	bh_put_u32(out + 4, h->stream);
	bh_put_u32(out + 8, h->len);
}

int bh_frame_hdr_decode(const uint8_t *untrusted_buf, struct bh_frame_hdr *out)
{
	uint32_t untrusted_len = bh_get_u32(untrusted_buf + 8);

	if (untrusted_len > BH_FRAME_MAX_PAYLOAD)
		return -EMSGSIZE;
	out->type = bh_get_u32(untrusted_buf);
	out->stream = bh_get_u32(untrusted_buf + 4);
	out->len = untrusted_len;
	return 0;
}

/* What the host accepts from a guest. Stream 0 carries only HELLO; every
 * other message belongs to a command stream. */
static int guest_opened(uint32_t stream)
{
	return (stream & BH_STREAM_GUEST_BIT) != 0;
}

/* A stream the host opened: not 0, not the guest's. */
static int host_opened(uint32_t stream)
{
	return stream != 0 && !guest_opened(stream);
}

int bh_frame_check_from_guest(const struct bh_frame_hdr *h)
{
	switch (h->type) {
	case BH_MSG_HELLO:
		return h->stream == 0 && h->len == 8 ? 0 : -EPROTO;
	case BH_MSG_STDOUT:
	case BH_MSG_STDERR:
		return host_opened(h->stream) ? 0 : -EPROTO;
	case BH_MSG_CREDIT:
		return h->stream != 0 && h->len == 4 ? 0 : -EPROTO;
	case BH_MSG_EXIT:
		return host_opened(h->stream) && h->len == 8 ? 0 : -EPROTO;
	case BH_MSG_CALL:
		return guest_opened(h->stream) && h->len > 0 ? 0 : -EPROTO;
	case BH_MSG_STDIN:
		return guest_opened(h->stream) ? 0 : -EPROTO;
	case BH_MSG_PORT_SWITCH:
	case BH_MSG_PORT_CLOSED:
		return h->stream != 0 && h->len == 0 ? 0 : -EPROTO;
	case BH_MSG_PORT_END:
		return h->stream != 0 && h->len == 8 ? 0 : -EPROTO;
	default:
		return -EPROTO;
	}
}

/* What a guest accepts from the host. The host is trusted, but the agent
 * still checks, so that a bug on one side shows as an error, not as
 * memory corruption on the other. */
int bh_frame_check_from_host(const struct bh_frame_hdr *h)
{
	switch (h->type) {
	case BH_MSG_EXEC:
	case BH_MSG_SERVICE:
		return host_opened(h->stream) && h->len > 0 ? 0 : -EPROTO;
	case BH_MSG_STDIN:
		return host_opened(h->stream) ? 0 : -EPROTO;
	case BH_MSG_CREDIT:
		return h->stream != 0 && h->len == 4 ? 0 : -EPROTO;
	case BH_MSG_POWEROFF:
		return h->stream == 0 && h->len == 0 ? 0 : -EPROTO;
	case BH_MSG_RESUME:
		return h->stream == 0 && h->len == BH_RESUME_LEN ? 0 : -EPROTO;
	case BH_MSG_STDOUT:
		return guest_opened(h->stream) ? 0 : -EPROTO;
	case BH_MSG_EXIT:
		return guest_opened(h->stream) && h->len == 8 ? 0 : -EPROTO;
	case BH_MSG_PORT_OPEN:
		return h->stream != 0 && h->len == 4 ? 0 : -EPROTO;
	case BH_MSG_PORT_SWITCH:
		return h->stream != 0 && h->len == 0 ? 0 : -EPROTO;
	case BH_MSG_PORT_END:
		return h->stream != 0 && h->len == 8 ? 0 : -EPROTO;
	default:
		return -EPROTO;
	}
}

int bh_parse_u32_payload(const uint8_t *untrusted_p, size_t len, uint32_t *v)
{
	if (len != 4)
		return -EPROTO;
	*v = bh_get_u32(untrusted_p);
	return 0;
}

int bh_parse_exit(const uint8_t *untrusted_p, size_t len, uint32_t *kind,
		  uint32_t *value)
{
	uint32_t untrusted_kind, untrusted_value;

	if (len != 8)
		return -EPROTO;
	untrusted_kind = bh_get_u32(untrusted_p);
	untrusted_value = bh_get_u32(untrusted_p + 4);
	switch (untrusted_kind) {
	case BH_EXIT_CODE:
		if (untrusted_value > 255)
			return -EPROTO;
		break;
	case BH_EXIT_SIGNAL:
		if (untrusted_value < 1 || untrusted_value > 64)
			return -EPROTO;
		break;
	case BH_EXIT_NOSTART:
		if (untrusted_value < BH_NOSTART_NOTFOUND ||
		    untrusted_value > BH_NOSTART_NOUSER)
			return -EPROTO;
		break;
	case BH_EXIT_REFUSED:
		if (untrusted_value != 0)
			return -EPROTO;
		break;
	default:
		return -EPROTO;
	}
	*kind = untrusted_kind;
	*value = untrusted_value;
	return 0;
}

int bh_parse_hello(const uint8_t *untrusted_p, size_t len, uint32_t *version)
{
	if (len != 8)
		return -EPROTO;
	*version = bh_get_u32(untrusted_p);
	return 0;
}

void bh_put_u64(uint8_t *p, uint64_t v)
{
	bh_put_u32(p, (uint32_t)v);
	bh_put_u32(p + 4, (uint32_t)(v >> 32));
}

uint64_t bh_get_u64(const uint8_t *p)
{
	return (uint64_t)bh_get_u32(p) | (uint64_t)bh_get_u32(p + 4) << 32;
}

int bh_parse_port_open(const uint8_t *untrusted_p, size_t len, uint32_t *n)
{
	uint32_t untrusted_n;

	if (len != 4)
		return -EPROTO;
	untrusted_n = bh_get_u32(untrusted_p);
	if (untrusted_n >= BH_DATAPORT_N_MAX)
		return -EPROTO;
	*n = untrusted_n;
	return 0;
}

int bh_parse_port_end(const uint8_t *untrusted_p, size_t len, uint64_t *count)
{
	if (len != 8)
		return -EPROTO;
	*count = bh_get_u64(untrusted_p);
	return 0;
}

void bh_chan_broken_encode(uint8_t out[BH_CHAN_BROKEN_LEN],
			   const struct bh_chan_broken *b)
{
	bh_put_u32(out, b->why);
	bh_put_u32(out + 4, b->type);
	bh_put_u32(out + 8, b->stream);
	bh_put_u32(out + 12, b->len);
}

int bh_parse_chan_broken(const uint8_t *untrusted_p, size_t len,
			 struct bh_chan_broken *out)
{
	uint32_t untrusted_why;

	if (len != BH_CHAN_BROKEN_LEN)
		return -EPROTO;
	untrusted_why = bh_get_u32(untrusted_p);
	if (untrusted_why != BH_BROKEN_FRAME &&
	    untrusted_why != BH_BROKEN_OVERSIZED)
		return -EPROTO;
	out->why = untrusted_why;
	out->type = bh_get_u32(untrusted_p + 4);
	out->stream = bh_get_u32(untrusted_p + 8);
	out->len = bh_get_u32(untrusted_p + 12);
	return 0;
}

int bh_exit_status(uint32_t kind, uint32_t value)
{
	switch (kind) {
	case BH_EXIT_CODE:
		return (int)value;
	case BH_EXIT_SIGNAL:
		return 128 + (int)value;
	case BH_EXIT_NOSTART:
		if (value == BH_NOSTART_NOTFOUND)
			return 127;
		if (value == BH_NOSTART_NOEXEC)
			return 126;
		return 125;
	case BH_EXIT_REFUSED:
		return 126;
	default:
		return 125;
	}
}

size_t bh_frame_build(uint8_t *out, uint32_t type, uint32_t stream,
		      const void *payload, uint32_t payload_len)
{
	struct bh_frame_hdr h = { type, stream, payload_len };

	bh_frame_hdr_encode(out, &h);
	if (payload_len)
		memcpy(out + BH_FRAME_HDR_LEN, payload, payload_len);
	return BH_FRAME_HDR_LEN + payload_len;
}
