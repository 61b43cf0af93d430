/* The payload of BH_MSG_RESUME (host → guest, stream 0): what a qube
 * restored from a memory snapshot, or a preloaded one let run again, must
 * learn before it runs anything, because its clock, its RNG state and its
 * host name are those of the snapshot instant (docs/disposable-snapshots.md).
 *
 *   offset  0  u64 realtime_ns  the host's CLOCK_REALTIME when sent
 *   offset  8  u32 flags        BH_RESUME_WARM; any other bit is refused
 *   offset 12  u8  entropy[64]  fresh random bytes from the host
 *   offset 76  char name[32]    the qube's name, NUL-padded: 1 to 31 of
 *                               [A-Za-z0-9_.-] starting with a letter,
 *                               then only NULs (at least one)
 *
 * Little-endian, exactly BH_RESUME_LEN bytes. The agent answers with
 * BH_MSG_HELLO, as at boot. */
#ifndef BH_PROTO_RESUME_H
#define BH_PROTO_RESUME_H

#include <stddef.h>
#include <stdint.h>

#define BH_RESUME_LEN 108
#define BH_RESUME_ENTROPY 64
/* The name field; the name itself is at most BH_RESUME_NAME_LEN - 1. */
#define BH_RESUME_NAME_LEN 32

/* Run `true` once before answering, so that a TCG guest has translated
 * the command path before the first real command (a preloaded qube). */
#define BH_RESUME_WARM 0x1u
#define BH_RESUME_FLAGS_KNOWN BH_RESUME_WARM

struct bh_resume {
	uint64_t realtime_ns;
	uint32_t flags;
	uint8_t entropy[BH_RESUME_ENTROPY];
	char name[BH_RESUME_NAME_LEN]; /* NUL-terminated */
};

/* 1 when s[0..len) is a name the payload may carry: 1 to 31 bytes of
 * [A-Za-z0-9_.-], the first a letter. */
int bh_resume_name_ok(const char *s, size_t len);

/* Parses and checks a payload (length, flags, name). Returns 0 with *out
 * filled, or -EPROTO with *out untouched. */
int bh_parse_resume(const uint8_t *untrusted_p, size_t len,
		    struct bh_resume *out);

/* Fills out with a payload; name is a C string. Returns BH_RESUME_LEN,
 * or -EINVAL (nothing written) for a bad name or a flag bit outside
 * BH_RESUME_FLAGS_KNOWN. */
int bh_resume_build(uint8_t out[BH_RESUME_LEN], uint64_t realtime_ns,
		    uint32_t flags, const uint8_t entropy[BH_RESUME_ENTROPY],
		    const char *name);

#endif
