import sys; sys.path.insert(0,'/tmp/snapx')
from exp import *
N=int(sys.argv[1]); mode=sys.argv[2] if len(sys.argv)>2 else 'file'
R={'seq':[], 'warm_stopped':[], 'warm_running':[], 'cold_seq':[]}
def ex(v,sid,cmd=('true',)):
    t=now(); v.chan.exec(sid,list(cmd)); return now()-t
try:
    for i in range(N):
        # sequence of EXECs after a restore (paused, then cont)
        r=restore(mode,256,paused=True); v=r['v']
        t=now(); v.qmp.cmd('cont'); a=ex(v,1); b=ex(v,2); c=ex(v,3); d=ex(v,4,('sh','-c','echo hi'))
        R['seq'].append([now()-t,a,b,c,d]); v.chan.send(POWEROFF,0); v.kill()
        # warm, then stopped: cont -> reply
        r=restore(mode,256,paused=True); v=r['v']
        v.qmp.cmd('cont'); ex(v,1); ex(v,2); v.qmp.cmd('stop'); time.sleep(0.3)
        t=now(); v.qmp.cmd('cont'); a=ex(v,3); R['warm_stopped'].append(now()-t); v.chan.send(POWEROFF,0); v.kill()
        # warm, left running idle
        r=restore(mode,256,paused=True); v=r['v']
        v.qmp.cmd('cont'); ex(v,1); ex(v,2); time.sleep(0.3)
        R['warm_running'].append(ex(v,3)); v.chan.send(POWEROFF,0); v.kill()
        # cold boot: successive execs after HELLO
        v=VM('coldseq',cmdline()); v.qmp.greet(); v.wait_hello(60)
        a=ex(v,1); b=ex(v,2); time.sleep(0.3); c=ex(v,3); R['cold_seq'].append([a,b,c]); v.chan.send(POWEROFF,0); v.kill()
    for k,x in R.items():
        if x and isinstance(x[0],list):
            print(k,'medians',[round(median([y[j] for y in x]),3) for j in range(len(x[0]))])
        else: print(k,'median %.3f'%median(x), [round(y,3) for y in x])
    json.dump(R,open(f'/tmp/snapx/results-warm-{mode}.json','w'),indent=1)
finally: cleanup()
