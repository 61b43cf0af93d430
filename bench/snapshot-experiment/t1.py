import sys; sys.path.insert(0,'/tmp/snapx')
from exp import *
try:
    for mode in ['exec','fd','file']:
        r=snapshot(mode,256)
        r.pop('ram',None)
        print(mode,'snap',json.dumps(r))
        r=restore(mode,256,cmd=('sh','-c','date +%s; cat /proc/sys/kernel/random/uuid'))
        print(mode,'restore',json.dumps({k:v for k,v in r.items()}))
finally:
    cleanup()
