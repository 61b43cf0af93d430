#!/usr/bin/env python3
"""Writes the seed corpora of the libFuzzer targets in tests/fuzz/.

Each target's directory under tests/fuzz/corpus/ gets a few small valid
inputs named seed-*.bin (rewritten on each run), and, where a target found a
bug, its reproducer crash-*.bin (rewritten too). Other files there are left
alone. No dependencies beyond Python 3.

Input layouts (see the comment at the top of each target):
  fuzz_host_frames, fuzz_agent_frames, fuzz_chan_relay: flags byte, seed
    byte, byte stream
  fuzz_exec_req: one exec request payload
  fuzz_qmp_line: mode byte (state, way in), then QMP text
  fuzz_qmp_rec: mode byte (way in, shaping, start), then QMP records
  fuzz_openinvm_request, fuzz_openinvm_reply: flags byte, seed byte, message
  fuzz_chan_attach: part byte (request, payload, stream table, a request
    taken from a socket), then that part's input
  fuzz_msg_priv: mode byte (shaping of the header, strings, numbers,
    charsets), then one priv link datagram
"""
import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

# src/proto/frame.h
HELLO, EXEC, STDIN, STDOUT, STDERR, CREDIT, EXIT, POWEROFF = range(1, 9)
RESUME = 11
RESUME_WARM = 1
EXIT_CODE, EXIT_SIGNAL, EXIT_NOSTART = 0, 1, 2
PROTO_VERSION = 2
CALL = 9
GUEST_BIT = 0x80000000


def frame(kind, stream, payload=b""):
    return struct.pack("<III", kind, stream, len(payload)) + payload


def u32(v):
    return struct.pack("<I", v)


def exec_req(argv, env=()):
    out = struct.pack("<II", len(argv), len(env))
    for s in list(argv) + list(env):
        out += s.encode() + b"\0"
    return out


def resume(flags, name, ns=1764410000123456789,
           entropy=bytes(range(0x40, 0x80))):
    # src/proto/resume.h: u64 ns, u32 flags, 64 bytes entropy, name[32]
    name = name.encode() if isinstance(name, str) else name
    return frame(RESUME, 0, struct.pack("<QI", ns, flags)
                 + entropy + name.ljust(32, b"\0"))


def hello():
    return frame(HELLO, 0, u32(PROTO_VERSION) + u32(0))


def exit_frame(stream, kind, value):
    return frame(EXIT, stream, u32(kind) + u32(value))


# Flags bytes of the channel targets.
HOST_PEERS = 0x10      # well-behaved bh and guest around the daemon
HOST_NO_CLIENT = 0x08  # bh has gone
HOST_GUEST_DEAF = 0x80  # seed byte: the guest never reads its queue
AGENT_DISPOSABLE = 0x08
AGENT_EXITS = 0x10
# Bits 5-7 of the flags byte: what the target sends before the input.
HOST_AFTER_HELLO = 4 << 5        # HELLO
HOST_CREDIT_1 = 5 << 5           # HELLO, 256 KiB - 1 of stdout
HOST_CREDIT_0 = 6 << 5           # HELLO, 256 KiB of stdout
AGENT_AFTER_EXEC = 4 << 5        # EXEC cat on stream 1
AGENT_STDIN_CREDIT_1 = 5 << 5    # ... and 256 KiB - 1 of its stdin
AGENT_63_STREAMS = 7 << 5        # EXEC cat on streams 1..63


