import sys; sys.path.insert(0,'/tmp/snapx')
from exp import *
CHK=('sh','-c','date +%s; cut -d" " -f1 /proc/uptime; cat /proc/sys/kernel/random/uuid; head -c 16 /dev/urandom | od -An -x; cat /proc/sys/kernel/random/boot_id')
def chk(v,sid):
    o=v.chan.exec(sid,list(CHK))[0].decode().split('\n'); return {'host':round(time.time(),2),'gdate':o[0],'uptime':o[1],'uuid':o[2],'urandom':o[3].strip(),'boot_id':o[4]}
try:
    s=snapshot('file',256); t_snap=s['host_time_at_stop']; print('snapshot taken, host', round(t_snap,2))
    time.sleep(20)
    A=restore('file',256,paused=True,tag='A')['v']; B=restore('file',256,paused=True,tag='B')['v']
    A.qmp.cmd('cont'); B.qmp.cmd('cont')
    ra=chk(A,1); rb=chk(B,1)
    print('A first',ra); print('B first',rb)
    time.sleep(3)
    print('A +3s',chk(A,2)); print('B +3s',chk(B,2))
    # stop for 10 s then cont: guest clock?
    A.qmp.cmd('stop'); time.sleep(10); A.qmp.cmd('cont'); print('A after 10s stop',chk(A,3))
    time.sleep(65)
    print('A +65s',chk(A,4)); print('B +65s',chk(B,4))
    o=A.chan.exec(5,['sh','-c','dmesg | tail -n 15'])[0].decode(); print('A dmesg tail:\n'+o)
    for v in (A,B): v.chan.send(POWEROFF,0); v.kill()
finally: cleanup()
