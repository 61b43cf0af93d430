#!/usr/bin/env python3
"""Writes a file-copy stream (docs/filecopy.md) with one hostile entry,
for the VM tests: a qube that sends it to bulkhead.Filecopy must see it
refused with nothing written outside ~/Incoming/SOURCE, and nothing of it
kept inside. `big` is a valid stream with one 1 MiB file, for a receiver
run under `ulimit -f`.

usage: hostile-stream.py KIND > stream.bin
KIND: dotdot, absolute, slash, escape-link, through-link, device, fifo,
      control, bad-digest, truncated, trailing, big
"""
import hashlib
import struct
import sys

FILE, DIR, SYMLINK, CHR, FIFO, DIR_END, END = 8, 4, 10, 2, 1, 256, 257


def header(kind, name=b"", data_len=0, mode=0o644):
    return struct.pack("<IIqIIQ", kind, mode, 1700000000, 0, len(name),
                       data_len) + name


def entry(kind, name, data=b"", mode=0o644):
    return header(kind, name, len(data), mode) + data


def marker(kind):
    """DIR_END or END: every other field 0."""
    return struct.pack("<IIqIIQ", kind, 0, 0, 0, 0, 0)


def stream(entries, digest_ok=True, cut=0, extra=b""):
    body = b"BHFC" + struct.pack("<I", 1) + b"".join(entries)
    body += marker(END)
    digest = hashlib.sha256(body).digest()
    if not digest_ok:
        digest = bytes(32)
    out = body + digest
    return (out[:len(out) - cut] if cut else out) + extra


KINDS = {
    # a file named ".." (the receiver would write beside Incoming/SOURCE)
    "dotdot": [entry(FILE, b"..", b"escaped\n")],
    "absolute": [entry(FILE, b"/tmp/pwned", b"escaped\n")],
    "slash": [entry(FILE, b"a/../../escaped", b"escaped\n")],
    # a symlink out of the folder...
    "escape-link": [entry(SYMLINK, b"out", b"../../../../tmp", 0o777)],
    # ...and a file written through a link made to look harmless
    "through-link": [entry(SYMLINK, b"l", b"..", 0o777),
                     entry(DIR, b"l", b"", 0o755),
                     entry(FILE, b"escaped", b"escaped\n"),
                     marker(DIR_END)],
    "device": [entry(CHR, b"sda", b"", 0o666)],
    "fifo": [entry(FIFO, b"pipe", b"", 0o666)],
    "control": [entry(FILE, b"evil\x1b[31m", b"x")],
    "bad-digest": [entry(FILE, b"ok-file", b"fine\n")],
    "truncated": [entry(FILE, b"partial", b"y" * 100000)],
    # a valid stream, then 1 MiB more: more than one read of the
    # receiver's, so some of it comes after the read with the digest
    "trailing": [entry(FILE, b"trailing-file", b"fine\n")],
    "big": [entry(FILE, b"big", b"z" * (1 << 20))],
}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in KINDS:
        sys.stderr.write(__doc__)
        return 2
    kind = sys.argv[1]
    data = stream(KINDS[kind], digest_ok=kind != "bad-digest",
                  cut=50000 if kind == "truncated" else 0,
                  extra=b"J" * (1 << 20) if kind == "trailing" else b"")
    sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
