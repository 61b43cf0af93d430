/* BH_MSG_RESUME payloads: parse (agent) and build (daemon). */
#include "proto/resume.h"

#include <errno.h>
#include <string.h>

#include "proto/frame.h"

#define OFF_TIME 0
#define OFF_FLAGS 8
#define OFF_ENTROPY 12
#define OFF_NAME (OFF_ENTROPY + BH_RESUME_ENTROPY)

_Static_assert(OFF_NAME + BH_RESUME_NAME_LEN == BH_RESUME_LEN,
	       "RESUME payload layout");

static void put_u64(uint8_t *p, uint64_t v)
{
	bh_put_u32(p, (uint32_t)v);
	bh_put_u32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)bh_get_u32(p) | (uint64_t)bh_get_u32(p + 4) << 32;
}

/* Plain ASCII: isalpha() follows the locale. */
static int letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int name_char(char c)
{
	return letter(c) || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
	       c == '-';
}

/* The syntax of qube names (daemon/qube_name.h), which every name the
 * daemon sends passes: a leading letter also keeps a host name from
 * reading as an option ("-x") or a path ("..") in the qube's scripts. */
int bh_resume_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > BH_RESUME_NAME_LEN - 1 || !letter(s[0]))
		return 0;
	for (i = 1; i < len; i++)
		if (!name_char(s[i]))
			return 0;
	return 1;
}

int bh_parse_resume(const uint8_t *untrusted_p, size_t len,
		    struct bh_resume *out)
{
	const char *untrusted_name;
	uint32_t untrusted_flags;
	size_t name_len, i;

	if (len != BH_RESUME_LEN)
		return -EPROTO;
	untrusted_flags = bh_get_u32(untrusted_p + OFF_FLAGS);
	if (untrusted_flags & ~BH_RESUME_FLAGS_KNOWN)
		return -EPROTO;
	/* The NUL must be inside the field: bounded, never strlen. */
	untrusted_name = (const char *)untrusted_p + OFF_NAME;
	name_len = strnlen(untrusted_name, BH_RESUME_NAME_LEN);
	if (name_len == BH_RESUME_NAME_LEN ||
	    !bh_resume_name_ok(untrusted_name, name_len))
		return -EPROTO;
	/* NUL padding to the end: anything else there would be a sender
	 * that leaks stale memory or builds the field wrong. */
	for (i = name_len; i < BH_RESUME_NAME_LEN; i++)
		if (untrusted_name[i])
			return -EPROTO;
	out->realtime_ns = get_u64(untrusted_p + OFF_TIME);
	out->flags = untrusted_flags;
	memcpy(out->entropy, untrusted_p + OFF_ENTROPY, BH_RESUME_ENTROPY);
	memset(out->name, 0, sizeof(out->name));
	memcpy(out->name, untrusted_name, name_len);
	return 0;
}

int bh_resume_build(uint8_t out[BH_RESUME_LEN], uint64_t realtime_ns,
		    uint32_t flags, const uint8_t entropy[BH_RESUME_ENTROPY],
		    const char *name)
{
	size_t name_len = strnlen(name, BH_RESUME_NAME_LEN);

	if (!bh_resume_name_ok(name, name_len) ||
	    (flags & ~BH_RESUME_FLAGS_KNOWN))
		return -EINVAL;
	put_u64(out + OFF_TIME, realtime_ns);
	bh_put_u32(out + OFF_FLAGS, flags);
	memcpy(out + OFF_ENTROPY, entropy, BH_RESUME_ENTROPY);
	memset(out + OFF_NAME, 0, BH_RESUME_NAME_LEN);
	memcpy(out + OFF_NAME, name, name_len);
	return (int)BH_RESUME_LEN;
}
