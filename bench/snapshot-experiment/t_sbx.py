import sys; sys.path.insert(0,'/tmp/snapx')
from exp import *
try:
    v=VM('sbx',cmdline()); v.qmp.greet(); v.wait_hello(60); v.qmp.cmd('stop')
    try: print(v.qmp.cmd('migrate',{'uri':'exec:cat > /tmp/snapx/sbx.bin'})); time.sleep(1); print(v.qmp.cmd('query-migrate'))
    except Exception as e: print('migrate error', repr(e))
    time.sleep(0.5); print('qemu', 'alive' if v.p.poll() is None else f'dead rc={v.p.poll()}'); v.kill()
    print(open('/tmp/snapx/qemu-sbx.log').read()[-300:])
finally: cleanup()
