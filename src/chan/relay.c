/* The channel process's relay: qube <-> daemon (see relay.h). */
#include "chan/relay.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lib/crashpoint.h"
#include "proto/frame.h"

void chan_relay_init(struct chan_relay *r, int guest_fd, int link_fd)
{
	bh_chan_init(&r->guest, guest_fd, CHAN_RELAY_QUEUE_MAX);
	bh_chan_init(&r->link, link_fd, CHAN_RELAY_QUEUE_MAX);
	r->guest_eof = r->link_eof = r->broken = 0;
	r->attached = 1;
	r->have_hello = 0;
	r->hello_version = r->hello_flags = 0;
	memset(&r->streams, 0, sizeof(r->streams));
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
	return r->attached && !r->guest_eof && !r->broken &&
	       bh_chan_pending(&r->link) < CHAN_RELAY_PAUSE_BYTES;
}

int chan_relay_link_readable(const struct chan_relay *r)
{
	return r->attached && !r->link_eof &&
	       bh_chan_pending(&r->guest) < CHAN_RELAY_PAUSE_BYTES;
}

static int side_of(uint32_t id)
{
	return (id & BH_STREAM_GUEST_BIT) != 0;
}

static struct bh_attach_stream *stream_find(struct chan_streams *t,
					    uint32_t id)
{
	uint32_t i;

	for (i = 0; i < t->count; i++)
		if (t->s[i].id == id)
			return &t->s[i];
	return NULL;
}

static void stream_add(struct chan_streams *t, uint32_t id)
{
	int side = side_of(id);

	if (id == 0 || stream_find(t, id))
		return;
	if (t->side[side] >= BH_MAX_STREAMS ||
	    t->count >= BH_ATTACH_STREAMS_MAX) {
		t->overflow = 1;
		return;
	}
	t->s[t->count++] = (struct bh_attach_stream){ .id = id };
	t->side[side]++;
}

static void stream_remove(struct chan_streams *t, uint32_t id)
{
	struct bh_attach_stream *s = stream_find(t, id);

	if (!s)
		return;
	/* The order is of no meaning: the last takes its place. */
	*s = t->s[--t->count];
	t->side[side_of(id)]--;
}

void chan_streams_to_guest(struct chan_streams *t,
			   const struct bh_frame_hdr *h)
{
	struct bh_attach_stream *s;

	if (h->stream == 0)
		return;
	if (side_of(h->stream)) {
		if (h->type == BH_MSG_EXIT)
			stream_remove(t, h->stream);
		return;
	}
	switch (h->type) {
	case BH_MSG_EXEC:
	case BH_MSG_SERVICE:
		stream_add(t, h->stream);
		break;
	case BH_MSG_STDIN:
	case BH_MSG_PORT_END:
		if ((h->type == BH_MSG_PORT_END || h->len == 0) &&
		    (s = stream_find(t, h->stream)))
			s->flags |= BH_ATTACH_S_INPUT_EOF;
		break;
	default:
		break;
	}
}

void chan_streams_from_guest(struct chan_streams *t,
			     const struct bh_frame_hdr *untrusted_h)
{
	uint32_t id = untrusted_h->stream;

	if (id == 0)
		return;
	if (side_of(id)) {
		if (untrusted_h->type == BH_MSG_CALL)
			stream_add(t, id);
	} else if (untrusted_h->type == BH_MSG_EXIT) {
		stream_remove(t, id);
	}
}

void chan_relay_attach_info(const struct chan_relay *r,
			    struct bh_attach_info *out)
{
	memset(out, 0, sizeof(*out));
	if (r->have_hello) {
		out->flags |= BH_ATTACH_HELLO;
		out->hello_version = r->hello_version;
		out->hello_flags = r->hello_flags;
	}
	if (r->streams.overflow)
		out->flags |= BH_ATTACH_OVERFLOW;
	out->count = r->streams.count;
	memcpy(out->streams, r->streams.s,
	       r->streams.count * sizeof(out->streams[0]));
}

void chan_relay_detach(struct chan_relay *r)
{
	if (r->link.fd >= 0)
		close(r->link.fd);
	r->link.fd = -1;
	/* A new link starts on a frame boundary, with nothing of the old. */
	r->link.in_off = r->link.in_len = 0;
	r->link.out_off = r->link.out_len = 0;
	r->link_eof = 0;
	r->attached = 0;
}

int chan_relay_attach(struct chan_relay *r, int link_fd)
{
	static uint8_t p[BH_ATTACH_INFO_MAX_LEN];
	struct bh_attach_info info;
	size_t n;

	chan_relay_detach(r);
	r->link.fd = link_fd;
	r->attached = 1;
	chan_relay_attach_info(r, &info);
	n = bh_attach_info_encode(p, &info);
	if (bh_chan_send(&r->link, BH_MSG_CHAN_ATTACH, 0, p, (uint32_t)n) <
	    0) {
		chan_relay_detach(r);
		return -1;
	}
	return 0;
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
		if (untrusted_h.type == BH_MSG_HELLO) {
			bh_crash_point("chan.hello");
			/* Checked above: 8 bytes, our version. The last
			 * one counts (the agent says HELLO again after a
			 * RESUME). */
			r->have_hello = 1;
			r->hello_version = bh_get_u32(untrusted_payload);
			r->hello_flags = bh_get_u32(untrusted_payload + 4);
		}
		if (untrusted_h.type == BH_MSG_EXIT)
			bh_crash_point("chan.exit-frame");
		chan_streams_from_guest(&r->streams, &untrusted_h);
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
	while ((k = bh_chan_next(&r->link, &h, &payload)) > 0) {
		/* The daemon's frames go on as they are; their headers
		 * keep the stream table. */
		chan_streams_to_guest(&r->streams, &h);
		if (bh_chan_send(&r->guest, h.type, h.stream, payload,
				 h.len) < 0)
			return -1;
	}
	return k < 0 ? -1 : 0;
}
