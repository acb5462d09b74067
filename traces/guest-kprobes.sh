# Driver-side recording for the capture guest (busybox sh), sourced by
# /init (traces/guest-init.sh) as /kprobe-lib.sh when the kernel command line
# has ringside.kprobes=1.  traces/capture-guest.sh puts it, the kprobe list
# /kprobe_events.txt (traces/kprobes.py) and /bin/ringside-anchor
# (traces/anchor.c) into the initramfs.
T=/sys/kernel/tracing
next_anchor=1

# Symbols the probes use, and some the compiler may have inlined: each is
# printed as "RINGSIDE-KALLSYMS <symbol> <kallsyms line or 'absent'>".
KALLSYMS_CHECK="virtqueue_add_sgs virtqueue_add_outbuf virtqueue_add_inbuf
virtqueue_add_inbuf_ctx virtqueue_kick_prepare vp_notify vring_interrupt
virtqueue_get_buf_ctx_split virtqueue_get_buf_ctx_packed detach_buf_split
detach_buf_packed virtqueue_detach_unused_buf virtqueue_get_buf_ctx
virtqueue_add_split virtqueue_add_packed virtqueue_add
virtqueue_kick_prepare_split virtqueue_kick_prepare_packed virtqueue_notify
virtqueue_enable_cb_delayed virtqueue_disable_cb"

kprobe_setup() {
	mount -t tracefs nodev $T || { say "no tracefs"; return 1; }
	say "trace_clock choices: $(cat $T/trace_clock)"
	if grep -qw tai $T/trace_clock; then
		echo tai >$T/trace_clock
	else
		say "no tai trace clock; using mono"
		echo mono >$T/trace_clock
	fi
	say "trace_clock now: $(cat $T/trace_clock)"
	# One CPU; 16 MiB keeps the longest run (stall) free of overruns.
	echo 16384 >$T/buffer_size_kb
	local s line
	for s in $KALLSYMS_CHECK; do
		line=$(grep -E " $s([[:space:]]|$)" /proc/kallsyms | head -n 1)
		echo "RINGSIDE-KALLSYMS $s ${line:-absent}"
	done
	local kind rest ev
	while read -r kind rest; do
		case "$kind" in
		kprobe) echo "$rest" >>$T/kprobe_events || say "kprobe refused: $rest" ;;
		filter)
			ev=${rest%% *}
			echo "${rest#* }" >"$T/events/$ev/filter" || say "filter refused: $rest"
			;;
		esac
	done </kprobe_events.txt
	echo "RINGSIDE: kprobe_events as the kernel reads them back:"
	sed 's/^/RINGSIDE-KPROBE /' $T/kprobe_events
	echo 1 >$T/events/ringside/enable
	echo 1 >$T/tracing_on
	echo "ringside: tracing on, load=$load" >$T/trace_marker
	say "tracing on"
}

# anchor COUNT: COUNT clock anchors (trace_marker + a PCI config write that
# QEMU traces as pci_cfg_write), numbered on from the last ones.
anchor() {
	ringside-anchor $next_anchor "$1" || say "anchor failed"
	next_anchor=$((next_anchor + $1))
}

blk_light() {
	dd if=/dev/urandom of=/tmp/pat bs=4k count=16 2>/dev/null
	dd if=/tmp/pat of=/dev/vda bs=4k count=16 oflag=direct 2>/dev/null
	dd if=/dev/vda of=/dev/null bs=4k count=16 iflag=direct 2>/dev/null
	dd if=/tmp/pat of=/dev/vda bs=64k count=1 seek=4 2>/dev/null
	sync
	echo 3 >/proc/sys/vm/drop_caches
	dd if=/dev/vda of=/dev/null bs=64k count=4 2>/dev/null
	say "blk done: $(cat /sys/block/vda/stat)"
}

# The device the driver virtio_net is bound to (virtioN).
net_dev() {
	basename "$(readlink /sys/class/net/eth0/device)"
}

