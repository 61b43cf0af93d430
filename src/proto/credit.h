/* Credit accounting of one direction of one stream. The sender takes credit
 * for every byte it sends; the receiver grants it back as it consumes.
 * A receiver never legitimately grants past the window, so a grant that
 * would is a protocol violation, as is data beyond the credit. */
#ifndef BH_PROTO_CREDIT_H
#define BH_PROTO_CREDIT_H

#include <stdint.h>

struct bh_credit {
	uint32_t avail;
};

static inline void bh_credit_init(struct bh_credit *c)
{
	c->avail = 0;
}

/* The credit a data frame of len payload bytes uses. */
static inline uint32_t bh_credit_cost(uint32_t len)
{
	return len;
}

/* Data of n bytes arrived or is to be sent: -EPROTO if over the credit. */
int bh_credit_take(struct bh_credit *c, uint32_t n);
/* The peer granted n bytes: -EPROTO if that passes the window. */
int bh_credit_grant(struct bh_credit *c, uint32_t n);

#endif
