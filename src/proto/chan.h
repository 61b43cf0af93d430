/* One end of a framed channel over a stream fd (virtio-serial port, Unix
 * socket, socket pair): bounded input reassembly and a bounded output queue.
 * Used unchanged by bh-agent, bulkheadd and bh, and by the unit tests over
 * a socket pair. */
#ifndef BH_PROTO_CHAN_H
#define BH_PROTO_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"

struct bh_chan {
	int fd;
	/* Bytes read but not yet consumed as frames; one frame at most plus
	 * whatever followed it in the same read. */
	uint8_t in[2 * (BH_FRAME_HDR_LEN + BH_FRAME_MAX_PAYLOAD)];
	size_t in_off, in_len;
	/* Queued output not yet written. */
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	/* The queue refuses to grow past this: a peer that stops reading
	 * cannot make us buffer without end. */
	size_t out_max;
};

void bh_chan_init(struct bh_chan *c, int fd, size_t out_max);
void bh_chan_free(struct bh_chan *c);

/* Reads what the fd has. Returns bytes read (>0), 0 at end of file,
 * -EAGAIN when nothing was ready, -ENOBUFS when the input buffer is full
 * (consume frames first), or another -errno. */
long bh_chan_read(struct bh_chan *c);

/* Takes the next complete frame out of the input. Returns 1 and fills h and
 * *payload (valid until the next bh_chan_read or bh_chan_next), 0 when no
 * complete frame is buffered, or -EMSGSIZE for a header whose length is over
 * the limit (the channel is then unusable). */
int bh_chan_next(struct bh_chan *c, struct bh_frame_hdr *h,
		 const uint8_t **payload);

/* Queues one frame. -ENOBUFS when the queue would pass out_max, -EMSGSIZE
 * for a payload over the frame limit, -ENOMEM. */
int bh_chan_send(struct bh_chan *c, uint32_t type, uint32_t stream,
		 const void *payload, uint32_t len);
int bh_chan_send_u32(struct bh_chan *c, uint32_t type, uint32_t stream,
		     uint32_t v);

/* Writes queued output. Returns 0 when the queue is empty, 1 when some is
 * left (wait for POLLOUT), or -errno. */
int bh_chan_flush(struct bh_chan *c);
size_t bh_chan_pending(const struct bh_chan *c);

/* Blocking helpers for simple peers (bh): flush all, or wait for a frame. */
int bh_chan_flush_all(struct bh_chan *c);

/* For a blocking fd: reads until a whole frame is there. Returns 1 with
 * h and *payload set (as bh_chan_next), or -1 when the peer is gone or
 * sent an oversized frame. */
int bh_chan_wait_next(struct bh_chan *c, struct bh_frame_hdr *h,
		      const uint8_t **payload);

#endif
