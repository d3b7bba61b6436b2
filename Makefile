# lbdns: `make demo` serves a demo zone, `make test` installs what the tests
# need and runs them all.

GO          ?= go
BIN         := bin/lbdns
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 20s
# Debian packages the tests use: NSD for the differential test, dig for the
# end-to-end tests.
APT_PACKAGES := nsd bind9-dnsutils
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build demo test deps check unit fuzz clean

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
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	$(GO) mod download

test: deps check unit fuzz

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) test -race -count=1 ./...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzHandle$$' -fuzztime $(FUZZTIME) ./dnsserver

clean:
	rm -rf bin
