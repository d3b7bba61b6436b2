# lbdns: `make demo` serves a demo zone, `make test` installs what the tests
# need and runs them all.

GO          ?= go
BIN         := bin/lbdns
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 20s
# Debian packages the tests use: NSD for the differential test, dig for the
# end-to-end tests; QEMU, busybox-static, ipvsadm and iproute2 for the IPVS
# tests in a VM (test-ipvs), which also downloads a kernel package.
APT_PACKAGES := nsd bind9-dnsutils qemu-system-x86 busybox-static ipvsadm iproute2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build demo test deps check unit fuzz test-ipvs clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/lbdns

demo: build
	./$(BIN) demo

# deps installs the Debian packages the tests need, once.
deps:
	@missing=""; \
	command -v nsd >/dev/null 2>&1 || [ -x /usr/sbin/nsd ] || missing="$$missing nsd"; \
	command -v dig >/dev/null 2>&1 || missing="$$missing bind9-dnsutils"; \
	command -v qemu-system-x86_64 >/dev/null 2>&1 || missing="$$missing qemu-system-x86"; \
	dpkg-query -W -f '$${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || missing="$$missing busybox-static"; \
	command -v ipvsadm >/dev/null 2>&1 || [ -x /usr/sbin/ipvsadm ] || missing="$$missing ipvsadm"; \
	command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing="$$missing iproute2"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	elif ! apt-cache depends linux-image-amd64 2>/dev/null | grep -q 'Depends: linux-image-'; then \
		echo "updating the package lists (test-ipvs downloads the kernel linux-image-amd64 names)"; \
		$(SUDO) apt-get update -qq; \
	fi
	$(GO) mod download

test: deps check unit fuzz test-ipvs

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) test -race -count=1 ./...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzHandle$$' -fuzztime $(FUZZTIME) ./dnsserver

# test-ipvs runs ipvsbridge and `lbdns serve --director` against a real
# kernel with IPVS: a Debian kernel booted under QEMU with the in-VM tests
# of ipvsbridge/vmtest (about 2 minutes; see testdata/vm/README.md). The
# kernel is cached in /var/cache/lbdns-vm (LBDNS_VM_CACHE).
test-ipvs: deps
	$(GO) vet -tags vm ./ipvsbridge/vmtest
	$(GO) vet -tags vmhost ./ipvsbridge/vmhost
	$(GO) run $(STATICCHECK) -tags vm ./ipvsbridge/vmtest
	$(GO) run $(STATICCHECK) -tags vmhost ./ipvsbridge/vmhost
	$(GO) test -tags vmhost -count=1 -v -timeout 9m ./ipvsbridge/vmhost/

# bench compares lbdns with NSD under dnsperf on loopback and prints one
# table of medians (cmd/lbdnsbench; about 10 minutes with the defaults).
# Flags go in BENCH_FLAGS, e.g. a quick look:
#   make bench BENCH_FLAGS='-reps 1 -duration 5s -rate-duration 10s -o bench.md'
# Each of these Debian packages installs a binary of the same name (nsd in
# /usr/sbin).
BENCH_APT_PACKAGES := dnsperf nsd
BENCH_FLAGS ?=

.PHONY: bench
bench:
	$(GO) build -o $(BIN) ./cmd/lbdns
	$(GO) build -o bin/lbdnsbench ./cmd/lbdnsbench
	@missing=""; \
	for p in $(BENCH_APT_PACKAGES); do \
		command -v $$p >/dev/null 2>&1 || [ -x /usr/sbin/$$p ] || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	./bin/lbdnsbench -lbdns $(BIN) $(BENCH_FLAGS)

clean:
	rm -rf bin
