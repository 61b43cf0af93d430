/* libFuzzer target: a re-attach (proto/chan_attach.h). The channel process
 * takes a request from whoever connects to its socket (src/chan/attach.c),
 * and the daemon parses BH_MSG_CHAN_ATTACH from a process a qube may have
 * compromised; the payload lists a stream table that the qube's frames
 * built (src/chan/relay.c).
 *
 * Input: byte 0 picks the part (value % 4), the rest is its input.
 *   0  bh_attach_req_parse: accepts exactly the encoded request.
 *   1  bh_attach_info_parse on a heap copy of exactly the rest: on
 *      success the fields keep their rules (count, each side's count,
 *      ids not 0 and not repeated, flags known and allowed for the side,
 *      hello_* 0 without HELLO) and encoding gives back the same bytes.
 *   2  the stream table: the rest is records of 13 bytes (way byte: bit
 *      0 daemon -> guest, else guest -> daemon; u32 type, stream, len),
 *      fed to chan_streams_to_guest / _from_guest; after each the table
 *      holds at most BH_MAX_STREAMS of each side with the side counts
 *      right and no id twice or 0, and INPUT_EOF only on the daemon's;
 *      at the end the payload a relay makes of it parses back the same.
 *   3  chan_attach_take on a real seqpacket connection: byte 1 says how
 *      many fds go with the message (bits 0-1) and their types (bits
 *      2-4: stream or seqpacket each), the rest is the message. It takes
 *      only the exact request with a stream and a seqpacket socket, and
 *      leaves no fd open behind either way. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan/attach.h"
#include "chan/relay.h"
#include "lib/log.h"
#include "lib/util.h"
#include "proto/chan_attach.h"
#include "proto/frame.h"

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	bh_log_set_level(BH_LOG_ERR);
	return 0;
}

static void fuzz_req(const uint8_t *d, size_t n)
{
	uint8_t enc[BH_ATTACH_REQ_LEN];
	int ok;

	bh_attach_req_encode(enc);
	ok = n == BH_ATTACH_REQ_LEN && !memcmp(d, enc, n);
	CHECK((bh_attach_req_parse(d, n) == 0) == ok);
}

NO_COVERAGE
static void check_info(const struct bh_attach_info *info)
{
	uint32_t i, j, side[2] = { 0, 0 };

	CHECK(info->count <= BH_ATTACH_STREAMS_MAX);
	CHECK(!(info->flags & ~(BH_ATTACH_HELLO | BH_ATTACH_OVERFLOW)));
	if (!(info->flags & BH_ATTACH_HELLO))
		CHECK(info->hello_version == 0 && info->hello_flags == 0);
	for (i = 0; i < info->count; i++) {
		uint32_t id = info->streams[i].id;
		int g = (id & BH_STREAM_GUEST_BIT) != 0;

		CHECK(id != 0);
		CHECK(!(info->streams[i].flags &
			~(g ? 0u : BH_ATTACH_S_INPUT_EOF)));
		side[g]++;
		for (j = 0; j < i; j++)
			CHECK(info->streams[j].id != id);
	}
	CHECK(side[0] <= BH_MAX_STREAMS && side[1] <= BH_MAX_STREAMS);
}

static void fuzz_info(const uint8_t *d, size_t n)
{
	static struct bh_attach_info info;
	static uint8_t enc[BH_ATTACH_INFO_MAX_LEN];
	uint8_t *copy = malloc(n ? n : 1);

	if (!copy)
		return;
	if (n)
		memcpy(copy, d, n);
	if (bh_attach_info_parse(copy, n, &info) == 0) {
		check_info(&info);
		CHECK(bh_attach_info_encode(enc, &info) == n);
		CHECK(!memcmp(enc, copy, n));
	}
	free(copy);
}

NO_COVERAGE
static void check_table(const struct chan_streams *t)
{
	uint32_t i, j, side[2] = { 0, 0 };

	CHECK(t->count <= BH_ATTACH_STREAMS_MAX);
	for (i = 0; i < t->count; i++) {
		uint32_t id = t->s[i].id;
		int g = (id & BH_STREAM_GUEST_BIT) != 0;

		CHECK(id != 0);
		CHECK(!g || t->s[i].flags == 0);
		side[g]++;
		for (j = 0; j < i; j++)
			CHECK(t->s[j].id != id);
	}
	CHECK(side[0] == t->side[0] && side[1] == t->side[1]);
	CHECK(side[0] <= BH_MAX_STREAMS && side[1] <= BH_MAX_STREAMS);
}

static void fuzz_table(const uint8_t *d, size_t n)
{
	static struct chan_relay r;
	static struct bh_attach_info info, back;
	static uint8_t enc[BH_ATTACH_INFO_MAX_LEN];
	size_t len;

	memset(&r, 0, sizeof(r));
	for (; n >= 13; d += 13, n -= 13) {
		struct bh_frame_hdr h = {
			.type = bh_get_u32(d + 1),
			.stream = bh_get_u32(d + 5),
			.len = bh_get_u32(d + 9),
		};

		if (d[0] & 1)
			chan_streams_to_guest(&r.streams, &h);
		else
			chan_streams_from_guest(&r.streams, &h);
		check_table(&r.streams);
	}
	r.have_hello = n > 0;
	r.hello_version = BH_PROTO_VERSION;
	r.hello_flags = n;
	chan_relay_attach_info(&r, &info);
	len = bh_attach_info_encode(enc, &info);
	CHECK(bh_attach_info_parse(enc, len, &back) == 0);
	CHECK(back.count == r.streams.count);
	CHECK(!memcmp(back.streams, r.streams.s,
		      back.count * sizeof(back.streams[0])));
	CHECK(!!(back.flags & BH_ATTACH_OVERFLOW) == !!r.streams.overflow);
}

NO_COVERAGE
static int open_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 256; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static void fuzz_take(const uint8_t *d, size_t n)
{
	int c[2], mine[3], theirs[3], nfd, i, types = 0, link = -1, qmp = -1;
	uint8_t enc[BH_ATTACH_REQ_LEN];
	char why[128];
	int before, r, want;

	if (n < 1 || n > 1 + 4096)
		return;
	nfd = d[0] & 3;
	if (nfd > 3)
		nfd = 3;
	before = open_fds();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c) < 0)
		abort();
	for (i = 0; i < nfd; i++) {
		int sv[2], type = (d[0] >> (2 + i)) & 1 ? SOCK_SEQPACKET
							: SOCK_STREAM;

		if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
			abort();
		types |= (type == SOCK_SEQPACKET) << i;
		mine[i] = sv[0];
		theirs[i] = sv[1];
	}
	if (bh_set_nonblock(c[1], 1) < 0)
		abort();
	r = bh_send_with_fds(c[0], d + 1, n - 1, theirs, (size_t)nfd);
	for (i = 0; i < nfd; i++)
		close(theirs[i]);
	if (r < 0)
		abort();
	r = chan_attach_take(c[1], &link, &qmp, why, sizeof(why));
	bh_attach_req_encode(enc);
	want = n - 1 == BH_ATTACH_REQ_LEN && !memcmp(d + 1, enc, n - 1) &&
	       nfd == 2 && types == 2;
	CHECK(r == (want ? 1 : -1));
	if (r == 1) {
		CHECK(fcntl(link, F_GETFL) & O_NONBLOCK);
		CHECK(fcntl(qmp, F_GETFD) & FD_CLOEXEC);
		close(link);
		close(qmp);
	}
	for (i = 0; i < nfd; i++)
		close(mine[i]);
	close(c[0]);
	close(c[1]);
	CHECK(open_fds() == before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_req(data + 1, size - 1);
		break;
	case 1:
		fuzz_info(data + 1, size - 1);
		break;
	case 2:
		fuzz_table(data + 1, size - 1);
		break;
	default:
		fuzz_take(data + 1, size - 1);
		break;
	}
	return 0;
}
