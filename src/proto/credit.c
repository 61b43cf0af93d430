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
	if (n > BH_STREAM_WINDOW || c->avail > BH_STREAM_WINDOW - n)
		return -EPROTO;
	c->avail += n;
	return 0;
}
