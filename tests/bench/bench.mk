# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The benchmarks' binaries and their peer BPF programs, included by the
# top-level Makefile. Works on its own too, from the repository root:
#   make -f tests/bench/bench.mk            # builds every benchmark binary
# which builds only what the benchmarks need (our skeleton, the library
# sources they use), not the daemon or the CLI.

ifndef XDPGATE_BENCH_MK
XDPGATE_BENCH_MK := 1

ifndef BPF_CFLAGS
# Run on its own: take the variables and rules of the top-level Makefile,
# which includes this file back (the guard above stops the loop).
include Makefile
.DEFAULT_GOAL := bench-binaries
endif

BENCH_DIR := $(BUILD)/bench

# Peer programs: tests/bench/bpf/NAME.bpf.c -> $(BENCH_DIR)/NAME.skel.h
BENCH_BPF_SRCS := $(wildcard tests/bench/bpf/*.bpf.c)
BENCH_SKELS := $(patsubst tests/bench/bpf/%.bpf.c,$(BENCH_DIR)/%.skel.h,$(BENCH_BPF_SRCS))

# The part of the library the BPF-level benchmarks link: no store, no API.
BENCH_LIB_SRCS := $(wildcard userspace/common/*.cpp userspace/net/*.cpp \
                             userspace/datapath/*.cpp) tests/support/frame.cpp
BENCH_LIB_OBJS := $(patsubst %.cpp,$(BENCH_DIR)/obj/%.o,$(BENCH_LIB_SRCS))

# Group 1, per-packet cost through BPF_PROG_TEST_RUN.
PER_PACKET_OBJS := $(patsubst %.cpp,$(BENCH_DIR)/obj/%.o,$(wildcard tests/bench/per_packet/*.cpp))

BENCH_BINS := $(BENCH_DIR)/per_packet_bench

.PHONY: bench-binaries bench-per-packet bench-veth bench-control-plane
bench-binaries: $(BENCH_BINS)

# Builds and runs group 1 alone (writes $(BENCH_DIR)/per_packet.json).
bench-per-packet: $(BENCH_DIR)/per_packet_bench
	$(Q)./scripts/run-bench.sh $(BUILD) per_packet

# Group 2 alone: veth drop rates against the peers (writes veth.json).
bench-veth: $(BENCH_DIR)/bare_drop.bpf.o $(BUILD)/xdpgated $(BUILD)/xdpgate
	$(Q)./scripts/run-bench.sh $(BUILD) veth

# Group 3 alone: the control plane (writes control_plane.json).
bench-control-plane: $(BUILD)/xdpgated $(BUILD)/xdpgate
	$(Q)./scripts/run-bench.sh $(BUILD) control_plane

$(BENCH_DIR)/%.bpf.o: tests/bench/bpf/%.bpf.c $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_DIR)/%.skel.h: $(BENCH_DIR)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BENCH_DIR)/obj/%.o: %.cpp $(SKELS) $(BENCH_SKELS)
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(CXXFLAGS) -I$(BENCH_DIR) -Itests/bench -c $< -o $@

$(BENCH_DIR)/per_packet_bench: $(PER_PACKET_OBJS) $(BENCH_LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(LDFLAGS) $^ $(shell pkg-config --libs libbpf) -lelf -lz -o $@

-include $(shell find $(BENCH_DIR)/obj -name '*.d' 2>/dev/null)

endif # XDPGATE_BENCH_MK
