/* The channel process's relay (bulkhead-chan, docs/architecture.md):
 * between its qube's control channel and its link to bulkheadd.
 *
 * Every byte the qube sends is read here first, in a process that can
 * reach nothing but this qube: frames are reassembled and checked
 * (their type, stream and length against each other, and the payloads
 * of fixed layout: HELLO's version, EXIT's kind and value, PORT_END's
 * count) before they go on to the daemon, one whole frame at a time.
 * The first frame that breaks the rules ends the relay: the daemon gets
 * BH_MSG_CHAN_BROKEN saying which, and nothing more of the qube. What
 * the daemon sends goes to the qube as it is.
 *
 * Back-pressure: the qube is not read while the link's queue holds a
 * stream window (the daemon is not reading), and the link is not read
 * while the qube's queue does (the qube is not reading): either side
 * that stops reading stops its own traffic, nothing else. */
#ifndef BH_CHAN_RELAY_H
#define BH_CHAN_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "proto/chan.h"

/* Queued bytes at which a side is no longer read (see above). */
#define CHAN_RELAY_PAUSE_BYTES BH_STREAM_WINDOW
/* Each queue's hard limit: the pause, and what one read can add. */
#define CHAN_RELAY_QUEUE_MAX \
	(CHAN_RELAY_PAUSE_BYTES + 4u * (BH_FRAME_HDR_LEN + BH_FRAME_MAX_PAYLOAD))

struct chan_relay {
	struct bh_chan guest; /* the qube's control channel */
	struct bh_chan link;  /* to bulkheadd */
	int guest_eof;	      /* the qube's end closed (QEMU is ending) */
	int link_eof;	      /* the daemon's end closed */
	int broken;	      /* the qube broke the protocol: not read */
};

void chan_relay_init(struct chan_relay *r, int guest_fd, int link_fd);
void chan_relay_free(struct chan_relay *r);

/* Checks one frame from the qube. 0 when it may go on, else -EPROTO. */
int chan_relay_check(const struct bh_frame_hdr *untrusted_h,
		     const uint8_t *untrusted_payload);

/* Whether each side is read this round (the pauses above). */
int chan_relay_guest_readable(const struct chan_relay *r);
int chan_relay_link_readable(const struct chan_relay *r);

/* The qube's channel is readable: reads it and queues the checked
 * frames on the link (or BROKEN). Returns 0, or -1 when the relay
 * cannot go on (a queue over its limit: an error of ours). */
int chan_relay_guest_input(struct chan_relay *r);
/* The link is readable: queues the daemon's frames for the qube.
 * Returns 0 (link_eof set at its end), or -1 (a frame over the limit,
 * or a queue over its limit). */
int chan_relay_link_input(struct chan_relay *r);

#endif
