#!/usr/bin/env bash
# Capture real virtqueue traces from QEMU for ringside.
#
# Run from the repo root:   bash traces/capture.sh [capture-name...]
# (no names = all captures).  Needs root for apt-get (only if packages are
# missing).  KVM is not used: every guest runs under TCG (-accel tcg), -smp 1.
#
# For every capture it boots Debian's linux-image-amd64 kernel with a
# busybox-static initramfs (traces/guest-init.sh is its /init) on a VM with
# virtio-blk, virtio-net and virtio-rng, and writes into traces/<name>/:
#   cmdline.txt   the exact QEMU command line
#   trace.log     QEMU trace events virtqueue_*, virtio_*, vhost_* (log backend, -D)
#   qmp.jsonl     QMP transcript: commands as sent and replies as received
#   serial.log    the guest console
#   rings/        pmemsave dumps of each queue's descriptor/driver/device areas
#                 per snapshot, and rings/index.json describing them
# vhost-user-blk captures also have qsd-cmdline.txt and qsd-trace.log
# (qemu-storage-daemon's own trace).
set -euo pipefail

cd "$(dirname "$0")/.."
TRACES=$PWD/traces
WORK=${RINGSIDE_WORK:-/tmp/ringside-capture}
QEMU_TIMEOUT=300
MAX_CAPTURE_BYTES=$((2 * 1024 * 1024))

log() { echo "capture.sh: $*" >&2; }
# Print a command line readably (single-quote only the words that need it).
show_cmd() {
	local a out=""
	for a in "$@"; do
		if [[ $a =~ ^[A-Za-z0-9_./:=,@+%-]+$ ]]; then
			out+="$a "
		else
			out+="'${a//\'/\'\\\'\'}' "
		fi
	done
	echo "${out% }"
}
die() { log "ERROR: $*"; exit 1; }

# --- packages -----------------------------------------------------------------
ensure_packages() {
	local missing=() p
	for p in qemu-system-x86 qemu-system-common linux-image-amd64 busybox-static cpio kmod; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	# qemu-system-common provides qemu-storage-daemon in Debian 12's QEMU 7.2;
	# a newer qemu-utils (e.g. from backports, which ships its own
	# qemu-storage-daemon) Breaks it, so pin qemu-utils to the same version.
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing: ${missing[*]}"
		apt-get update
		local v
		v=$(apt-cache policy qemu-system-common | awk '/Candidate:/ {print $2}')
		local extra=()
		if dpkg-query -W -f='${Version}' qemu-utils 2>/dev/null | grep -q . &&
			[ "$(dpkg-query -W -f='${Version}' qemu-utils)" != "$v" ]; then
			extra=("qemu-utils=$v" --allow-downgrades)
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" "${extra[@]}"
	fi
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing"
	command -v qemu-storage-daemon >/dev/null || die "qemu-storage-daemon missing"
	command -v busybox >/dev/null || die "busybox missing"
}

# --- guest kernel + initramfs -----------------------------------------------------
find_kernel() {
	# Newest installed Debian kernel image; its modules must be present too.
	local v
	v=$(ls /boot/vmlinuz-* 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V | tail -n 1)
	[ -n "$v" ] || die "no /boot/vmlinuz-* (linux-image-amd64 not installed?)"
	[ -d "/lib/modules/$v" ] || die "no /lib/modules/$v"
	KVER=$v
	VMLINUZ=/boot/vmlinuz-$v
}

build_initramfs() {
	local root=$WORK/initramfs m f
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules}
	cp "$(command -v busybox)" "$root/bin/busybox"
	file -L "$root/bin/busybox" 2>/dev/null | grep -q 'statically linked' ||
		ldd "$root/bin/busybox" 2>&1 | grep -q 'not a dynamic' ||
		die "busybox is not static (install busybox-static)"
	ln -s busybox "$root/bin/sh"
	cp "$TRACES/guest-init.sh" "$root/init"
	chmod 755 "$root/init"
	# Resolve the drivers' dependencies in load order from modules.dep.
	: >"$root/modules.order"
	for m in virtio_pci virtio_blk virtio_net virtio_rng; do
		modprobe -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
	done | awk '!seen[$0]++' | while read -r f; do
		case "$f" in
		*.ko) cp "$f" "$root/lib/modules/" ;;
		*.ko.xz) xz -dc "$f" >"$root/lib/modules/$(basename "$f" .xz)" ;;
		*.ko.zst) zstd -qdc "$f" >"$root/lib/modules/$(basename "$f" .zst)" ;;
		*) die "unexpected module file $f" ;;
		esac
		basename "${f%.xz}" | sed 's/\.zst$//' >>"$root/modules.order"
	done
	log "initramfs modules: $(tr '\n' ' ' <"$root/modules.order")"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$WORK/initramfs.cpio.gz"
	INITRD=$WORK/initramfs.cpio.gz
}

