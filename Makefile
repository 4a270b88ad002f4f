# ipcsuite: build, run and report.  Everything built lands in $(BUILD)
# (out of tree); kyua reads the Kyuafiles here and the programs there.
#
#   make            build the suite, its fixtures and the harness self-tests
#   make report     install what is missing (as root), build, run the suite
#                   under kyua, write reports/out/
#   make check      the project's own tests: harness self-tests, the suite,
#                   and all of it again built with ASan/UBSan
#   make test       run the suite only (results in reports/out/results.db)
#   make stress     the suite with long stress budgets
#   make coverage   line coverage (lcov) of harness, suites and fixtures
#   make install    DESTDIR=… PREFIX=… : a tree that kyua test -k runs
#   make sweep      remove IPC objects left by killed runs (ours only)
#   make clean

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
SAN     ?=
COVERAGE ?=
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
OUT     ?= reports/out
RESULTS ?= $(OUT)/results.db
# Extra kyua variables, e.g. KYUA_VARS='-v test_suites.ipcsuite.stress_records=100000'
KYUA_VARS ?=
# Which Kyuafile `make test` runs: all of it, or one family's.
KYUAFILE ?= Kyuafile

CC      ?= cc
CFLAGS  ?= -O2 -g
ATF_CFLAGS := $(shell pkg-config --cflags atf-c 2>/dev/null)
ATF_LIBS   := $(shell pkg-config --libs atf-c 2>/dev/null)

# POSIX.1-2008 with its XSI option, which SysV IPC and key_t belong to.
CPPFLAGS += -D_XOPEN_SOURCE=700 -Iharness
WARN     := -std=c11 -Wall -Wextra -Werror
SANFLAGS := $(if $(SAN),-fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all)
COVFLAGS := $(if $(COVERAGE),--coverage -O0)
ALL_CFLAGS = $(WARN) $(CFLAGS) $(SANFLAGS) $(COVFLAGS) $(ATF_CFLAGS) -MMD -MP
LDLIBS   = $(ATF_LIBS) -lpthread -lrt -ldl

LIB_SRCS  := $(wildcard harness/ipch_*.c)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB       := $(BUILD)/harness/libipch.a
PROG_SRCS := $(wildcard suites/*/t_*.c harness/t_*.c harness/h_*.c)
PROGS     := $(PROG_SRCS:%.c=$(BUILD)/%)
FIX_SRCS  := $(wildcard fixtures/h_*.c)
FIXTURES  := $(FIX_SRCS:%.c=$(BUILD)/%)
SHIM_SRCS := $(wildcard fixtures/fault/*.c)
SHIM      := $(BUILD)/fixtures/libipch_fault.so
FIX_DATA  := $(patsubst %,$(BUILD)/%,$(wildcard fixtures/fault/*.expect))
SWEEP     := $(BUILD)/harness/ipch-sweep
KYUAFILES := Kyuafile $(wildcard suites/*/Kyuafile) harness/Kyuafile

# kyua with a scrubbed environment: report-junit writes every variable of
# the run as a property, and the results should not depend on a shell's.
KYUA_ENV = env -i PATH="$$PATH" HOME="$$HOME" LANG=C.UTF-8 \
	$${IPCH_STATE_DIR:+IPCH_STATE_DIR="$$IPCH_STATE_DIR"}
KYUA = $(KYUA_ENV) kyua

.PHONY: all deps test report check selftest sanitize stress coverage install \
	sweep clean format format-check

all: $(LIB) $(PROGS) $(FIXTURES) $(SHIM) $(FIX_DATA) $(SWEEP)

deps:
	@sh ci/deps

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# Static pattern: a test program is its object linked with libipch.
$(PROGS): %: %.o $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(SWEEP): $(BUILD)/harness/tools/ipch_sweep.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Fixtures are exec'd by cases; they use no ATF and no sanitizer runtime
# of their own beyond what SAN asks for.
$(BUILD)/fixtures/h_%: fixtures/h_%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(SANFLAGS) $(COVFLAGS) -o $@ $<

