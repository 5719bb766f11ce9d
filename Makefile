# knode — plain GNU make, pkg-config for every library, out-of-tree objects.
#
#   make                 build/knode
#   make check           deps + build + every test (last line: "N passed, N failed")
#   make SANITIZER=address|thread   sanitizer build under build/<sanitizer>/
#   make fuzz | bench | format | images | run | deps
#
# Sources are discovered by folder, so adding a module never means editing
# this file: every lib/ api-client/ cri/ kubelet/ netproxy/ dns/ controlplane/
# *.c goes into one static library that knode and the tests link.

SANITIZER ?=
ifeq ($(SANITIZER),)
BUILD ?= build
else
BUILD ?= build/$(SANITIZER)
endif

CC ?= cc
V ?= 0
ifeq ($(V),0)
Q := @
QCC = @echo "  CC      $<";
QLD = @echo "  LD      $@";
else
Q :=
QCC :=
QLD :=
endif
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

# gRPC (the CRI client's transport: an insecure channel over a unix socket)
# is linked from Debian's own static archives (libgrpc-dev, libabsl-dev,
# libre2-dev, libc-ares-dev): libgrpc_unsecure, abseil, re2, upb, c-ares and
# libstdc++. Loading them as ~40 shared objects cost 5 MB of RSS in every
# knode process before main() (relocations and symbol lookup touch most of
# their pages); static, only the code in use is paged in (ARCHITECTURE.md,
# "Linking"). Sanitizer builds and a machine without the archives link the
# shared libraries (the TSan suppressions name them by file).
GRPC_STATIC ?= $(if $(SANITIZER),0,$(if $(filter /%,$(shell $(CC) -print-file-name=libgrpc_unsecure.a)),1,0))
ifeq ($(GRPC_STATIC),1)
GRPC_LIBS := -Wl,-Bstatic -Wl,--start-group \
             $(patsubst -lgrpc,-lgrpc_unsecure,$(filter-out -lssl -lcrypto -ldl -pthread -lrt -latomic -lz -Wl%, \
               $(shell pkg-config --libs --static grpc 2>/dev/null))) \
             -lstdc++ -Wl,--end-group -Wl,-Bdynamic -lz -ldl -lrt -latomic
else
GRPC_LIBS := $(shell pkg-config --libs grpc 2>/dev/null)
endif
# knode's functions are laid out in the order packaging/knode.order lists
# them (the functions the node commands run, profiled by
# packaging/order-profile.sh), so that a node process pages in a few
# contiguous MB of the binary instead of most of it (ARCHITECTURE.md,
# "Linking"). Needs lld; without it, or in sanitizer builds, the default.
KNODE_ORDER := packaging/knode.order
comma := ,
ORDER_LDFLAGS := $(if $(SANITIZER),,$(if $(shell command -v ld.lld),-fuse-ld=lld \
                 -Wl$(comma)--symbol-ordering-file=$(KNODE_ORDER) -Wl$(comma)--no-warn-symbol-ordering))
PKGS := libcjson yaml-0.1 libcurl openssl libprotobuf-c libnftables libnftnl \
        libmnl libnl-3.0 libnl-genl-3.0 libnetfilter_conntrack sqlite3
# The test harness's fake API server is an independent HTTP peer
# (libmicrohttpd with GnuTLS); knode itself serves HTTP with lib/httpd.
TEST_PKGS := libmicrohttpd gnutls
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(TEST_PKGS) grpc 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(GRPC_LIBS)
TEST_LIBS := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror=implicit -Wno-unused-parameter \
        -Wformat=2 -Wno-format-nonliteral -Werror
OPT ?= -O2 -g
CFLAGS_ALL := -std=gnu11 -Ulinux -Uunix $(OPT) $(WARN) -D_GNU_SOURCE -MMD -MP -fno-strict-aliasing -ffunction-sections \
              -I. -I$(BUILD)/gen -DKNODE_VERSION='"$(VERSION)"' -DKNODE_COMMIT='"$(GIT_COMMIT)"' \
              $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL := $(PKG_LIBS) -lpthread -lm $(LDLIBS)

ifeq ($(SANITIZER),address)
CFLAGS_ALL += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(SANITIZER),fuzzer)
CC := clang
WARN += -Wno-unknown-warning-option
CFLAGS_ALL += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(SANITIZER),thread)
CFLAGS_ALL += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
endif

