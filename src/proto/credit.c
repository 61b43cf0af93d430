#include "proto/credit.h"
#include "proto/frame.h"

#include <errno.h>

int bh_credit_take(struct bh_credit *c, uint32_t n)
{
	if (n > c->avail)
		return -EPROTO;
	c->avail -= n;
	return 0;
}

int bh_credit_grant(struct bh_credit *c, uint32_t n)
{
	/* A grant of nothing is never needed: refusing it keeps a peer
	 * from making a relay pass on endless empty CREDIT frames. */
	if (n == 0 || n > BH_STREAM_WINDOW || c->avail > BH_STREAM_WINDOW - n)
		return -EPROTO;
	c->avail += n;
	return 0;
}
