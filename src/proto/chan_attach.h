/* Re-attaching a channel process to a new daemon (issue 12, point 2).
 *
 * A qube's channel process (src/chan) outlives the daemon: when its link
 * closes (the daemon died, or left on purpose with `bh daemon restart`)
 * it stops reading its qube (the guest's frames wait in the channel,
 * the agent is held back by its own credit), keeps its logs, and waits on
 * a listening socket the daemon bound for it before its start
 * (RUN_DIR/chan.sock, root's, mode 0600). The next daemon connects there
 * and sends one BH_ATTACH_REQ_LEN-byte message carrying exactly two fds
 * (SCM_RIGHTS): the channel process's end of a new frame link (a
 * SOCK_STREAM socket) and of a new QMP link (SOCK_SEQPACKET). A peer
 * whose uid is not the one that started the channel process, a message
 * of another size or magic, or fds of other types are refused: the
 * connection is closed and the process waits on.
 *
 * (A connection whose request has not come yet is kept a moment, 2 s,
 * without holding the process up: src/chan/attach.h.)
 *
 * Once attached, the first frame on the new link is BH_MSG_CHAN_ATTACH
 * (stream 0) with the payload below: what the daemon needs to carry on
 * with a qube whose earlier daemon it never knew. The QMP link then gets
 * a READY record (proto/msg_qmp.h) when QEMU's greeting was done (else
 * READY comes later, when it is), or BROKEN when QMP was closed
 * meanwhile; what QEMU said while no daemon was there (events, replies
 * to the old daemon's commands) is not kept.
 *
 * It detaches and re-attaches any number of times. While attached, its
 * socket is not read: a connection waits in its backlog, and is taken
 * when the link closes (so a daemon that connected to a process still
 * attached elsewhere waits for CHAN_ATTACH: it bounds that wait,
 * CHAN_ATTACH_REPLY_MS in src/daemon/core/daemon.h). It still ends when
 * QEMU has closed everything, or when its qube broke the channel
 * protocol (BROKEN, sent or dropped with the old link: nothing waits for
 * such a qube); a connect to its socket then fails with ECONNREFUSED. */
#ifndef BH_PROTO_CHAN_ATTACH_H
#define BH_PROTO_CHAN_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"

/* The daemon's request: these 8 bytes, then u32 BH_ATTACH_VERSION
 * (little-endian), 12 bytes in all. */
#define BH_ATTACH_MAGIC "bhattach"
#define BH_ATTACH_VERSION 1u
#define BH_ATTACH_REQ_LEN 12u

/* The streams open on the qube's channel as the channel process saw
 * them: opened by the daemon (EXEC, SERVICE) and not yet ended by the
 * guest's EXIT, or opened by the guest (CALL) and not yet ended by the
 * daemon's EXIT. At most this many are tracked (the daemon's and the
 * guest's id spaces, BH_MAX_STREAMS each: a guest that opens more cannot
 * crowd the daemon's out). Frames that were queued for the old daemon
 * when its link closed are dropped, but what they did to this table
 * stands: a CALL the old daemon never read is listed as open, an EXIT it
 * never read has taken its stream out. */
#define BH_ATTACH_STREAMS_MAX (2u * BH_MAX_STREAMS)

/* Flags of one stream. */
#define BH_ATTACH_S_INPUT_EOF 1u /* the daemon sent its input's EOF */

/* Flags of the payload. */
#define BH_ATTACH_HELLO 1u /* the agent said HELLO (hello_* are its own) */
#define BH_ATTACH_OVERFLOW 2u /* more streams were open than are listed */

struct bh_attach_stream {
	uint32_t id;
	uint32_t flags; /* BH_ATTACH_S_* */
};

/* BH_MSG_CHAN_ATTACH's payload, little-endian:
 *   u32 flags, u32 hello_version, u32 hello_flags, u32 count,
 *   then count x (u32 id, u32 flags).
 * hello_* are 0 without BH_ATTACH_HELLO. */
struct bh_attach_info {
	uint32_t flags;
	uint32_t hello_version, hello_flags;
	uint32_t count;
	struct bh_attach_stream streams[BH_ATTACH_STREAMS_MAX];
};

#define BH_ATTACH_INFO_FIXED_LEN 16u
#define BH_ATTACH_INFO_MAX_LEN \
	(BH_ATTACH_INFO_FIXED_LEN + 8u * BH_ATTACH_STREAMS_MAX)
_Static_assert(BH_ATTACH_INFO_MAX_LEN <= BH_FRAME_MAX_PAYLOAD,
	       "the attach payload fits one frame");

void bh_attach_req_encode(uint8_t out[BH_ATTACH_REQ_LEN]);
/* 0 when untrusted_buf is exactly the request, else -EPROTO. */
int bh_attach_req_parse(const uint8_t *untrusted_buf, size_t len);

/* Encodes info into out (BH_ATTACH_INFO_MAX_LEN bytes at least);
 * returns the length. */
size_t bh_attach_info_encode(uint8_t *out, const struct bh_attach_info *info);
/* Checks and decodes a payload: the exact length for its count, count
 * at most BH_ATTACH_STREAMS_MAX and at most BH_MAX_STREAMS of each side
 * (BH_STREAM_GUEST_BIT), only known flags, ids not 0 and not repeated,
 * each stream's flags allowed for its side (BH_ATTACH_S_INPUT_EOF only
 * on the daemon's), hello_* 0 without BH_ATTACH_HELLO. 0 with *out
 * filled, or -EPROTO. */
int bh_attach_info_parse(const uint8_t *untrusted_buf, size_t len,
			 struct bh_attach_info *out);

#endif
