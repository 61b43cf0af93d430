/* The open-in-disposable messages (service bulkhead.OpenInVM, the role of
 * Qubes' qubes.OpenInVM): bh-open-in-dvm sends one request, the service
 * in the disposable answers with one reply. docs/open-in-dvm.md is the
 * specification; in short, both are
 *
 *   message = header[32], str[str_len], content[size], SHA-256[32]
 *   header  = magic[4], u32 version, u32 flags, u32 status, u32 str_len,
 *             u32 reserved (0), u64 size                (little-endian)
 *
 * and the digest covers every byte before it.
 *   request: magic "BHOQ", flags OIV_F_VIEW_ONLY or 0, status 0, str =
 *            the file's base name, content = the file.
 *   reply:   magic "BHOA", flags OIV_F_CHANGED or 0, status 0 or a Linux
 *            errno value, str = a message for the user, content = the
 *            changed file (only with OIV_F_CHANGED, and so status 0).
 * Nothing may follow the digest. Each side parses the other's message as
 * untrusted: the disposable distrusts the caller's file, and the caller
 * distrusts the disposable, which has opened that file. */
#ifndef BH_GUEST_OPENINVM_H
#define BH_GUEST_OPENINVM_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define OIV_SERVICE "bulkhead.OpenInVM"
#define OIV_REQUEST_MAGIC "BHOQ"
#define OIV_REPLY_MAGIC "BHOA"
#define OIV_VERSION 1u
#define OIV_HDR_LEN 32u
#define OIV_DIGEST_LEN crypto_hash_sha256_BYTES /* 32 */

#define OIV_F_VIEW_ONLY 1u /* request: open, never send changes back */
#define OIV_F_CHANGED 1u   /* reply: the file changed; content follows */

/* A name is one path component the receiving file system can hold. */
#define OIV_MAX_NAME 255u
/* The reply's message is one short line for the caller's terminal. */
#define OIV_MAX_TEXT 1024u
/* A file larger than off_t can describe cannot be written. */
#define OIV_MAX_SIZE ((uint64_t)INT64_MAX)
/* The least reply cap of the caller (oiv_reply_cap). */
#define OIV_MIN_REPLY_CAP ((uint64_t)64 << 20)

/* Where the service looks for the disposable template's own opener (on
 * the DVM's private volume, so each DVM can choose). */
#define OIV_OPENER_PATH "/usr/local/etc/bulkhead/open-in-vm"

enum oiv_kind { OIV_REQUEST, OIV_REPLY };

struct oiv_hdr {
	uint32_t version;
	uint32_t flags;
	uint32_t status;
	uint32_t str_len;
	uint64_t size;
};

void oiv_hdr_encode(uint8_t out[OIV_HDR_LEN], enum oiv_kind kind,
		    const struct oiv_hdr *h);
/* Decodes a header of this kind and checks it: magic, version, known
 * flags, reserved 0, str_len within the kind's limit, size at most
 * max_size, and for a request status 0, for a reply content only with
 * OIV_F_CHANGED and OIV_F_CHANGED only with status 0. Returns 0, or
 * -EPROTO (malformed), -ENAMETOOLONG (str_len), -EFBIG (size) with *why
 * set to a static string. */
int oiv_hdr_decode(const uint8_t *untrusted_buf, enum oiv_kind kind,
		   uint64_t max_size, struct oiv_hdr *out, const char **why);

/* The caller's bound on a reply's content for a file of orig_size bytes:
 * 4 times the original, at least OIV_MIN_REPLY_CAP, at most
 * OIV_MAX_SIZE (see oiv_reply_cap in openinvm_format.c for why). */
uint64_t oiv_reply_cap(uint64_t orig_size);

/* ---- receiving a message, in any split ---- */

/* What the receiver does with a message as it is parsed. Both may be
 * NULL. header: once the header and str are checked (str is the name,
 * NUL-terminated, for a request; the escaped, printable message for a
 * reply). data: each piece of content, in order. Each returns 0 or a
 * negative errno, which stops the parse with that error. */
struct oiv_sink {
	int (*header)(void *ctx, const struct oiv_hdr *h, const char *str);
	int (*data)(void *ctx, const uint8_t *buf, size_t len);
	void *ctx;
};

enum oiv_dec_state {
	OIV_D_HDR,
	OIV_D_STR,
	OIV_D_DATA,
	OIV_D_DIGEST,
	OIV_D_DONE,
	OIV_D_FAILED,
};

struct oiv_dec {
	enum oiv_kind kind;
	uint64_t max_size;
	struct oiv_sink sink;
	enum oiv_dec_state state;
	/* The other qube's bytes as they arrive, before their checks. */
	uint8_t untrusted_fixed[OIV_HDR_LEN]; /* header or digest */
	uint8_t untrusted_str[OIV_MAX_TEXT + 1];
	size_t have;                /* bytes of one of them so far */
	struct oiv_hdr hdr;         /* decoded and checked */
	char text[4 * OIV_MAX_TEXT + 1]; /* str checked or escaped, as
					  * handed to the sink */
	uint64_t left;              /* content bytes still to come */
	crypto_hash_sha256_state sha;
	int err;                    /* first error, negative errno, or 0 */
	char msg[160];
};

/* Starts parsing a message of this kind whose content may be at most
 * max_size bytes. sink may be NULL. Returns 0, or -EIO when libsodium
 * cannot start. */
int oiv_dec_init(struct oiv_dec *d, enum oiv_kind kind, uint64_t max_size,
		 const struct oiv_sink *sink);
/* Feeds the next len bytes. Returns 0 when more is expected, 1 when the
 * message is complete and its digest checked (any further byte is an
 * error), or the first error (negative errno, kept in d->err with a
 * message in d->msg): -EPROTO malformed or trailing bytes, -EBADMSG
 * digest mismatch, -EINVAL/-EILSEQ/-ENAMETOOLONG bad name (request),
 * -EFBIG content over max_size, or the sink's error. After an error every
 * call returns it again. */
int oiv_dec_feed(struct oiv_dec *d, const uint8_t *untrusted_buf,
		 size_t len);
/* The input has ended: 0 if the message was complete, else the first
 * error (-EPROTO "truncated" if none before). */
int oiv_dec_finish(struct oiv_dec *d);

/* ---- sending a message ---- */

/* Sends one whole message on fd: the header from h (str_len from str),
 * str, h->size bytes read from content_fd (from its current offset;
 * unused when h->size is 0) and the digest. SIGPIPE must be ignored.
 * Returns 0, or a negative errno with a message in msg: -EPIPE and the
 * like when the peer is gone, -EIO when content_fd ended early. */
int oiv_send(int fd, enum oiv_kind kind, const struct oiv_hdr *h,
	     const char *str, int content_fd, char *msg, size_t cap);

/* SHA-256 of what fd holds from its current offset to its end, and how
 * many bytes that was. Returns 0 or a negative errno. */
int oiv_hash_fd(int fd, uint8_t out[OIV_DIGEST_LEN], uint64_t *size);

#endif
