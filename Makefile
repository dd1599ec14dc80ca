# Thin wrapper around meson. Every target installs missing Debian packages first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
MESON_OPTS ?=

.PHONY: all deps test test-normal test-asan demo bench bench-quick bench-build fuzz clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@scripts/install-deps base

# The normal build: gcc, warnings fatal, jemalloc as the allocator.
$(BUILD)/build.ninja: | deps
	CC=gcc meson setup $(BUILD) --buildtype=debugoptimized -Dwerror=true $(MESON_OPTS)

# The sanitizer build: clang, ASan+UBSan, libc malloc so ASan sees every allocation. It also
# compiles the benchmarks' C code (-Dbench=true; the Go contender is never built by `ninja`).
$(ASAN_BUILD)/build.ninja: | deps
	CC=clang meson setup $(ASAN_BUILD) --buildtype=debug -Dwerror=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dallocator=libc -Dbench=true \
		$(MESON_OPTS)

# Everything: both test builds, the fuzzer for a while, TSan, and the benchmarks' build (built,
# not run: bench-build).
test: test-normal test-asan fuzz-smoke test-tsan bench-build
	@scripts/test-summary $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)

test-normal: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs --num-processes 1

test-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 1 --no-suite slow

demo: all
	$(BUILD)/src/tools/cli/redial demo

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)

# ---- The event log: fuzzing, ThreadSanitizer, benchmark ------------------------------------
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME  ?= 180
FUZZ_OPTS  ?=

.PHONY: fuzz-smoke test-tsan bench-log

# libFuzzer wants clang and coverage in every object: the whole tree is compiled with
# -fsanitize=fuzzer-no-link, and tests/log defines the fuzz target only in such a build.
$(FUZZ_BUILD)/build.ninja: | deps
	CC=clang meson setup $(FUZZ_BUILD) --buildtype=debugoptimized \
		-Db_sanitize=address,undefined -Db_lundef=false -Dallocator=libc \
		-Dc_args=-fsanitize=fuzzer-no-link $(MESON_OPTS)

# The log reader under libFuzzer (ASan+UBSan) for FUZZ_TIME seconds. Seeds come from
# tests/log/fuzz_corpus; what the fuzzer finds goes to $(FUZZ_BUILD)/fuzz-corpus, crashes
# to $(FUZZ_BUILD)/crash-*.
fuzz: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) tests/log/fuzz_log_reader
	mkdir -p $(FUZZ_BUILD)/fuzz-corpus
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		$(FUZZ_BUILD)/tests/log/fuzz_log_reader -max_total_time=$(FUZZ_TIME) \
		-max_len=4096 -timeout=10 -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/ \
		$(FUZZ_OPTS) $(FUZZ_BUILD)/fuzz-corpus tests/log/fuzz_corpus

# A short fuzzing run, part of `make test`.
fuzz-smoke:
	$(MAKE) fuzz FUZZ_TIME=20

$(TSAN_BUILD)/build.ninja: | deps
	CC=clang meson setup $(TSAN_BUILD) --buildtype=debugoptimized -Dwerror=true \
		-Db_sanitize=thread -Db_lundef=false -Dallocator=libc $(MESON_OPTS)

# The log's multi-producer test under ThreadSanitizer. It is a plain program (suite
# log-tsan): Criterion's forking runner does not start under TSan.
test-tsan: $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD) tests/log/tsan_log_mp
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		meson test -C $(TSAN_BUILD) --no-rebuild --print-errorlogs --suite log-tsan

# ---- Benchmarks: a release build of their own, configured with -Dbench=true -------------
# The default build has no benchmarks (-Dbench=false: a plain `ninja` never runs `go build`).
# BENCH_SETUP configures BENCH_BUILD with -Dbench=true, or reconfigures an existing one with it
# (which also finds what install-deps has just installed: the libuv and Go contenders).
# Figures go to bench/out (bench.json, bench.png; bench/out/quick for bench-quick; log.json).
# BENCH_ARGS adds options to redial-bench, e.g.
#   make bench BENCH_ARGS="--chart bench/results.png"     (the README's chart)
BENCH_BUILD ?= build-bench
BENCH_ARGS  ?=
BENCH_SETUP  = if [ ! -f $(BENCH_BUILD)/build.ninja ]; then \
		CC=gcc meson setup $(BENCH_BUILD) --buildtype=release -Dwerror=true -Dbench=true \
			$(MESON_OPTS); \
	else \
		meson setup --reconfigure $(BENCH_BUILD) -Dbench=true >/dev/null; \
	fi

# The log's benchmark (hot path, drain throughput, fprintf baseline).
bench-log: | deps
	@$(BENCH_SETUP)
	ninja -C $(BENCH_BUILD) bench/log/bench_log
	mkdir -p bench/out
	$(BENCH_BUILD)/bench/log/bench_log --json bench/out/log.json

# What `make bench` builds, without running it (part of `make test`).
bench-build: | deps
	@$(BENCH_SETUP)
	ninja -C $(BENCH_BUILD) redial-bench-all bench/log/bench_log

# redial-bench (bench/): redial against the floor, blocking, epoll, libuv and Go contenders.
bench:
	@scripts/install-deps bench
	@$(BENCH_SETUP)
	ninja -C $(BENCH_BUILD) redial-bench-all
	$(BENCH_BUILD)/bench/redial-bench $(BENCH_ARGS)

bench-quick:
	@scripts/install-deps bench
	@$(BENCH_SETUP)
	ninja -C $(BENCH_BUILD) redial-bench-all
	$(BENCH_BUILD)/bench/redial-bench --quick $(BENCH_ARGS)

# ---- Soak: SOAK_S seconds (default 1800) of a changing farm through the public API ---------
# Not part of `make test`. One line per check (every minute, or SOAK_S/30 for short runs);
# exits non-zero at the first violation. Needs dnsmasq (installed by deps).
SOAK_S ?= 1800

.PHONY: soak
soak: $(BUILD)/build.ninja
	ninja -C $(BUILD) tests/soak/soak src/tools/log/redial-log
	REDIAL_LOG_BIN=$(BUILD)/src/tools/log/redial-log $(BUILD)/tests/soak/soak $(SOAK_S)
