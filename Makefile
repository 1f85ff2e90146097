# ome: `make run` and `make test` do everything on a fresh Debian 12 machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
CONF   ?= conf
NATIVE_SRC := $(wildcard native/src/*.c native/src/*.h native/include/*.h) native/build_ffi.py native/pkgs.txt

.PHONY: install run test test-native fuzz bench bench-api bench-media bench-ts bench-transcode bench-record check-config clean

install: .stamps/system .stamps/venv .stamps/native .stamps/npm

# hls.js + playwright-core for the player judge (tests/player/); Chromium itself is Debian's.
.stamps/npm: package.json package-lock.json .stamps/system
	@mkdir -p .stamps
	npm ci --no-audit --no-fund
	@touch $@

.stamps/system: scripts/install-system-deps.sh
	@mkdir -p .stamps
	scripts/install-system-deps.sh
	@touch $@

.stamps/venv: pyproject.toml setup.py .stamps/system
	@mkdir -p .stamps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel cffi
	$(PY) -m pip install -q --no-build-isolation -e '.[test]'
	@touch $@ .stamps/native

# Rebuild the cffi extension in place when the C core changes.
.stamps/native: $(NATIVE_SRC) .stamps/venv
	$(PY) setup.py -q build_ext --inplace
	@touch $@

run: install
	$(VENV)/bin/ome -c $(CONF)

check-config: install
	$(VENV)/bin/ome check-config -c $(CONF)

test: install test-native
	$(VENV)/bin/pytest -q

# C unit tests of the native core, built with ASan/UBSan.
test-native: .stamps/system
	$(MAKE) -C native -j$$(nproc) test

# libFuzzer + ASan over every C parser; FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 30
fuzz: .stamps/system
	$(MAKE) -C native -j$$(nproc) build-fuzz
	$(MAKE) -C native fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

bench: install bench-api bench-media bench-ts bench-transcode bench-record
bench-api: install
	$(PY) bench/bench_api.py --out bench/RESULTS.md
bench-media: install
	$(PY) bench/bench_media.py --out bench/RESULTS.md
bench-ts: install
	$(PY) bench/bench_ts.py --out bench/RESULTS.md
bench-transcode: install
	$(PY) bench/bench_transcode.py --out bench/RESULTS.md
bench-record: install
	$(PY) bench/bench_record_push.py --out bench/RESULTS.md

clean:
	rm -rf .stamps build ome/_native*.so ome/_native.c ome/_native.o
	$(MAKE) -C native clean