def host_seeds():
    run = (hello()
           + frame(STDOUT, 1, b"hi\n")
           + frame(STDERR, 1, b"warning: x\n")
           + frame(STDOUT, 1)
           + frame(STDERR, 1)
           + exit_frame(1, EXIT_CODE, 0))
    return {
        "hello": bytes([0, 0]) + hello(),
        "hello-stdout-exit": bytes([HOST_PEERS, 1]) + run,
        "hello-stdout-exit-small-reads": bytes([HOST_PEERS | 1, 7]) + run,
        "no-client": bytes([HOST_NO_CLIENT | 3, 2]) + run,
        "credit-signal": bytes([HOST_PEERS | 4, 3]) + hello()
        + frame(STDOUT, 1, b"x" * 100)
        + frame(CREDIT, 1, u32(0))
        + exit_frame(1, EXIT_SIGNAL, 9),
        "nostart": bytes([5, 4]) + hello()
        + exit_frame(1, EXIT_NOSTART, 1),
        "stdout-after-eof": bytes([HOST_AFTER_HELLO, 9])
        + frame(STDOUT, 1) + frame(STDOUT, 1, b"late"),
        "after-hello": bytes([HOST_AFTER_HELLO | HOST_PEERS, 5])
        + frame(STDOUT, 1, b"out") + exit_frame(1, EXIT_CODE, 3),
        "credit-limit": bytes([HOST_CREDIT_1, 6])
        + frame(STDOUT, 1, b"y") + frame(STDOUT, 1)
        + exit_frame(1, EXIT_CODE, 0),
        "credit-spent-peers": bytes([HOST_CREDIT_0 | HOST_PEERS | 2, 8])
        + frame(STDERR, 1, b"more after credit came back")
        + exit_frame(1, EXIT_CODE, 1),
    }


def call(cid, target, service):
    return frame(CALL, GUEST_BIT | cid,
                 target.encode() + b"\0" + service.encode() + b"\0")


def host_call_seeds():
    # Small output frames on the job's stream: each write is a round of
    # the peers, in which disp7 may boot and a deaf guest's queue fill.
    rounds = frame(STDOUT, 1, b"r") * 64
    return {
        "call-one": bytes([HOST_PEERS, 11]) + hello()
        + call(1, "work", "qubes.Echo")
        + frame(STDIN, GUEST_BIT | 1, b"ping\n")
        + frame(STDIN, GUEST_BIT | 1) + rounds,
        "call-many": bytes([HOST_PEERS | 2, 12]) + hello()
        + b"".join(call(i, "work", "qubes.Echo") for i in range(1, 40))
        + rounds,
        "call-refused": bytes([HOST_PEERS, 13]) + hello()
        + call(1, "dom0", "qubes.Echo") + call(2, "nosuch", "a") + rounds,
        "call-dispvm": bytes([HOST_PEERS | 1, 14]) + hello()
        + call(1, "@dispvm", "qubes.OpenInVM")
        + call(2, "@dispvm", "qubes.OpenInVM") + rounds,
        # Issue 11, attack 2: asked calls, answered late, their ids
        # reused by later calls.
        "call-ask-reuse": bytes([HOST_PEERS | 1, 2]) + hello()
        + call(1, "@default", "test.Echo") + call(2, "@default", "a")
        + rounds + call(1, "@default", "b") + call(2, "work", "c")
        + rounds * 2 + call(1, "work", "d") + rounds * 2,
        # Issue 11, attack 1: a guest that reads nothing calls @dispvm,
        # and its queue is full when the disposable is ready.
        "call-dispvm-deaf": bytes([HOST_PEERS, HOST_GUEST_DEAF | 2])
        + hello() + call(1, "@dispvm", "qubes.OpenInVM") + rounds * 4,
        # ... having flooded malformed calls, each answered with a status
        # it does not read.
        "call-flood-deaf": bytes([HOST_PEERS, HOST_GUEST_DEAF | 6]) + hello()
        + b"".join(frame(CALL, GUEST_BIT | i, b"x") for i in range(1, 4000))
        + call(5000, "@dispvm", "qubes.OpenInVM") + rounds * 4,
    }


