//go:build vmhost

package vmhost

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// The harness, step by step (testdata/vm/README.md has the why):
//  1. build the in-VM tests (ipvsbridge/vmtest, tag vm) and lbdns as
//     static binaries;
//  2. fetch the kernel package linux-image-amd64 depends on, once, into a
//     cache outside the repository, unpacked, with modules.dep;
//  3. pack an initramfs: busybox, the modules IPVS and the test networks
//     need, ipvsadm, iproute2's ip and dig with their shared libraries,
//     the two binaries, and testdata/vm/init;
//  4. boot it under QEMU (software emulation) with a hard timeout,
//     streaming the serial console into the test log;
//  5. pass only on the console's marker line LBDNS-VM-RESULT: PASS after a
//     go test PASS in which every expected test passed.

// wantTests are the in-VM tests that must run and pass.
var wantTests = []string{
	"TestKernelIPVS", "TestReconcilerKernel",
	"TestLVSNAT", "TestLVSDR", "TestLVSTUN",
	"TestServeHealth", "TestServeEndToEnd",
}

// wantModules are the kernel modules the VM loads (with what they depend
// on): IPVS and its schedulers, and the devices of the test networks.
var wantModules = []string{
	"crc32c_generic", "ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_wlc",
	"veth", "bridge", "ipip", "dummy",
}

// vmTools are the dynamically linked programs the VM gets, with their
// Debian packages and where they go.
var vmTools = []struct{ name, pkg, dest string }{
	{"ipvsadm", "ipvsadm", "/usr/sbin/ipvsadm"},
	{"ip", "iproute2", "/usr/sbin/ip"},
	{"dig", "bind9-dnsutils", "/usr/bin/dig"},
}

const (
	kernelMeta = "linux-image-amd64" // the package whose dependency is the kernel
	marker     = "LBDNS-VM-RESULT: "
	// qemuTimeout bounds the VM: boot, the in-VM tests (go test
	// -test.timeout 4m in /init) and power-off.
	qemuTimeout  = 4*time.Minute + 30*time.Second
	defaultCache = "/var/cache/lbdns-vm"
)

func TestIPVSInVM(t *testing.T) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Fatalf("the IPVS VM harness needs a linux/amd64 host (its tools are copied into an amd64 VM); this is %s/%s",
			runtime.GOOS, runtime.GOARCH)
	}
	begin := time.Now()
	root := moduleRoot(t)
	host := findHostTools(t)
	cache := cacheDir(t)
	work := t.TempDir()

	step := time.Now()
	vmtests, lbdns := buildBinaries(t, host, root, work)
	t.Logf("timing: static binaries built in %s", time.Since(step).Round(time.Millisecond))

	step = time.Now()
	kern := fetchKernel(t, host, cache)
	t.Logf("timing: kernel %s ready in %s", kern.version, time.Since(step).Round(time.Millisecond))

	step = time.Now()
	initrd := buildInitramfs(t, host, root, work, kern, vmtests, lbdns)
	st, _ := os.Stat(initrd)
	t.Logf("timing: initramfs (%d MB) built in %s", st.Size()>>20, time.Since(step).Round(time.Millisecond))

	last := filepath.Join(cache, "last")
	saveLast(t, last, kern, initrd)

	step = time.Now()
	console, bootErr := bootVM(t, host, kern, initrd, filepath.Join(last, "console.log"))
	t.Logf("timing: VM booted, ran the tests and powered off in %s", time.Since(step).Round(time.Millisecond))
	t.Logf("timing: whole harness %s", time.Since(begin).Round(time.Millisecond))
	verdict(t, console, bootErr)
}

// ---- host tools ----

type hostTools struct {
	goBin, qemu, busybox, ldd, dpkgDeb, aptGet, aptCache string
	vm                                                   map[string]string // vmTools name → path
}