kprobe_workload() {
	anchor 2
	case "$1" in
	light)
		blk_light
		anchor 2
		dd if=/dev/hwrng of=/dev/null bs=64 count=8 2>/dev/null
		say "rng done"
		anchor 2
		ping -c 4 -i 0.2 -q 10.0.2.2 2>&1 | tail -n 2
		say "net done: $(cat /sys/class/net/eth0/statistics/rx_packets) rx, $(cat /sys/class/net/eth0/statistics/tx_packets) tx"
		;;
	ioerror)
		# The host made reads of sector 12288 (4 KiB block 1536) fail once
		# (blkdebug) with rerror=stop: QEMU stops the VM with the request in
		# flight; the host snapshots the rings and continues the VM, which
		# retries the request.  Three other direct readers run at the same
		# time (QEMU completes their requests while it stops the VM).
		dd if=/dev/urandom of=/tmp/pat bs=4k count=16 2>/dev/null
		dd if=/tmp/pat of=/dev/vda bs=4k count=16 oflag=direct 2>/dev/null
		anchor 2
		for j in 1 2 3; do
			dd if=/dev/vda of=/dev/null bs=4k count=32 skip=$((j * 256)) iflag=direct 2>/dev/null &
		done
		dd if=/dev/vda of=/dev/null bs=4k count=1 skip=1536 iflag=direct 2>/dev/null &&
			say "the failing read completed after the retry"
		wait
		say "blk done: $(cat /sys/block/vda/stat)"
		anchor 2
		;;
	net | stall)
		ping -c 8 -i 0.2 -q 10.0.2.2 2>&1 | tail -n 2
		say "net done: $(cat /sys/class/net/eth0/statistics/rx_packets) rx, $(cat /sys/class/net/eth0/statistics/tx_packets) tx"
		if [ "$1" = stall ]; then
			anchor 2
			# The host stops dpdk-testpmd (SIGSTOP) on this line: the
			# device stops serving the rings.
			echo "RINGSIDE-STALL stop"
			sleep 2
			anchor 2
			ping -c 300 -i 0.01 -q -W 1 10.0.2.2 2>&1 | tail -n 2
			# The tx ring is full and the queue stopped: the kernel's tx
			# watchdog (5 s for virtio_net) reports the timeout.
			sleep 9
			say "tx_timeout count: $(cat /sys/class/net/eth0/queues/tx-0/tx_timeout 2>/dev/null)"
			anchor 2
			# The host continues dpdk-testpmd (SIGCONT) on this line.
			echo "RINGSIDE-STALL cont"
			sleep 3
			ping -c 4 -i 0.2 -q 10.0.2.2 2>&1 | tail -n 2
			say "net after stall: $(cat /sys/class/net/eth0/statistics/rx_packets) rx, $(cat /sys/class/net/eth0/statistics/tx_packets) tx"
		fi
		anchor 2
		# The host asks QEMU for the vhost rings' addresses (QMP
		# x-query-virtio-vhost-queue-status) without stopping the VM.
		echo "RINGSIDE-QUERY running"
		sleep 2
		# Unbinding the driver resets the device: QEMU stops the vhost-user
		# device (GET_VRING_BASE) and the driver reclaims its rx buffers.
		d=$(net_dev)
		echo "$d" >/sys/bus/virtio/drivers/virtio_net/unbind
		say "unbound $d from virtio_net"
		sleep 1
		;;
	*) say "unknown load $1" ;;
	esac
	anchor 2
}

kprobe_dump() {
	echo 0 >$T/tracing_on
	say "ftrace cpu0 stats: $(tr '\n' ' ' <$T/per_cpu/cpu0/stats)"
	# ttyS1 is a file on the host (guest-trace.txt); raw: no \n -> \r\n.
	stty -F /dev/ttyS1 raw -echo 2>/dev/null || say "stty ttyS1 failed"
	cat $T/trace >/dev/ttyS1
	say "ftrace buffer written to ttyS1"
}
