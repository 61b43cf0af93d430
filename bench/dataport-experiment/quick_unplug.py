#!/usr/bin/env python3
"""Plug a port and unplug it at once, while the guest is still handling
the hotplug (the rpc suite's kill test unplugs a target's port ~0.1 s
after plugging it). Does the QEMU survive? DELAY=seconds between."""
import os
import socket
import sys
import time

from qemu_exp import VM, qmp

vm = VM('expA')
vm.console('READY')
for n in range(int(os.environ.get('ROUNDS', '5'))):
    h1, h2 = socket.socketpair()
    vm.plug(h2, n, 'bulkhead.data.%d.1048576.hold' % n)
    h2.close()
    time.sleep(float(os.environ.get('DELAY', '0')))
    h1.close()
    try:
        vm.unplug(n)
    except Exception as e:
        print('RESULT round %d: %r' % (n, e))
    alive = vm.p.poll() is None
    print('RESULT round %d: QEMU alive %s (exit %s)' % (n, alive, vm.p.returncode))
    if not alive:
        sys.exit(1)
vm.kill()