def agent_seeds():
    cat = exec_req(["cat"], ["TERM=dumb"])
    return {
        "exec-stdin-credit": bytes([0, 0])
        + frame(EXEC, 1, cat)
        + frame(STDIN, 1, b"hello\n")
        + frame(CREDIT, 1, u32(0))
        + frame(STDIN, 1)
        + frame(POWEROFF, 0),
        "exec-stdin-small-reads": bytes([AGENT_EXITS | 2, 9])
        + frame(EXEC, 1, exec_req(["sh", "-c", "cat >/dev/null"]))
        + frame(STDIN, 1, b"a" * 300)
        + frame(STDIN, 1, b"b" * 40)
        + frame(STDIN, 1),
        "nostart": bytes([AGENT_DISPOSABLE, 1])
        + frame(EXEC, 1, exec_req(["missing"]))
        + frame(EXEC, 2, exec_req(["noexec"]))
        + frame(EXEC, 3, exec_req(["fail", "x"]))
        + frame(STDIN, 1, b"late"),
        "nostdin": bytes([AGENT_EXITS | 3, 5])
        + frame(EXEC, 7, exec_req(["nostdin"]))
        + frame(STDIN, 7, b"dropped but credited")
        + frame(EXEC, 8, cat)
        + frame(STDIN, 8, b"kept"),
        "stdin-credit-limit": bytes([AGENT_STDIN_CREDIT_1, 3])
        + frame(STDIN, 1, b"z") + frame(STDIN, 1),
        "stream-limit": bytes([AGENT_63_STREAMS, 4])
        + frame(EXEC, 64, cat) + frame(EXEC, 65, cat)
        + frame(STDIN, 65, b"to nobody") + frame(CREDIT, 64, u32(0)),
        "stdin-after-eof": bytes([AGENT_AFTER_EXEC, 7])
        + frame(STDIN, 1, b"last") + frame(STDIN, 1) + frame(STDIN, 1, b"!"),
        "after-exec": bytes([AGENT_AFTER_EXEC | AGENT_EXITS, 6])
        + frame(STDIN, 1, b"x" * 10) + frame(POWEROFF, 0),
        # A restored disposable: RESUME first, a warm-up, then its job.
        "resume-warm-exec": bytes([AGENT_DISPOSABLE, 10])
        + resume(RESUME_WARM, "disp1")
        + frame(EXEC, 1, cat) + frame(STDIN, 1, b"x") + frame(STDIN, 1),
        # A preloaded qube gets one after each cont.
        "resume-twice": bytes([AGENT_EXITS | 1, 11])
        + resume(0, "disp2") + resume(RESUME_WARM, "disp3")
        + frame(EXEC, 2, cat),
        "resume-after-exec": bytes([AGENT_AFTER_EXEC, 12])
        + resume(RESUME_WARM, "a" * 31) + frame(STDIN, 1, b"y"),
        # Refused: a name with a space.
        "resume-bad-name": bytes([0, 13]) + resume(0, "disp 4"),
        # The target's fakes fail: clock and name (the agent goes on),
        # then the RNG (it powers off).
        "resume-ops-fail": bytes([0, 14])
        + resume(RESUME_WARM, "Xdisp5", ns=0x18800000000000ee)
        + resume(0, "disp6", entropy=b"\xee" + bytes(63))
        + frame(EXEC, 1, cat),
    }


def exec_req_seeds():
    return {
        "uname": exec_req(["uname", "-a"]),
        "env": exec_req(["sh", "-c", "echo $A"],
                        ["A=1", "PATH=/bin:/usr/bin", "_x=", "LANG=C.UTF-8"]),
        "one": exec_req(["x"]),
        "empty-args": exec_req(["printf", "", "%s\\n", ""]),
    }


GREETING = (b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, '
            b'"major": 7}, "package": "Debian 1:7.2"}, '
            b'"capabilities": ["oob"]}}\n')
RETURN = b'{"return": {}}\n'
EVENT = (b'{"timestamp": {"seconds": 1700000000, "microseconds": 1}, '
         b'"event": "SHUTDOWN", "data": {"guest": true, '
         b'"reason": "guest-shutdown"}}\n')
ERROR = (b'{"error": {"class": "CommandNotFound", '
         b'"desc": "The command foo has not been found"}}\n')

QMP_GREETING, QMP_NEGOTIATING, QMP_READY = 0, 1, 2
QMP_SOCKET = 0x04
QMP_LONG = 0x80  # 65530 spaces first (with QMP_SOCKET)


