#!/usr/bin/env python3
"""Subscribes to admin.Events on one admin connection, then makes a call
on that same connection, as a client that should not (issue 11, 7d).

usage: events-then-call.py ADMIN_SOCKET METHOD [QUBE]

Prints the daemon's answer to the second call, one line:
"error STATUS TEXT" (a BH_MSG_ERROR frame, the connection then closes)
or "reply STATUS TEXT" (a BH_MSG_ADMIN_REPLY: the call was served), or
"closed" when the daemon closed the connection without either. Event
frames in between are skipped. Exits 1 if the subscription failed.
"""
import socket
import struct
import sys

ERROR, ADMIN_CALL, ADMIN_REPLY, ADMIN_EVENT = 0x101, 0x110, 0x111, 0x112


def frame(kind, payload):
    return struct.pack("<III", kind, 0, len(payload)) + payload


def call(method, dest=b"", arg=b""):
    return frame(ADMIN_CALL, method + b"\0" + dest + b"\0" + arg + b"\0")


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(30)
        self.s.connect(path)
        self.buf = b""

    def next_frame(self):
        while True:
            if len(self.buf) >= 12:
                kind, _, n = struct.unpack("<III", self.buf[:12])
                if len(self.buf) >= 12 + n:
                    p = self.buf[12:12 + n]
                    self.buf = self.buf[12 + n:]
                    return kind, p
            data = self.s.recv(65536)
            if not data:
                return None
            self.buf += data


def main():
    if len(sys.argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    conn = Conn(sys.argv[1])
    conn.s.sendall(call(b"admin.Events"))
    f = conn.next_frame()
    if not f or f[0] != ADMIN_REPLY or struct.unpack("<I", f[1][:4])[0]:
        print("subscription failed: %r" % (f,))
        return 1
    dest = sys.argv[3].encode() if len(sys.argv) == 4 else b""
    conn.s.sendall(call(sys.argv[2].encode(), dest))
    while True:
        f = conn.next_frame()
        if f is None:
            print("closed")
            return 0
        kind, p = f
        if kind == ADMIN_EVENT:
            continue
        what = {ERROR: "error", ADMIN_REPLY: "reply"}.get(kind, hex(kind))
        status = struct.unpack("<I", p[:4])[0] if len(p) >= 4 else -1
        print("%s %d %s" % (what, status, p[4:].decode(errors="replace")))
        return 0


if __name__ == "__main__":
    sys.exit(main())
