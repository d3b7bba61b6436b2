// Package vmtest holds ipvsbridge's tests against a real Linux kernel with
// IPVS. They are built with the tag vm into a static test binary that runs
// as /vmtests inside a QEMU VM, which the host harness in
// ipvsbridge/vmhost boots (`make test-ipvs`; see testdata/vm/README.md).
// Inside the VM they program IPVS with the reconciler and with
// `lbdns serve --director`, check the kernel's table with ipvsadm, and
// send real traffic through LVS-NAT, LVS-DR and LVS-TUN between network
// namespaces. They refuse to run anywhere else: they reconfigure the
// network of the machine they run on.
package vmtest
