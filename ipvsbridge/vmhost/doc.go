// Package vmhost is the host side of ipvsbridge's real-kernel tests. Its
// test (build tag vmhost; `make test-ipvs`) builds the in-VM tests of
// ipvsbridge/vmtest and lbdns as static binaries, fetches a Debian kernel
// that has IPVS, packs an initramfs, boots it under QEMU and passes only
// if the VM's console shows every in-VM test passing. See
// testdata/vm/README.md.
package vmhost
