# Vigil — build, run and test. Every target installs the Debian packages it needs when missing.
SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# Build, link and test needs: seccomp, capabilities, SQLite; setpriv (util-linux) switches uid in tests;
# python3 runs the Python plugin SDK; bubblewrap and firejail are the sandbox peers the hostile suite
# compares against; nftables is used by the network-containment action; libssl-dev gives SHA-256
# (backup checksums); curl; prometheus (promtool lints the daemon's /metrics in a test) and
# prometheus-alertmanager (the oracle the HTTP tests compare against); python3-aiosmtpd is the real
# SMTP server the email notifier is tested against; openssl makes the test servers' certificates;
# chromium and chromium-driver (its chromedriver) run the web console's browser tests, headless.
APT_PACKAGES := libseccomp-dev libcap-dev libsqlite3-dev libssl-dev pkg-config util-linux e2fsprogs python3 bubblewrap firejail nftables iproute2 curl prometheus prometheus-alertmanager python3-aiosmtpd openssl chromium chromium-driver
BENCH_PACKAGES := libconcurrentqueue-dev g++
# systemd-journal-remote writes real journal files from export format: the log-patterns test reads
# them through journalctl in the plugin's sandbox (systemd, already here, brings journalctl).
DETECTOR_PACKAGES := systemd-journal-remote
SWIFT_BUILD_FLAGS ?=
CONFIG ?= Config/vigil.yaml

.PHONY: all deps build install-plugins run test test-unit test-notifiers test-detectors test-console console-screenshots test-scenarios test-tsan fuzz bench-bus bench-rules bench-plugins bench-incidents bench-http bench-notify bench-console bench-logs bench-report soak-bus scenario clean

all: build

# Installs only what is missing; `apt-get update` only when an install fails on a stale index.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || \
	  { $(SUDO) apt-get update -q >/dev/null && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; }; \
	fi
endef

deps:
	$(call apt_install,$(APT_PACKAGES))

build: deps
	swift build $(SWIFT_BUILD_FLAGS)
	$(MAKE) --no-print-directory install-plugins

# Puts the Swift plugins' programs into their plugin folders (exec: bin/NAME in plugin.yaml).
BIN_DIR = $(shell swift build $(SWIFT_BUILD_FLAGS) --show-bin-path)
install-plugins:
	@install -D -m 0755 $(BIN_DIR)/vigil-system-metrics Plugins/system-metrics/bin/system-metrics
	@install -D -m 0755 $(BIN_DIR)/vigil-config-watch Plugins/examples/swift-detector/bin/config-watch

# Runs vigild in the foreground on the embedded default configuration (state in ./.vigil).
run: build
	@echo "vigild: pages are delivered to the local mail spool, one Maildir per person: ./.vigil/plugins/email/data/maildir/<address>/new/ (Docs/notifiers/email.md)"
	.build/debug/vigild --config $(CONFIG)

# Every test, in passes: the in-process tests of values, bus, rules, incidents and store; the
# sandbox's and launcher's tests (hostile plugins, zygote); the plugin host's async tests with
# real sandboxed plugins; the tests that start the real vigild and vigil; the end-to-end
# scenarios, one after another. Tests that block a thread (waiting on a process, joining stress
# threads) hold one of the 2-core machine's two cooperative threads, so in one pass they starve
# the plugin host's async handshakes; separate passes keep them apart. Then the EventBus stress
# tests again under ThreadSanitizer.
HOST_SUITES := VigilPluginHostTests\.(PluginHostTests|BundledPluginTests|PluginTrustTests)
test: deps
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	$(MAKE) --no-print-directory install-plugins
	swift test --skip-build $(SWIFT_BUILD_FLAGS) --skip '^(Scenarios|VigilDaemonTests|VigilPluginHostTests)\.'
	swift test --skip-build $(SWIFT_BUILD_FLAGS) --filter '^VigilPluginHostTests\.' --skip '^$(HOST_SUITES)'
	swift test --skip-build $(SWIFT_BUILD_FLAGS) --filter '^$(HOST_SUITES)'
	# One test at a time: dozens of these start a real vigild and wait on it synchronously, and on a
	# two-core machine a handful of them side by side held the whole cooperative pool, starving the
	# timed notification tests past their limits (about 200 s this way, 110 s in parallel).
	swift test --skip-build $(SWIFT_BUILD_FLAGS) --filter '^VigilDaemonTests\.' --no-parallel
	$(MAKE) --no-print-directory test-notifiers
	$(MAKE) --no-print-directory test-detectors
	$(MAKE) --no-print-directory test-console
	$(MAKE) --no-print-directory test-scenarios
	$(MAKE) test-tsan
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=30

