#!/usr/bin/env bash
# Builds exp.cpio: the guest kernel's virtio modules (from the initramfs
# bh-build-guest made), static busybox (from its deb cache) and
# guest-init.sh as /init. Usage: make-initramfs.sh STATE OUTDIR
set -eu
state=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ir" "$work/bb" "$work/root/bin" "$work/root/proc" \
	"$work/root/sys" "$work/root/tmp"
(cd "$work/ir" && cpio -idm <"$state/kernels/current/initramfs.img" 2>/dev/null)
dpkg-deb -x "$state"/cache/debs/busybox-static_*.deb "$work/bb"
cp -a "$work/ir/lib" "$work/ir/dev" "$work/root/"
cp "$work/bb/bin/busybox" "$work/root/bin/"
cp "$here/guest-init.sh" "$work/root/init"
chmod +x "$work/root/init"
mkdir -p "$out"
(cd "$work/root" && find . | cpio -o -H newc >"$out/exp.cpio" 2>/dev/null)
echo "$out/exp.cpio"
