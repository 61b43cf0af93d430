/* Sending an open-in-disposable message (see openinvm.h). */
#include "guest/openinvm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"

#define CHUNK (64 * 1024)

int oiv_send(int fd, enum oiv_kind kind, const struct oiv_hdr *h,
	     const char *str, int content_fd, char *msg, size_t cap)
{
	static uint8_t buf[CHUNK];
	uint8_t hdr[OIV_HDR_LEN], digest[OIV_DIGEST_LEN];
	crypto_hash_sha256_state sha;
	struct oiv_hdr out = *h;
	uint64_t left = h->size;
	size_t slen = strlen(str);

	if (slen > (kind == OIV_REQUEST ? OIV_MAX_NAME : OIV_MAX_TEXT))
		slen = kind == OIV_REQUEST ? OIV_MAX_NAME : OIV_MAX_TEXT;
	out.str_len = (uint32_t)slen;
	if (sodium_init() < 0 || crypto_hash_sha256_init(&sha) != 0) {
		snprintf(msg, cap, "cannot start SHA-256");
		return -EIO;
	}
	oiv_hdr_encode(hdr, kind, &out);
	crypto_hash_sha256_update(&sha, hdr, sizeof(hdr));
	crypto_hash_sha256_update(&sha, (const uint8_t *)str, slen);
	if (bh_write_all(fd, hdr, sizeof(hdr)) < 0 ||
	    bh_write_all(fd, str, slen) < 0)
		goto write_err;
	while (left) {
		size_t want = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		ssize_t n = read(content_fd, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			snprintf(msg, cap, "cannot read the file: %s",
				 strerror(e));
			return -e;
		}
		if (n == 0) {
			/* The header promised more: the peer sees a
			 * truncated message and refuses it. */
			snprintf(msg, cap, "the file shrank while it was "
					   "sent");
			return -EIO;
		}
		crypto_hash_sha256_update(&sha, buf, (size_t)n);
		if (bh_write_all(fd, buf, (size_t)n) < 0)
			goto write_err;
		left -= (uint64_t)n;
	}
	crypto_hash_sha256_final(&sha, digest);
	if (bh_write_all(fd, digest, sizeof(digest)) < 0)
		goto write_err;
	return 0;
write_err:
	{
		int e = errno;

		snprintf(msg, cap, "cannot send: %s", strerror(e));
		return -e;
	}
}

int oiv_hash_fd(int fd, uint8_t out[OIV_DIGEST_LEN], uint64_t *size)
{
	static uint8_t buf[CHUNK];
	crypto_hash_sha256_state sha;
	uint64_t total = 0;
	ssize_t n;

	if (sodium_init() < 0 || crypto_hash_sha256_init(&sha) != 0)
		return -EIO;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		crypto_hash_sha256_update(&sha, buf, (size_t)n);
		total += (uint64_t)n;
	}
	crypto_hash_sha256_final(&sha, out);
	*size = total;
	return 0;
}
