import sys; sys.path.insert(0,'/tmp/snapx')
from exp import *
N=int(sys.argv[1]) if len(sys.argv)>1 else 7
MEMS=[int(x) for x in sys.argv[2].split(',')] if len(sys.argv)>2 else [256,128]
R={}
def load(): return open('/proc/loadavg').read().split()[0]
def save():
    json.dump({str(k):v for k,v in R.items()}, open('/tmp/snapx/results.json','w'), indent=1, default=str)
try:
    for mem in MEMS:
        R['cold',mem]=[]
        for i in range(N):
            c=cold(mem,1,{})[0]; c['load']=load(); R['cold',mem].append(c)
        print('cold',mem,'hello med %.3f reply med %.3f'%(median([x['hello'] for x in R['cold',mem]]),median([x['reply'] for x in R['cold',mem]])),flush=True)
        for mode in ['exec','fd','file']:
            R['snap',mode,mem]=[]
            for i in range(N):
                s=snapshot(mode,mem); s.pop('ram',None); s['load']=load(); R['snap',mode,mem].append(s)
            print('snap',mode,mem,'migrate med %.3f size %d'%(median([x['migrate_s'] for x in R['snap',mode,mem]]),R['snap',mode,mem][-1]['snap_bytes']),flush=True)
            R['restore',mode,mem]=[]
            for i in range(N):
                r=restore(mode,mem); r['load']=load(); R['restore',mode,mem].append(r)
            rr=R['restore',mode,mem]
            print('restore',mode,mem,'loaded %.3f cont->reply %.3f start->reply %.3f'%(median([x['loaded'] for x in rr]),median([x['cont_to_reply'] for x in rr]),median([x['reply'] for x in rr])),flush=True)
            R['preload',mode,mem]=[]
            for i in range(N):
                r=restore(mode,mem,paused=True); time.sleep(0.3); r=cont_and_run(r); r['load']=load(); R['preload',mode,mem].append(r)
            rr=R['preload',mode,mem]
            print('preload',mode,mem,'cont->reply %.3f'%(median([x['cont_to_reply'] for x in rr])),flush=True)
            save()
finally:
    save(); cleanup()