# The notifier plugins' own tests (Tests/Notifiers): each plugin run as a real process against a
# real SMTP server (aiosmtpd) or fakes of Slack's and PagerDuty's documented APIs. Debian's python3,
# which has python3-aiosmtpd.
test-notifiers: deps
	cd Tests/Notifiers && /usr/bin/python3 -m unittest

# The bundled detectors (log-patterns, uptime-checks, file-integrity, sqlite-health,
# metrics-scrape) against real files, servers and databases, and each through a real vigild.
test-detectors: deps
	$(call apt_install,$(DETECTOR_PACKAGES))
	cd Tests/Detectors && /usr/bin/python3 -m unittest

# The web console in headless Chromium (Debian's chromium, driven over WebDriver by its
# chromedriver) against a real vigild: sign in, a detector's incident appearing live, acknowledge,
# approve, tick, silence, the public status page, a viewer refused, hostile input, every page at
# desktop and phone width (Tests/Console, Python standard library only).
test-console: deps
	cd Tests/Console && /usr/bin/python3 -m unittest -v

# The same run, keeping its screenshots of every page in Docs/console (<page>-desktop.png, -phone.png).
console-screenshots: deps
	cd Tests/Console && VIGIL_CONSOLE_SCREENSHOTS=$(CURDIR)/Docs/console /usr/bin/python3 -m unittest -v

# The seven end-to-end scenarios of Tests/Scenarios (make scenario NAME=... runs one and narrates it).
test-scenarios:
	swift test --skip-build $(SWIFT_BUILD_FLAGS) --filter '^Scenarios\.'


# The bus stress tests under ThreadSanitizer, in a small package of their own so only the bus is
# rebuilt with the sanitizer (see Tests/ThreadSanitizer/Package.swift).
test-tsan:
	@if [ -f Tests/ThreadSanitizer/Package.swift ]; then \
	  cd Tests/ThreadSanitizer && swift test --sanitize=thread; \
	else echo "test-tsan: no ThreadSanitizer package yet"; fi

# Every libFuzzer target of Fuzz/ (one per parser of plugin, file or socket input) for
# FUZZ_SECONDS seconds each, one JSON line per target; fails if any target found a crash
# (kept under Fuzz/crashes/). Needs only the Swift toolchain (libFuzzer and ASan come with it).
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash Fuzz/run.sh

# The 30-second version of the bus flood test (make test runs a 3-second one).
soak-bus: build
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	VIGIL_FLOOD_SECONDS=30 swift test --skip-build $(SWIFT_BUILD_FLAGS) --filter BusFloodTests

bench-bus:
	$(call apt_install,$(BENCH_PACKAGES))
	bash Benchmarks/bus/run.sh

# The log-patterns detector's follow+match path over 1,000,000 generated log lines, beside
# grep -cP with its authentication patterns on the same file (Benchmarks/logs/run.sh); last line JSON.
bench-logs:
	bash Benchmarks/logs/run.sh

bench-rules:
	bash Benchmarks/rules/run.sh

# Signal storms and clock ticks through the incident service over a real SQLite file.
bench-incidents: deps
	bash Benchmarks/incidents/run.sh

bench-plugins: deps
	bash Benchmarks/plugins/run.sh

# Alert ingest, delivery and latency through the Alertmanager API, side by side with the real
# Alertmanager (Benchmarks/http/run.sh; release build of vigild).
bench-http: deps
	bash Benchmarks/http/run.sh

# 1,000 incidents × 3 pages (2 by SMTP to a real aiosmtpd, 1 by webhook) through a release vigild
# and its sandboxed notifiers; pages/s and p99 from incident stored to message accepted, beside the
# issue's Alertmanager figures; last line JSON (Benchmarks/notify/run.sh; BENCH_NOTIFY_KEEP=1 keeps
# the scratch folder).
bench-notify: deps
	bash Benchmarks/notify/run.sh

# Every page of the web console with 10,000 incidents in the database (filled through the alert
# API, a few hundred acknowledged and resolved through the incident API): p50/p95/max ms per page
# over 20 requests, all must answer 200 and the incident list must page; last line JSON with the
# slowest page (Benchmarks/console/run.sh; release build of vigild; BENCH_CONSOLE_KEEP=1 keeps the
# scratch folder).
bench-console: deps
	bash Benchmarks/console/run.sh

# `vigil report` over 1,000 incidents (issue 20): the slowest report command's run, in seconds.
bench-report: deps
	bash Benchmarks/report/run.sh

scenario: build
	bash Tests/Scenarios/run.sh $(NAME)

clean:
	rm -rf .build .vigil
