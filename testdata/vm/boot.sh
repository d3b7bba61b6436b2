#!/bin/sh
# boot.sh [REGEXP]: boot the VM the last `make test-ipvs` built, run the
# in-VM tests matching REGEXP (all when omitted; NONE for none), then
# open a shell on the console to look around (ipvsadm -Ln, ip netns, ...).
# Exit the shell to power off; Ctrl-A X quits QEMU at any time.
set -eu
last=${LBDNS_VM_CACHE:-/var/cache/lbdns-vm}/last
if [ ! -e "$last/initrd.cpio" ]; then
	echo "boot.sh: no $last/initrd.cpio; run make test-ipvs first" >&2
	exit 1
fi
append="console=ttyS0 quiet panic=-1 lbdns.shell=1"
if [ $# -gt 0 ]; then
	append="$append lbdns.run=$1"
fi
exec qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -nographic -no-reboot -nic none \
	-kernel "$last/vmlinuz" -initrd "$last/initrd.cpio" -append "$append"
