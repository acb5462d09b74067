#!/bin/busybox sh
# /init of the capture guest (copied into the initramfs by traces/capture.sh).
# Loads the virtio drivers, runs a short workload on virtio-blk, virtio-rng and
# virtio-net, and prints "RINGSIDE-SNAP <label>" markers on the serial console.
# The host (traces/qmp.py) watches the console and, on each marker, stops the
# VM, takes the QMP snapshots and pmemsave ring dumps, then continues it.
# Kernel command line: ringside.load=light|heavy|net|stall|ioerror
#                      ringside.kprobes=1   (traces/capture-guest.sh captures)
#
# With ringside.kprobes=1 the guest also records its driver side: it mounts
# tracefs, defines the kprobe events listed in /kprobe_events.txt (made by
# traces/kprobes.py from the kernel's BTF) after loading virtio_pci and
# before the device drivers, writes clock anchors (/bin/ringside-anchor) between
# the workload's phases, and at the end writes the ftrace buffer (`cat trace`)
# to the second serial port (ttyS1), then prints "RINGSIDE-SNAP done".  It
# takes no "idle" snapshot, so that QEMU never stops the VM while the guest
# records.  The loads net, stall and ioerror exist only in this mode.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /tmp

load=light
kprobes=0
for w in $(cat /proc/cmdline); do
	case "$w" in
	ringside.load=*) load="${w#ringside.load=}" ;;
	ringside.kprobes=*) kprobes="${w#ringside.kprobes=}" ;;
	esac
done

say() { echo "RINGSIDE: $*"; }
snap() {
	# Give the host plenty of (guest) time to notice the marker and stop us.
	echo "RINGSIDE-SNAP $1"
	sleep "${2:-4}"
}

if [ "$kprobes" = 1 ]; then
	. /kprobe-lib.sh
	# The ring code and the PCI transport first, then the probes (their
	# symbols live in these modules), then the drivers, so that the
	# drivers' set-up (rx buffers posted at probe time) is recorded too.
	for m in $(cat /modules.order); do
		case "$m" in virtio_blk.ko) break ;; esac
		insmod "/lib/modules/$m" || say "insmod $m failed"
	done
	kprobe_setup
	anchor 2
	for m in $(sed -n '/^virtio_blk.ko$/,$p' /modules.order); do
		insmod "/lib/modules/$m" || say "insmod $m failed"
	done
else
	for m in $(cat /modules.order); do insmod "/lib/modules/$m" || say "insmod $m failed"; done
fi
# Give the drivers a moment to probe and create /dev/vda, /dev/hwrng, eth0.
i=0
if grep -q 0x0002 /sys/bus/virtio/devices/*/device 2>/dev/null; then
	while [ $i -lt 50 ] && ! [ -b /dev/vda ]; do sleep 0.1; i=$((i + 1)); done
fi
say "load=$load kernel=$(uname -r)"
ls /sys/bus/virtio/devices/ | while read d; do
	say "$d device=$(cat /sys/bus/virtio/devices/$d/device) features=$(cat /sys/bus/virtio/devices/$d/features)"
done

ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0

if [ "$kprobes" = 1 ]; then
	# The driver-side captures: workloads in /kprobe-lib.sh.
	kprobe_workload "$load"
	kprobe_dump
	snap done 6
	say "poweroff"
	poweroff -f
fi

snap idle

# --- virtio-blk -----------------------------------------------------------
dd if=/dev/urandom of=/tmp/pat bs=4k count=16 2>/dev/null
if [ "$load" = heavy ]; then
	# Many small direct requests from 4 writers/readers at once: with
	# queue-size=16 the ring is kept full and wraps many times.
	for j in 0 1 2 3; do
		( dd if=/tmp/pat of=/dev/vda bs=4k count=16 seek=$((j * 64)) oflag=direct 2>/dev/null
		  dd if=/dev/vda of=/dev/null bs=4k count=48 skip=$((j * 64)) iflag=direct 2>/dev/null ) &
	done
	# Snapshot in the middle of it (the host throttles this drive's IOPS
	# so that the burst lasts long enough to be caught).
	( sleep 0.3; echo "RINGSIDE-SNAP busy" ) &
	wait
	sync
	echo 3 > /proc/sys/vm/drop_caches
	dd if=/dev/vda of=/dev/null bs=64k count=32 2>/dev/null
else
	dd if=/tmp/pat of=/dev/vda bs=4k count=16 oflag=direct 2>/dev/null
	dd if=/dev/vda of=/dev/null bs=4k count=16 iflag=direct 2>/dev/null
	# Buffered: readahead gives multi-segment requests.
	dd if=/tmp/pat of=/dev/vda bs=64k count=1 seek=4 2>/dev/null
	sync
	echo 3 > /proc/sys/vm/drop_caches
	dd if=/dev/vda of=/dev/null bs=64k count=4 2>/dev/null
fi
say "blk done: $(cat /sys/block/vda/stat)"

# --- virtio-rng -----------------------------------------------------------
dd if=/dev/hwrng of=/dev/null bs=64 count=8 2>/dev/null
say "rng done: current=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)"

# --- virtio-net -----------------------------------------------------------
if [ "$load" = heavy ]; then
	# > 256 packets each way: wraps the 256-entry rx and tx rings.
	ping -c 300 -i 0.01 -q 10.0.2.2 2>&1 | tail -n 2
else
	ping -c 4 -i 0.2 -q 10.0.2.2 2>&1 | tail -n 2
fi
say "net done: $(cat /sys/class/net/eth0/statistics/rx_packets) rx, $(cat /sys/class/net/eth0/statistics/tx_packets) tx"

snap done 6
say "poweroff"
poweroff -f