func findHostTools(t *testing.T) hostTools {
	t.Helper()
	var missing []string
	look := func(name, pkg string) string {
		p, err := exec.LookPath(name)
		if err != nil {
			for _, dir := range []string{"/usr/sbin", "/sbin"} {
				if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
					return filepath.Join(dir, name)
				}
			}
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", name, pkg))
		}
		return p
	}
	h := hostTools{
		goBin:    look("go", "the Go toolchain"),
		qemu:     look("qemu-system-x86_64", "qemu-system-x86"),
		busybox:  look("busybox", "busybox-static"),
		ldd:      look("ldd", "libc-bin"),
		dpkgDeb:  look("dpkg-deb", "dpkg"),
		aptGet:   look("apt-get", "apt"),
		aptCache: look("apt-cache", "apt"),
		vm:       map[string]string{},
	}
	for _, tool := range vmTools {
		h.vm[tool.name] = look(tool.name, tool.pkg)
	}
	if len(missing) > 0 {
		t.Fatalf("the IPVS VM harness cannot run: missing %s.\n`make deps` installs the Debian packages (as root: apt-get install qemu-system-x86 busybox-static ipvsadm iproute2 bind9-dnsutils)",
			strings.Join(missing, ", "))
	}
	if err := checkStatic(h.busybox); err != nil {
		t.Fatalf("%s is not statically linked (%v): install busybox-static, whose busybox runs in the VM without libraries", h.busybox, err)
	}
	return h
}

// checkStatic fails unless path is an ELF executable with no interpreter
// and no shared libraries.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("it has a dynamic loader")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		return fmt.Errorf("it needs %v", libs)
	}
	return nil
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/lbdns/lbdns\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find the lbdns module root (go.mod) above the working directory")
		}
		dir = parent
	}
}

// cacheDir is where kernels are kept between runs: LBDNS_VM_CACHE, or
// /var/cache/lbdns-vm.
func cacheDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LBDNS_VM_CACHE")
	if dir == "" {
		dir = defaultCache
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("cannot create the kernel cache %s: %v (set LBDNS_VM_CACHE to a writable folder outside the repository)", dir, err)
	}
	return dir
}

// command runs a host command, failing the test with its output.
func command(t *testing.T, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.Bytes()
}

// ---- 1. binaries ----

func buildBinaries(t *testing.T, h hostTools, root, work string) (vmtests, lbdns string) {
	t.Helper()
	vmtests, lbdns = filepath.Join(work, "vmtests"), filepath.Join(work, "lbdns")
	env := []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}
	command(t, root, env, h.goBin, "test", "-c", "-tags", "vm", "-o", vmtests, "./ipvsbridge/vmtest")
	command(t, root, env, h.goBin, "build", "-o", lbdns, "./cmd/lbdns")
	for _, b := range []string{vmtests, lbdns} {
		if err := checkStatic(b); err != nil {
			t.Fatalf("%s was built with CGO_ENABLED=0 but is not static: %v", b, err)
		}
	}
	return vmtests, lbdns
}

// ---- 2. kernel ----

type kernel struct {
	pkg, version string // linux-image-6.1.0-NN-amd64, 6.1.0-NN-amd64
	root         string // the unpacked package
	vmlinuz      string
}

func (k kernel) modDir() string { return filepath.Join(k.root, "lib", "modules", k.version) }

// kernelPackage is the kernel package linux-image-amd64 depends on.
func kernelPackage(h hostTools) (string, error) {
	out, err := exec.Command(h.aptCache, "depends", kernelMeta).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("apt-cache depends %s: %v: %s", kernelMeta, err, bytes.TrimSpace(out))
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 2 && strings.TrimPrefix(f[0], "|") == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("apt-cache depends %s names no linux-image package:\n%s", kernelMeta, out)
}

