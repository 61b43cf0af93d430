/* The open-in-disposable messages: header checks and the bounds-checked,
 * incremental parser of a whole message (see openinvm.h). */
#include "guest/openinvm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "guest/filecopy.h"

#define BAD(code, text)                                                    \
	do {                                                               \
		*why = (text);                                             \
		return -(code);                                            \
	} while (0)

void oiv_hdr_encode(uint8_t out[OIV_HDR_LEN], enum oiv_kind kind,
		    const struct oiv_hdr *h)
{
	memcpy(out, kind == OIV_REQUEST ? OIV_REQUEST_MAGIC : OIV_REPLY_MAGIC,
	       4);
	fc_put_u32(out + 4, h->version);
	fc_put_u32(out + 8, h->flags);
	fc_put_u32(out + 12, h->status);
	fc_put_u32(out + 16, h->str_len);
	fc_put_u32(out + 20, 0);
	fc_put_u64(out + 24, h->size);
}

int oiv_hdr_decode(const uint8_t *untrusted_buf, enum oiv_kind kind,
		   uint64_t max_size, struct oiv_hdr *out, const char **why)
{
	const char *magic = kind == OIV_REQUEST ? OIV_REQUEST_MAGIC
						: OIV_REPLY_MAGIC;
	struct oiv_hdr untrusted_h;

	memset(out, 0, sizeof(*out));
	if (memcmp(untrusted_buf, magic, 4) != 0)
		BAD(EPROTO, kind == OIV_REQUEST ? "not an open request"
						: "not an open reply");
	untrusted_h.version = fc_get_u32(untrusted_buf + 4);
	untrusted_h.flags = fc_get_u32(untrusted_buf + 8);
	untrusted_h.status = fc_get_u32(untrusted_buf + 12);
	untrusted_h.str_len = fc_get_u32(untrusted_buf + 16);
	untrusted_h.size = fc_get_u64(untrusted_buf + 24);
	if (untrusted_h.version != OIV_VERSION)
		BAD(EPROTO, "unknown version");
	if (fc_get_u32(untrusted_buf + 20) != 0)
		BAD(EPROTO, "reserved field not zero");
	/* Both kinds know one flag, bit 0. */
	if (untrusted_h.flags & ~1u)
		BAD(EPROTO, "unknown flags");
	if (kind == OIV_REQUEST) {
		if (untrusted_h.status != 0)
			BAD(EPROTO, "request with a status");
		if (untrusted_h.str_len > OIV_MAX_NAME)
			BAD(ENAMETOOLONG, "file name too long");
	} else {
		if (untrusted_h.str_len > OIV_MAX_TEXT)
			BAD(ENAMETOOLONG, "message too long");
		if ((untrusted_h.flags & OIV_F_CHANGED) &&
		    untrusted_h.status != 0)
			BAD(EPROTO, "changed content with a failure status");
		if (!(untrusted_h.flags & OIV_F_CHANGED) &&
		    untrusted_h.size != 0)
			BAD(EPROTO, "content without the changed flag");
	}
	if (untrusted_h.size > max_size || untrusted_h.size > OIV_MAX_SIZE)
		BAD(EFBIG, kind == OIV_REQUEST ? "file too large"
					       : "changed file too large");
	*out = untrusted_h;
	return 0;
}

/* The disposable has opened an untrusted file and may be hostile from
 * then on: without a bound it could send content until the caller's
 * disk is full. An edit rarely more than quadruples a file, and small
 * files (a text, a form) may grow a lot in relative terms: 64 MiB at
 * least. Larger results can be fetched with bh-copy. */
uint64_t oiv_reply_cap(uint64_t orig_size)
{
	uint64_t cap;

	if (orig_size > OIV_MAX_SIZE / 4)
		return OIV_MAX_SIZE;
	cap = orig_size * 4;
	return cap < OIV_MIN_REPLY_CAP ? OIV_MIN_REPLY_CAP : cap;
}

int oiv_dec_init(struct oiv_dec *d, enum oiv_kind kind, uint64_t max_size,
		 const struct oiv_sink *sink)
{
	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->max_size = max_size;
	if (sink)
		d->sink = *sink;
	d->state = OIV_D_HDR;
	if (sodium_init() < 0 || crypto_hash_sha256_init(&d->sha) != 0) {
		d->state = OIV_D_FAILED;
		d->err = -EIO;
		snprintf(d->msg, sizeof(d->msg), "cannot start SHA-256");
		return -EIO;
	}
	return 0;
}