def qmp_seeds():
    return {
        "greeting": bytes([QMP_GREETING]) + GREETING,
        "greeting-return-event": bytes([QMP_GREETING])
        + GREETING + RETURN + EVENT,
        "greeting-socket": bytes([QMP_GREETING | QMP_SOCKET | (4 << 3)])
        + GREETING + RETURN + EVENT,
        "long-line-fits": bytes([QMP_READY | QMP_SOCKET | QMP_LONG
                                 | (12 << 3)]) + b'{}\n' + EVENT,
        "long-line-over": bytes([QMP_READY | QMP_SOCKET | QMP_LONG
                                 | (12 << 3)]) + EVENT,
        "negotiating-return": bytes([QMP_NEGOTIATING]) + RETURN,
        "ready-event": bytes([QMP_READY]) + EVENT,
        "ready-error": bytes([QMP_READY]) + ERROR + EVENT,
        "ready-event-socket": bytes([QMP_READY | QMP_SOCKET | (12 << 3)])
        + EVENT + b'{"event": "STOP"}\n',
        # More records than the link to the daemon takes at once: the
        # filter's back-pressure (have_pending) and what follows it.
        "ready-flood-socket": bytes([QMP_READY | QMP_SOCKET | (15 << 3)])
        + b''.join(b'{"event": "DEVICE_DELETED", "data": '
                   b'{"device": "dp%d"}}\n' % i for i in range(1200))
        + b'{"return": {}, "id": 7}\n',
        "negotiating-event": bytes([QMP_NEGOTIATING | QMP_SOCKET | (6 << 3)])
        + EVENT + RETURN,
    }


# src/proto/msg_qmp.h
QREC_READY, QREC_EVENT, QREC_REPLY, QREC_BROKEN = 1, 2, 3, 4
QREC_SOCKET, QREC_SHAPE, QREC_START_READY = 1, 2, 4


def qrec(kind, tag=0, ok=0, name=b"", arg=b"", text=b""):
    return (struct.pack("<III", kind, tag, ok) + name.ljust(64, b"\0")
            + arg.ljust(64, b"\0") + text.ljust(128, b"\0"))


def qmp_rec_seeds():
    session = (qrec(QREC_READY)
               + qrec(QREC_EVENT, name=b"SHUTDOWN", arg=b"guest-shutdown")
               + qrec(QREC_EVENT, name=b"MIGRATION", arg=b"completed")
               + qrec(QREC_EVENT, name=b"DEVICE_DELETED", arg=b"dpp1")
               + qrec(QREC_REPLY, tag=5, ok=1)
               + qrec(QREC_REPLY, tag=6, ok=0, text=b"Chardev 'dp1' is busy")
               + qrec(QREC_BROKEN, text=b"a QMP line over 64 KiB"))
    return {
        "session": bytes([0]) + session,
        "session-socket": bytes([QREC_SOCKET]) + session,
        "session-shaped": bytes([QREC_SHAPE | QREC_SOCKET]) + session,
        "event-before-ready": bytes([0]) + qrec(QREC_EVENT, name=b"STOP"),
        "ready-reply": bytes([QREC_START_READY | QREC_SOCKET])
        + qrec(QREC_REPLY, tag=0xffffffff, ok=1),
        "short": bytes([QREC_SOCKET]) + qrec(QREC_READY)[:100],
    }


# Reproducers of bugs the targets found, named crash-*.bin; they stay in
# the corpus so that they replay until the bug is fixed, and then guard
# against its return.
CLIENT_OUT_MAX = 2 * 256 * 1024 + 64 * 1024  # src/daemon/core/client_send.h


def host_reproducers():
    # A guest within its credit, writing output in tiny frames, while bh
    # does not read (blocked writing its own stdout): the daemon forwards
    # every frame, header included, to bh's queue, but credit counts only
    # payload bytes, so the queue passes CLIENT_OUT_MAX before the credit
    # runs out, bh_chan_send fails with -ENOBUFS and the daemon reports
    # -EPROTO: a qube that kept to the protocol is destroyed as one that
    # broke it. 45372 one-byte frames: 45372 * 13 > CLIENT_OUT_MAX while
    # 45372 < 256 KiB of credit.
    n = CLIENT_OUT_MAX // 13 + 1
    return {
        "small-frames-slow-bh": bytes([0, 0]) + hello()
        + frame(STDOUT, 1, b"x") * n,
    }


REPRODUCERS = {
    "fuzz_host_frames": host_reproducers,
}

# src/guest/openinvm.h
def oiv_message(magic, flags, status, text, content, digest=True):
    body = (magic + struct.pack("<IIIII", 1, flags, status, len(text), 0) +
            struct.pack("<Q", len(content)) + text + content)
    return body + hashlib.sha256(body).digest() if digest else body