// fetchKernel returns the unpacked kernel, downloading it the first time.
func fetchKernel(t *testing.T, h hostTools, cache string) kernel {
	t.Helper()
	pkg := os.Getenv("LBDNS_VM_KERNEL_PKG")
	if pkg == "" {
		var err error
		if pkg, err = kernelPackage(h); err != nil {
			cached := cachedKernels(cache)
			if len(cached) == 0 {
				t.Fatalf("cannot tell which Debian kernel to boot, and none is cached in %s: %v\n(run apt-get update, or set LBDNS_VM_KERNEL_PKG=linux-image-VERSION-amd64)", cache, err)
			}
			pkg = cached[len(cached)-1]
			t.Logf("apt-cache cannot name the kernel (%v); using the cached %s", err, pkg)
		}
	}
	k := kernel{pkg: pkg, version: strings.TrimPrefix(pkg, "linux-image-"), root: filepath.Join(cache, pkg, "root")}
	k.vmlinuz = filepath.Join(k.root, "boot", "vmlinuz-"+k.version)
	if _, err := os.Stat(filepath.Join(cache, pkg, ".complete")); err != nil {
		t.Logf("kernel %s is not cached in %s: downloading it (about 70 MB)", pkg, cache)
		prepareKernel(t, h, cache, k)
		for _, old := range cachedKernels(cache) {
			if old != pkg {
				t.Logf("removing the older cached kernel %s", old)
				os.RemoveAll(filepath.Join(cache, old))
			}
		}
	}
	for _, p := range []string{k.vmlinuz, filepath.Join(k.modDir(), "modules.dep")} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("the cached kernel is incomplete (%v); remove %s and run again", err, filepath.Join(cache, pkg))
		}
	}
	return k
}

// cachedKernels lists the complete kernels in the cache, sorted.
func cachedKernels(cache string) []string {
	var out []string
	ents, _ := os.ReadDir(cache)
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(cache, e.Name(), ".complete")); err == nil && strings.HasPrefix(e.Name(), "linux-image-") {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// prepareKernel downloads and unpacks k into the cache and writes its
// modules.dep, in a scratch folder renamed into place when complete.
func prepareKernel(t *testing.T, h hostTools, cache string, k kernel) {
	t.Helper()
	tmp, err := os.MkdirTemp(cache, k.pkg+".partial-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(h.aptGet, "download", k.pkg)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("apt-get download %s: %v\n%s\n(is the package list current? run apt-get update)", k.pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("apt-get download %s left %v in %s, want one .deb", k.pkg, debs, tmp)
	}
	command(t, tmp, nil, h.dpkgDeb, "-x", debs[0], "root")
	os.Remove(debs[0])
	if _, err := os.Stat(filepath.Join(tmp, "root", "boot", "vmlinuz-"+k.version)); err != nil {
		t.Fatalf("%s has no kernel image: %v", k.pkg, err)
	}
	// depmod is not installed on these machines; busybox's will do.
	command(t, tmp, nil, h.busybox, "depmod", "-b", filepath.Join(tmp, "root"), k.version)
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(cache, k.pkg)); err != nil {
		if _, serr := os.Stat(filepath.Join(cache, k.pkg, ".complete")); serr != nil {
			t.Fatalf("cannot move the kernel into the cache: %v", err)
		}
		// Another run cached it meanwhile.
	}
}

// ---- 3. initramfs ----

