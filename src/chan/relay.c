/* The channel process's relay: qube <-> daemon (see relay.h). */
#include "chan/relay.h"

#include <errno.h>

#include "lib/crashpoint.h"
#include "proto/frame.h"

void chan_relay_init(struct chan_relay *r, int guest_fd, int link_fd)
{
	bh_chan_init(&r->guest, guest_fd, CHAN_RELAY_QUEUE_MAX);
	bh_chan_init(&r->link, link_fd, CHAN_RELAY_QUEUE_MAX);
	r->guest_eof = r->link_eof = r->broken = 0;
}

void chan_relay_free(struct chan_relay *r)
{
	bh_chan_free(&r->guest);
	bh_chan_free(&r->link);
}

int chan_relay_check(const struct bh_frame_hdr *untrusted_h,
		     const uint8_t *untrusted_payload)
{
	uint32_t v, kind;
	uint64_t count;

	if (bh_frame_check_from_guest(untrusted_h) < 0)
		return -EPROTO;
	switch (untrusted_h->type) {
	case BH_MSG_HELLO:
		return bh_parse_hello(untrusted_payload, untrusted_h->len,
				      &v) < 0 ||
			       v != BH_PROTO_VERSION
			       ? -EPROTO
			       : 0;
	case BH_MSG_EXIT:
		return bh_parse_exit(untrusted_payload, untrusted_h->len,
				     &kind, &v);
	case BH_MSG_CREDIT:
		return bh_parse_u32_payload(untrusted_payload,
					    untrusted_h->len, &v);
	case BH_MSG_PORT_END:
		return bh_parse_port_end(untrusted_payload, untrusted_h->len,
					 &count);
	default:
		/* Data, CALL (its request is the router's to judge: a
		 * malformed one is refused, not a protocol error), and the
		 * port frames without payload. */
		return 0;
	}
}

int chan_relay_guest_readable(const struct chan_relay *r)
{
	return !r->guest_eof && !r->broken &&
	       bh_chan_pending(&r->link) < CHAN_RELAY_PAUSE_BYTES;
}

int chan_relay_link_readable(const struct chan_relay *r)
{
	return !r->link_eof &&
	       bh_chan_pending(&r->guest) < CHAN_RELAY_PAUSE_BYTES;
}

/* Tells the daemon, once, that the qube broke the protocol. */
static int broken(struct chan_relay *r, uint32_t why,
		  const struct bh_frame_hdr *untrusted_h)
{
	struct bh_chan_broken b = {
		.why = why,
		.type = untrusted_h->type,
		.stream = untrusted_h->stream,
		.len = untrusted_h->len,
	};
	uint8_t p[BH_CHAN_BROKEN_LEN];

	r->broken = 1;
	bh_chan_broken_encode(p, &b);
	return bh_chan_send(&r->link, BH_MSG_CHAN_BROKEN, 0, p, sizeof(p)) < 0
		       ? -1
		       : 0;
}

int chan_relay_guest_input(struct chan_relay *r)
{
	const uint8_t *untrusted_payload;
	long n;
	int k;

	n = bh_chan_read(&r->guest);
	if (n == 0 || (n < 0 && n != -EAGAIN && n != -ENOBUFS)) {
		r->guest_eof = 1;
		/* Frames still buffered are handed on below. */
	}
	while (!r->broken) {
		/* Fresh for each frame: bh_chan_next leaves it as it was
		 * for a header over the length limit. */
		struct bh_frame_hdr untrusted_h = { 0 };

		k = bh_chan_next(&r->guest, &untrusted_h, &untrusted_payload);
		if (k == 0)
			break;
		if (k < 0) {
			/* The header was not decoded (its length is over
			 * the limit): BROKEN says so with zeros. */
			return broken(r, BH_BROKEN_OVERSIZED, &untrusted_h);
		}
		if (chan_relay_check(&untrusted_h, untrusted_payload) < 0)
			return broken(r, BH_BROKEN_FRAME, &untrusted_h);
		/* tests/crash: the process killed as the qube says it is
		 * ready, or as a command's end passes. */
		if (untrusted_h.type == BH_MSG_HELLO)
			bh_crash_point("chan.hello");
		if (untrusted_h.type == BH_MSG_EXIT)
			bh_crash_point("chan.exit-frame");
		if (bh_chan_send(&r->link, untrusted_h.type,
				 untrusted_h.stream, untrusted_payload,
				 untrusted_h.len) < 0)
			return -1;
	}
	return 0;
}

int chan_relay_link_input(struct chan_relay *r)
{
	struct bh_frame_hdr h;
	const uint8_t *payload;
	long n;
	int k;

	n = bh_chan_read(&r->link);
	if (n == 0 || (n < 0 && n != -EAGAIN && n != -ENOBUFS))
		r->link_eof = 1;
	while ((k = bh_chan_next(&r->link, &h, &payload)) > 0)
		if (bh_chan_send(&r->guest, h.type, h.stream, payload,
				 h.len) < 0)
			return -1;
	return k < 0 ? -1 : 0;
}