# The fault-injection shim is preloaded into test programs, so it is built
# without sanitizers (their runtime must come first in the link order).
$(SHIM): $(SHIM_SRCS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -fPIC -shared -o $@ $^ -ldl

$(FIX_DATA): $(BUILD)/%: %
	@mkdir -p $(@D)
	cp $< $@

-include $(LIB_OBJS:.o=.d) $(PROGS:=.d) $(BUILD)/harness/tools/ipch_sweep.d

sweep: $(SWEEP)
	@$(SWEEP)

# Run one Kyuafile into one results file, then write the reports.  The
# exit status is kyua's: 0 only when nothing failed or broke.
# Each make-driven run keeps its registries in a state directory of its own,
# so the check after the run sees this run's leftovers and no one else's.
STATE = $(abspath $(OUT))/state
test: deps all
	@mkdir -p $(OUT)
	@$(SWEEP) -q; IPCH_STATE_DIR=$(STATE) $(SWEEP) -q
	@rm -f $(RESULTS)
	@rc=0; export IPCH_STATE_DIR=$(STATE); \
	$(KYUA) -v parallelism=$(JOBS) $(KYUA_VARS) test \
		--kyuafile=$(KYUAFILE) --build-root=$(BUILD) \
		--results-file=$(RESULTS) || rc=$$?; \
	$(SWEEP) -q -c || rc=1; exit $$rc

report: deps all
	@rc=0; $(MAKE) --no-print-directory test || rc=$$?; \
	sh reports/make-reports $(OUT) $(RESULTS) && exit $$rc

# The harness's own tests.  kyua looks for a Kyuafile's programs in the
# build root itself, so each Kyuafile run alone gets its own directory.
selftest: deps all
	@mkdir -p $(OUT)
	@rm -f $(OUT)/selftest.db
	@$(KYUA) -v parallelism=$(JOBS) test --kyuafile=harness/Kyuafile \
		--build-root=$(BUILD)/harness --results-file=$(OUT)/selftest.db

# The self-tests and the whole suite under AddressSanitizer and UBSan, in
# a tree of their own.
SAN_ENV = ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/ci/lsan.supp:print_suppressions=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
sanitize: deps
	@$(MAKE) --no-print-directory BUILD=build-san SAN=address,undefined all
	@mkdir -p $(OUT)
	@rm -f $(OUT)/sanitize-selftest.db $(OUT)/sanitize.db
	@rc=0; \
	$(KYUA_ENV) $(SAN_ENV) kyua -v parallelism=$(JOBS) test --kyuafile=harness/Kyuafile \
		--build-root=build-san/harness \
		--results-file=$(OUT)/sanitize-selftest.db || rc=$$?; \
	$(KYUA_ENV) $(SAN_ENV) kyua -v parallelism=$(JOBS) test --kyuafile=Kyuafile \
		--build-root=build-san --results-file=$(OUT)/sanitize.db \
		|| rc=$$?; \
	exit $$rc

check: deps all
	@rc=0; \
	$(MAKE) --no-print-directory selftest || rc=1; \
	$(MAKE) --no-print-directory report || rc=1; \
	$(MAKE) --no-print-directory sanitize || rc=1; \
	sh reports/count $(OUT)/selftest.db $(RESULTS) \
		$(OUT)/sanitize-selftest.db $(OUT)/sanitize.db || rc=1; \
	exit $$rc

# Line coverage of harness, suites and fixtures (lcov), from a --coverage
# build in build-cov running the suite and the self-tests.
coverage: deps
	@$(MAKE) --no-print-directory BUILD=build-cov COVERAGE=1 all
	@mkdir -p $(OUT)
	@lcov -q --zerocounters -d build-cov
	@rm -f $(OUT)/coverage-suite.db $(OUT)/coverage-selftest.db
	@# Verdicts are not the point here (make check judges them).
	@$(KYUA) -v parallelism=$(JOBS) test --kyuafile=Kyuafile --build-root=build-cov \
		--results-file=$(OUT)/coverage-suite.db >/dev/null || true
	@$(KYUA) -v parallelism=$(JOBS) test --kyuafile=harness/Kyuafile \
		--build-root=build-cov/harness \
		--results-file=$(OUT)/coverage-selftest.db >/dev/null || true
	@lcov -q --capture -d build-cov -b . -o $(OUT)/coverage.info 2>$(OUT)/lcov.log || \
		{ cat $(OUT)/lcov.log; exit 1; }
	@lcov -q --remove $(OUT)/coverage.info '/usr/*' -o $(OUT)/coverage.info
	@genhtml -q -o $(OUT)/coverage $(OUT)/coverage.info
	@lcov --summary $(OUT)/coverage.info 2>&1 | grep -E 'lines|functions'
	@echo "coverage report: $(OUT)/coverage/index.html"

stress: deps all
	@$(MAKE) --no-print-directory report \
		KYUA_VARS='-v test_suites.ipcsuite.stress=long $(KYUA_VARS)'

install: all
	@set -e; t=$(DESTDIR)$(PREFIX)/tests/ipcsuite; \
	for f in $(KYUAFILES); do install -D -m 644 $$f $$t/$$f; done; \
	for p in $(PROGS) $(FIXTURES) $(SHIM) $(SWEEP); do \
		install -D -m 755 $$p $$t/$${p#$(BUILD)/}; done; \
	for d in $(FIX_DATA); do install -D -m 644 $$d $$t/$${d#$(BUILD)/}; done; \
	echo "installed in $$t: run kyua test -k $$t/Kyuafile"

clean:
	rm -rf $(BUILD) build-san build-cov $(OUT)

C_SOURCES = harness/*.[ch] harness/tools/*.c suites/*/*.c fixtures/*.c \
	fixtures/fault/*.c

format:
	clang-format -i $(C_SOURCES)

# One style everywhere (.clang-format); CI runs this before make check.
format-check:
	@if ! command -v clang-format >/dev/null 2>&1; then \
		echo "format-check: clang-format is not installed; install it (apt-get install clang-format) to check the style" >&2; \
		exit 1; fi
	@bad=$$(for f in $(C_SOURCES); do \
		clang-format --dry-run -Werror $$f >/dev/null 2>&1 || echo $$f; done); \
	if [ -n "$$bad" ]; then \
		echo "format-check: not in the project's style (run make format):" $$bad >&2; \
		exit 1; fi
