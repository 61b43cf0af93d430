#!/usr/bin/env python3
"""VM test: bh-agent mounts a private volume on /rw with /home on it.

The daemon gives disposables no private volume yet (persistent qubes come
with `bh create`), so this test boots QEMU itself, with the installed
kernel, initramfs and minimal template plus a fresh ext4 private image,
and speaks the channel protocol of src/proto/frame.h to the agent: it runs
a command that writes under /home, powers the qube off, then reads the
file back out of the image with debugfs on the host.

Usage: agent_private_volume.py IMAGES_DIR   (exit 0 ok, 1 failed)
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile

HELLO, EXEC, STDIN, STDOUT, STDERR, CREDIT, EXIT, POWEROFF = range(1, 9)
TIMEOUT_S = 120  # bound on the whole boot + command under TCG


def frame(kind, stream, payload=b""):
    return struct.pack("<III", kind, stream, len(payload)) + payload


def exec_request(argv):
    body = b"".join(a.encode() + b"\0" for a in argv)
    return struct.pack("<II", len(argv), 0) + body


def read_frame(sock):
    hdr = b""
    while len(hdr) < 12:
        chunk = sock.recv(12 - len(hdr))
        if not chunk:
            raise EOFError("channel closed")
        hdr += chunk
    kind, stream, length = struct.unpack("<III", hdr)
    payload = b""
    while len(payload) < length:
        chunk = sock.recv(length - len(payload))
        if not chunk:
            raise EOFError("channel closed mid-frame")
        payload += chunk
    return kind, stream, payload


def main():
    images = sys.argv[1]
    kdir = os.path.join(images, "kernels", "current")
    root = os.path.join(images, "templates", "minimal", "root.img")
    work = tempfile.mkdtemp(prefix="bh-private-")
    private = os.path.join(work, "private.img")
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-L", "private", private,
                    "32M"], check=True, stdout=subprocess.DEVNULL)
    ours, theirs = socket.socketpair()
    qmp_ours, qmp_theirs = socket.socketpair()
    ours.settimeout(TIMEOUT_S)
    mhz = 0
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                mhz = float(line.split(":")[1])
                break
    append = ("console=ttyS0 quiet panic=-1 tsc_early_khz=%d bh.name=privtest "
              "bh.root=/dev/vda bh.private=/dev/vdb" % int(mhz * 1000))
    qemu = subprocess.Popen([
        "qemu-system-x86_64", "-M", "microvm,acpi=on", "-accel", "tcg",
        "-cpu", "max", "-m", "256M", "-nodefaults", "-no-user-config",
        "-display", "none", "-no-reboot",
        "-kernel", os.path.join(kdir, "vmlinuz"),
        "-initrd", os.path.join(kdir, "initramfs.img"), "-append", append,
        "-chardev", "file,id=con,path=%s/console.log" % work,
        "-serial", "chardev:con",
        "-drive", "id=root,file=%s,format=raw,if=none,readonly=on" % root,
        "-device", "virtio-blk-device,drive=root",
        "-drive", "id=private,file=%s,format=raw,if=none" % private,
        "-device", "virtio-blk-device,drive=private",
        "-device", "virtio-serial-device",
        "-chardev", "socket,id=ctl,fd=%d" % theirs.fileno(),
        "-device", "virtserialport,chardev=ctl,name=bulkhead.control",
        "-chardev", "socket,id=qmp,fd=%d" % qmp_theirs.fileno(),
        "-mon", "chardev=qmp,mode=control",
    ], pass_fds=(theirs.fileno(), qmp_theirs.fileno()))
    theirs.close()
    qmp_theirs.close()
    ok = False
    out = b""
    try:
        kind, stream, _ = read_frame(ours)
        assert (kind, stream) == (HELLO, 0), "first frame is not HELLO"
        script = ("echo kept >/home/note && grep ' /rw ' /proc/mounts && "
                  "grep ' /home ' /proc/mounts && cat /home/note")
        ours.sendall(frame(EXEC, 1, exec_request(["sh", "-c", script])))
        ours.sendall(frame(STDIN, 1))
        status = None
        while status is None:
            kind, stream, payload = read_frame(ours)
            if kind in (STDOUT, STDERR):
                out += payload
                if payload:
                    ours.sendall(frame(CREDIT, 1,
                                       struct.pack("<I", len(payload))))
            elif kind == EXIT:
                status = struct.unpack("<II", payload)
        ours.sendall(frame(POWEROFF, 0))
        qemu.wait(timeout=TIMEOUT_S)
        text = out.decode(errors="replace")
        assert status == (0, 0), "command status %r, output %r" % (status, text)
        assert "/dev/vdb /rw ext4" in text, "/rw not mounted: %r" % text
        assert " /home " in text, "/home not bound: %r" % text
        dump = subprocess.run(["debugfs", "-R", "cat /home/note", private],
                              capture_output=True, text=True).stdout
        assert dump == "kept\n", "private image holds %r" % dump
        ok = True
    except Exception as e:  # report, then clean up below
        print("agent_private_volume: FAILED: %s" % e)
        try:
            with open(os.path.join(work, "console.log"), errors="replace") as f:
                print(f.read()[-2000:])
        except OSError:
            pass
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()
        subprocess.run(["rm", "-rf", work])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
