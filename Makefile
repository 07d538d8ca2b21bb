# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# xdpgate: `make` builds everything into build/, `make test` runs every test,
# `make bench` runs the benchmarks. V=1 shows the full commands.

BUILD     ?= build
# The package's version (upstream-revision): `make deb VERSION=...` builds
# another. scripts/debian/changelog has an entry for it.
VERSION   = 0.1.0-1
CLANG     ?= clang
BPFTOOL   ?= bpftool
CXX       ?= g++
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

PKGS      := libbpf libmnl sqlite3 cpp-httplib spdlog fmt libsystemd libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

SANITIZE  ?=
CXXFLAGS  ?= -O2 -g
CXXFLAGS  += -std=c++20 -Wall -Wextra -Werror -Iinclude -Iuserspace -Itests -I$(BUILD) \
             $(PKG_CFLAGS) $(SANITIZE) -MMD -MP
LDFLAGS   += $(SANITIZE)
LDLIBS    += $(PKG_LIBS) -lelf -lz
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wextra -Werror \
              -Wno-unused-parameter -I$(BUILD) -Iinclude

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all test test-long bench clean format format-check

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

# Every part of userspace/ is one folder; the two mains link the library.
LIB_SRCS  := $(filter-out userspace/daemon/% userspace/cli/%,$(wildcard userspace/*/*.cpp))
LIB_OBJS  := $(patsubst %.cpp,$(BUILD)/obj/%.o,$(LIB_SRCS))
DAEMON_OBJS := $(patsubst %.cpp,$(BUILD)/obj/%.o,$(wildcard userspace/daemon/*.cpp))
CLI_OBJS  := $(patsubst %.cpp,$(BUILD)/obj/%.o,$(wildcard userspace/cli/*.cpp))
TEST_SRCS := $(wildcard tests/*_test.cpp) $(wildcard tests/support/*.cpp)
TEST_OBJS := $(patsubst %.cpp,$(BUILD)/obj/%.o,$(TEST_SRCS))

all: $(BUILD)/xdpgated $(BUILD)/xdpgate $(BUILD)/xdpgate_tests

$(BUILD)/vmlinux.h: | $(BUILD)
	$(call msg,BTF,$@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

$(BUILD)/%.bpf.o: bpf/%.bpf.c bpf/*.h include/xdpgate/abi.h $(BUILD)/vmlinux.h | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# Order-only: the first build needs the skeletons; after that the -MMD
# dependency files rebuild exactly the objects that include a changed one.
$(BUILD)/obj/%.o: %.cpp | $(SKELS)
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/libxdpgate.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/xdpgated: $(DAEMON_OBJS) $(BUILD)/libxdpgate.a
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/xdpgate: $(CLI_OBJS) $(BUILD)/libxdpgate.a
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/xdpgate_tests: $(TEST_OBJS) $(BUILD)/libxdpgate.a
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(LDFLAGS) $^ $(LDLIBS) -lgtest -lgtest_main -lgmock -o $@

$(BUILD):
	$(Q)mkdir -p $@

test: all
	$(Q)./scripts/run-tests.sh $(BUILD)

# What takes too long for every run: the lookup differential test at a
# million ranges of each family (about 16 minutes).
test-long: all
	$(Q)./scripts/run-gtest.sh 60 $(BUILD)/test-long.log $(BUILD)/xdpgate_tests \
		--gtest_also_run_disabled_tests --gtest_filter='DISABLED_Long/*'

bench: all
	$(Q)./scripts/run-bench.sh $(BUILD)

# Tracked and new (untracked, not ignored) sources alike: a file not yet added
# must not slip past the check that CI runs on the committed tree.
FORMAT_SRCS = $(shell git ls-files --cached --others --exclude-standard \
		'*.c' '*.h' '*.cpp' '*.hpp')

format:
	$(Q)clang-format -i $(FORMAT_SRCS)

format-check:
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRCS)
	$(Q)./scripts/check-layers.sh

clean:
	$(Q)rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# Benchmarks and their peer programs live beside the tests.
-include tests/bench/bench.mk

PREFIX ?= /usr/local
DESTDIR ?=
.PHONY: install
install: $(BUILD)/xdpgated $(BUILD)/xdpgate
	install -D -m 0755 $(BUILD)/xdpgated $(DESTDIR)$(PREFIX)/sbin/xdpgated
	install -D -m 0755 $(BUILD)/xdpgate $(DESTDIR)$(PREFIX)/bin/xdpgate
	install -D -m 0644 scripts/xdpgated.service $(DESTDIR)/etc/systemd/system/xdpgated.service
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/xdpgate/README.md
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/man/man8 scripts/man/xdpgate.8 scripts/man/xdpgated.8
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/man/man5 scripts/man/xdpgate.toml.5
	install -D -m 0644 scripts/completion/xdpgate.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/xdpgate
	[ -n "$(DESTDIR)" ] || getent group xdpgate >/dev/null || groupadd --system xdpgate
	[ -n "$(DESTDIR)" ] || getent group xdpgate-read >/dev/null || groupadd --system xdpgate-read

# The Debian package, build/xdpgate_$(VERSION)_<arch>.deb (DEB_DIR: where
# to put it); scripts/debian/ holds its files.
DEB_DIR ?= $(BUILD)
.PHONY: deb deb-version
deb: $(BUILD)/xdpgated $(BUILD)/xdpgate
	$(Q)./scripts/debian/build-deb.sh $(BUILD) $(VERSION) $(DEB_DIR)

deb-version:
	@echo $(VERSION)

# Fuzz targets and sanitizer builds.
-include tests/fuzz/fuzz.mk
