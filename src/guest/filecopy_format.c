/* The file-copy stream's fixed parts: headers, names, symlink targets,
 * the status message; bounds-checked decoding of each. */
#include "guest/filecopy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void fc_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void fc_put_u64(uint8_t *p, uint64_t v)
{
	fc_put_u32(p, (uint32_t)v);
	fc_put_u32(p + 4, (uint32_t)(v >> 32));
}

uint32_t fc_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

uint64_t fc_get_u64(const uint8_t *p)
{
	return (uint64_t)fc_get_u32(p) | (uint64_t)fc_get_u32(p + 4) << 32;
}

void fc_start_encode(uint8_t out[FC_START_LEN])
{
	memcpy(out, FC_MAGIC, 4);
	fc_put_u32(out + 4, FC_VERSION);
}

void fc_hdr_encode(uint8_t out[FC_HDR_LEN], const struct fc_hdr *h)
{
	fc_put_u32(out, h->type);
	fc_put_u32(out + 4, h->mode);
	fc_put_u64(out + 8, (uint64_t)h->mtime_sec);
	fc_put_u32(out + 16, h->mtime_nsec);
	fc_put_u32(out + 20, h->name_len);
	fc_put_u64(out + 24, h->data_len);
}

#define BAD(code, text)                                                    \
	do {                                                               \
		*why = (text);                                             \
		return -(code);                                            \
	} while (0)

int fc_hdr_decode(const uint8_t *untrusted_buf, struct fc_hdr *out,
		  const char **why)
{
	struct fc_hdr untrusted_h;

	memset(out, 0, sizeof(*out));
	untrusted_h.type = fc_get_u32(untrusted_buf);
	untrusted_h.mode = fc_get_u32(untrusted_buf + 4);
	untrusted_h.mtime_sec = (int64_t)fc_get_u64(untrusted_buf + 8);
	untrusted_h.mtime_nsec = fc_get_u32(untrusted_buf + 16);
	untrusted_h.name_len = fc_get_u32(untrusted_buf + 20);
	untrusted_h.data_len = fc_get_u64(untrusted_buf + 24);

	switch (untrusted_h.type) {
	case FC_T_DIR_END:
	case FC_T_END:
		/* Markers carry nothing. */
		if (untrusted_h.mode || untrusted_h.mtime_sec ||
		    untrusted_h.mtime_nsec || untrusted_h.name_len ||
		    untrusted_h.data_len)
			BAD(EPROTO, "marker entry with non-zero fields");
		*out = untrusted_h;
		return 0;
	case FC_T_FILE:
	case FC_T_DIR:
	case FC_T_SYMLINK:
		break;
	case FC_T_FIFO:
		BAD(EOPNOTSUPP, "fifo entry refused");
	case FC_T_CHR:
	case FC_T_BLK:
		BAD(EOPNOTSUPP, "device node entry refused");
	case FC_T_SOCK:
		BAD(EOPNOTSUPP, "socket entry refused");
	default:
		BAD(EPROTO, "unknown entry type");
	}
	if (untrusted_h.mode & ~FC_MODE_WIRE)
		BAD(EPROTO, "mode with bits beyond 07777");
	if (untrusted_h.mtime_nsec > 999999999u)
		BAD(EPROTO, "mtime nanoseconds out of range");
	if (untrusted_h.name_len == 0)
		BAD(EINVAL, "empty name");
	if (untrusted_h.name_len > FC_MAX_NAME)
		BAD(ENAMETOOLONG, "name longer than 255 bytes");
	if (untrusted_h.type == FC_T_DIR && untrusted_h.data_len != 0)
		BAD(EPROTO, "directory entry with data");
	if (untrusted_h.type == FC_T_SYMLINK && untrusted_h.data_len == 0)
		BAD(ENOLINK, "empty symlink target");
	if (untrusted_h.type == FC_T_SYMLINK &&
	    untrusted_h.data_len > FC_MAX_LINK)
		BAD(ENAMETOOLONG, "symlink target longer than 4095 bytes");
	if (untrusted_h.type == FC_T_FILE && untrusted_h.data_len > FC_MAX_FILE)
		BAD(EFBIG, "file size out of range");
	*out = untrusted_h;
	return 0;
}

static int is_control(uint8_t c)
{
	return c < 0x20 || c == 0x7f;
}

int fc_name_check(const uint8_t *untrusted_name, size_t len,
		  const char **why)
{
	size_t i;

	if (len == 0)
		BAD(EINVAL, "empty name");
	if (len > FC_MAX_NAME)
		BAD(ENAMETOOLONG, "name longer than 255 bytes");
	if ((len == 1 && untrusted_name[0] == '.') ||
	    (len == 2 && untrusted_name[0] == '.' && untrusted_name[1] == '.'))
		BAD(EINVAL, "name \".\" or \"..\"");
	for (i = 0; i < len; i++) {
		if (untrusted_name[i] == '/')
			BAD(EINVAL, "name containing '/'");
		if (is_control(untrusted_name[i]))
			BAD(EILSEQ, "name containing a control character");
	}
	return 0;
}