static int fail(struct oiv_dec *d, int err, const char *what)
{
	d->state = OIV_D_FAILED;
	d->err = err;
	snprintf(d->msg, sizeof(d->msg), "%s", what);
	return err;
}

/* The header and str are in: check str, tell the sink. */
static int str_done(struct oiv_dec *d)
{
	const char *why = NULL;
	int r;

	if (d->kind == OIV_REQUEST) {
		r = fc_name_check(d->untrusted_str, d->hdr.str_len, &why);
		if (r < 0)
			return fail(d, r, why);
		memcpy(d->text, d->untrusted_str, d->hdr.str_len);
		d->text[d->hdr.str_len] = '\0';
	} else {
		fc_escape(d->text, sizeof(d->text), d->untrusted_str,
			  d->hdr.str_len);
	}
	if (d->sink.header) {
		r = d->sink.header(d->sink.ctx, &d->hdr, d->text);
		if (r < 0)
			return fail(d, r, "refused by the receiver");
	}
	d->left = d->hdr.size;
	d->state = d->left ? OIV_D_DATA : OIV_D_DIGEST;
	d->have = 0;
	return 0;
}

int oiv_dec_feed(struct oiv_dec *d, const uint8_t *untrusted_buf, size_t len)
{
	size_t off = 0;

	if (d->state == OIV_D_FAILED)
		return d->err;
	while (off < len) {
		size_t n = len - off;
		const char *why = NULL;
		int r;

		switch (d->state) {
		case OIV_D_HDR:
		case OIV_D_DIGEST:
			if (n > OIV_HDR_LEN - d->have)
				n = OIV_HDR_LEN - d->have;
			memcpy(d->untrusted_fixed + d->have, untrusted_buf + off,
			       n);
			d->have += n;
			off += n;
			if (d->have < OIV_HDR_LEN)
				break;
			if (d->state == OIV_D_DIGEST) {
				uint8_t want[OIV_DIGEST_LEN];

				crypto_hash_sha256_final(&d->sha, want);
				if (sodium_memcmp(want, d->untrusted_fixed,
						  OIV_DIGEST_LEN) != 0)
					return fail(d, -EBADMSG,
						    "checksum mismatch");
				d->state = OIV_D_DONE;
				break;
			}
			crypto_hash_sha256_update(&d->sha, d->untrusted_fixed,
						  OIV_HDR_LEN);
			r = oiv_hdr_decode(d->untrusted_fixed, d->kind,
					   d->max_size, &d->hdr, &why);
			if (r < 0)
				return fail(d, r, why);
			d->have = 0;
			d->state = OIV_D_STR;
			if (d->hdr.str_len == 0 && (r = str_done(d)) < 0)
				return r;
			break;
		case OIV_D_STR:
			if (n > d->hdr.str_len - d->have)
				n = d->hdr.str_len - d->have;
			memcpy(d->untrusted_str + d->have, untrusted_buf + off,
			       n);
			crypto_hash_sha256_update(&d->sha, untrusted_buf + off,
						  n);
			d->have += n;
			off += n;
			if (d->have == d->hdr.str_len && (r = str_done(d)) < 0)
				return r;
			break;
		case OIV_D_DATA:
			if (n > d->left)
				n = (size_t)d->left;
			crypto_hash_sha256_update(&d->sha, untrusted_buf + off,
						  n);
			if (d->sink.data &&
			    (r = d->sink.data(d->sink.ctx,
					      untrusted_buf + off, n)) < 0)
				return fail(d, r, "cannot store the content");
			d->left -= n;
			off += n;
			if (!d->left) {
				d->state = OIV_D_DIGEST;
				d->have = 0;
			}
			break;
		case OIV_D_DONE:
			return fail(d, -EPROTO, "trailing bytes after the "
						"message");
		case OIV_D_FAILED:
			return d->err;
		}
	}
	return d->state == OIV_D_DONE ? 1 : 0;
}

int oiv_dec_finish(struct oiv_dec *d)
{
	if (d->state == OIV_D_DONE)
		return 0;
	if (d->state == OIV_D_FAILED)
		return d->err;
	return fail(d, -EPROTO, "truncated");
}
