import sys; sys.path.insert(0,'/tmp/snapx')
from exp import *
try:
    r=restore('exec',256,paused=True)
    v=r['v']
    print(r['loaded'], r['status_after_load'])
    print(v.qmp.cmd('query-migrate'))
    v.qmp.cmd('cont')
    time.sleep(1)
    print(v.qmp.cmd('query-status'))
    print(v.qmp.cmd('query-chardev'))
    p = struct.pack('<II', 1, 0) + b'true\0'
    v.chan.send(EXEC,1,p)
    try:
        print(v.chan.frame(5))
    except Exception as e: print('E',e)
    print(v.qmp.cmd('query-status'))
    print(v.qmp.events)
    v.drain_console()
    v.kill()
finally:
    cleanup()
