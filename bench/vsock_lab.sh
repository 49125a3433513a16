#!/bin/sh
# Runs inside the nested lab (busybox sh; see tools/lab/run.sh and
# bench/vsock.sh): the vsock benchmark. Boots the minimal guest kernel from
# /extra/root.ext4 (which holds bench/vsockbench.c's static program), whose
# /init runs `vsockbench serve 52`, and drives it from the lab host, RUNS
# times per VMM, interleaved (the order reverses every run):
#
#   figment  --vsock cid=3,uds=/run/fig/v.sock   (Unix socket, "CONNECT 52")
#   qemu     -device vhost-vsock-device,guest-cid=3   (AF_VSOCK to CID 3)
#
# QEMU's needs /dev/vhost-vsock: the modules (vsock,
# vmw_vsock_virtio_transport_common, vhost_iotlb, vhost, vhost_vsock of the
# lab's kernel) come in /extra/mod and are loaded here; when that fails,
# QEMU is left out and a "# ..." line says why. Prints one line per VMM,
# run and test (plus "# ..." lines):
#
#   vsock=lab:VMM:h2g status=S bytes=N us=N       (SECONDS of sending)
#   vsock=lab:VMM:g2h status=S bytes=N us=N
#   vsock=lab:VMM:connect status=S n=N median_us=N p90_us=N
#
#   sh /extra/vsock_lab.sh RUNS SECONDS CONNECTIONS
set -u
runs=${1:?runs} secs=${2:?seconds} conns=${3:?connections}
W=/work
UDS=/run/fig/v.sock
mkdir -p $W /run/fig
cp /extra/vsockbench /usr/local/bin/
echo "# vsock lab: $(uname -r), $(nproc) CPUs, $secs s per transfer, $conns connections per latency run"

vmms="figment qemu"
for m in vsock vmw_vsock_virtio_transport_common vhost_iotlb vhost vhost_vsock; do
	[ -f /extra/mod/$m.ko ] && insmod /extra/mod/$m.ko 2>$W/insmod.err ||
		grep -q "^$m " /proc/modules || { echo "# insmod $m.ko failed: $(cat $W/insmod.err)"; break; }
done
if [ ! -c /dev/vhost-vsock ]; then
	echo "# qemu left out: no /dev/vhost-vsock in the lab (the vhost_vsock module did not load)"
	vmms=figment
fi

common="console=ttyS0 panic=-1 quiet pci=off"
g='vsockbench serve 52'
vm_script() { # VMM
	disk=$W/root-$1.ext4
	cp /extra/root.ext4 "$disk"
	case $1 in
	figment)
		target=unix:$UDS
		cat >$W/vm.sh <<EOF
exec figment run --kernel /guest/bzImage --cpus 1 --mem 256 \\
	--drive id=root,path=$disk,root=on --vsock cid=3,uds=$UDS \\
	--cmdline '$common reboot=k fig_run="$g"'
EOF
		;;
	qemu)
		target=vsock:3
		cat >$W/vm.sh <<EOF
exec qemu-system-x86_64 -L /usr/share/qemu -name vsock \\
	-M microvm,x-option-roms=off,rtc=off,isa-serial=on -enable-kvm -cpu host \\
	-m 256 -smp 1 -nodefaults -no-user-config -nographic -serial stdio -no-reboot \\
	-kernel /guest/bzImage \\
	-drive id=root,file=$disk,format=raw,if=none,cache=writeback \\
	-device virtio-blk-device,drive=root \\
	-device vhost-vsock-device,guest-cid=3 \\
	-append '$common reboot=t root=/dev/vda rw fig_run="$g"'
EOF
		;;
	esac
}

vm_state() { # PID
	sed -n 's/.*) \([A-Z]\).*/\1/p' /proc/"$1"/stat 2>/dev/null
}

# Starts $W/vm.sh; pid, its process. 0 once the guest's server is ready.
boot() { # OUT-PREFIX
	sh $W/vm.sh >"$1.out" 2>"$1.err" </dev/null &
	pid=$!
	i=0
	while [ $i -lt 1200 ]; do
		grep -q VSOCKBENCH-READY "$1.out" 2>/dev/null && return 0
		case $(vm_state $pid) in '' | Z) break ;; esac
		sleep 0.1
		i=$((i + 1))
	done
	echo "# $tag: the guest did not get ready; its last output:"
	tail -n 15 "$1.out" "$1.err" | sed 's/^/#   /'
	return 1
}

stop() {
	kill -TERM $pid 2>/dev/null
	wait $pid 2>/dev/null
}

# One bench step: its output line, or status=N with the reason as "# ...".
# A step that fails is tried again, up to 3 times (now and then the lab's
# vhost-vsock answers a first connect with ENODEV although the guest is up).
step() { # NAME ARGS...
	name=$1
	shift
	a=0
	while :; do
		timeout $((secs * 4 + 120)) vsockbench "$@" >$W/step.out 2>$W/step.err
		st=$?
		a=$((a + 1))
		[ $st != 0 ] && [ $a -lt 3 ] || break
		echo "# $tag:$name attempt $a failed: $(head -n 1 $W/step.err)"
		sleep 1
	done
	echo "vsock=$tag:$name status=$st $(cat $W/step.out)"
	[ $st = 0 ] || sed 's/^/#   /' $W/step.err
}

one() { # VMM
	tag=lab:$1
	vm_script "$1"
	out=$W/last-$1
	if boot "$out" || { stop; echo "# $tag: booting again"; boot "$out"; }; then
		step h2g h2g $target 52 "$secs"
		step g2h g2h $target 52 "$secs"
		step connect connect $target 52 "$conns"
	else
		for t in h2g g2h connect; do echo "vsock=$tag:$t status=noboot"; done
	fi
	stop
}

rev=""
for x in $vmms; do rev="$x $rev"; done
r=0
while [ $r -lt "$runs" ]; do
	if [ $((r % 2)) = 0 ]; then list=$vmms; else list=$rev; fi
	for x in $list; do
		one "$x"
	done
	r=$((r + 1))
done
