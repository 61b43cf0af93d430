#!/usr/bin/env python3
"""One qube: plug a data port on a socket pair, send SZ random bytes from
the host, the guest reads exactly SZ and prints their sha256; then unplug
and check no chardev is left. ROUNDS times on the same qube.
HALF=1: send half, then unplug while the guest still reads.
BOOTONLY=1: only report the time to the guest's READY (for MAXP costs)."""
import hashlib
import os
import socket
import sys
import time

from qemu_exp import VM, qmp

SZ = int(os.environ.get('SZ', str(64 << 20)))
vm = VM('expA')
vm.console('READY')
if os.environ.get('BOOTONLY'):
    vm.kill()
    sys.exit(0)
ok = True
for n in range(int(os.environ.get('ROUNDS', '2'))):
    h1, h2 = socket.socketpair()
    vm.plug(h2, n, 'bulkhead.data.%d.%d%s' % (n, SZ, '.hold' if os.environ.get('HOLD') else ''))
    h2.close()
    vm.console('PORT')
    data = os.urandom(1 << 20) * (SZ >> 20)
    t = time.time()
    if os.environ.get('PEERGONE'):
        # The other end's QEMU dies mid-transfer: our end of the socket
        # pair closes before any unplug.
        h1.sendall(data[:SZ // 2])
        h1.close()
        print('RESULT peer closed mid-transfer; guest says:',
              vm.console('HELD' if os.environ.get('HOLD') else 'GOT'))
        print('RESULT alive after close:', vm.p.poll() is None)
        vm.unplug(n)
        print('RESULT alive after unplug:', vm.p.poll() is None)
        continue
    if os.environ.get('HALF'):
        # The sender dies mid-transfer: unplug while the guest still
        # has the port open and waits for the rest.
        h1.sendall(data[:SZ // 2])
        vm.unplug(n)
        h1.close()
        print('RESULT unplugged mid-transfer; guest says:',
              vm.console('GOT'))
        continue
    h1.sendall(data)
    got = vm.console('GOT')
    el = time.time() - t
    want = hashlib.sha256(data).hexdigest()
    ok &= want in got
    print('RESULT host->guest bytes=%d %.1fMB/s sha256 %s' %
          (SZ, SZ / el / 1e6, 'ok' if want in got else 'MISMATCH'))
    vm.unplug(n)
    h1.close()
left = [c['label'] for c in qmp(vm, 'query-chardev')['return']
        if c['label'].startswith('dp')]
print('RESULT chardevs left:', left or 'none')
vm.kill()
sys.exit(0 if ok and not left else 1)
