/* Shared by the two open-in-disposable fuzz targets (fuzz_openinvm_request,
 * fuzz_openinvm_reply): one parser, oiv_dec, for either kind of message.
 *
 * Input: byte 0 = flags, byte 1 = seed, then the message.
 *   flags bits 0-2  how the message is cut into feeds (fuzz_next_chunk)
 *   flags bit 3     append the correct digest of what came before, so
 *                   that mutated headers and content reach the end
 *   flags bit 4     the receiver's sink refuses the content (as the
 *                   caller does when it cannot write its temporary file)
 *
 * Checked after every input: the sink saw at most one header, before any
 * content; never more content than the header declared, nor than the
 * bound; the string handed over is a valid name (request) or printable
 * text (reply); on success exactly the declared content came, and the
 * result is stable (finish returns the same again). */
#ifndef BH_TESTS_FUZZ_OPENINVM_COMMON_H
#define BH_TESTS_FUZZ_OPENINVM_COMMON_H

#include "guest/filecopy.h"
#include "guest/openinvm.h"
#include "lib/log.h"

#include "fuzz_common.h"

/* Small, so that the size checks are reached. */
#define FUZZ_OIV_MAX 4096u

struct fuzz_oiv_seen {
	enum oiv_kind kind;
	int headers;
	struct oiv_hdr hdr;
	uint64_t data;
	int refuse;
};

NO_COVERAGE
static int fuzz_oiv_header(void *ctx, const struct oiv_hdr *h,
			   const char *str)
{
	struct fuzz_oiv_seen *s = ctx;
	const char *why;
	size_t i;

	CHECK(s->headers == 0);
	s->headers++;
	s->hdr = *h;
	CHECK(h->size <= FUZZ_OIV_MAX);
	if (s->kind == OIV_REQUEST) {
		CHECK(strlen(str) == h->str_len);
		CHECK(fc_name_check((const uint8_t *)str, strlen(str), &why) ==
		      0);
		CHECK(strchr(str, '/') == NULL);
		CHECK(h->status == 0);
	} else {
		for (i = 0; str[i]; i++)
			CHECK((unsigned char)str[i] >= 0x20 &&
			      (unsigned char)str[i] < 0x7f);
		CHECK(h->size == 0 || (h->flags & OIV_F_CHANGED));
		CHECK(!(h->flags & OIV_F_CHANGED) || h->status == 0);
	}
	return 0;
}

NO_COVERAGE
static int fuzz_oiv_data(void *ctx, const uint8_t *buf, size_t len)
{
	struct fuzz_oiv_seen *s = ctx;

	(void)buf;
	CHECK(s->headers == 1 && len > 0);
	s->data += len;
	CHECK(s->data <= s->hdr.size);
	return s->refuse ? -ENOSPC : 0;
}

static inline void fuzz_oiv_run(enum oiv_kind kind, const uint8_t *data,
				size_t size)
{
	static struct oiv_dec d;
	struct fuzz_oiv_seen seen = { .kind = kind };
	struct oiv_sink sink = { fuzz_oiv_header, fuzz_oiv_data, &seen };
	size_t len, off = 0;
	uint8_t *msg;
	unsigned flags;
	int r = 0;

	if (size < 2)
		return;
	flags = data[0];
	fuzz_seed(data);
	seen.refuse = (flags & 16) != 0;
	len = size - 2;
	msg = malloc(len + OIV_DIGEST_LEN);
	CHECK(msg != NULL);
	memcpy(msg, data + 2, len);
	if (flags & 8) {
		crypto_hash_sha256(msg + len, msg, len);
		len += OIV_DIGEST_LEN;
	}
	CHECK(oiv_dec_init(&d, kind, FUZZ_OIV_MAX, &sink) == 0);
	while (off < len) {
		size_t n = fuzz_next_chunk(flags & 7);
		uint8_t *c;

		if (n > len - off)
			n = len - off;
		c = malloc(n);
		CHECK(c != NULL);
		memcpy(c, msg + off, n);
		r = oiv_dec_feed(&d, c, n);
		free(c);
		off += n;
		CHECK(r <= 1);
		if (r < 0) {
			CHECK(r == d.err && d.msg[0] != '\0');
			CHECK(oiv_dec_feed(&d, msg, 1) == r);
			break;
		}
		CHECK((r == 1) == (d.state == OIV_D_DONE));
	}
	r = oiv_dec_finish(&d);
	CHECK(oiv_dec_finish(&d) == r);
	if (r == 0) {
		CHECK(d.state == OIV_D_DONE && off == len);
		CHECK(seen.headers == 1 && seen.data == seen.hdr.size);
		CHECK(!seen.refuse || seen.data == 0);
	} else {
		CHECK(r < 0 && d.msg[0] != '\0');
	}
	free(msg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	bh_log_set_level(BH_LOG_ERR);
	CHECK(sodium_init() >= 0);
	return 0;
}

#endif