def openinvm_request_seeds():
    req = oiv_message(b"BHOQ", 0, 0, b"notes.txt", b"hello\n")
    return {
        "whole": b"\x00\x01" + req,
        "bytewise": b"\x01\x07" + req,
        "view-only": b"\x00\x02" + oiv_message(b"BHOQ", 1, 0, b"a.pdf", b""),
        # bit 3: the target appends the digest itself
        "no-digest": b"\x08\x03" + oiv_message(b"BHOQ", 0, 0, b"x", b"abc",
                                              digest=False),
        "bad-name": b"\x00\x04" + oiv_message(b"BHOQ", 0, 0, b"../x", b""),
    }


def openinvm_reply_seeds():
    return {
        "unchanged": b"\x00\x01" + oiv_message(b"BHOA", 0, 0, b"unchanged", b""),
        "changed": b"\x02\x05" + oiv_message(b"BHOA", 1, 0, b"changed",
                                            b"new content\n"),
        "failed": b"\x00\x06" + oiv_message(b"BHOA", 0, 2, b"no viewer", b""),
        "refused-sink": b"\x10\x07" + oiv_message(b"BHOA", 1, 0, b"", b"zz"),
        "no-digest": b"\x08\x08" + oiv_message(b"BHOA", 1, 0, b"c", b"abc",
                                              digest=False),
    }


# fuzz_chan_relay's flags byte (bits 0-2: how the stream is cut).
RELAY_CLOSES = 0x08       # the qube closes its end after the input
RELAY_SLOW_DAEMON = 0x10  # the daemon reads only when the relay pauses
RELAY_AFTER_FILL = 4 << 5  # HELLO and 320 KiB of stdout first
RELAY_AFTER_HELLO = 5 << 5  # HELLO first
PORT_SWITCH, PORT_END, PORT_CLOSED = 13, 14, 15
FRAME_MAX = 64 * 1024


def relay_seeds():
    good = (hello()
            + frame(STDOUT, 1, b"hello\n")
            + frame(STDERR, 1, b"oops")
            + frame(STDOUT, 1)
            + exit_frame(1, EXIT_CODE, 0)
            + frame(CALL, GUEST_BIT | 1, b"work\0qubes.Echo\0\0")
            + frame(STDIN, GUEST_BIT | 1, b"ping")
            + frame(CREDIT, 1, u32(4096))
            + frame(PORT_SWITCH, 2)
            + frame(PORT_END, 2, struct.pack("<Q", 12))
            + frame(PORT_CLOSED, 2))
    return {
        "good": bytes([0, 0]) + good,
        "good-small-writes": bytes([2, 7]) + good,
        "good-then-eof-mid-frame": bytes([RELAY_CLOSES | 3, 1]) + good
        + frame(STDOUT, 1, b"cut short")[:15],
        "hello-v1": bytes([0, 0]) + frame(HELLO, 0, u32(1) + u32(0))
        + good,
        "exit-bad-kind": bytes([1, 3]) + good
        + exit_frame(1, 9, 0) + good,
        "stdout-guest-stream": bytes([0, 0]) + good
        + frame(STDOUT, GUEST_BIT | 1, b"x"),
        "credit-8": bytes([0, 0]) + good + frame(CREDIT, 1, u32(1) * 2),
        "oversized-after-good": bytes([0, 0]) + good
        + struct.pack("<III", STDOUT, 1, FRAME_MAX + 1),
        "forged-broken": bytes([0, 0]) + hello()
        + frame(0x200, 0, u32(1) + u32(4) + u32(1) + u32(5)),
        "slow-daemon-pause": bytes([RELAY_AFTER_FILL | RELAY_SLOW_DAEMON
                                    | RELAY_CLOSES, 0])
        + frame(STDOUT, 1, b"after the pause"),
        "after-hello": bytes([RELAY_AFTER_HELLO | 4, 5]) + good[20:],
    }


# src/proto/chan_attach.h
ATTACH_REQ = b"bhattach" + struct.pack("<I", 1)
ATTACH_HELLO, ATTACH_OVERFLOW, ATTACH_S_INPUT_EOF = 1, 2, 1
SERVICE = 10


