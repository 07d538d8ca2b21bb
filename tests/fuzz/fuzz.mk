# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Fuzz targets and sanitizer builds, included by the top-level Makefile.
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="csv_fuzz ..."]
#       builds every tests/fuzz/*_fuzz.cpp with libFuzzer (clang) into
#       build/fuzz/ and runs each on a scratch copy of its corpus
#       (tests/fuzz/corpus/<target>/); fails on any crash, leak, UB or
#       property violation. verdict_fuzz needs root and BPF.
#   make fuzz-binaries     builds them only
#   make fuzz-corpus       regenerates the verdict seeds from the verdict
#                          suite's frame shapes (tests/fuzz/tools/)
#   make test-asan         the whole GoogleTest suite under ASan + UBSan
#   make test-tsan         the same under TSan
#   make ci-hardening      what CI runs after `make test`: builds both, then
#                          test-asan, then fuzz (FUZZ_SECONDS each target)
# Sanitizer objects live apart (build/fuzz/, which the ASan suite shares,
# and build/tsan/), so these never disturb the normal build. See
# tests/fuzz/README.md.

ifndef XDPGATE_FUZZ_MK
XDPGATE_FUZZ_MK := 1

FUZZ_SECONDS ?= 60
FUZZ_CXX     ?= clang++
FUZZ_DIR     := $(BUILD)/fuzz
ASAN_DIR     := $(BUILD)/asan
TSAN_DIR     := $(BUILD)/tsan

# Lean (-O1) and with frame pointers for readable reports. Product code is
# held to -Werror by the normal g++ build; clang's extra warnings on it must
# not break the fuzz build, so -Werror applies to the fuzz sources only.
# XDPGATE_SANITIZED lets a test leave out a case the sanitizers would make
# take minutes (g++ and clang do not agree on a macro of their own).
SAN_CXXFLAGS := -O1 -g -fno-omit-frame-pointer -std=c++20 -Wall -Wextra \
                -Iinclude -Iuserspace -Itests -I$(BUILD) $(PKG_CFLAGS) -MMD -MP \
                -DXDPGATE_SANITIZED

