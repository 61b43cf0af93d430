"""Shared by plug_one.py and two_qubes.py: a QEMU 7.2 started the way
bulkheadd starts a qube (microvm, TCG, the same -sandbox, QMP and console
on inherited socket pairs), booting exp.cpio (make-initramfs.sh), whose
/init reports on the console every port named bulkhead.data.* and reads
or writes it (guest-init.sh)."""
import json
import os
import socket
import subprocess
import time

IMAGES = os.environ.get('BH_IMAGES', '/tmp/dp-images')
KERNEL = IMAGES + '/kernels/current/vmlinuz'
CPIO = os.environ.get('EXP_CPIO', '/tmp/dp-exp2/exp.cpio')
MAXP = int(os.environ.get('MAXP', '2'))
SANDBOX = 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny'


def tsc_khz():
    # Under TCG the guest's TSC calibration can stall on a loaded host;
    # bulkheadd passes tsc_early_khz for that reason, and so do we.
    if os.environ.get('TSC_KHZ'):
        return int(os.environ['TSC_KHZ'])
    for line in open('/proc/cpuinfo'):
        if line.startswith('cpu MHz'):
            return int(float(line.split(':')[1]) * 1000)
    return 0


def qmp(vm, cmd, args=None, fds=None):
    """Runs one command; events on the way are printed. Returns the reply."""
    msg = json.dumps({'execute': cmd, **({'arguments': args} if args else {})})
    msg = msg.encode() + b'\n'
    if fds:
        socket.send_fds(vm.q, [msg], fds)
    else:
        vm.q.sendall(msg)
    while True:
        line = json.loads(vm.f.readline())
        if 'event' in line:
            print('EVENT', line['event'], line.get('data', {}).get('device', ''))
            vm.events.append(line)
            continue
        return line


class VM:
    def __init__(self, name):
        self.name = name
        self.events = []
        self.buf = b''
        self.q, q2 = socket.socketpair()
        self.c, c2 = socket.socketpair()
        khz = tsc_khz()
        args = ['qemu-system-x86_64', '-name', name, '-M', 'microvm,acpi=on',
                '-accel', 'tcg', '-cpu', 'max', '-m', '256M', '-smp', '1',
                '-nodefaults', '-no-user-config', '-sandbox', SANDBOX,
                '-display', 'none', '-no-reboot', '-kernel', KERNEL,
                '-initrd', CPIO, '-append',
                'console=ttyS0 quiet panic=-1' +
                (' tsc_early_khz=%d' % khz if khz else ''),
                '-chardev', 'socket,id=console,fd=%d' % c2.fileno(),
                '-serial', 'chardev:console',
                '-device', 'virtio-serial-device,max_ports=%d' % MAXP,
                '-chardev', 'socket,id=qmp,fd=%d' % q2.fileno(),
                '-mon', 'chardev=qmp,mode=control']
        self.t0 = time.time()
        self.p = subprocess.Popen(args, pass_fds=(q2.fileno(), c2.fileno()))
        q2.close()
        c2.close()
        self.f = self.q.makefile('r')
        json.loads(self.f.readline())
        qmp(self, 'qmp_capabilities')

    def console(self, pat):
        """Waits for a whole console line containing pat; returns it."""
        p = pat.encode()
        while p not in self.buf or b'\n' not in self.buf[self.buf.index(p):]:
            d = self.c.recv(65536)
            if not d:
                raise SystemExit('%s: console closed' % self.name)
            self.buf += d
        i = self.buf.index(p)
        j = self.buf.index(b'\n', i)
        line = self.buf[i:j].decode(errors='replace').strip()
        self.buf = self.buf[j:]
        print('%s %.2fs %s' % (self.name, time.time() - self.t0, line))
        return line

    def plug(self, sock, n, port_name):
        """getfd + chardev-add (server=false) + device_add virtserialport."""
        r1 = qmp(self, 'getfd', {'fdname': 'dp%d' % n}, fds=[sock.fileno()])
        r2 = qmp(self, 'chardev-add', {'id': 'dp%d' % n, 'backend': {
            'type': 'socket', 'data': {'server': False, 'addr': {
                'type': 'fd', 'data': {'str': 'dp%d' % n}}}}})
        r3 = qmp(self, 'device_add', {'driver': 'virtserialport',
                                      'id': 'dpp%d' % n, 'chardev': 'dp%d' % n,
                                      'name': port_name})
        for r in (r1, r2, r3):
            if 'return' not in r:
                raise SystemExit('%s: plug failed: %s' % (self.name, r))

    def unplug(self, n):
        """device_del, wait for DEVICE_DELETED, then chardev-remove (which
        fails as busy before the event)."""
        qmp(self, 'device_del', {'id': 'dpp%d' % n})
        while not any(e['event'] == 'DEVICE_DELETED' and
                      e.get('data', {}).get('device') == 'dpp%d' % n
                      for e in self.events):
            line = json.loads(self.f.readline())
            if 'event' in line:
                self.events.append(line)
        r = qmp(self, 'chardev-remove', {'id': 'dp%d' % n})
        if 'return' not in r:
            raise SystemExit('%s: chardev-remove failed: %s' % (self.name, r))

    def kill(self):
        self.p.kill()
        self.p.wait()
