/* Channel framing shared by the host (bulkheadd, bh) and the guest (bh-agent).
 *
 * Every message on a channel is one frame: a fixed 12-byte little-endian
 * header followed by `len` payload bytes.
 *
 *   offset 0  u32 type    one of enum bh_msg
 *   offset 4  u32 stream  0 = the channel itself, else one command stream
 *   offset 8  u32 len     payload length, at most BH_FRAME_MAX_PAYLOAD
 *
 * Many streams share one channel. Data in each direction of a stream is
 * limited by credit: a sender may have at most the credit its peer granted
 * outstanding, and the peer grants more (BH_MSG_CREDIT) as it consumes data.
 * A peer that sends past its credit, names an unknown stream, or sends a
 * payload of the wrong size for its type is cut off: the parsers here never
 * trust a length they have not checked. */
#ifndef BH_PROTO_FRAME_H
#define BH_PROTO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "proto/resume.h" /* BH_MSG_RESUME's payload */

/* 2: data frames use credit for their header too (proto/credit.h), and a
 * CREDIT of 0 is a protocol error. */
#define BH_PROTO_VERSION 2u

#define BH_FRAME_HDR_LEN 12u
/* 64 KiB: large enough that a 1 GB/s stream costs ~16k frames a second,
 * small enough that a frame buffer per channel is cheap and that an
 * exec request (argv + environment) always fits in one frame. */
#define BH_FRAME_MAX_PAYLOAD (64u * 1024u)
/* Initial credit of each direction of each stream: four full frames in
 * flight keeps a virtio-serial port busy without letting one stream hog
 * the host's memory. */
#define BH_STREAM_WINDOW (256u * 1024u)
/* Streams one channel carries at once; more are refused. Room for a
 * hundred concurrent RPC calls from one qube plus the commands the host
 * runs in it. */
#define BH_MAX_STREAMS 256u
/* Stream ids the guest opens (BH_MSG_CALL) have this bit set; the host's
 * (BH_MSG_EXEC, BH_MSG_SERVICE) never do, so the two sides never pick
 * the same id. */
#define BH_STREAM_GUEST_BIT 0x80000000u
/* Data port numbers (bulkhead.data.N) stay below this; the host picks
 * them, the agent refuses others. */
#define BH_DATAPORT_N_MAX 1000000u

enum bh_msg {
	/* guest → host, stream 0: agent is up. payload: u32 version, u32 flags */
	BH_MSG_HELLO = 1,
	/* host → guest: start a command on a new stream. payload: exec request */
	BH_MSG_EXEC = 2,
	/* host → guest: bytes for the command's stdin; empty payload = EOF */
	BH_MSG_STDIN = 3,
	/* guest → host: bytes the command wrote; empty payload = EOF */
	BH_MSG_STDOUT = 4,
	BH_MSG_STDERR = 5,
	/* either way: grant the peer more credit. payload: u32 bytes, not 0
	 * (a data frame uses bh_credit_cost() of it) */
	BH_MSG_CREDIT = 6,
	/* guest → host: the command ended. payload: u32 kind, u32 value */
	BH_MSG_EXIT = 7,
	/* host → guest, stream 0: power off now. no payload */
	BH_MSG_POWEROFF = 8,
	/* guest → host: a process in the qube calls a service in another
	 * qube (bh-call), on a new stream with BH_STREAM_GUEST_BIT. payload:
	 * call request (proto/rpc_req.h). On such a stream the roles of the
	 * data frames turn around: the guest sends STDIN (bytes for the
	 * service) and the host sends STDOUT (the service's output) and
	 * EXIT (how the call ended). */
	BH_MSG_CALL = 9,
	/* host → guest: start an RPC service on a new stream. payload:
	 * service request (proto/rpc_req.h). Then as BH_MSG_EXEC. */
	BH_MSG_SERVICE = 10,
	/* host → guest, stream 0: the qube was restored from a snapshot or
	 * let run again (preloaded): set the clock, reseed the RNG, take a
	 * new name, optionally warm up; the agent answers HELLO. payload:
	 * BH_RESUME_LEN bytes (proto/resume.h) */
	BH_MSG_RESUME = 11,
	/* Direct data ports of a joined call (docs/rpc-data-path.md): the
	 * bulk data of a call may leave the channel for a virtio-serial
	 * port that the host plugged into both qubes, joined end to end
	 * with no process of the host in between. Control (EOF, exit,
	 * errors) stays on the channel. */
	/* host → guest: a port for this stream is plugged or about to be.
	 * payload: u32 N, the port is named bulkhead.data.N */
	BH_MSG_PORT_OPEN = 12,
	/* either way, in order with the stream's data frames: from here on
	 * the sender's data of this direction continues on the port. No
	 * payload. */
	BH_MSG_PORT_SWITCH = 13,
	/* either way: this direction ended after exactly this many bytes on
	 * the port (instead of an empty data frame). payload: u64 count */
	BH_MSG_PORT_END = 14,
	/* guest → host: the agent closed its port of this stream and reads
	 * nothing more from it; the host unplugs it once both ends said so.
	 * No payload. */
	BH_MSG_PORT_CLOSED = 15,

