import sys; sys.path.insert(0,'/tmp/snapx')
from bhsnap import *
try:
    mem=int(sys.argv[1]) if len(sys.argv)>1 else 256
    v=VM('cold',cmdline(mem=mem))
    v.qmp.greet()
    th=v.wait_hello(60)
    print('hello after %.3f s'%(th-v.t0))
    out,err,ex,tf=v.chan.exec(1,['sh','-c','date +%s.%N; cat /proc/sys/kernel/random/uuid; uname -r; hostname'])
    print('exec reply after %.3f s'%(now()-th), out, err, ex)
    v.chan.send(POWEROFF,0)
    try: v.p.wait(10)
    except Exception as e: print(e)
    print('rc',v.p.poll())
    v.kill()
finally:
    cleanup()
