/* Framed channel: input reassembly and output queue. */
#include "proto/chan.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void bh_chan_init(struct bh_chan *c, int fd, size_t out_max)
{
	c->fd = fd;
	c->in_off = c->in_len = 0;
	c->out = NULL;
	c->out_off = c->out_len = c->out_cap = 0;
	c->out_max = out_max;
}

void bh_chan_free(struct bh_chan *c)
{
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = c->out_cap = 0;
}

static void compact_input(struct bh_chan *c)
{
	if (c->in_off == 0)
		return;
	memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
	c->in_len -= c->in_off;
	c->in_off = 0;
}

long bh_chan_read(struct bh_chan *c)
{
	ssize_t n;

	compact_input(c);
	if (c->in_len == sizeof(c->in))
		return -ENOBUFS;
	do
		n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	c->in_len += (size_t)n;
	return n;
}

int bh_chan_next(struct bh_chan *c, struct bh_frame_hdr *h,
		 const uint8_t **payload)
{
	size_t avail = c->in_len - c->in_off;
	int r;

	if (avail < BH_FRAME_HDR_LEN)
		return 0;
	r = bh_frame_hdr_decode(c->in + c->in_off, h);
	if (r < 0)
		return r;
	if (avail - BH_FRAME_HDR_LEN < h->len)
		return 0;
	*payload = c->in + c->in_off + BH_FRAME_HDR_LEN;
	c->in_off += BH_FRAME_HDR_LEN + h->len;
	return 1;
}

int bh_chan_send(struct bh_chan *c, uint32_t type, uint32_t stream,
		 const void *payload, uint32_t len)
{
	size_t need;

	if (len > BH_FRAME_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	need = BH_FRAME_HDR_LEN + len;
	if (c->out_len - c->out_off + need > c->out_max)
		return -ENOBUFS;
	if (c->out_len + need > c->out_cap) {
		size_t live = c->out_len - c->out_off, cap;
		uint8_t *p;

		/* Never memmove from a NULL queue: undefined even for 0. */
		if (c->out_off)
			memmove(c->out, c->out + c->out_off, live);
		c->out_len = live;
		c->out_off = 0;
		cap = c->out_cap ? c->out_cap : 4096;
		while (cap < live + need)
			cap *= 2;
		if (cap != c->out_cap) {
			p = realloc(c->out, cap);
			if (!p)
				return -ENOMEM;
			c->out = p;
			c->out_cap = cap;
		}
	}
	bh_frame_build(c->out + c->out_len, type, stream, payload, len);
	c->out_len += need;
	return 0;
}

int bh_chan_send_u32(struct bh_chan *c, uint32_t type, uint32_t stream,
		     uint32_t v)
{
	uint8_t p[4];

	bh_put_u32(p, v);
	return bh_chan_send(c, type, stream, p, sizeof(p));
}

int bh_chan_flush(struct bh_chan *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off,
				  c->out_len - c->out_off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			return -errno;
		}
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

size_t bh_chan_pending(const struct bh_chan *c)
{
	return c->out_len - c->out_off;
}

int bh_chan_flush_all(struct bh_chan *c)
{
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLOUT };
		int r = bh_chan_flush(c);

		if (r <= 0)
			return r;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -errno;
	}
}

int bh_chan_wait_next(struct bh_chan *c, struct bh_frame_hdr *h,
		      const uint8_t **payload)
{
	int r;

	while ((r = bh_chan_next(c, h, payload)) == 0) {
		long got = bh_chan_read(c);

		if (got <= 0 && got != -EAGAIN && got != -EINTR)
			return -1;
	}
	return r < 0 ? -1 : 1;
}