	/* bh ↔ bulkheadd only (admin socket), never on a qube channel. */
	/* bh → daemon: run in a fresh disposable of the global
	 * default_dispvm (the minimal template when unset). payload: exec
	 * request */
	BH_MSG_RUN_DISPVM = 0x100,
	/* daemon → bh: failure. payload: u32 exit code for bh, then text */
	BH_MSG_ERROR = 0x101,
	/* bh → daemon: run in the qube NAME, started first when it is halted
	 * and unpaused when it is paused. payload: NAME NUL exec request */
	BH_MSG_RUN_QUBE = 0x103,
	/* bh → daemon: call an RPC service in a qube from the host.
	 * payload: NAME NUL SERVICE[+ARG] NUL USER NUL (USER may be empty) */
	BH_MSG_RUN_SERVICE = 0x104,
	/* bh → daemon: run in a fresh disposable made from a disposable
	 * template. payload: DVM NUL exec request */
	BH_MSG_RUN_DISPVM_FROM = 0x105,
	/* bh → daemon: as BH_MSG_RUN_QUBE, but a halted or paused qube is
	 * refused instead (bh run --no-autostart). payload: as there */
	BH_MSG_RUN_QUBE_NOSTART = 0x106,

	/* A qube's channel process → bulkheadd only (the link between
	 * them, src/chan), never on a qube's channel nor the admin socket:
	 * the qube broke the channel protocol, and nothing more of it
	 * follows. payload: struct bh_chan_broken, BH_CHAN_BROKEN_LEN. */
	BH_MSG_CHAN_BROKEN = 0x200,
	/* A qube's channel process → bulkheadd, stream 0, the first frame
	 * on a link made by a re-attach (proto/chan_attach.h): the agent's
	 * HELLO and the streams open. payload: struct bh_attach_info. */
	BH_MSG_CHAN_ATTACH = 0x201,
};

/* Why a channel process stopped reading its qube (BH_MSG_CHAN_BROKEN). */
enum bh_chan_broken_why {
	BH_BROKEN_FRAME = 1,	/* a frame the rules refuse (type, len...) */
	BH_BROKEN_OVERSIZED = 2, /* a header whose length is over the max */
};

/* The frame that broke it, as far as it was read: its header, or type,
 * stream and len all 0 for BH_BROKEN_OVERSIZED (not decoded). */
struct bh_chan_broken {
	uint32_t why; /* enum bh_chan_broken_why */
	uint32_t type, stream, len;
};
#define BH_CHAN_BROKEN_LEN 16u

void bh_chan_broken_encode(uint8_t out[BH_CHAN_BROKEN_LEN],
			   const struct bh_chan_broken *b);
/* Exactly BH_CHAN_BROKEN_LEN bytes and a known why. 0 or -EPROTO. */
int bh_parse_chan_broken(const uint8_t *untrusted_p, size_t len,
			 struct bh_chan_broken *out);

/* BH_MSG_EXIT kinds */
enum bh_exit_kind {
	BH_EXIT_CODE = 0,     /* value = exit status 0..255 */
	BH_EXIT_SIGNAL = 1,   /* value = signal number 1..64 */
	BH_EXIT_NOSTART = 2,  /* value = enum bh_nostart: exec failed */
	BH_EXIT_REFUSED = 3,  /* value = 0: policy refused the call: 126 */
};

enum bh_nostart {
	BH_NOSTART_NOTFOUND = 1, /* no such program: 127 */
	BH_NOSTART_NOEXEC = 2,   /* not executable: 126 */
	BH_NOSTART_OTHER = 3,    /* fork, pipe, ...: 125 */
	BH_NOSTART_NOUSER = 4,   /* no such account in the qube: 125 */
};

struct bh_frame_hdr {
	uint32_t type;
	uint32_t stream;
	uint32_t len;
};

/* Little-endian helpers: the wire is LE whatever the CPU. */
void bh_put_u32(uint8_t *p, uint32_t v);
uint32_t bh_get_u32(const uint8_t *p);

void bh_frame_hdr_encode(uint8_t out[BH_FRAME_HDR_LEN],
			 const struct bh_frame_hdr *h);

/* Decodes a header from exactly BH_FRAME_HDR_LEN bytes and checks the length
 * against BH_FRAME_MAX_PAYLOAD. Returns 0, or -EMSGSIZE. Knows nothing of
 * which types a side accepts: see bh_frame_check_*. */
int bh_frame_hdr_decode(const uint8_t *untrusted_buf,
			struct bh_frame_hdr *out);

/* Payload rules per type, as seen by each receiver. Return 0 when a frame
 * of this type and length may be received on that side, else -EPROTO. */
int bh_frame_check_from_guest(const struct bh_frame_hdr *h);
int bh_frame_check_from_host(const struct bh_frame_hdr *h);

/* Small fixed payloads. The parse functions require the exact length. */
int bh_parse_u32_payload(const uint8_t *untrusted_p, size_t len, uint32_t *v);
int bh_parse_exit(const uint8_t *untrusted_p, size_t len, uint32_t *kind,
		  uint32_t *value);
int bh_parse_hello(const uint8_t *untrusted_p, size_t len, uint32_t *version);
/* BH_MSG_PORT_OPEN: N must be below BH_DATAPORT_N_MAX. */
int bh_parse_port_open(const uint8_t *untrusted_p, size_t len, uint32_t *n);
/* BH_MSG_PORT_END: a u64 byte count. */
int bh_parse_port_end(const uint8_t *untrusted_p, size_t len, uint64_t *count);
void bh_put_u64(uint8_t *p, uint64_t v);
uint64_t bh_get_u64(const uint8_t *p);

/* The shell-style exit status a command's BH_MSG_EXIT maps to:
 * its code, 128+signal, or 125/126/127 for a command that never started
 * (126 also for a call the policy refused, as in Qubes). */
int bh_exit_status(uint32_t kind, uint32_t value);

/* Fills out[BH_FRAME_HDR_LEN + payload_len] with one frame. */
size_t bh_frame_build(uint8_t *out, uint32_t type, uint32_t stream,
		      const void *payload, uint32_t payload_len);

#endif
