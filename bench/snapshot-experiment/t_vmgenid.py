import sys; sys.path.insert(0,'/tmp/snapx')
from bhsnap import *
try:
    a=cmdline(sandbox=False)+['-device','vmgenid,guid=auto']
    v=VM('vmgenid',a); v.qmp.greet(); th=v.wait_hello(60); print('hello %.3f'%(th-v.t0))
    print(v.chan.exec(1,['sh','-c','ls /sys/bus/acpi/devices; ls /sys/bus/platform/drivers | tr "\\n" " "; dmesg | grep -i -E "vmgen|random|clocksource|tsc" | head -20'])[0].decode())
    v.chan.send(POWEROFF,0); v.kill()
finally: cleanup()
