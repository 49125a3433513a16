#!/bin/sh
# `make demo`: boots the default guest (figment's minimal 6.1 kernel with the
# busybox initramfs), which prints its uname and powers off. On a host whose
# KVM cannot run an unmodified Linux kernel (a software nested backend such as
# kvm_pvm: no vmx/svm CPU flag), the same demo runs inside the nested lab.
set -eu
FIGMENT=$(realpath "${1:-build/figment}")
FIGMENT_TOOLS=$(cd "$(dirname "$0")" && pwd)
. "$FIGMENT_TOOLS/guest/paths.sh"

"$FIGMENT_TOOLS/guest/build-all.sh"
CMDLINE='console=ttyS0 reboot=k panic=-1 pci=off loglevel=1 fig_run="uname -a"'

if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then
	exec "$FIGMENT" run --kernel "$GUEST_BZIMAGE" --initrd "$GUEST_INITRAMFS" \
		--cmdline "$CMDLINE" --boot-timer
fi
echo "figment: this host's /dev/kvm cannot boot an unmodified Linux kernel" \
	"(no VT-x/AMD-V in /proc/cpuinfo); running the demo in the nested lab" \
	"(QEMU TCG with SVM, real KVM inside) instead." >&2
exec "$FIGMENT_TOOLS/lab/run.sh" --figment "$FIGMENT" -- \
	"figment run --kernel /guest/bzImage --initrd /guest/initramfs.cpio.gz --boot-timer --cmdline '$CMDLINE'"
