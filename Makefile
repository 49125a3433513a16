# figment — build, test, demo, bench. See README.md.
# Sources are found by wildcard: add a .c under src/ and it is built.
CC      ?= gcc
BUILD   ?= build
CFLAGS  ?= -O2 -g
# Project flags are kept apart from CFLAGS so `make CFLAGS=...` (the
# sanitizer and fuzz builds) adds to them instead of replacing them.
FIG_CFLAGS = $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -Isrc -pthread \
             -D_GNU_SOURCE -fno-strict-aliasing
FIG_LIBS   = $(LDLIBS) -pthread -ljansson -lseccomp $(CONTAINER_LIBS) -lz
# Container images: libarchive (tar, gzip, zstd) and what its static archive
# needs; nettle for sha256 digests.
CONTAINER_LIBS = -larchive -lnettle -lzstd -llz4 -llzma -lbz2 -lacl -lattr
# The VMM binary is linked statically: no dynamic loader work at exec and
# about 0.8 MiB less resident memory per VM. The sanitizer build cannot be.
STATIC     ?= -static
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined

SRCS     := $(shell find src -name '*.c' | sort)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
OBJS     := $(SRCS:%.c=$(BUILD)/obj/%.o)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
GUEST_SRCS := $(filter-out tests/guests/pvh_%.S,$(wildcard tests/guests/*.S))
GUEST_BINS := $(GUEST_SRCS:tests/guests/%.S=$(BUILD)/guests/%.bin) \
              $(patsubst tests/guests/%.S,$(BUILD)/guests/%.elf,\
                $(wildcard tests/guests/pvh_*.S))

.PHONY: test-lab-long all figment unit-tests test-guests deps guest lab demo test asan bench-density bench-hugepages \
        bench fuzz fuzz-campaign fuzz-replay clean format

all: figment
figment: $(BUILD)/figment $(BUILD)/figment-uffd-handler $(BUILD)/figment-test \
         $(BUILD)/figment-slirp

# The page-fault handler for snapshot restores with the Uffd backend.
$(BUILD)/figment-uffd-handler: tools/uffd/uffd-handler.c
	@mkdir -p $(dir $@)
	$(CC) $(FIG_CFLAGS) $(LDFLAGS) $(STATIC) -o $@ $< -ljansson

# The container agent (PID 1 of a container's VM) and its initramfs: a
# static program as /init and nothing else. Its own flags: a guest binary
# is never a sanitizer build.
figment: $(BUILD)/figment-agent.cpio
$(BUILD)/figment-agent: tools/agent/figment-agent.c src/container/agent_proto.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -s -Wall -Wextra -Werror -Isrc -D_GNU_SOURCE -static -o $@ $< -ljansson
$(BUILD)/figment-agent.cpio: $(BUILD)/figment-agent
	rm -rf $@.d && mkdir -p $@.d && cp $< $@.d/init
	(cd $@.d && echo init | cpio -o -H newc -R 0:0 --quiet) > $@.tmp
	rm -rf $@.d && mv $@.tmp $@

# User-mode networking with libslirp, a process of its own: Debian has
# libslirp only as a shared library (with GLib), so this one is dynamic.
$(BUILD)/figment-slirp: tools/slirp/figment-slirp.c
	@mkdir -p $(dir $@)
	$(CC) $(FIG_CFLAGS) -I/usr/include/slirp $(LDFLAGS) -o $@ $< -lslirp -lseccomp

# Everything but main.c is built once into one library that the binaries
# (figment, the unit tests) link.
FIG_LIB := $(BUILD)/libfigment.a
$(FIG_LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/figment: $(BUILD)/obj/src/main.o $(FIG_LIB)
	$(CC) $(FIG_CFLAGS) $(LDFLAGS) $(STATIC) -o $@ $^ $(FIG_LIBS)
	ln -sf figment $(BUILD)/firecracker
	ln -sf figment $(BUILD)/jailer

# System call names for the SIGSYS message, from the C library's headers.
$(BUILD)/gen/syscall_names.h:
	@mkdir -p $(dir $@)
	echo '#include <sys/syscall.h>' | $(CC) -dM -E - | \
	  sed -n 's/^#define __NR_\([a-z0-9_]*\) \([0-9]*\)$$/\t[\2] = "\1",/p' > $@.tmp
	mv $@.tmp $@
$(BUILD)/obj/src/sandbox/syscall_names.o: $(BUILD)/gen/syscall_names.h
$(BUILD)/obj/src/sandbox/syscall_names.o: FIG_CFLAGS += -I$(BUILD)/gen

# figment with the test hooks of tests/hooks/ (the seccomp trigger).
$(BUILD)/figment-test: $(BUILD)/obj/src/main.o $(BUILD)/obj/tests/hooks/seccomp_trigger.o $(FIG_LIB)
	$(CC) $(FIG_CFLAGS) $(LDFLAGS) $(STATIC) -o $@ $^ $(FIG_LIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(FIG_CFLAGS) -MMD -MP -c -o $@ $<

unit-tests: $(UNIT_BINS)
$(BUILD)/tests/unit/%: tests/unit/%.c $(FIG_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(FIG_CFLAGS) $(LDFLAGS) -Itests -o $@ $< $(FIG_LIB) $(FIG_LIBS) -lcriterion

# Tiny purpose-built guests: bzImage-format flat binaries, and PVH ELFs.
test-guests: $(GUEST_BINS)
$(BUILD)/guests/%.bin: tests/guests/%.S tests/guests/guest.ld tests/guests/guest.h
	@mkdir -p $(dir $@)
	$(CC) -c -Itests/guests -o $(BUILD)/guests/$*.o $<
	ld -T tests/guests/guest.ld -o $(BUILD)/guests/$*.tmp $(BUILD)/guests/$*.o
	objcopy -O binary $(BUILD)/guests/$*.tmp $@
$(BUILD)/guests/pvh_%.elf: tests/guests/pvh_%.S tests/guests/pvh.ld
	@mkdir -p $(dir $@)
	$(CC) -c -o $(BUILD)/guests/pvh_$*.o $<
	ld --no-warn-rwx-segments -T tests/guests/pvh.ld -o $@ $(BUILD)/guests/pvh_$*.o

# Debian packages the build, the tests and the lab need (idempotent, quiet).
deps:
	@tools/deps.sh

# Guest kernels and initramfs, cached outside the tree (see tools/guest/).
guest: deps
	@tools/guest/build-all.sh

# The nested lab (QEMU TCG + SVM + real KVM inside) and its inputs.
lab: guest figment
	@tools/lab/build-lab.sh $(BUILD)/figment

demo: deps
	@$(MAKE) -s figment
	@tools/demo.sh $(BUILD)/figment

# The sanitizer build lives in its own tree so both can coexist.
asan:
	@$(MAKE) -s BUILD=build-asan CC=clang STATIC= CFLAGS="-O1 -g $(SAN_FLAGS)" \
		LDFLAGS="$(SAN_FLAGS)" figment unit-tests

test: deps
	@$(MAKE) -s figment unit-tests test-guests
	@$(MAKE) -s asan
	@$(MAKE) -s fuzz-replay
	@$(MAKE) -s guest
	@tools/run-tests.sh

# The long nested-lab suites (tests/long-lab.txt), apart from make test.
test-lab-long: deps
	@$(MAKE) -s figment unit-tests test-guests
	@$(MAKE) -s asan
	@$(MAKE) -s guest
	@tools/run-tests.sh --long

bench: deps
	@$(MAKE) -s figment test-guests guest
	@bench/run.sh $(BUILD)/figment

# N idle microVMs' host memory, figment against QEMU, with and without page
# sharing and the balloon (bench/density.sh; long: its own target).
bench-density: deps
	@$(MAKE) -s figment guest
	@bench/density.sh $(BUILD)/figment

# Guest RAM on 4 KiB, transparent huge and hugetlbfs 2 MiB pages: boot time
# and host memory in the lab (bench/hugepages.sh; its own target).
bench-hugepages: deps
	@$(MAKE) -s figment guest
	@bench/hugepages.sh $(BUILD)/figment

fuzz:
	@tools/fuzz.sh

# Every harness for FUZZ_SECONDS (default 300) with a report of executions
# and coverage (build-fuzz/campaign.md); crashes become regression inputs.
fuzz-campaign:
	@tools/fuzz.sh campaign

# Every corpus and regression input through each harness, ASan + UBSan,
# without libFuzzer (tests/fuzz/replay_main.c).
fuzz-replay:
	@tools/fuzz.sh replay

format:
	clang-format -i $(SRCS) $(shell find src -name '*.h')

clean:
	rm -rf build build-asan build-fuzz

-include $(OBJS:.o=.d)
