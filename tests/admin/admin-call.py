#!/usr/bin/env python3
"""Makes one admin call that bh has no command for (admin.job.Cancel,
admin.job.List) and prints its reply: "STATUS TEXT".

usage: admin-call.py ADMIN_SOCKET METHOD [DEST [ARG]]

Exits 0 when a reply came (whatever its status), 1 otherwise.
"""
import socket
import struct
import sys

ADMIN_CALL, ADMIN_REPLY = 0x110, 0x111


def main():
    if len(sys.argv) not in (3, 4, 5):
        sys.stderr.write(__doc__)
        return 2
    dest = sys.argv[3].encode() if len(sys.argv) > 3 else b""
    arg = sys.argv[4].encode() if len(sys.argv) > 4 else b""
    payload = sys.argv[2].encode() + b"\0" + dest + b"\0" + arg + b"\0"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sys.argv[1])
    s.sendall(struct.pack("<III", ADMIN_CALL, 0, len(payload)) + payload)
    buf = b""
    while True:
        if len(buf) >= 12:
            kind, _, n = struct.unpack("<III", buf[:12])
            if len(buf) >= 12 + n:
                p = buf[12:12 + n]
                if kind != ADMIN_REPLY or n < 4:
                    print("unexpected frame %#x" % kind)
                    return 1
                print("%d %s" % (struct.unpack("<I", p[:4])[0],
                                 p[4:].decode(errors="replace")))
                return 0
        data = s.recv(65536)
        if not data:
            print("closed")
            return 1
        buf += data


if __name__ == "__main__":
    sys.exit(main())
