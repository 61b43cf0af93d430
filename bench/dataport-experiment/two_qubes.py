#!/usr/bin/env python3
"""Two qubes: guest A writes SZ bytes to its data port, guest B reads
exactly SZ and prints their sha256.
MODE=direct: one socket pair between the two QEMUs; no host process
touches the bytes (host CPU for the copy: none by construction).
MODE=relay: each QEMU's port goes to this process, which copies A->B with
64 KiB reads (a best case for a relay: no framing, no credit), and its CPU
time for the copy is reported."""
import os
import socket
import time

from qemu_exp import VM

SZ = int(os.environ.get('SZ', str(64 << 20)))
MODE = os.environ.get('MODE', 'direct')
a, b = VM('expA'), VM('expB')
a.console('READY')
b.console('READY')
t = time.time()
cpu = 0.0
if MODE == 'direct':
    s1, s2 = socket.socketpair()
    b.plug(s2, 0, 'bulkhead.data.0.%d' % SZ)
    a.plug(s1, 0, 'bulkhead.data.0.%d.w' % SZ)
    s1.close()
    s2.close()
else:
    a1, a2 = socket.socketpair()
    b1, b2 = socket.socketpair()
    b.plug(b2, 0, 'bulkhead.data.0.%d' % SZ)
    a.plug(a2, 0, 'bulkhead.data.0.%d.w' % SZ)
    a2.close()
    b2.close()
    c0 = time.process_time()
    n = 0
    while n < SZ:
        d = os.read(a1.fileno(), 65536)
        if not d:
            break
        b1.sendall(d)
        n += len(d)
    cpu = time.process_time() - c0
got = b.console('GOT')
el = time.time() - t
zero_sha = '3b6a07d0d404fab4e23b6d34bc6696a6a312dd92821332385e5af7c01c421351'
print('RESULT mode=%s bytes=%d elapsed=%.2fs %.1fMB/s host-copy-cpu=%.3fs '
      'sha256 %s' % (MODE, SZ, el, SZ / el / 1e6, cpu,
                     'ok' if SZ != 64 << 20 or zero_sha in got else 'MISMATCH'))
a.kill()
b.kill()
