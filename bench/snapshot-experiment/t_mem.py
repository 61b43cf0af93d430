import sys; sys.path.insert(0,'/tmp/snapx')
from exp import *
def roll(pid):
    d={}
    for l in open(f'/proc/{pid}/smaps_rollup'):
        p=l.split()
        if p[0] in ('Rss:','Pss:','Shared_Clean:','Private_Dirty:','Private_Clean:'): d[p[0][:-1]]=int(p[1])//1024
    return d
try:
    for mode in ['fd','file']:
        vs=[]
        for i in range(2):
            v=restore(mode,256,paused=True,tag=f'mem{mode}{i}')['v']; v.qmp.cmd('cont'); v.chan.exec(1,['true']); vs.append(v)
        time.sleep(1)
        for v in vs: print(mode, 'MiB', roll(v.p.pid))
        for v in vs: v.chan.send(POWEROFF,0); v.kill()
    # init_on_free=1: snapshot size in plain (fd) mode
    import exp
    orig=exp.cmdline
    exp.cmdline=lambda **k: orig(extra_append=' init_on_free=1', **k)
    s=exp.snapshot('fd',256); print('init_on_free=1 fd snapshot bytes',s['snap_bytes'],'boot_hello %.3f'%s['boot_hello'])
    r=exp.restore('fd',256); print('init_on_free restore reply %.3f loaded %.3f'%(r['reply'],r['loaded']))
finally: cleanup()