# --- one capture ------------------------------------------------------------------
# run_capture NAME [options] -- extra QEMU args
#   --timestamp         add -msg timestamp=on
#   --load heavy        heavier guest workload (ring wrapping)
#   --blk OPTS          virtio-blk-pci options (after drive=)
#   --net OPTS          virtio-net-pci options
#   --rng OPTS          virtio-rng-pci options
#   --drive OPTS        extra -drive options (e.g. throttling)
#   --vhost-user-blk    serve the disk with qemu-storage-daemon (vhost-user-blk-pci)
run_capture() {
	local name=$1
	shift
	local ts=0 load=light blk="" net="" rng="" vub=0 drive=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--timestamp) ts=1 ;;
		--load) load=$2; shift ;;
		--blk) blk=$2; shift ;;
		--net) net=$2; shift ;;
		--rng) rng=$2; shift ;;
		--drive) drive=$2; shift ;;
		--vhost-user-blk) vub=1 ;;
		*) die "run_capture: bad option $1" ;;
		esac
		shift
	done
	local out=$TRACES/$name run=$WORK/$name
	log "=== $name"
	rm -rf "$out" "$run"
	mkdir -p "$out" "$run"
	truncate -s 8M "$run/disk.img"

	local qsd_pid="" qmp_vhost=""
	local cmd=(qemu-system-x86_64
		-accel tcg -machine pc -cpu qemu64 -smp 1 -m 256M
		-nodefaults -display none -no-reboot
		-kernel "$VMLINUZ" -initrd "$INITRD"
		-append "console=ttyS0 quiet panic=-1 ringside.load=$load"
		-chardev file,id=ser0,path=serial.log -serial chardev:ser0
		-qmp "unix:$run/qmp.sock,server=on,wait=off"
		-trace 'virtqueue_*' -trace 'virtio_*' -trace 'vhost_*' -D trace.log)
	[ $ts = 1 ] && cmd+=(-msg timestamp=on)
	if [ $vub = 1 ]; then
		local qsd=(qemu-storage-daemon
			--blockdev "driver=file,node-name=file0,filename=$run/disk.img"
			--export "type=vhost-user-blk,id=exp0,node-name=file0,addr.type=unix,addr.path=$run/vub.sock,writable=on,num-queues=1"
			--trace 'virtqueue_*' --trace 'virtio_*' --trace 'vhost_*'
			--trace 'blk_co_*' --trace 'bdrv_co_*' --trace 'file_paio_submit'
			--trace 'thread_pool_*'
			--trace "file=qsd-trace.log")
		show_cmd "${qsd[@]}" >"$out/qsd-cmdline.txt"
		(cd "$out" && exec timeout $QEMU_TIMEOUT "${qsd[@]}" 2>qsd-stderr.log) &
		qsd_pid=$!
		qmp_vhost=1
		local i=0
		while ! [ -S "$run/vub.sock" ]; do
			sleep 0.1
			i=$((i + 1))
			[ $i -lt 100 ] || die "qemu-storage-daemon did not create $run/vub.sock"
		done
		cmd+=(-object memory-backend-memfd,id=mem,size=256M,share=on
			-numa node,memdev=mem
			-chardev "socket,id=vub0,path=$run/vub.sock"
			-device "vhost-user-blk-pci,id=blk0,chardev=vub0,disable-legacy=on,num-queues=1${blk:+,$blk}")
	else
		cmd+=(-drive "if=none,id=d0,file=$run/disk.img,format=raw${drive:+,$drive}"
			-device "virtio-blk-pci,id=blk0,drive=d0,disable-legacy=on${blk:+,$blk}")
	fi
	cmd+=(-netdev user,id=n0
		-device "virtio-net-pci,id=net0,netdev=n0,disable-legacy=on,mac=52:54:00:12:34:56${net:+,$net}"
		-device "virtio-rng-pci,id=rng0,disable-legacy=on${rng:+,$rng}")
	show_cmd "${cmd[@]}" >"$out/cmdline.txt"

	(cd "$out" && exec timeout $QEMU_TIMEOUT "${cmd[@]}" 2>qemu-stderr.log) &
	local qemu_pid=$!
	local rc=0
	python3 "$TRACES/qmp.py" --socket "$run/qmp.sock" --serial "$out/serial.log" \
		--out "$out/qmp.jsonl" --cwd "$out" --rings rings --timeout $((QEMU_TIMEOUT - 20)) \
		${qmp_vhost:+--vhost} || rc=$?
	# On failure do not wait for the timeout: stop our QEMU (timeout forwards TERM).
	[ $rc = 0 ] || kill -TERM "$qemu_pid" 2>/dev/null || true
	wait "$qemu_pid" || rc=$((rc ? rc : $?))
	if [ -n "$qsd_pid" ]; then
		# The daemon keeps running after the VM disconnects; stop it.
		kill -TERM "$qsd_pid" 2>/dev/null || true
		wait "$qsd_pid" || true
	fi
	# Drop empty stderr logs, keep non-empty ones (they explain failures).
	local f
	for f in "$out"/qemu-stderr.log "$out"/qsd-stderr.log; do
		[ -e "$f" ] && ! [ -s "$f" ] && rm -f "$f"
	done
	[ $rc = 0 ] || die "$name: QEMU or qmp.py failed (rc=$rc); see $out"
	grep -q 'RINGSIDE: poweroff' "$out/serial.log" || die "$name: guest did not finish its workload"
	local size
	size=$(du -sb "$out" | cut -f1)
	[ "$size" -le $MAX_CAPTURE_BYTES ] || die "$name: $size bytes, over 2 MB: reduce the workload"
	log "$name: $size bytes"
}

