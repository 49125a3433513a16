#!/bin/sh
# Runs inside the nested lab (busybox sh; see tools/lab/run.sh and
# bench/net.sh): the network benchmark. Boots the minimal guest kernel from
# /extra/root.ext4 (which holds Debian's iperf3 with its libraries), whose
# /init runs `iperf3 -s`, and drives iperf3 transfers from the lab host in
# both directions, RUNS times per VMM and network mode, interleaved (the
# order reverses every run):
#
#   figment tap     --net id=eth0,tap=fig0                 (root)
#   qemu    tap     -netdev tap,ifname=fig0,vhost=off      (root)
#   figment passt   --net id=eth0,user=on,hostfwd=...      (unprivileged user)
#   figment slirp   --net id=eth0,user=slirp,hostfwd=...   (unprivileged user)
#   qemu    user    -netdev user,hostfwd=...               (unprivileged user)
#
# and prints one line per VMM, mode, run and direction (plus "# ..." lines):
#
#   net=lab:VMM:MODE:DIR status=S bytes=N secs=S wall_us=N cpu_us=N
#       vcpu_us=N helper_us=N helpers=N
#
# DIR h2g: the lab host sends (`iperf3 -c`), g2h: the guest sends
# (`iperf3 -c -R`). status is iperf3's; bytes and secs are its receiver's
# totals (sum_received); the rest are bench/netmon.c deltas over the
# transfer (VMM process, its vCPU threads, its helper processes).
#
#   sh /extra/net_lab.sh RUNS SECONDS MODES
#     SECONDS   length of each iperf3 transfer
#     MODES     which of "tap passt slirp user" to run (QEMU runs tap for tap,
#               user for passt and slirp)
#
# The lab's root is its initramfs, where passt's sandbox cannot pivot_root,
# and a plain chroot may not make user namespaces: like
# tests/integration/test_lab_user_net.py, this script copies the root to a
# tmpfs, moves that over / and runs itself again in it ("inside").
set -u
W=/work
M=/extra/netmon
HELPERS="passt passt.avx2 figment-slirp"
TAP_HOST=172.16.0.1 TAP_GUEST=172.16.0.2
MAC=06:00:ac:10:00:02
PORT=5201

