/* Credit accounting of one direction of one stream. The sender takes credit
 * for every byte it sends; the receiver grants it back as it consumes.
 * A receiver never legitimately grants past the window, so a grant that
 * would is a protocol violation, as is data beyond the credit. */
#ifndef BH_PROTO_CREDIT_H
#define BH_PROTO_CREDIT_H

#include <stdint.h>

#include "proto/frame.h"

struct bh_credit {
	uint32_t avail;
};

static inline void bh_credit_init(struct bh_credit *c)
{
	c->avail = 0;
}

/* The credit a data frame (STDIN, STDOUT, STDERR) of len payload bytes
 * uses: its payload and its header, so that credit bounds every byte a
 * relay may have to hold for one stream, however small the frames are
 * (a peer writing one byte a frame would otherwise queue twelve bytes of
 * header for each byte of credit). The end of data (len 0) is free: it
 * comes once. Senders take it, receivers grant it back as they consume,
 * and a relay checks both against the window. */
static inline uint32_t bh_credit_cost(uint32_t len)
{
	return len ? len + BH_FRAME_HDR_LEN : 0;
}

/* The most payload a sender with avail credit may put in one frame. */
static inline uint32_t bh_credit_payload_max(uint32_t avail)
{
	return avail > BH_FRAME_HDR_LEN ? avail - BH_FRAME_HDR_LEN : 0;
}

/* Data of n bytes arrived or is to be sent: -EPROTO if over the credit. */
int bh_credit_take(struct bh_credit *c, uint32_t n);
/* The peer granted n bytes: -EPROTO if n is 0 or passes the window. */
int bh_credit_grant(struct bh_credit *c, uint32_t n);

#endif
