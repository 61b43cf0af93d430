/* Frame helpers the unit tests share (tests/unit is on their include
 * path). Include it after <cmocka.h>: its helpers assert. */
#ifndef BH_TESTS_UNIT_FRAME_H
#define BH_TESTS_UNIT_FRAME_H

#include <stdint.h>
#include <string.h>

#include "lib/util.h"
#include "proto/frame.h"

/* Writes one whole frame on fd, header and payload in one write, as the
 * other end of a link (a qube's channel, a daemon's link) would send it.
 * Payloads of tests are small: 64 bytes at most. */
static inline void send_frame(int fd, uint32_t type, uint32_t stream,
			      const void *p, uint32_t len)
{
	uint8_t b[BH_FRAME_HDR_LEN + 64];
	struct bh_frame_hdr h = { type, stream, len };

	assert_true(len <= 64);
	bh_frame_hdr_encode(b, &h);
	if (len)
		memcpy(b + BH_FRAME_HDR_LEN, p, len);
	assert_int_equal(bh_write_all(fd, b, BH_FRAME_HDR_LEN + len), 0);
}

#endif