func buildInitramfs(t *testing.T, h hostTools, root, work string, k kernel, vmtests, lbdns string) string {
	t.Helper()
	stage := filepath.Join(work, "initramfs")
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp", "run", "var", "etc", "root", "usr/bin", "usr/sbin", "lib64"} {
		if err := os.MkdirAll(filepath.Join(stage, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copies := map[string]string{ // destination in the VM → host file
		"/init":        filepath.Join(root, "testdata", "vm", "init"),
		"/bin/busybox": h.busybox,
		"/vmtests":     vmtests,
		"/lbdns":       lbdns,
	}
	for _, tool := range vmTools {
		copies[tool.dest] = h.vm[tool.name]
		for _, lib := range sharedLibs(t, h, h.vm[tool.name]) {
			copies[lib] = lib
		}
	}
	for dest, src := range copies {
		copyFile(t, src, filepath.Join(stage, dest), 0o755)
	}
	etc := map[string]string{
		"resolv.conf": "nameserver 127.0.0.1\n",
		"hosts":       "127.0.0.1 localhost\n::1 localhost\n",
		"passwd":      "root:x:0:0:root:/root:/bin/sh\n",
		"group":       "root:x:0:\n",
	}
	for name, text := range etc {
		if err := os.WriteFile(filepath.Join(stage, "etc", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyModules(t, h, k, stage)

	// The archive, listed parents first, without "./" prefixes.
	var list bytes.Buffer
	err := filepath.WalkDir(stage, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == stage {
			return err
		}
		rel, _ := filepath.Rel(stage, p)
		list.WriteString(rel + "\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	initrd := filepath.Join(work, "initrd.cpio")
	f, err := os.Create(initrd)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(h.busybox, "cpio", "-o", "-H", "newc")
	cmd.Dir = stage
	cmd.Stdin = &list
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("busybox cpio: %v\n%s", err, stderr.String())
	}
	return initrd
}

// sharedLibs lists what the dynamic loader maps for bin (ldd), the loader
// included.
func sharedLibs(t *testing.T, h hostTools, bin string) []string {
	t.Helper()
	out := command(t, "", nil, h.ldd, bin)
	var libs []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[1] == "=>" && f[2] == "not":
			t.Fatalf("ldd %s: %s is not found", bin, f[0])
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			libs = append(libs, f[2])
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			libs = append(libs, f[0]) // the loader
		}
	}
	if len(libs) == 0 {
		t.Fatalf("ldd %s lists no libraries:\n%s", bin, out)
	}
	return libs
}

// copyFile copies src (following symbolic links) to dst.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// copyModules copies wantModules and everything they depend on (by the
// kernel's modules.dep) into the initramfs and writes its modules.dep.
func copyModules(t *testing.T, h hostTools, k kernel, stage string) {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(k.modDir(), "modules.dep"))
	if err != nil {
		t.Fatal(err)
	}
	deps := map[string][]string{} // path → paths it needs
	byName := map[string]string{} // module name → path
	for line := range strings.Lines(string(text)) {
		mod, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		deps[mod] = strings.Fields(rest)
		byName[moduleName(mod)] = mod
	}
	need := map[string]bool{}
	var add func(p string)
	add = func(p string) {
		if need[p] {
			return
		}
		need[p] = true
		for _, d := range deps[p] {
			add(d)
		}
	}
	for _, m := range append(wantModules, "libcrc32c") {
		p, ok := byName[strings.ReplaceAll(m, "-", "_")]
		if !ok {
			t.Fatalf("kernel %s has no module %s (is it built in? then drop it from wantModules)", k.version, m)
		}
		add(p)
	}
	dst := filepath.Join(stage, "lib", "modules", k.version)
	for p := range need {
		copyFile(t, filepath.Join(k.modDir(), p), filepath.Join(dst, p), 0o644)
	}
	for _, f := range []string{"modules.builtin", "modules.order"} {
		copyFile(t, filepath.Join(k.modDir(), f), filepath.Join(dst, f), 0o644)
	}
	command(t, "", nil, h.busybox, "depmod", "-b", stage, k.version)
}

// moduleName is a module's name from its path: kernel/x/ip_vs.ko → ip_vs.
func moduleName(p string) string {
	base := filepath.Base(p)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		base = strings.TrimSuffix(base, ext)
	}
	return strings.ReplaceAll(strings.TrimSuffix(base, ".ko"), "-", "_")
}

// saveLast keeps the last run's kernel and initramfs in dir, for
// testdata/vm/boot.sh.
func saveLast(t *testing.T, dir string, k kernel, initrd string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, initrd, filepath.Join(dir, "initrd.cpio"), 0o644)
	os.Remove(filepath.Join(dir, "vmlinuz"))
	if err := os.Symlink(k.vmlinuz, filepath.Join(dir, "vmlinuz")); err != nil {
		t.Fatal(err)
	}
}

// ---- 4. boot ----

// ansi matches terminal escape sequences the firmware prints.
var ansi = regexp.MustCompile(`\x1b(\[[0-9;?]*[A-Za-z]|[()][0-9A-Za-z]|[=>c])`)

// bootVM runs the VM to completion or timeout, streaming its console to
// the test log and to logFile, and returns the console's lines.
func bootVM(t *testing.T, h hostTools, k kernel, initrd, logFile string) ([]string, error) {
	t.Helper()
	appendArgs := "console=ttyS0 quiet panic=-1"
	if run := os.Getenv("LBDNS_VM_RUN"); run != "" {
		appendArgs += " lbdns.run=" + run
	}
	ctx, cancel := context.WithTimeout(context.Background(), qemuTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.qemu,
		"-accel", "tcg", "-m", "1024", "-smp", "2",
		"-nographic", "-no-reboot", "-nic", "none",
		"-kernel", k.vmlinuz, "-initrd", initrd, "-append", appendArgs)
	cmd.WaitDelay = 5 * time.Second
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	log, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	t.Logf("booting: %s", strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start QEMU: %v", err)
	}
	w.Close()
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(ansi.ReplaceAllString(sc.Text(), ""), "\r \t")
		line = strings.Map(func(r rune) rune {
			if r < ' ' && r != '\t' {
				return -1
			}
			return r
		}, line)
		lines = append(lines, line)
		fmt.Fprintln(log, line)
		t.Log("vm| " + line)
	}
	r.Close()
	err = cmd.Wait()
	if ctx.Err() != nil {
		return lines, fmt.Errorf("QEMU killed after the hard timeout of %s", qemuTimeout)
	}
	if err != nil {
		return lines, fmt.Errorf("QEMU: %v", err)
	}
	return lines, nil
}

