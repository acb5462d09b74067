#!/usr/bin/env bash
# Captures with both sides of the ring: the guest driver's kprobe trace next to
# QEMU's trace, and DPDK's dpdk-testpmd as a vhost-user net device.
#
# Run from the repo root:   bash traces/capture-guest.sh [capture-name...]
# (no names = all: guest-split guest-packed guest-ioerror dpdk-split
# dpdk-packed dpdk-stall).  Uses the functions of traces/capture.sh (packages,
# kernel, initramfs) and traces/qmp.py; see traces/README.md.
#
# Each capture directory traces/<name>/ gets:
#   cmdline.txt        the exact QEMU command line
#   trace.log          QEMU trace (virtqueue_*, virtio_*, vhost_*, pci_cfg_write),
#                      -msg timestamp=on
#   guest-trace.txt    the guest's ftrace buffer (`cat trace`, trace_clock=tai),
#                      written by the guest to its second serial port
#   serial.log         the guest console (kallsyms check, kprobe_events read back)
#   qmp.jsonl, rings/  QMP transcript and the final ring dumps (qmp.py)
#   kprobe_events.txt  the kprobe definitions the guest used (traces/kprobes.py)
#   btf-offsets.txt    the struct offsets in them, from the kernel's BTF
# DPDK captures also have testpmd-cmdline.txt, testpmd-cmds.txt and dpdk.log
# (testpmd's stdout+stderr, each line prefixed with the host time it was
# read); stall and ioerror captures have host-actions.log.
set -euo pipefail
. "$(dirname "$0")/capture.sh"

# --- extra packages and guest files -----------------------------------------------
ensure_guest_packages() {
	local missing=() p
	for p in bpftool gcc libc6-dev dpdk-dev librte-net-vhost23 librte-mempool-ring23 coreutils; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing: ${missing[*]}"
		apt-get update
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
	fi
	command -v dpdk-testpmd >/dev/null || die "dpdk-testpmd missing (Debian package dpdk-dev)"
	command -v bpftool >/dev/null || die "bpftool missing"
}

# The initramfs of capture.sh plus the kprobe list, its library and the
# anchor program.
build_kprobe_initramfs() {
	local root=$WORK/initramfs
	python3 "$TRACES/kprobes.py" --kver "$KVER" --work "$WORK/btf" \
		--events "$WORK/kprobe_events.txt" --offsets "$WORK/btf-offsets.txt"
	cp "$WORK/kprobe_events.txt" "$root/kprobe_events.txt"
	cp "$TRACES/guest-kprobes.sh" "$root/kprobe-lib.sh"
	gcc -O2 -static -Wall -o "$root/bin/ringside-anchor" "$TRACES/anchor.c"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$WORK/initramfs-kprobes.cpio.gz"
	INITRD=$WORK/initramfs-kprobes.cpio.gz
}

