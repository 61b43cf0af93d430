#!/usr/bin/env python3
"""A prompt agent that answers when the test says, for tests of late and
stale answers (`bh policy-agent` answers at once or asks a person).

usage: ask-agent.py ADMIN_SOCKET QUESTIONS_FILE COMMANDS_FIFO

Registers with admin.policy.AskAgent, then appends each question it gets
to QUESTIONS_FILE as one line "ID SOURCE SERVICE TARGET DEFAULT TARGETS"
and reads commands from COMMANDS_FIFO, one a line: "allow ID TARGET" or
"deny ID". After each answer it appends "answer ID STATUS TEXT" to
QUESTIONS_FILE (STATUS 0 = taken). Ends when the daemon closes the
connection or the FIFO says "quit".
"""
import os
import select
import socket
import struct
import sys

ADMIN_CALL, ADMIN_REPLY, ADMIN_EVENT = 0x110, 0x111, 0x112


def frame(kind, payload):
    return struct.pack("<III", kind, 0, len(payload)) + payload


def call(method, arg=b"", body=b""):
    return frame(ADMIN_CALL, method + b"\0\0" + arg + b"\0" + body)


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""

    def frames(self):
        """Reads what is there; returns the complete frames."""
        data = self.s.recv(65536)
        if not data:
            raise EOFError
        self.buf += data
        out = []
        while len(self.buf) >= 12:
            kind, _, n = struct.unpack("<III", self.buf[:12])
            if len(self.buf) < 12 + n:
                break
            out.append((kind, self.buf[12:12 + n]))
            self.buf = self.buf[12 + n:]
        return out


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    conn = Conn(sys.argv[1])
    out = open(sys.argv[2], "a", buffering=1)
    fifo = os.open(sys.argv[3], os.O_RDONLY | os.O_NONBLOCK)
    # Keep a writer open so that the FIFO never reports EOF between
    # the test's commands.
    keep = os.open(sys.argv[3], os.O_WRONLY)
    conn.s.sendall(call(b"admin.policy.AskAgent"))
    pending = b""
    waiting = []  # ids of answers sent, in order
    while True:
        r, _, _ = select.select([conn.s, fifo], [], [], 120)
        if not r:
            return 1
        if conn.s in r:
            try:
                frames = conn.frames()
            except EOFError:
                return 0
            for kind, p in frames:
                if kind == ADMIN_EVENT and p.startswith(b"ask\0"):
                    f = p.split(b"\0")
                    out.write(" ".join(x.decode() for x in f[1:7]) + "\n")
                elif kind == ADMIN_REPLY:
                    status = struct.unpack("<I", p[:4])[0]
                    what = waiting.pop(0) if waiting else "register"
                    out.write("answer %s %d %s\n" %
                              (what, status, p[4:].decode(errors="replace")))
        if fifo in r:
            pending += os.read(fifo, 4096)
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                words = line.decode().split()
                if not words:
                    continue
                if words[0] == "quit":
                    os.close(keep)
                    return 0
                if words[0] == "allow" and len(words) == 3:
                    body = ("allow " + words[2]).encode()
                elif words[0] == "deny" and len(words) == 2:
                    body = b"deny"
                else:
                    out.write("bad command %s\n" % line.decode())
                    continue
                waiting.append(words[1])
                conn.s.sendall(call(b"admin.policy.Answer",
                                    words[1].encode(), body))


if __name__ == "__main__":
    sys.exit(main())
