#!/usr/bin/env python3
"""Experiments: cold boot, snapshot, restore, preloaded.

Modes:
  exec  : migrate to "exec:cat > F", restore with -incoming "exec:cat F" (no -sandbox: spawn=deny)
  fd    : migrate to fd: (file fd passed over QMP with getfd), restore with -incoming fd:6
          (file inherited as fd 6); -sandbox as bulkheadd uses it
  file  : RAM in memory-backend-file (share=on while snapshotting), x-ignore-shared;
          device state over fd:; restore maps the RAM file share=off (private, copy-on-write)
"""
import sys, os, json
sys.path.insert(0, '/tmp/snapx')
from bhsnap import *

BIG = 100 * 1024 ** 3


def paths(mode, mem):
    return f'{D}/snap-{mode}-{mem}.bin', f'{D}/ram-{mem}.bin'


def memdev(mem, share, mode):
    if mode != 'file':
        return None
    return (f'memory-backend-file,id=mem,size={mem}M,mem-path={paths(mode, mem)[1]},'
            f'share={"on" if share else "off"}')


def cold(mem, n, out):
    res = []
    for i in range(n):
        v = VM(f'cold{mem}-{i}', cmdline(mem=mem))
        try:
            v.qmp.greet()
            th = v.wait_hello(60)
            o, e, ex, tf = v.chan.exec(1, ['true'])
            tr = now()
            res.append({'hello': th - v.t0, 'reply': tr - v.t0})
            v.chan.send(POWEROFF, 0)
        finally:
            v.kill()
    out['cold', mem] = res
    return res


def snapshot(mode, mem, settle=0.0):
    snap, ram = paths(mode, mem)
    for f in (snap,):
        if os.path.exists(f):
            os.unlink(f)
    if mode == 'file' and os.path.exists(ram):
        os.unlink(ram)
    v = VM(f'snap-{mode}-{mem}', cmdline(mem=mem, sandbox=(mode != 'exec'),
                                         memdev=memdev(mem, True, mode)))
    r = {}
    try:
        v.qmp.greet()
        th = v.wait_hello(60)
        r['boot_hello'] = th - v.t0
        if settle:
            time.sleep(settle)
        t0 = now()
        v.qmp.cmd('stop')
        v.qmp.cmd('migrate-set-parameters', {'max-bandwidth': BIG})
        if mode == 'file':
            v.qmp.cmd('migrate-set-capabilities',
                      {'capabilities': [{'capability': 'x-ignore-shared', 'state': True}]})
        if mode == 'exec':
            v.qmp.cmd('migrate', {'uri': f'exec:cat > {snap}'})
        else:
            fd = os.open(snap, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            v.qmp.cmd('getfd', {'fdname': 'snap'}, fds=[fd])
            os.close(fd)
            v.qmp.cmd('migrate', {'uri': 'fd:snap'})
        dl = now() + 120
        while True:
            q = v.qmp.cmd('query-migrate')
            if q.get('status') in ('completed', 'failed', 'cancelled'):
                break
            if now() > dl:
                raise TimeoutError('migrate')
            time.sleep(0.005)
        r['migrate_s'] = now() - t0
        r['status'] = q.get('status')
        r['ram'] = q.get('ram')
        r['total_time_ms'] = q.get('total-time')
        if q.get('status') != 'completed':
            r['error'] = q
        r['snap_bytes'] = os.path.getsize(snap)
        if mode == 'file':
            st = os.stat(ram)
            r['ram_file_bytes'] = st.st_size
            r['ram_file_alloc'] = st.st_blocks * 512
        # the guest clock at snapshot time: host wall clock when stopped
        r['host_time_at_stop'] = time.time()
    finally:
        v.kill()
    # the RAM file must be on disk in the state of the stop; make it read-only for us
    if mode == 'file':
        os.chmod(ram, 0o400) if False else None
    return r


def restore(mode, mem, paused=False, cmd=('true',), stream=1, tag=None):
    """Restores; returns timings and the command output."""
    snap, ram = paths(mode, mem)
    extra = {}
    f = None
    if mode == 'exec':
        inc = f'exec:cat {snap}'
    elif mode == 'fd':
        f = os.open(snap, os.O_RDONLY)
        extra = {6: f}
        inc = 'fd:6'
    else:
        f = os.open(snap, os.O_RDONLY)
        extra = {6: f}
        inc = 'defer'
    tag = tag or f'rest-{mode}-{mem}'
    v = VM(tag, cmdline(mem=mem, sandbox=(mode != 'exec'), memdev=memdev(mem, False, mode)),
           incoming=inc, paused=paused, extra_fds=extra)
    if f is not None:
        os.close(f)
    r = {}
    try:
        v.qmp.greet()
        r['qmp_up'] = now() - v.t0
        if mode == 'file':
            v.qmp.cmd('migrate-set-capabilities',
                      {'capabilities': [{'capability': 'x-ignore-shared', 'state': True}]})
            v.qmp.cmd('migrate-incoming', {'uri': 'fd:6'})
        dl = now() + 60
        while True:
            s = v.qmp.cmd('query-status')
            if s['status'] not in ('inmigrate',):
                break
            if now() > dl:
                raise TimeoutError('incoming')
            time.sleep(0.002)
        r['loaded'] = now() - v.t0
        r['status_after_load'] = s['status']
        if s['status'] not in ('paused', 'prelaunch', 'running'):
            raise RuntimeError(f'restore failed: {s}')
        r['v'] = v
        if paused:
            return r
        return cont_and_run(r, cmd, stream, t_start=v.t0)
    finally:
        if 'v' not in r:
            v.kill()


def cont_and_run(r, cmd=('true',), stream=1, t_start=None):
    v = r.pop('v')
    try:
        t0 = now()
        v.qmp.cmd('cont')
        out, err, ex, tf = v.chan.exec(stream, list(cmd), timeout=60)
        r['cont_to_reply'] = now() - t0
        r['host_time'] = time.time()
        if t_start is not None:
            r['reply'] = now() - t_start
        r['out'] = out.decode(errors='replace')
        r['exit'] = ex
        v.chan.send(POWEROFF, 0)
        try:
            v.p.wait(10)
            r['rc'] = v.p.returncode
        except subprocess.TimeoutExpired:
            r['rc'] = 'no exit'
    finally:
        v.kill()
    return r
