# musrec build. `make` builds build/musrec; see `make help`.
# Every .c under src/ is part of the program; every tests/test_*.c is part of
# the unit-test binary; so adding a module never means editing this file.

CC       ?= cc
PREFIX   ?= /usr/local
SANITIZE ?= 0
BUILD    := build
ifeq ($(SANITIZE),1)
BUILD    := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

PKGS     := openblas libzstd liblz4 snappy zlib libcurl libmicrohttpd libcjson libcrypto
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -fopenmp -MMD -MP -Isrc $(SANFLAGS) \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lxgboost -lm
LDFLAGS  += -fopenmp $(SANFLAGS)

SRC      := $(wildcard src/*/*.c)
LIB_SRC  := $(filter-out src/cli/main.c,$(SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c) tests/runner.c
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)

.PHONY: all test unit run bench fuzz deps clean install help
all: $(BUILD)/musrec

help:
	@echo "make          build $(BUILD)/musrec"
	@echo "make deps     install the Debian and npm packages the build and tests need"
	@echo "make run      deps + build + the whole pipeline on a generated demo data set"
	@echo "make test     deps + build + unit tests + end-to-end and oracle tests"
	@echo "make test SANITIZE=1   the same under AddressSanitizer and UBSan"
	@echo "make bench    benchmarks (minutes; prints figures beside DuckDB and others)"
	@echo "make fuzz     build the libFuzzer targets (clang) into build-fuzz/"
	@echo "make install  install musrec into PREFIX (default /usr/local)"

$(BUILD)/libmusrec.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(BUILD)/musrec: $(BUILD)/src/cli/main.o $(BUILD)/libmusrec.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/unit_tests: $(TEST_OBJ) $(BUILD)/libmusrec.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

deps:
	@scripts/deps.sh

unit: deps $(BUILD)/musrec $(BUILD)/unit_tests

test: unit
	@MUSREC_BIN=$(abspath $(BUILD)/musrec) UNIT_TESTS=$(abspath $(BUILD)/unit_tests) SANITIZE=$(SANITIZE) tests/run.sh

run: deps $(BUILD)/musrec
	$(BUILD)/musrec run

bench: $(BUILD)/musrec
	@scripts/deps.sh --bench
	@for b in bench/*.sh; do echo "== $$b"; MUSREC_BIN=$(abspath $(BUILD)/musrec) $$b || exit 1; done

# Fuzz targets: the library is compiled once with clang and coverage
# instrumentation (fuzzer-no-link), then each fuzz/fuzz_*.c links against it.
# At -O1 clang vectorises nothing, so the `omp simd` loops would each warn;
# "avx2,fma" in target_clones is one clone to GCC and two to clang (both right).
FUZZ_FLAGS := -std=gnu11 -g -O1 -fsanitize=address,undefined -fopenmp -Wno-pass-failed -Wno-target-clones-mixed-specifiers -Isrc \
              $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_OBJ   := $(LIB_SRC:%.c=build-fuzz/%.o)
FUZZ_BIN   := $(FUZZ_SRC:fuzz/%.c=build-fuzz/%)
.SECONDARY: $(FUZZ_OBJ)
fuzz: deps
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

build-fuzz/%.o: %.c
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build-fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJ)
	clang $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

install: $(BUILD)/musrec
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/musrec $(DESTDIR)$(PREFIX)/bin/musrec

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
