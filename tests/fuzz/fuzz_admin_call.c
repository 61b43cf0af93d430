/* libFuzzer target: the admin call parser (src/proto/admin.c). On success
 * the three strings lie inside the input, hold only their allowed bytes,
 * and encoding them again gives exactly the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "proto/admin.h"
#include "proto/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t again[BH_FRAME_MAX_PAYLOAD];
	struct bh_admin_call c;
	int n;

	if (bh_admin_call_parse(data, size, &c) < 0)
		return 0;
	CHECK((const uint8_t *)c.method >= data &&
	      (const uint8_t *)c.arg < data + size);
	CHECK(c.body + c.body_len == data + size);
	CHECK(strlen(c.method) >= 1 && strlen(c.method) <= BH_ADMIN_METHOD_MAX);
	n = bh_admin_call_encode(again, sizeof(again), c.method, c.dest, c.arg,
				 c.body, c.body_len);
	CHECK(n == (int)size);
	CHECK(memcmp(again, data, size) == 0);
	return 0;
}
