import sys; sys.path.insert(0,'/tmp/snapx')
from exp import *
def cpu(pid):
    f=open(f'/proc/{pid}/stat').read().rsplit(')',1)[1].split(); return (int(f[11])+int(f[12]))/os.sysconf('SC_CLK_TCK')
try:
    # control chardev not connected at restore time
    for when in ['before_cont']:
        sp=f'/tmp/snapx/ctl-{when}.sock'
        if os.path.exists(sp): os.unlink(sp)
        a=[x if x!='socket,id=control,fd=3' else f'socket,id=control,path={sp},server=on,wait=off' for x in cmdline()]
        f=os.open(paths('fd',256)[0],os.O_RDONLY)
        v=VM('ctl-'+when,a,incoming='fd:6',extra_fds={6:f}); os.close(f); v.qmp.greet()
        dl=now()+30
        while v.qmp.cmd('query-status')['status']=='inmigrate' and now()<dl: time.sleep(0.005)
        def conn():
            s=socket.socket(socket.AF_UNIX); s.connect(sp); return Chan(s)
        if when=='before_cont': ch=conn(); v.qmp.cmd('cont')
        else: v.qmp.cmd('cont'); time.sleep(1.0); 
        if when=='after_cont':
            if v.p.poll() is None: ch=conn()
        try:
            time.sleep(0.5)
            print(when,'qemu alive' if v.p.poll() is None else f'qemu exited rc={v.p.poll()}')
            o=ch.exec(1,['echo','alive']); print(when,'EXEC ok',o[0])
        except Exception as e: print(when,'EXEC failed',repr(e))
        v.drain_console(); print(when,'console:',open(f'/tmp/snapx/con-ctl-{when}.log').read()[-300:])
        v.kill()
        if os.path.exists(sp): os.unlink(sp)
finally: cleanup()