def attach_info(flags, version, hflags, streams):
    out = struct.pack("<IIII", flags, version, hflags, len(streams))
    for sid, sflags in streams:
        out += struct.pack("<II", sid, sflags)
    return out


def table_rec(to_guest, kind, stream, length):
    return bytes([1 if to_guest else 0]) + struct.pack("<III", kind, stream,
                                                       length)


def chan_attach_seeds():
    table = (table_rec(1, EXEC, 5, 20) + table_rec(1, STDIN, 5, 0)
             + table_rec(1, SERVICE, 6, 30) + table_rec(0, EXIT, 6, 8)
             + table_rec(0, CALL, GUEST_BIT | 3, 17)
             + table_rec(0, CALL, GUEST_BIT | 4, 17)
             + table_rec(1, EXIT, GUEST_BIT | 4, 8)
             + table_rec(1, PORT_END, 5, 8))
    # fuzz_take's byte: bits 0-1 the fd count, bits 2-4 seqpacket or not
    two_good = 2 | (1 << 3)
    return {
        "req": bytes([0]) + ATTACH_REQ,
        "req-v2": bytes([0]) + ATTACH_REQ[:8] + struct.pack("<I", 2),
        "info-empty": bytes([1]) + attach_info(0, 0, 0, []),
        "info-two": bytes([1]) + attach_info(
            ATTACH_HELLO, PROTO_VERSION, 0,
            [(5, ATTACH_S_INPUT_EOF), (GUEST_BIT | 3, 0)]),
        "info-overflow": bytes([1]) + attach_info(
            ATTACH_HELLO | ATTACH_OVERFLOW, PROTO_VERSION, 1,
            [(i, 0) for i in range(1, 9)]),
        "table": bytes([2]) + table,
        "table-many-calls": bytes([2]) + b"".join(
            table_rec(0, CALL, GUEST_BIT | i, 17) for i in range(1, 300)),
        "take": bytes([3, two_good]) + ATTACH_REQ,
        "take-one-fd": bytes([3, 1]) + ATTACH_REQ,
        "take-swapped": bytes([3, 2 | (1 << 2)]) + ATTACH_REQ,
    }


# src/proto/msg_priv.h
(PRIV_LAUNCH, PRIV_LAUNCHED, PRIV_FAILED, PRIV_KILL, PRIV_EXITED, PRIV_DONE,
 PRIV_JOB, PRIV_JOB_STARTED, PRIV_CANCEL, PRIV_ROOT,
 PRIV_ROOT_NEXT, PRIV_ATTACH, PRIV_ATTACHED, PRIV_LET_GO,
 PRIV_LEFTOVERS) = range(1, 16)
LET_GO_QEMU = 1
LEFTOVERS_MS_MAX = 60000
ROOT_OP_NEXT, ROOT_OP_COMMIT, ROOT_OP_ABORT = 1, 2, 3
PRIV_QEMU, PRIV_CHAN, PRIV_JOBPROC = 1, 2, 3
JOB_COPY, JOB_MKE2FS, JOB_RESIZE, JOB_HASH = 1, 2, 3, 4
AREA_QUBES, AREA_TEMPLATES, AREA_KERNELS, AREA_SNAPSHOTS, AREA_RUN = (
    range(1, 6))
PRIV_HEADER, PRIV_STRINGS, PRIV_NUMBERS, PRIV_CHARSET = 1, 2, 4, 8
SIGKILL, SIGTERM = 9, 15


def priv_msg(kind, msg_id, body):
    return struct.pack("<III", kind, msg_id, len(body)) + body


def sfield(s, size):
    return s.encode().ljust(size, b"\0")


def priv_launch(name, kver, root_kind, owner, root_file, private_kind,
                flags, memory, vcpus, jail, tsc, opts, cmdline_name):
    return priv_msg(PRIV_LAUNCH, 1, sfield(name, 32) + sfield(kver, 64)
                    + u32(root_kind) + sfield(owner, 32)
                    + sfield(root_file, 64)
                    + struct.pack("<IIIIII", private_kind, flags, memory,
                                  vcpus, jail, tsc)
                    + sfield(opts, 1280) + sfield(cmdline_name, 32))