if [ "${1:-}" != inside ]; then
	runs=${1:?runs} secs=${2:?seconds} modes=${3:?modes}
	set -e
	ip link set lo up
	tunctl -t fig0 >/dev/null
	ip addr add $TAP_HOST/24 dev fig0
	ip link set fig0 up
	# passt wants a host interface with a default route (any will do: it
	# answers for the gateway itself); figment-slirp and QEMU do not
	tunctl -t up0 >/dev/null
	ip addr add 192.168.77.1/24 dev up0
	ip link set up0 up
	ip route add default via 192.168.77.254 dev up0 onlink
	mkdir -p /nr
	mount -t tmpfs -o size=1g tmpfs /nr
	for d in /*; do
		case $d in /proc | /sys | /dev | /nr) ;; *) cp -a "$d" /nr/ ;; esac
	done
	mkdir -p /nr/proc /nr/sys /nr/dev
	mount -t proc proc /nr/proc
	mount -t sysfs sys /nr/sys
	mount --bind /dev /nr/dev
	# the user-mode runs are an unprivileged user's: KVM is all it needs
	echo 'fig:x:1000:1000::/tmp:/bin/sh' >>/nr/etc/passwd
	chmod 666 /dev/kvm
	cd /nr
	mount --move . /
	exec chroot . sh /extra/net_lab.sh inside "$runs" "$secs" "$modes"
fi

runs=$2 secs=$3 modes=$4
mkdir -p $W
chmod 777 $W
echo "# net lab: $(uname -r), $(nproc) CPUs, $secs s per transfer, modes: $modes"

# The guest: its address, iperf3's server in the background (its temporary
# files on a tmpfs, no interval reports: the console is slow and costs CPU),
# NET-READY once it listens (and it has sent a first frame). No double quotes: the kernel command line has
# none.
guest_cmd() { # ADDRESS/PREFIX PEER [GATEWAY]
	c="ip addr add $1 dev eth0 && ip link set eth0 up"
	[ -z "${3:-}" ] || c="$c && ip route add default via $3"
	# one ping first: passt learns the guest's MAC from its first frame, and
	# a forwarded connection before that never reaches the guest
	echo "$c && (ping -c 1 -W 3 $2 > /dev/null 2>&1; true) && mount -t tmpfs tmpfs /tmp && (iperf3 -s -i 0 --forceflush > /tmp/ip.log 2>&1 &) &&" \
		"i=0; while ! grep -q listening /tmp/ip.log && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done;" \
		"cat /tmp/ip.log; echo NET-READY; sleep 100000"
}
common="console=ttyS0 panic=-1 quiet pci=off"
# debug-threads: names the vCPU threads "CPU N/KVM", for netmon
qemu_common="-L /usr/share/qemu -name net,debug-threads=on"
qemu_common="$qemu_common -M microvm,x-option-roms=off,rtc=off,isa-serial=on -enable-kvm -cpu host"
qemu_common="$qemu_common -m 256 -smp 1 -nodefaults -no-user-config -nographic -serial stdio -no-reboot"
qemu_common="$qemu_common -kernel /guest/bzImage"
fwd=tcp:127.0.0.1:$PORT-:$PORT

# Writes $W/vm.sh, the command for one VMM and mode, and sets addr (what
# the lab host's iperf3 connects to) and user (who runs it).
vm_script() { # VMM MODE
	disk=$W/root-$1.ext4
	cp /extra/root.ext4 "$disk"
	chmod 666 "$disk"
	case $2 in
	tap) addr=$TAP_GUEST user=root g=$(guest_cmd $TAP_GUEST/24 $TAP_HOST) ;;
	*) addr=127.0.0.1 user=fig g=$(guest_cmd 10.0.2.15/24 10.0.2.2 10.0.2.2) ;;
	esac
	case $1:$2 in
	figment:tap) net="--net id=eth0,tap=fig0,mac=$MAC" ;;
	figment:passt) net="--net id=eth0,user=on,hostfwd=$fwd" ;;
	figment:slirp) net="--net id=eth0,user=slirp,hostfwd=$fwd" ;;
	qemu:tap) net="-netdev tap,id=n0,ifname=fig0,script=no,downscript=no,vhost=off" ;;
	qemu:user) net="-netdev user,id=n0,net=10.0.2.0/24,hostfwd=$fwd" ;;
	esac
	case $1 in
	figment)
		cat >$W/vm.sh <<EOF
exec figment run --kernel /guest/bzImage --cpus 1 --mem 256 \\
	--drive id=root,path=$disk,root=on $net \\
	--cmdline '$common reboot=k fig_run="$g"'
EOF
		;;
	qemu)
		cat >$W/vm.sh <<EOF
exec qemu-system-x86_64 $qemu_common \\
	-drive id=root,file=$disk,format=raw,if=none,cache=writeback \\
	-device virtio-blk-device,drive=root \\
	$net -device virtio-net-device,netdev=n0,mac=$MAC \\
	-append '$common reboot=t root=/dev/vda rw fig_run="$g"'
EOF
		;;
	esac
}

# The delta of two netmon samples, as key=value pairs.
sample_delta() { # BEFORE AFTER
	echo "$1 $2" | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); if (i <= NF / 2) a[kv[1]] = kv[2]; else b[kv[1]] = kv[2] }
		d = "wall_us cpu_us vcpu_us helper_us"
		n = split(d, k, " ")
		out = ""
		for (i = 1; i <= n; i++)
			out = out sprintf("%s=%d ", k[i], (a[k[i]] < 0 || b[k[i]] < 0) ? -1 : b[k[i]] - a[k[i]])
		print out "helpers=" b["helpers"]
	}'
}

# iperf3's receiver totals from its --json output: "bytes=N secs=S".
received() { # JSON-FILE
	awk '/"sum_received"/ { f = 1 }
	f && /"bytes"/ { v = $0; sub(/.*:/, "", v); gsub(/[^0-9.]/, "", v); b = v }
	f && /"seconds"/ { v = $0; sub(/.*:/, "", v); gsub(/[^0-9.]/, "", v); s = v }
	f && /}/ { exit }
	END { printf "bytes=%s secs=%s", b == "" ? 0 : b, s == "" ? 0 : s }' "$1"
}

# One iperf3 transfer with a CPU sample on each side.
transfer() { # TAG VMM MODE DIR PID
	flag=""
	[ "$4" = g2h ] && flag=-R
	a=0
	while :; do
		# shellcheck disable=SC2086 # HELPERS: one name per word
		s0=$($M "$5" $HELPERS)
		# shellcheck disable=SC2086
		timeout $((secs + 60)) iperf3 -c $addr -p $PORT -t "$secs" --connect-timeout 5000 \
			--json $flag >$W/ip.json 2>&1
		st=$?
		# shellcheck disable=SC2086
		s1=$($M "$5" $HELPERS)
		a=$((a + 1))
		got=$(received $W/ip.json)
		# iperf3 -J may report an error and exit 0
		[ "$st" != 0 ] || [ "${got%% *}" != bytes=0 ] || st=error
		# a forwarded port that the guest's server does not take yet
		if [ "$st" != 0 ] && [ $a -lt 3 ] && grep -q -E 'unable to (connect|receive|send)|reset by peer' $W/ip.json; then
			sleep 1
			continue
		fi
		break
	done
	echo "net=$1:$2:$3:$4 status=$st $got $(sample_delta "$s0" "$s1")"
	if [ "$st" != 0 ]; then
		echo "# $1:$2:$3:$4 iperf3 failed (status $st, attempt $a):"
		grep -E '"error"|iperf3:' $W/ip.json | head -n 3 | sed 's/^/#   /'
	fi
}

# The VMM's state letter (R, S, Z...), empty once it is gone.
vm_state() { # PID
	sed -n 's/.*) \([A-Z]\).*/\1/p' /proc/"$1"/stat 2>/dev/null
}

