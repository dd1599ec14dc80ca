# Thin wrapper around meson. Every target installs missing Debian packages first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
MESON_OPTS ?=

.PHONY: all deps test test-normal test-asan demo bench bench-quick fuzz clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@scripts/install-deps base

# The normal build: gcc, warnings fatal, jemalloc as the allocator.
$(BUILD)/build.ninja: | deps
	CC=gcc meson setup $(BUILD) --buildtype=debugoptimized -Dwerror=true $(MESON_OPTS)

# The sanitizer build: clang, ASan+UBSan, libc malloc so ASan sees every allocation.
$(ASAN_BUILD)/build.ninja: | deps
	CC=clang meson setup $(ASAN_BUILD) --buildtype=debug -Dwerror=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dallocator=libc $(MESON_OPTS)

test: test-normal test-asan

test-normal: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs --num-processes 1

test-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(ASAN_BUILD) --print-errorlogs --num-processes 1 --no-suite slow

demo: all
	$(BUILD)/src/examples/keepalive

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