int fc_link_check(const uint8_t *untrusted_target, size_t len, size_t depth,
		  const char **why)
{
	size_t i = 0, up = 0;
	int down = 0; /* seen a component other than "." and ".." */

	if (len == 0)
		BAD(ENOLINK, "empty symlink target");
	if (len > FC_MAX_LINK)
		BAD(ENAMETOOLONG, "symlink target longer than 4095 bytes");
	for (i = 0; i < len; i++) {
		if (untrusted_target[i] == 0 || is_control(untrusted_target[i]))
			BAD(EILSEQ, "symlink target containing a control "
				    "character");
	}
	if (untrusted_target[0] == '/')
		BAD(ENOLINK, "absolute symlink target");
	i = 0;
	while (i < len) {
		size_t start = i, n;

		while (i < len && untrusted_target[i] != '/')
			i++;
		n = i - start;
		if (n == 0)
			BAD(ENOLINK, "symlink target with an empty component");
		if (n == 2 && untrusted_target[start] == '.' &&
		    untrusted_target[start + 1] == '.') {
			/* Only leading "..": after a real component, ".."
			 * would climb out of whatever that component is,
			 * perhaps another symlink. */
			if (down)
				BAD(ENOLINK, "symlink target with \"..\" after "
					     "a name");
			if (++up > depth)
				BAD(ENOLINK, "symlink target leaving the "
					     "copied tree");
		} else if (!(n == 1 && untrusted_target[start] == '.')) {
			down = 1;
		}
		if (i < len) {
			i++; /* the '/' */
			if (i == len)
				BAD(ENOLINK, "symlink target ending in '/'");
		}
	}
	return 0;
}

#undef BAD

int fc_qube_name_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len < 1 || len > 31)
		return 0;
	if (!((name[0] >= 'a' && name[0] <= 'z') ||
	      (name[0] >= 'A' && name[0] <= 'Z')))
		return 0;
	for (i = 1; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

void fc_escape(char *out, size_t cap, const uint8_t *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (cap == 0)
		return;
	for (i = 0; i < len; i++) {
		uint8_t c = src[i];

		if (c < 0x20 || c >= 0x7f || c == '\\') {
			if (cap - o < 5)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			if (cap - o < 2)
				break;
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

size_t fc_status_encode(uint8_t *out, size_t cap, uint32_t code,
			const uint8_t *digest, const char *text)
{
	size_t tlen = text ? strlen(text) : 0;

	if (cap < FC_STATUS_HDR_LEN)
		return 0;
	if (tlen > FC_MAX_STATUS_TEXT)
		tlen = FC_MAX_STATUS_TEXT;
	if (tlen > cap - FC_STATUS_HDR_LEN)
		tlen = cap - FC_STATUS_HDR_LEN;
	memcpy(out, FC_STATUS_MAGIC, 4);
	fc_put_u32(out + 4, code);
	if (digest)
		memcpy(out + 8, digest, FC_DIGEST_LEN);
	else
		memset(out + 8, 0, FC_DIGEST_LEN);
	fc_put_u32(out + 8 + FC_DIGEST_LEN, (uint32_t)tlen);
	if (tlen)
		memcpy(out + FC_STATUS_HDR_LEN, text, tlen);
	return FC_STATUS_HDR_LEN + tlen;
}

long fc_status_parse(const uint8_t *untrusted_buf, size_t len,
		     struct fc_status *out)
{
	uint32_t untrusted_tlen;
	size_t i;

	memset(out, 0, sizeof(*out));
	/* The magic is checked as soon as its bytes are here. */
	for (i = 0; i < len && i < 4; i++)
		if (untrusted_buf[i] != (uint8_t)FC_STATUS_MAGIC[i])
			return -EPROTO;
	if (len < FC_STATUS_HDR_LEN)
		return 0;
	untrusted_tlen = fc_get_u32(untrusted_buf + 8 + FC_DIGEST_LEN);
	if (untrusted_tlen > FC_MAX_STATUS_TEXT)
		return -EPROTO;
	if (len - FC_STATUS_HDR_LEN < untrusted_tlen)
		return 0;
	out->code = fc_get_u32(untrusted_buf + 4);
	memcpy(out->digest, untrusted_buf + 8, FC_DIGEST_LEN);
	/* Escaping may grow the text 4 times; what does not fit is cut. */
	fc_escape(out->text, sizeof(out->text),
		  untrusted_buf + FC_STATUS_HDR_LEN, untrusted_tlen);
	return (long)(FC_STATUS_HDR_LEN + untrusted_tlen);
}
