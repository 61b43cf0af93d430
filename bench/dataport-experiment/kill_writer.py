#!/usr/bin/env python3
"""Two qubes joined by a direct port, A writing, B reading: A's QEMU is
killed mid-transfer (a caller qube killed), then B's port is unplugged
(device_del, DEVICE_DELETED, chardev-remove). B's QEMU must survive."""
import os
import socket
import sys
import time

from qemu_exp import VM, qmp

SZ = 1 << 30
a, b = VM('expA'), VM('expB')
a.console('READY')
b.console('READY')
s1, s2 = socket.socketpair()
b.plug(s2, 0, 'bulkhead.data.0.%d.hold' % SZ)
a.plug(s1, 0, 'bulkhead.data.0.%d.w' % SZ)
s1.close()
s2.close()
b.console('PORT')
time.sleep(float(os.environ.get('AFTER', '2')))  # let bytes flow
a.kill()
print('RESULT A killed; B alive:', b.p.poll() is None)
if os.environ.get('WAITEOF'):
    time.sleep(1)
try:
    b.unplug(0)
    print('RESULT B unplugged; alive:', b.p.poll() is None)
    print('RESULT B chardevs:', [c['label'] for c in qmp(b, 'query-chardev')['return']])
except Exception as e:
    print('RESULT B failed:', repr(e), 'exit', b.p.wait())
ok = b.p.poll() is None
b.kill()
sys.exit(0 if ok else 1)