# --- one capture ------------------------------------------------------------------
# run_guest_capture NAME [--packed] [--load light|ioerror|net|stall] [--dpdk]
run_guest_capture() {
	local name=$1
	shift
	local packed=0 load=light dpdk=0
	while [ $# -gt 0 ]; do
		case "$1" in
		--packed) packed=1 ;;
		--load) load=$2; shift ;;
		--dpdk) dpdk=1 ;;
		*) die "run_guest_capture: bad option $1" ;;
		esac
		shift
	done
	local out=$TRACES/$name run=$WORK/$name
	log "=== $name"
	rm -rf "$out" "$run"
	mkdir -p "$out" "$run"
	truncate -s 8M "$run/disk.img"
	cp "$WORK/kprobe_events.txt" "$WORK/btf-offsets.txt" "$out/"
	local popt=""
	[ $packed = 1 ] && popt=",packed=on"

	local cmd=(qemu-system-x86_64
		-accel tcg -machine pc -cpu qemu64 -smp 1 -m 256M
		-nodefaults -display none -no-reboot
		-kernel "$VMLINUZ" -initrd "$INITRD"
		-append "console=ttyS0 quiet panic=-1 ringside.load=$load ringside.kprobes=1"
		-chardev file,id=ser0,path=serial.log -serial chardev:ser0
		-chardev file,id=ser1,path=guest-trace.txt -serial chardev:ser1
		-qmp "unix:$run/qmp.sock,server=on,wait=off"
		-trace 'virtqueue_*' -trace 'virtio_*' -trace 'vhost_*' -trace pci_cfg_write
		-D trace.log -msg timestamp=on)
	local qmp_extra=() tp_pid="" tp_fifo=""
	if [ $dpdk = 1 ]; then
		# dpdk-testpmd serves virtio-net over vhost-user; the guest RAM is a
		# shared memfd so that the backend can map it.
		local sock=$run/vhost-net.sock
		echo "set verbose 3" >"$out/testpmd-cmds.txt"
		local tp=(dpdk-testpmd -l 0,1 --no-huge -m 256 --no-pci --no-telemetry
			--file-prefix="ringside-$name"
			--vdev "net_vhost0,iface=$sock,queues=1"
			--log-level=lib.vhost.config:debug --log-level=pmd.net.vhost:debug
			-- --forward-mode=icmpecho --cmdline-file=testpmd-cmds.txt
			--total-num-mbufs=2048 --nb-cores=1)
		show_cmd "${tp[@]}" >"$out/testpmd-cmdline.txt"
		# testpmd (not interactive) runs until a line arrives on stdin.
		tp_fifo=$run/testpmd.in
		mkfifo "$tp_fifo"
		exec 7<>"$tp_fifo"
		(cd "$out" && exec timeout $QEMU_TIMEOUT sh -c 'echo $$ >"$0"; exec stdbuf -oL -eL "$@"' \
			"$run/testpmd.pid" "${tp[@]}" <&7 2>&1 | python3 "$TRACES/tslines.py" >dpdk.log) &
		tp_pid=$!
		local i=0
		while ! [ -S "$sock" ]; do
			sleep 0.1
			i=$((i + 1))
			[ $i -lt 300 ] || die "dpdk-testpmd did not create $sock"
		done
		cmd+=(-object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem
			-chardev "socket,id=vu0,path=$sock"
			-netdev vhost-user,id=n0,chardev=vu0
			-device "virtio-net-pci,id=net0,netdev=n0,disable-legacy=on,mac=52:54:00:12:34:56,vectors=0$popt")
		qmp_extra+=(--vhost)
		if [ "$load" = stall ]; then
			qmp_extra+=(--stall-pidfile "$run/testpmd.pid" --actions "$out/host-actions.log")
		fi
	else
		local file="$run/disk.img" dopt=""
		if [ "$load" = ioerror ]; then
			# One failing read of sector 12288 (blkdebug), and QEMU stops the
			# VM on read errors (rerror=stop) with the request in flight.
			cat >"$out/blkdebug.conf" <<-'EOF'
				[inject-error]
				event = "read_aio"
				errno = "5"
				sector = "12288"
				once = "on"
			EOF
			file="blkdebug:blkdebug.conf:$run/disk.img"
			dopt=",rerror=stop,werror=stop"
			qmp_extra+=(--io-error-hold 3 --actions "$out/host-actions.log")
		fi
		cmd+=(-drive "if=none,id=d0,file=$file,format=raw$dopt"
			-device "virtio-blk-pci,id=blk0,drive=d0,disable-legacy=on$popt"
			-netdev user,id=n0
			-device "virtio-net-pci,id=net0,netdev=n0,disable-legacy=on,mac=52:54:00:12:34:56$popt"
			-device "virtio-rng-pci,id=rng0,disable-legacy=on$popt")
	fi
	show_cmd "${cmd[@]}" >"$out/cmdline.txt"

	(cd "$out" && exec timeout $QEMU_TIMEOUT "${cmd[@]}" 2>qemu-stderr.log) &
	local qemu_pid=$!
	local rc=0
	python3 "$TRACES/qmp.py" --socket "$run/qmp.sock" --serial "$out/serial.log" \
		--out "$out/qmp.jsonl" --cwd "$out" --rings rings --timeout $((QEMU_TIMEOUT - 20)) \
		"${qmp_extra[@]}" || rc=$?
	[ $rc = 0 ] || kill -TERM "$qemu_pid" 2>/dev/null || true
	wait "$qemu_pid" || rc=$((rc ? rc : $?))
	if [ -n "$tp_pid" ]; then
		# A line on stdin makes testpmd stop forwarding, print its
		# statistics and exit.  (SIGCONT first, in case a failed stall run
		# left it stopped.)
		kill -CONT "$(cat "$run/testpmd.pid")" 2>/dev/null || true
		echo >&7
		wait "$tp_pid" || true
		exec 7>&-
	fi
	local f
	for f in "$out"/qemu-stderr.log; do
		[ -e "$f" ] && ! [ -s "$f" ] && rm -f "$f"
	done
	[ $rc = 0 ] || die "$name: QEMU or qmp.py failed (rc=$rc); see $out"
	grep -q 'RINGSIDE: poweroff' "$out/serial.log" || die "$name: guest did not finish its workload"
	[ -s "$out/guest-trace.txt" ] || die "$name: empty guest-trace.txt"
	local size
	size=$(du -sb "$out" | cut -f1)
	[ "$size" -le $MAX_CAPTURE_BYTES ] || die "$name: $size bytes, over 2 MB: reduce the workload"
	log "$name: $size bytes"
}

capture_guest_all() {
	local want=("$@")
	want_capture() { [ ${#want[@]} = 0 ] || printf '%s\n' "${want[@]}" | grep -qx "$1"; }
	want_capture guest-split && run_guest_capture guest-split
	want_capture guest-packed && run_guest_capture guest-packed --packed
	want_capture guest-ioerror && run_guest_capture guest-ioerror --load ioerror
	want_capture dpdk-split && run_guest_capture dpdk-split --dpdk --load net
	want_capture dpdk-packed && run_guest_capture dpdk-packed --dpdk --packed --load net
	want_capture dpdk-stall && run_guest_capture dpdk-stall --dpdk --load stall
	return 0
}

ensure_packages
ensure_guest_packages
find_kernel
mkdir -p "$WORK"
build_initramfs
build_kprobe_initramfs
log "QEMU: $(qemu-system-x86_64 --version | head -n 1); guest kernel $KVER; DPDK $(dpkg-query -W -f='${Version}' dpdk-dev)"
capture_guest_all "$@"
python3 "$TRACES/verify_guest.py" "$@"
