#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
K=/lib/modules/$(uname -r)/kernel/drivers
insmod $K/virtio/virtio_ring.ko; insmod $K/virtio/virtio.ko; insmod $K/virtio/virtio_mmio.ko; insmod $K/char/virtio_console.ko
echo READY; ls /sys/class/virtio-ports
seen=""
while true; do
  for p in /sys/class/virtio-ports/*; do
    n=$(cat $p/name 2>/dev/null); b=$(basename $p)
    case "$n" in bulkhead.data.*) case " $seen " in *" $b:$n "*) ;; *)
      seen="$seen $b:$n"; echo "PORT $b $n"
      case "$n" in
      *.hold) ( sz=${n%.hold}; sz=${sz##*.}; exec 3<>/dev/$b; head -c $sz <&3 >/dev/null; echo "HELD $n"; sleep 1000 ) & ;;
      *.w) ( sz=${n%.w}; sz=${sz##*.}; head -c $sz /dev/zero > /dev/$b; echo "WROTE $n" ) & ;;
      *) ( sz=${n##*.}; echo "START $sz"; h=$(head -c $sz /dev/$b | sha256sum); echo "GOT $n $h" ) & ;;
      esac
    ;; esac;; esac
  done
  sleep 0.2
done