def place(area=0, owner="", file=""):
    return u32(area) + sfield(owner, 64) + sfield(file, 64)


def priv_job(op, qube, other, src, dst, size):
    return priv_msg(PRIV_JOB, 3, u32(op) + sfield(qube, 32)
                    + sfield(other, 32) + src + dst
                    + struct.pack("<Q", size))


def priv_root(op, tmpl, work):
    return priv_msg(PRIV_ROOT, 7, u32(op) + sfield(tmpl, 32)
                    + sfield(work, 64))


def priv_let_go(name, flags):
    return priv_msg(PRIV_LET_GO, 9, sfield(name, 32) + u32(flags))


def msg_priv_seeds():
    launch = priv_launch("work", "6.12.0+deb13-amd64", 1, "debian-12",
                         "root.img", 1, 1, 400, 2, 7, 2995200,
                         "console=hvc0 quiet", "work")
    disp = priv_launch("disp12", "6.12.0", 2, "default-dvm", "root.img",
                       2, 7, 32, 64, 0xffffffff, 0, "", "")
    kill = priv_msg(PRIV_KILL, 5, sfield("disp12", 32)
                    + struct.pack("<II", 1, SIGTERM))
    copy = priv_job(JOB_COPY, "work", "debian-12",
                    place(AREA_TEMPLATES, "debian-12", "root.img"),
                    place(AREA_QUBES, "work", "root.img"), 0)
    mke2fs = priv_job(JOB_MKE2FS, "work", "",
                      place(), place(AREA_QUBES, "work", "private.img"),
                      2 << 30)
    resize = priv_job(JOB_RESIZE, "work", "",
                      place(), place(AREA_RUN, "work", "private.img"),
                      16 << 40)
    hash_ = priv_job(JOB_HASH, "work", "",
                     place(AREA_SNAPSHOTS, ".build-k1.AbC123", "state.bin"),
                     place(), 0)
    return {
        "launch": bytes([0]) + launch,
        "launch-disposable-restore": bytes([0]) + disp,
        "launched": bytes([0]) + priv_msg(PRIV_LAUNCHED, 1,
                                          struct.pack("<II", 4242, 4243)),
        "failed": bytes([0]) + priv_msg(
            PRIV_FAILED, 1, struct.pack("<i", 122)
            + sfield("no kernel 6.1 in STATE/kernels", 512)),
        "kill": bytes([0]) + kill,
        "exited": bytes([0]) + priv_msg(
            PRIV_EXITED, 0, sfield("disp12", 32)
            + struct.pack("<IiI", PRIV_CHAN, 0x8b, 4243)),
        "exited-job": bytes([0]) + priv_msg(
            PRIV_EXITED, 0, sfield("work", 32)
            + struct.pack("<IiI", PRIV_JOBPROC, 0, 4250)),
        "job-copy": bytes([0]) + copy,
        "job-mke2fs": bytes([0]) + mke2fs,
        "job-resize": bytes([0]) + resize,
        "job-hash": bytes([0]) + hash_,
        "job-started": bytes([0]) + priv_msg(PRIV_JOB_STARTED, 3,
                                             u32(4250)),
        "cancel": bytes([0]) + priv_msg(PRIV_CANCEL, 6, u32(4250)),
        "job-copy-shaped": bytes([PRIV_HEADER | PRIV_STRINGS | PRIV_NUMBERS
                                  | PRIV_CHARSET]) + copy,
        "job-mke2fs-shaped": bytes([PRIV_HEADER | PRIV_NUMBERS]) + mke2fs,
        "done": bytes([0]) + priv_msg(PRIV_DONE, 5, struct.pack("<i", -3)),
        "kill-long": bytes([0]) + kill + b"\0",
        "launch-shaped": bytes([PRIV_HEADER | PRIV_STRINGS | PRIV_NUMBERS
                                | PRIV_CHARSET]) + launch,
        "kill-shaped": bytes([PRIV_HEADER | PRIV_NUMBERS]) + kill,
        "short": bytes([0]) + launch[:12],
        "root-next": bytes([0]) + priv_root(ROOT_OP_NEXT, "debian-12", ""),
        "root-commit": bytes([0]) + priv_root(ROOT_OP_COMMIT, "debian-12",
                                              "root-3.img"),
        "root-abort": bytes([0]) + priv_root(ROOT_OP_ABORT, "debian-12",
                                             "root-3.img"),
        "root-commit-shaped": bytes([PRIV_HEADER | PRIV_STRINGS
                                     | PRIV_NUMBERS | PRIV_CHARSET])
        + priv_root(ROOT_OP_COMMIT, "debian-12", "root-3.img"),
        "root-next-answer": bytes([0]) + priv_msg(
            PRIV_ROOT_NEXT, 7, sfield("root-2.img", 64)
            + sfield("root-3.img", 64)),
        "root-next-answer-shaped": bytes([PRIV_HEADER | PRIV_STRINGS
                                          | PRIV_CHARSET]) + priv_msg(
            PRIV_ROOT_NEXT, 7, sfield("root-2.img", 64)
            + sfield("root-3.img", 64)),
        "attach": bytes([0]) + priv_msg(PRIV_ATTACH, 8, sfield("work", 32)),
        "attach-longest": bytes([0]) + priv_msg(PRIV_ATTACH, 8,
                                                sfield("a" * 31, 32)),
        "attach-shaped": bytes([PRIV_HEADER | PRIV_STRINGS | PRIV_CHARSET])
        + priv_msg(PRIV_ATTACH, 8, sfield("disp12", 32)),
        "attached": bytes([0]) + priv_msg(PRIV_ATTACHED, 8,
                                          struct.pack("<II", 4242, 4243)),
        "attached-edges": bytes([0]) + priv_msg(
            PRIV_ATTACHED, 8, struct.pack("<II", 2, 0x7fffffff)),
        "attached-shaped": bytes([PRIV_HEADER | PRIV_NUMBERS]) + priv_msg(
            PRIV_ATTACHED, 8, struct.pack("<II", 4242, 4243)),
        "let-go": bytes([0]) + priv_let_go("work", 0),
        "let-go-qemu": bytes([0]) + priv_let_go("disp12", LET_GO_QEMU),
        "let-go-shaped": bytes([PRIV_HEADER | PRIV_STRINGS | PRIV_NUMBERS
                                | PRIV_CHARSET])
        + priv_let_go("disp12", LET_GO_QEMU),
        "leftovers": bytes([0]) + priv_msg(PRIV_LEFTOVERS, 10, u32(10000)),
        "leftovers-max": bytes([0]) + priv_msg(PRIV_LEFTOVERS, 10,
                                               u32(LEFTOVERS_MS_MAX)),
        "leftovers-shaped": bytes([PRIV_HEADER | PRIV_NUMBERS]) + priv_msg(
            PRIV_LEFTOVERS, 10, u32(LEFTOVERS_MS_MAX)),
    }