# libFuzzer: coverage on everything we compile; UB is fatal, not a warning.
FUZZ_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all
# The parts the targets exercise (links/ is not fuzzed here).
FUZZ_LIB_SRCS := $(wildcard $(addprefix userspace/,$(addsuffix /*.cpp, \
                   common net etcd model list store api datapath config)))
FUZZ_LIB_OBJS := $(patsubst %.cpp,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRCS))
# The in-process API fixture and the BPF test-run wrapper are shared with the
# GoogleTest suite.
FUZZ_SUPPORT_SRCS := $(filter-out %_fuzz.cpp,$(wildcard tests/fuzz/*.cpp)) \
                     tests/support/api_fixture.cpp tests/support/http_wire.cpp \
                     tests/support/test_run.cpp
FUZZ_SUPPORT_OBJS := $(patsubst %.cpp,$(FUZZ_DIR)/obj/%.o,$(FUZZ_SUPPORT_SRCS))
FUZZ_ALL_TARGETS := $(patsubst tests/fuzz/%.cpp,%,$(wildcard tests/fuzz/*_fuzz.cpp))
FUZZ_TARGETS ?= $(FUZZ_ALL_TARGETS)
FUZZ_BINS    := $(patsubst %,$(FUZZ_DIR)/%,$(FUZZ_ALL_TARGETS))

# The GoogleTest suite, as build/xdpgate_tests, twice more. Under ASan it
# is built from the fuzzers' objects: one clang build serves both (coverage
# hooks the suite does not use cost it little; a second build of the library
# cost CI six minutes). Every report is fatal: UB aborts the run as ASan
# and LSan do. Under TSan it is built by g++, which warns "maybe-uninitialized"
# inside libstdc++ (std::regex) there; the normal build keeps that warning.
SAN_GXX_FLAGS := -Werror -Wno-maybe-uninitialized
TSAN_SANITIZE := -fsanitize=thread
ASAN_OBJS := $(patsubst %.cpp,$(FUZZ_DIR)/obj/%.o,$(TEST_SRCS) $(LIB_SRCS))
TSAN_OBJS := $(patsubst %.cpp,$(TSAN_DIR)/obj/%.o,$(TEST_SRCS) $(LIB_SRCS))
SAN_TEST_LIBS := $(LDLIBS) -lgtest -lgtest_main -lgmock

.PHONY: fuzz fuzz-binaries fuzz-corpus test-asan test-tsan ci-hardening

fuzz-binaries: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	$(Q)./tests/fuzz/run-fuzzers.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

$(FUZZ_DIR)/obj/tests/fuzz/%.o: tests/fuzz/%.cpp $(SKELS)
	$(call msg,FUZZCXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CXX) $(SAN_CXXFLAGS) -Werror $(FUZZ_SANITIZE) \
		-fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/obj/%.o: %.cpp $(SKELS)
	$(call msg,FUZZCXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CXX) $(SAN_CXXFLAGS) $(FUZZ_SANITIZE) \
		-fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/libxdpgate.a: $(FUZZ_LIB_OBJS) $(FUZZ_SUPPORT_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/%_fuzz: $(FUZZ_DIR)/obj/tests/fuzz/%_fuzz.o $(FUZZ_DIR)/libxdpgate.a
	$(call msg,LINK,$@)
	$(Q)$(FUZZ_CXX) $(FUZZ_SANITIZE) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

# The seed generator is a plain program over tests/support/frame.cpp.
$(FUZZ_DIR)/make_verdict_corpus: tests/fuzz/tools/make_verdict_corpus.cpp \
		tests/support/frame.cpp tests/support/frame.hpp
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) -O1 -std=c++20 -Wall -Wextra -Werror -Itests \
		tests/fuzz/tools/make_verdict_corpus.cpp tests/support/frame.cpp -o $@

fuzz-corpus: $(FUZZ_DIR)/make_verdict_corpus
	$(Q)$< tests/fuzz/corpus/verdict_fuzz

# Bounded like `make test` (scripts/run-gtest.sh); the sanitizers make the
# suite about three times slower, so the bound is wider.
SAN_SUITE_MINUTES ?= 40

test-asan: $(ASAN_DIR)/xdpgate_tests
	$(Q)ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		./scripts/run-gtest.sh $(SAN_SUITE_MINUTES) $(ASAN_DIR)/xdpgate_tests.log $<

# Built first with whatever -j was given, then run one after the other so the
# fuzzers do not compete with the suite (or each other) for CPUs.
ci-hardening:
	$(Q)$(MAKE) --no-print-directory fuzz-binaries $(ASAN_DIR)/xdpgate_tests
	$(Q)$(MAKE) --no-print-directory test-asan
	$(Q)$(MAKE) --no-print-directory fuzz

test-tsan: $(TSAN_DIR)/xdpgate_tests
	$(Q)TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		./scripts/run-gtest.sh $(SAN_SUITE_MINUTES) $(TSAN_DIR)/xdpgate_tests.log $<

$(TSAN_DIR)/obj/%.o: %.cpp $(SKELS)
	$(call msg,TSANCXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(SAN_CXXFLAGS) $(SAN_GXX_FLAGS) $(TSAN_SANITIZE) -c $< -o $@

$(ASAN_DIR)/xdpgate_tests: $(ASAN_OBJS)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CXX) $(FUZZ_SANITIZE) $^ $(SAN_TEST_LIBS) -o $@

$(TSAN_DIR)/xdpgate_tests: $(TSAN_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CXX) $(TSAN_SANITIZE) $^ $(SAN_TEST_LIBS) -o $@

-include $(shell find $(FUZZ_DIR)/obj $(TSAN_DIR)/obj \
                 -name '*.d' 2>/dev/null)

endif