# --- the captures ----------------------------------------------------------------
capture_all() {
	local want=("$@") n
	want_capture() { [ ${#want[@]} = 0 ] || printf '%s\n' "${want[@]}" | grep -qx "$1"; }
	# Defaults: split ring, event_idx on, indirect_desc on.
	want_capture split-default && run_capture split-default
	want_capture split-default-ts && run_capture split-default-ts --timestamp
	want_capture split-noevidx && run_capture split-noevidx \
		--blk event_idx=off --net event_idx=off --rng event_idx=off
	want_capture split-noindirect && run_capture split-noindirect \
		--blk indirect_desc=off --net indirect_desc=off --rng indirect_desc=off
	want_capture packed && run_capture packed --timestamp \
		--blk packed=on --net packed=on --rng packed=on
	want_capture packed-noevidx && run_capture packed-noevidx \
		--blk packed=on,event_idx=off --net packed=on,event_idx=off --rng packed=on,event_idx=off
	want_capture packed-noindirect && run_capture packed-noindirect \
		--blk packed=on,indirect_desc=off --net packed=on,indirect_desc=off --rng packed=on,indirect_desc=off
	# Small queues + heavier workload: the rings wrap.
	want_capture split-wrap && run_capture split-wrap --timestamp --load heavy \
		--drive throttling.iops-total=400 --blk queue-size=16 --net rx_queue_size=256,tx_queue_size=256
	want_capture packed-wrap && run_capture packed-wrap --timestamp --load heavy \
		--drive throttling.iops-total=400 --blk packed=on,queue-size=16 --net packed=on,rx_queue_size=256,tx_queue_size=256 --rng packed=on
	want_capture vhost-user-blk && run_capture vhost-user-blk --timestamp --vhost-user-blk
	return 0
}

# traces/capture-guest.sh sources this file for its functions only.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

ensure_packages
find_kernel
mkdir -p "$WORK"
build_initramfs
log "QEMU: $(qemu-system-x86_64 --version | head -n 1); guest kernel $KVER"
capture_all "$@"
du -sb "$TRACES"/*/ | sort -k2 >&2
log "total: $(du -sh "$TRACES" | cut -f1)"
python3 "$TRACES/verify.py" "$@"