TARGETS = {
    "fuzz_host_frames": lambda: {**host_seeds(), **host_call_seeds()},
    "fuzz_agent_frames": agent_seeds,
    "fuzz_exec_req": exec_req_seeds,
    "fuzz_qmp_line": qmp_seeds,
    "fuzz_qmp_rec": qmp_rec_seeds,
    "fuzz_openinvm_request": openinvm_request_seeds,
    "fuzz_openinvm_reply": openinvm_reply_seeds,
    "fuzz_chan_relay": relay_seeds,
    "fuzz_chan_attach": chan_attach_seeds,
    "fuzz_msg_priv": msg_priv_seeds,
}


def main():
    total = 0
    for target, make in TARGETS.items():
        d = os.path.join(CORPUS, target)
        os.makedirs(d, exist_ok=True)
        for name in os.listdir(d):
            if name.startswith("seed-") and name.endswith(".bin"):
                os.unlink(os.path.join(d, name))
        for name, data in make().items():
            with open(os.path.join(d, "seed-%s.bin" % name), "wb") as f:
                f.write(data)
            total += 1
    for target, make in REPRODUCERS.items():
        d = os.path.join(CORPUS, target)
        for name, data in make().items():
            with open(os.path.join(d, "crash-%s.bin" % name), "wb") as f:
                f.write(data)
            total += 1
    print("make-seeds: wrote %d files under %s" % (total, CORPUS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
