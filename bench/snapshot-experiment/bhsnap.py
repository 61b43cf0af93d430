#!/usr/bin/env python3
"""Snapshot/restore experiment harness for Bulkhead disposables (QEMU 7.2, TCG).

Every QEMU gets its control port, QMP and console on socketpairs passed as
fds (exactly like bulkheadd: -chardev socket,fd=N). Nothing binds anything.
Every wait is bounded. Every QEMU started here is tracked and killed by pid.
"""
import json, os, select, socket, struct, subprocess, time, signal, sys

D = '/tmp/snapx'
KERNEL = '/tmp/bhimg/kernels/current/vmlinuz'
INITRD = '/tmp/bhimg/kernels/current/initramfs.img'
ROOT = D + '/root.img'
SANDBOX = 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny'
TSC = 2599999

HELLO, EXEC, STDIN, STDOUT, STDERR, CREDIT, EXIT, POWEROFF = 1, 2, 3, 4, 5, 6, 7, 8

STARTED = []  # pids we started


def now():
    return time.monotonic()


def cmdline(name='disp1', mem=256, sandbox=True, memdev=None, extra_append=''):
    a = ['qemu-system-x86_64', '-name', f'{name},debug-threads=on',
         '-M', 'microvm,acpi=on' + (',memory-backend=mem' if memdev else ''),
         '-accel', 'tcg', '-cpu', 'max', '-m', f'{mem}M', '-smp', '1',
         '-nodefaults', '-no-user-config']
    if sandbox:
        a += ['-sandbox', SANDBOX]
    a += ['-display', 'none', '-no-reboot', '-kernel', KERNEL, '-initrd', INITRD,
          '-append', f'console=ttyS0 quiet panic=-1 tsc_early_khz={TSC} bh.name={name} '
                     f'bh.root=/dev/vda bh.disposable=1{extra_append}',
          '-chardev', 'socket,id=console,fd=5', '-serial', 'chardev:console',
          '-drive', f'id=root,file={ROOT},format=raw,if=none,readonly=on',
          '-device', 'virtio-blk-device,drive=root',
          '-device', 'virtio-serial-device,max_ports=2',
          '-chardev', 'socket,id=control,fd=3',
          '-device', 'virtserialport,chardev=control,name=bulkhead.control',
          '-object', 'rng-random,id=rng,filename=/dev/urandom',
          '-device', 'virtio-rng-device,rng=rng',
          '-chardev', 'socket,id=qmp,fd=4', '-mon', 'chardev=qmp,mode=control']
    if memdev:
        a += ['-object', memdev]
    return a


class QMP:
    def __init__(self, sock):
        self.s = sock
        self.buf = b''
        self.events = []

    def _line(self, deadline):
        while b'\n' not in self.buf:
            t = deadline - now()
            if t <= 0:
                raise TimeoutError('qmp timeout')
            r, _, _ = select.select([self.s], [], [], t)
            if not r:
                continue
            d = self.s.recv(65536)
            if not d:
                raise EOFError('qmp closed')
            self.buf += d
        l, self.buf = self.buf.split(b'\n', 1)
        return json.loads(l)

    def greet(self, timeout=30):
        dl = now() + timeout
        self._line(dl)
        return self.cmd('qmp_capabilities', timeout=timeout)

    def cmd(self, name, args=None, timeout=30, fds=None):
        m = {'execute': name}
        if args:
            m['arguments'] = args
        data = json.dumps(m).encode() + b'\n'
        if fds:
            socket.send_fds(self.s, [data], fds)
        else:
            self.s.sendall(data)
        dl = now() + timeout
        while True:
            r = self._line(dl)
            if 'event' in r:
                self.events.append((now(), r))
                continue
            if 'error' in r:
                raise RuntimeError(f'{name}: {r["error"]}')
            return r.get('return')

    def wait_event(self, ev, timeout=30):
        dl = now() + timeout
        for i, (t, e) in enumerate(self.events):
            if e['event'] == ev:
                del self.events[i]
                return t, e
        while True:
            r = self._line(dl)
            if 'event' in r:
                if r['event'] == ev:
                    return now(), r
                self.events.append((now(), r))


