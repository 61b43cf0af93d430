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
 * that stops reading stops its own traffic, nothing else.
 *
 * Detached (the daemon's link closed, proto/chan_attach.h): the link and
 * what was queued on it are gone, the qube is not read (its frames wait
 * in its channel), what is queued for the qube still goes. A new link
 * starts with BH_MSG_CHAN_ATTACH, which says what the relay saw of the
 * channel: the agent's last HELLO and the streams open (chan_streams). */
#ifndef BH_CHAN_RELAY_H
#define BH_CHAN_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "proto/chan.h"
#include "proto/chan_attach.h"

/* Queued bytes at which a side is no longer read (see above). */
#define CHAN_RELAY_PAUSE_BYTES BH_STREAM_WINDOW
/* Each queue's hard limit: the pause, and what one read can add. */
#define CHAN_RELAY_QUEUE_MAX \
	(CHAN_RELAY_PAUSE_BYTES + 4u * (BH_FRAME_HDR_LEN + BH_FRAME_MAX_PAYLOAD))

/* The streams open on the channel, as BH_MSG_CHAN_ATTACH lists them:
 * at most BH_MAX_STREAMS of each side (the daemon's, the guest's:
 * BH_STREAM_GUEST_BIT); an add past that is skipped and sets overflow,
 * which stays (a skipped stream's end is not seen). */
struct chan_streams {
	struct bh_attach_stream s[BH_ATTACH_STREAMS_MAX];
	uint32_t count;
	uint32_t side[2]; /* how many of s are the daemon's [0], guest's [1] */
	int overflow;
};

struct chan_relay {
	struct bh_chan guest; /* the qube's control channel */
	struct bh_chan link;  /* to bulkheadd; fd -1 while detached */
	int guest_eof;	      /* the qube's end closed (QEMU is ending) */
	int link_eof;	      /* the daemon's end closed */
	int broken;	      /* the qube broke the protocol: not read */
	int attached;	      /* a link is there (else detached) */
	/* What BH_MSG_CHAN_ATTACH tells a new daemon. */
	int have_hello;
	uint32_t hello_version, hello_flags; /* the agent's last HELLO */
	struct chan_streams streams;
};

/* Starts attached to link_fd. */
void chan_relay_init(struct chan_relay *r, int guest_fd, int link_fd);
void chan_relay_free(struct chan_relay *r);

/* The stream table: what a frame does to it. Daemon -> guest: EXEC or
 * SERVICE on a stream of the daemon's adds it, STDIN of length 0 (or
 * PORT_END: its input ended on a data port) sets BH_ATTACH_S_INPUT_EOF,
 * EXIT on a stream of the guest's takes it out. Guest -> daemon (frames
 * that passed chan_relay_check): CALL on a stream of the guest's adds it,
 * EXIT on a stream of the daemon's takes it out. A repeated add and
 * frames of streams not listed change nothing. */
void chan_streams_to_guest(struct chan_streams *t,
			   const struct bh_frame_hdr *h);
void chan_streams_from_guest(struct chan_streams *t,
			     const struct bh_frame_hdr *untrusted_h);
/* BH_MSG_CHAN_ATTACH's payload for r as it is now. */
void chan_relay_attach_info(const struct chan_relay *r,
			    struct bh_attach_info *out);

/* The link is gone: closes it, drops what was queued on it and the part
 * of a frame read from it, and stops reading the qube. */
void chan_relay_detach(struct chan_relay *r);
/* A new link, link_fd (non-blocking): queues BH_MSG_CHAN_ATTACH as its
 * first frame and reads the qube again. 0, or -1 when the frame could
 * not be queued (then detached again, link_fd closed). */
int chan_relay_attach(struct chan_relay *r, int link_fd);

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
