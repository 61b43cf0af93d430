import sys; sys.path.insert(0,'/tmp/snapx')
from exp import *
def run(v, label):
    p = struct.pack('<II', 1, 0) + b'true\0'
    t0=now()
    v.chan.send(EXEC,1,p)
    try:
        fr=[]
        while True:
            f=v.chan.frame(8); fr.append(f[0])
            if f[0]==EXIT: break
        print(label,'OK %.3f'%(now()-t0), fr, 'since start %.3f'%(now()-v.t0))
    except Exception as e: print(label,'E',e, v.qmp.cmd('query-status'))
try:
    # a: non-paused, EXEC sent at once
    snap='/tmp/snapx/snap-exec-256.bin'
    v=VM('a',cmdline(sandbox=False),incoming='exec:cat '+snap); v.qmp.greet(); run(v,'a'); v.kill()
    # b: non-paused, wait running
    v=VM('b',cmdline(sandbox=False),incoming='exec:cat '+snap); v.qmp.greet()
    while v.qmp.cmd('query-status')['status']!='running': time.sleep(0.002)
    print('b running at %.3f'%(now()-v.t0)); run(v,'b'); v.kill()
    # c: paused, EXEC before cont
    v=VM('c',cmdline(sandbox=False),incoming='exec:cat '+snap,paused=True); v.qmp.greet()
    while v.qmp.cmd('query-status')['status']=='inmigrate': time.sleep(0.002)
    p = struct.pack('<II', 1, 0) + b'true\0'
    v.chan.send(EXEC,1,p); time.sleep(0.2); v.qmp.cmd('cont'); 
    try:
        print('c', v.chan.frame(8))
    except Exception as e: print('c E', e)
    v.kill()
finally:
    cleanup()