class Chan:
    def __init__(self, sock):
        self.s = sock
        self.buf = b''

    def frame(self, timeout):
        dl = now() + timeout
        while True:
            if len(self.buf) >= 12:
                t, st, ln = struct.unpack('<III', self.buf[:12])
                if len(self.buf) >= 12 + ln:
                    p = self.buf[12:12 + ln]
                    self.buf = self.buf[12 + ln:]
                    return t, st, p
            tt = dl - now()
            if tt <= 0:
                raise TimeoutError('channel timeout')
            r, _, _ = select.select([self.s], [], [], tt)
            if not r:
                continue
            d = self.s.recv(65536)
            if not d:
                raise EOFError('channel closed')
            self.buf += d

    def send(self, t, st, p=b''):
        self.s.sendall(struct.pack('<III', t, st, len(p)) + p)

    def exec(self, stream, argv, timeout=30):
        """Runs argv, returns (stdout, stderr, exit(kind,value), t_first_reply)."""
        p = struct.pack('<II', len(argv), 0) + b''.join(a.encode() + b'\0' for a in argv)
        self.send(EXEC, stream, p)
        self.send(STDIN, stream, b'')
        out, err, ex, tfirst = b'', b'', None, None
        dl = now() + timeout
        while ex is None:
            t, st, pl = self.frame(dl - now())
            if tfirst is None:
                tfirst = now()
            if st != stream:
                continue
            if t == STDOUT:
                out += pl
            elif t == STDERR:
                err += pl
            elif t == EXIT:
                ex = struct.unpack('<II', pl)
        return out, err, ex, tfirst


class VM:
    def __init__(self, tag, args, incoming=None, paused=False, extra_fds=None):
        self.tag = tag
        cs, self.cc = socket.socketpair()  # control
        qs, self.qc = socket.socketpair()  # qmp
        ks, self.kc = socket.socketpair()  # console
        self.conlog = open(f'{D}/con-{tag}.log', 'wb')
        a = list(args)
        if paused:
            a.append('-S')
        if incoming:
            a += ['-incoming', incoming]
        self.args = a
        # fds 3,4,5 in the child; extra fds kept at their numbers
        fdmap = {3: cs.fileno(), 4: qs.fileno(), 5: ks.fileno()}
        fdmap.update(extra_fds or {})

        def pre():
            # dup to high numbers first, then to 3,4,5
            hi = {k: os.dup(v) for k, v in fdmap.items()}
            # make sure targets 3..5 don't clobber extra fds
            for k, v in hi.items():
                os.dup2(v, k)
                os.set_inheritable(k, True)
        self.log = open(f'{D}/qemu-{tag}.log', 'wb')
        self.t0 = now()
        self.p = subprocess.Popen(a, stdin=subprocess.DEVNULL, stdout=self.log,
                                  stderr=self.log, preexec_fn=pre,
                                  close_fds=False)
        STARTED.append(self.p.pid)
        cs.close(); qs.close(); ks.close()
        self.qmp = QMP(self.qc)
        self.chan = Chan(self.cc)

    def drain_console(self):
        try:
            while True:
                r, _, _ = select.select([self.kc], [], [], 0)
                if not r:
                    break
                d = self.kc.recv(65536)
                if not d:
                    break
                self.conlog.write(d)
        except OSError:
            pass
        self.conlog.flush()

    def kill(self):
        if getattr(self, 'dead', False):
            return
        self.dead = True
        self.drain_console()
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                pass
        for s in (self.cc, self.qc, self.kc):
            s.close()
        self.conlog.close()
        self.log.close()

    def wait_hello(self, timeout=60):
        # drain the console meanwhile so the guest never blocks on it
        dl = now() + timeout
        while True:
            r, _, _ = select.select([self.cc, self.kc], [], [], max(0, dl - now()))
            if not r:
                raise TimeoutError(f'{self.tag}: no HELLO')
            if self.kc in r:
                self.drain_console()
            if self.cc in r:
                t, st, p = self.chan.frame(dl - now())
                if t == HELLO:
                    return now()


def cleanup():
    for pid in STARTED:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