# Starts the VM of $W/vm.sh; pid, its process. Returns 0 once the guest
# printed NET-READY, 1 when the VMM ended or 120 s went by first.
boot() { # OUT-PREFIX
	if [ "$user" = root ]; then
		sh $W/vm.sh >"$1.out" 2>"$1.err" </dev/null &
	else
		su -s /bin/sh fig -c "exec sh $W/vm.sh" >"$1.out" 2>"$1.err" </dev/null &
	fi
	pid=$!
	t0=$(cut -d' ' -f1 /proc/uptime)
	i=0
	while [ $i -lt 1200 ]; do
		grep -q NET-READY "$1.out" 2>/dev/null && return 0
		case $(vm_state $pid) in '' | Z) break ;; esac
		sleep 0.1
		i=$((i + 1))
	done
	grep -q NET-READY "$1.out" 2>/dev/null && return 0
	echo "# $tag the guest did not get ready: VMM state '$(vm_state $pid)'" \
		"($(cat /proc/$pid/comm 2>/dev/null)), after $(awk -v t="$t0" '{ print $1 - t }' /proc/uptime) s; its last output:"
	tail -n 15 "$1.out" "$1.err" | sed 's/^/#   /'
	return 1
}

stop() {
	kill -TERM $pid 2>/dev/null
	wait $pid 2>/dev/null
	# no helper outlives its VMM into the next measurement
	i=0
	# shellcheck disable=SC2009 # busybox: no pgrep in the lab
	while [ $i -lt 50 ] && ps -o comm | grep -q -E '^(passt|passt.avx2|figment-slirp)$'; do
		sleep 0.1
		i=$((i + 1))
	done
}

# One VM: boot (a second try if the first never gets ready: the lab now
# and then stalls), both transfers, stop.
one() { # VMM MODE TAG
	tag=$3:$1:$2
	vm_script "$1" "$2"
	out=$W/last-$1-$2
	if boot "$out" || { stop; echo "# $tag: booting again"; boot "$out"; }; then
		for dir in h2g g2h; do
			transfer "$3" "$1" "$2" $dir $pid
		done
	else
		echo "net=$tag:h2g status=noboot"
		echo "net=$tag:g2h status=noboot"
	fi
	stop
}

set --
for m in $modes; do
	case $m in
	tap) set -- "$@" figment:tap qemu:tap ;;
	passt | slirp) set -- "$@" "figment:$m" ;;
	*) echo "# unknown mode $m" ;;
	esac
done
case " $modes " in *" passt "* | *" slirp "*) set -- "$@" qemu:user ;; esac
order="$*"
rev=""
for x in $order; do rev="$x $rev"; done

r=0
while [ $r -lt "$runs" ]; do
	if [ $((r % 2)) = 0 ]; then list=$order; else list=$rev; fi
	for x in $list; do
		one "${x%%:*}" "${x#*:}" lab
	done
	r=$((r + 1))
done
echo "# vm commands (last run): figment/qemu, see bench/net_lab.sh"