// ---- 5. verdict ----

func verdict(t *testing.T, console []string, bootErr error) {
	t.Helper()
	result, sawPASS := "", false
	passed := map[string]bool{}
	var failed, skipped, panics []string
	for _, l := range console {
		switch {
		case strings.HasPrefix(l, marker):
			result = strings.TrimPrefix(l, marker)
		case l == "PASS":
			sawPASS = true
		case strings.HasPrefix(l, "--- PASS: "):
			passed[strings.Fields(l)[2]] = true
		case strings.HasPrefix(strings.TrimSpace(l), "--- FAIL: "):
			failed = append(failed, strings.TrimSpace(l))
		case strings.HasPrefix(strings.TrimSpace(l), "--- SKIP: "):
			skipped = append(skipped, strings.TrimSpace(l))
		case strings.Contains(l, "Kernel panic") || strings.Contains(l, "BUG:") || strings.Contains(l, "Oops"):
			panics = append(panics, l)
		}
	}
	tail := console[max(0, len(console)-25):]
	switch {
	case result == "":
		t.Fatalf("the VM's console has no %q line (%v); the kernel or /init failed before the tests finished.\nKernel trouble: %q\nLast console lines:\n%s",
			marker, bootErr, panics, strings.Join(tail, "\n"))
	case result != "PASS":
		t.Fatalf("in-VM tests failed: %s\n%s\n(the whole console is above, and in the cache's last/console.log)", result, strings.Join(failed, "\n"))
	case !sawPASS:
		t.Fatalf("the VM reported PASS but go test printed no PASS line")
	}
	if bootErr != nil {
		t.Errorf("the tests passed but the VM did not power off cleanly: %v", bootErr)
	}
	if len(failed) > 0 || len(skipped) > 0 {
		t.Errorf("in-VM tests failed or skipped (none may): %q", append(failed, skipped...))
	}
	if len(panics) > 0 {
		t.Errorf("the kernel reported trouble: %q", panics)
	}
	want := wantTests
	if run := os.Getenv("LBDNS_VM_RUN"); run != "" {
		re, err := regexp.Compile(run)
		if err != nil {
			t.Fatalf("LBDNS_VM_RUN: %v", err)
		}
		want = slices.DeleteFunc(slices.Clone(want), func(n string) bool { return !re.MatchString(n) })
		t.Logf("LBDNS_VM_RUN=%s: expecting only %v", run, want)
	}
	for _, name := range want {
		if !passed[name] {
			t.Errorf("in-VM test %s did not run and pass", name)
		}
	}
}