COMPONENTS := lib api-client cri kubelet netproxy dns controlplane
LIB_SRCS := $(sort $(foreach d,$(COMPONENTS),$(wildcard $(d)/*.c)))
PROTOS := $(wildcard cri/*.proto)
PROTO_SRCS := $(patsubst cri/%.proto,$(BUILD)/gen/cri/%.pb-c.c,$(PROTOS))
PROTO_HDRS := $(PROTO_SRCS:.c=.h)
CMD_SRCS := $(wildcard cmd/*.c)

LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS)) $(PROTO_SRCS:.c=.o)
CMD_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(CMD_SRCS))
LIBKNODE := $(BUILD)/libknode.a

# Tests: one runner binary for unit tests, one for integration tests (root, netns).
RUNNER_SRCS := $(wildcard test/runner/*.c)
UNIT_SRCS := $(sort $(wildcard test/unit/*/*.c))
HARNESS_SRCS := $(wildcard test/harness/*.c)
INTEG_SRCS := $(sort $(wildcard test/integration/*.c))
RUNNER_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(RUNNER_SRCS))
UNIT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(UNIT_SRCS))
HARNESS_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(HARNESS_SRCS))
INTEG_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(INTEG_SRCS))

# Fuzz targets: test/fuzz/fuzz-NAME.c defines LLVMFuzzerTestOneInput; the replay
# main runs the corpus test/fuzz/corpus/NAME/ as an ordinary test.
FUZZ_SRCS := $(wildcard test/fuzz/fuzz-*.c)
FUZZ_NAMES := $(patsubst test/fuzz/fuzz-%.c,%,$(FUZZ_SRCS))
FUZZ_REPLAY := $(patsubst %,$(BUILD)/fuzz-replay/%,$(FUZZ_NAMES))

.PHONY: all knode tests check deps images run fuzz bench format format-check clean unit integration

all: $(BUILD)/knode

knode: $(BUILD)/knode

$(BUILD)/knode: $(CMD_OBJS) $(LIBKNODE) $(KNODE_ORDER)
	$(QLD)$(CC) $(LDFLAGS) $(ORDER_LDFLAGS) -Wl,--as-needed -Wl,--export-dynamic-symbol=_gnutls_global_init_skip \
	    -o $@ $(CMD_OBJS) $(LIBKNODE) $(LDLIBS_ALL)

$(LIBKNODE): $(LIB_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/obj/%.o: %.c | $(PROTO_HDRS)
	@mkdir -p $(dir $@)
	$(QCC)$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/gen/cri/%.pb-c.c $(BUILD)/gen/cri/%.pb-c.h: cri/%.proto
	@mkdir -p $(BUILD)/gen/cri
	$(Q)protoc-c --c_out=$(BUILD)/gen/cri --proto_path=cri $<

# generated files are kept (not intermediate); their code is not ours to warn about
.SECONDARY: $(PROTO_SRCS) $(PROTO_HDRS)
$(BUILD)/gen/cri/%.pb-c.o: $(BUILD)/gen/cri/%.pb-c.c
	$(QCC)$(CC) $(filter-out -Werror -Wshadow,$(CFLAGS_ALL)) -I$(BUILD)/gen/cri -w -c -o $@ $<

$(BUILD)/test-unit: $(RUNNER_OBJS) $(UNIT_OBJS) $(LIBKNODE)
	$(QLD)$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $(RUNNER_OBJS) $(UNIT_OBJS) $(LIBKNODE) $(LDLIBS_ALL)

$(BUILD)/test-integration: $(RUNNER_OBJS) $(HARNESS_OBJS) $(INTEG_OBJS) $(LIBKNODE)
	$(QLD)$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $(RUNNER_OBJS) $(HARNESS_OBJS) $(INTEG_OBJS) $(LIBKNODE) $(TEST_LIBS) $(LDLIBS_ALL)

$(BUILD)/fuzz-replay/%: $(BUILD)/obj/test/fuzz/fuzz-%.o $(BUILD)/obj/test/fuzz/replay/replay.o $(LIBKNODE)
	@mkdir -p $(dir $@)
	$(QLD)$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(LDLIBS_ALL)

# libFuzzer binaries (make SANITIZER=fuzzer, CC=clang)
$(BUILD)/fuzz/%: $(BUILD)/obj/test/fuzz/fuzz-%.o $(LIBKNODE)
	@mkdir -p $(dir $@)
	$(QLD)$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS_ALL)

# Benchmarks: test/bench/bench-NAME.c, each a program printing its figures
BENCH_SRCS := $(wildcard test/bench/bench-*.c)
BENCH_BINS := $(patsubst test/bench/bench-%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
$(BUILD)/bench/%: $(BUILD)/obj/test/bench/bench-%.o $(LIBKNODE)
	@mkdir -p $(dir $@)
	$(QLD)$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(LDLIBS_ALL)

tests: $(BUILD)/knode $(BUILD)/test-unit $(BUILD)/test-integration $(FUZZ_REPLAY)

unit: $(BUILD)/test-unit
	$(BUILD)/test-unit

integration: $(BUILD)/knode $(BUILD)/test-integration images
	$(BUILD)/test-integration

# ---- set-up -----------------------------------------------------------------
deps:
	@sh packaging/deps.sh

images:
	@sh packaging/images/build.sh $(BUILD)/images

# ---- the whole suite ----------------------------------------------------------
# Normal build + ASan/UBSan build of unit tests and fuzz replays + integration.
check: deps
	$(MAKE) tests
	$(MAKE) SANITIZER=address $(BUILD_ASAN_TARGETS)
	$(MAKE) SANITIZER=thread build/thread/test-unit
	$(MAKE) images
	@bash test/check.sh build build/address build/thread

BUILD_ASAN_TARGETS = build/address/test-unit $(patsubst %,build/address/fuzz-replay/%,$(FUZZ_NAMES))

run: deps
	$(MAKE) $(BUILD)/knode images
	@sh packaging/run.sh $(BUILD)

# ---- fuzzing (clang + libFuzzer), a short run per target ----------------------
FUZZ_SECONDS ?= 20
fuzz: deps
	@sh test/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_NAMES)

bench:
	@KNODE_BENCH_DEPS=1 sh packaging/deps.sh
	$(MAKE) $(BUILD)/knode $(BUILD)/test-integration $(BENCH_BINS) images
	@sh test/bench/run.sh $(BUILD)

# ---- formatting ----------------------------------------------------------------
FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRCS)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
