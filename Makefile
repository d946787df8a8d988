# wasibench Makefile. Knobs first; `make help` lists the targets.
CC        ?= cc
CXX       ?= g++          # only core/data/spm_shim.cc (the C++ shim over libsentencepiece)
OPT       ?= -O2 -march=native
THREADS   ?= 0            # 0 = all cores (tests and demo)
BUILD     ?= build
SAN       ?= 0            # 1 = AddressSanitizer + UndefinedBehaviorSanitizer build in build-san/
PYTHON    ?= /usr/bin/python3
FUZZ_CC   ?= clang        # the fuzz build (libFuzzer) needs clang
FUZZ_CXX  ?= clang++
FUZZ_TIME ?= 60           # seconds of fuzzing per target in make fuzz (exploration)
# make test fuzzes each target for less: there the fuzzers guard against
# regressions from a fixed seed, and the suite must stay under 20 min on 2 cores.
TEST_FUZZ_TIME ?= 30
MPI       ?= auto         # auto = with Open MPI when pkg-config finds ompi-c; 0 = never (core/runtime/dist.c)

# Debian packages the project needs (make deps installs the missing ones).
DEB_PKGS  = build-essential pkg-config libopenblas-dev liblapacke-dev libyaml-dev libhdf5-dev hdf5-tools \
            gnuplot-nox libcsv-dev zlib1g-dev libjpeg62-turbo-dev libpng-dev libcjson-dev \
            dataset-fashion-mnist python3-torch python3-torchvision python3-numpy \
            clang libclang-rt-14-dev libomp-14-dev valgrind libopenmpi-dev openmpi-bin chromium \
            libsentencepiece-dev sentencepiece python3-sentencepiece
PC_LIBS   = openblas lapacke yaml-0.1 hdf5 libcjson libpng libjpeg zlib sentencepiece

WARN      = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wdouble-promotion
CFLAGS_BASE = $(WARN) -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -fopenmp -MMD -MP -I. -g

ifeq ($(SAN),1)
  BUILD   = build-san
  OPT     = -O1 -fno-omit-frame-pointer
  SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined
endif

PKG_OK   := $(shell pkg-config --exists $(PC_LIBS) 2>/dev/null && echo yes)
ifeq ($(PKG_OK),yes)
  PKG_CFLAGS := $(shell pkg-config --cflags $(PC_LIBS))
  # sentencepiece.pc also names the trainer library, which only spm_train needs
  PKG_LIBS   := $(filter-out -lsentencepiece_train,$(shell pkg-config --libs $(PC_LIBS)))
endif
# MPI data-parallel training and sweeps (core/runtime/dist.c, the only file that
# includes mpi.h); without it the same program runs as one process.
ifneq ($(strip $(MPI)),0)
  MPI_OK := $(shell pkg-config --exists ompi-c 2>/dev/null && echo yes)
endif
ifeq ($(MPI_OK),yes)
  PKG_CFLAGS += $(shell pkg-config --cflags ompi-c) -DWB_MPI=1
  PKG_LIBS   += $(shell pkg-config --libs ompi-c)
  MPI_SAY = MPI: Open MPI (ompi-c), mpirun -np P wasibench run ... trains data-parallel
else
  MPI_SAY = MPI: not found, built for one process (apt-get install libopenmpi-dev openmpi-bin, or make deps, then make clean all)
endif
LIBS      = $(PKG_LIBS) -lhdf5_hl -lcsv -lm -lstdc++
CFLAGS    = $(CFLAGS_BASE) $(OPT) $(SANFLAGS) $(PKG_CFLAGS)
# The one C++ file (core/data/spm_shim.cc): the same optimisation and sanitizers.
CXXFLAGS  = -std=c++17 -Wall -Wextra -Werror -MMD -MP -I. -g $(OPT) $(SANFLAGS) $(PKG_CFLAGS)
LDFLAGS   = -fopenmp $(SANFLAGS) $(LDSAN)

LIB_SRC   = $(wildcard core/*/*.c) $(wildcard baselines/*.c)
LIB_CXX   = $(wildcard core/*/*.cc)
APP_SRC   = $(filter-out experiments/main.c,$(wildcard experiments/*.c))
TEST_SRC  = $(wildcard tests/test_*.c)
LIB_OBJ   = $(LIB_SRC:%.c=$(BUILD)/%.o) $(LIB_CXX:%.cc=$(BUILD)/%.o)
APP_OBJ   = $(APP_SRC:%.c=$(BUILD)/%.o)
TEST_BIN  = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_BIN = $(patsubst experiments/bench/%.c,$(BUILD)/bench/%,$(wildcard experiments/bench/bench_*.c))
# Test helpers: every tests/*.c that is not a test_*.c program (testlib.c, ...).
TEST_HELP = $(patsubst tests/%.c,$(BUILD)/tests/%.o,$(filter-out $(TEST_SRC),$(wildcard tests/*.c)))

.PHONY: all deps check-libs test test-bin test-san demo paper-mini paper bench bench-mpi clean help fuzz fuzz-bin fuzz-targets valgrind-bin
all: check-libs $(BUILD)/wasibench

help:
	@echo "make deps      install the Debian packages ($(DEB_PKGS))"
	@echo "make           build $(BUILD)/libwasibench.a and $(BUILD)/wasibench"
	@echo "make test      deps + build + every test (normal and ASan/UBSan), the fuzzers, valgrind; ends with 'N passed, M failed'"
	@echo "make fuzz      build the libFuzzer targets (clang, build-fuzz/) and fuzz each for FUZZ_TIME s (tests/fuzz/run.sh)"
	@echo "make demo      pretrain + fine-tune every method on Fashion-MNIST, figures in plots/demo/"
	@echo "make paper-mini the paper's figures scaled to Fashion-MNIST and the micro models (~7 min), plots/paper-mini/"
	@echo "make paper FIG=3|4|5|6|7|8|9|table1|table2  the full-size runs of one paper figure (user-supplied weights and data), then its figure"
	@echo "make bench     speed and memory side by side with PyTorch (results/bench/latest.txt)"
	@echo "make bench-mpi vit_b_32 data-parallel on 1 and 2 MPI ranks, all-reduce share, extrapolation (results/bench/mpi.txt)"

deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "make deps: apt-get failed; install by hand: apt-get install $$missing"; exit 1; }; \
	fi

check-libs:
ifneq ($(PKG_OK),yes)
	@for p in $(PC_LIBS); do pkg-config --exists $$p || echo "missing library: $$p (run 'make deps', or apt-get install the matching -dev package)"; done; exit 1
else
	@echo "libraries found by pkg-config: $(PC_LIBS); compiler: $(shell $(CC) --version | head -1); flags: $(OPT) $(SANFLAGS)"
	@echo "$(MPI_SAY)"
endif

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	@echo "CXX $<"
	@$(CXX) $(CXXFLAGS) -c $< -o $@

# version.h: git describe and the flags, rewritten only when they change.
.PHONY: FORCE
$(BUILD)/version.h: FORCE
	@mkdir -p $(BUILD)
	@printf '#define WB_VERSION "%s"\n#define WB_CFLAGS "%s"\n' \
	  "$$(git describe --always --dirty 2>/dev/null || echo unknown)" "$(CC) $(OPT) $(SANFLAGS)" > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
$(APP_OBJ) $(BUILD)/experiments/main.o: $(BUILD)/version.h
$(APP_OBJ) $(BUILD)/experiments/main.o: CFLAGS += -I$(BUILD)

$(BUILD)/libwasibench.a: $(LIB_OBJ)
	@rm -f $@
	@ar rcs $@ $^

# The runner's modules (all of experiments/ but main.c) form a second
# library, so tests link them the same way the program does.
$(BUILD)/libwasibench_app.a: $(APP_OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/wasibench: $(BUILD)/experiments/main.o $(BUILD)/libwasibench_app.a $(BUILD)/libwasibench.a
	@echo "LD $@"
	@$(CC) $(LDFLAGS) -o $@ $(BUILD)/experiments/main.o $(BUILD)/libwasibench_app.a $(BUILD)/libwasibench.a $(LIBS)

$(TEST_HELP): $(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(TEST_HELP) $(BUILD)/libwasibench_app.a $(BUILD)/libwasibench.a
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(CFLAGS) -I$(BUILD) -o $@ $< $(TEST_HELP) $(BUILD)/libwasibench_app.a $(BUILD)/libwasibench.a $(LIBS) $(LDFLAGS)

# the bench programs too: they are not run by the tests, but must keep compiling
test-bin: check-libs $(TEST_BIN) $(BUILD)/wasibench $(BENCH_BIN)

# The whole suite: normal build, then the sanitizer build of the same tests,
# then the fuzz targets (build-fuzz/) and a short sweep under valgrind (build-vg/).
test: deps
	@$(MAKE) --no-print-directory test-bin
	@$(MAKE) --no-print-directory SAN=1 test-bin
	@$(MAKE) --no-print-directory fuzz-bin
	@$(MAKE) --no-print-directory valgrind-bin
	@PYTHON=$(PYTHON) THREADS=$(THREADS) FUZZ_TIME=$(strip $(TEST_FUZZ_TIME)) bash tests/run.sh build build-san $(FUZZ_BUILD) $(VG_BUILD)

# Fuzzing: the libFuzzer targets tests/fuzz/fuzz_*.c, linked against the
# library rebuilt by clang with coverage + ASan + UBSan into build-fuzz/.
# clang warns where gcc does not (float initialisers of doubles, simd loops
# it declines to vectorise); the gcc builds keep those warnings as errors.
FUZZ_BUILD = build-fuzz
FUZZ_BIN   = $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_OPT   = -O1 -g -fno-omit-frame-pointer -Wno-double-promotion -Wno-pass-failed
FUZZ_SAN   = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
# clang links UBSan's C++ part (the vptr checks of core/data/spm_shim.cc)
# only when asked, since the programs are linked by the C driver (LDSAN).
$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libwasibench_app.a $(BUILD)/libwasibench.a
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(CFLAGS) -I$(BUILD) -fsanitize=fuzzer -o $@ $< $(BUILD)/libwasibench_app.a $(BUILD)/libwasibench.a $(LIBS) $(LDFLAGS)
fuzz-targets: check-libs $(FUZZ_BIN)
fuzz-bin:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(strip $(FUZZ_CC)) CXX=$(strip $(FUZZ_CXX)) OPT="$(FUZZ_OPT)" SANFLAGS="$(FUZZ_SAN)" \
	  LDSAN=-fsanitize-link-c++-runtime fuzz-targets
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-bin
	@bash tests/fuzz/run.sh $(FUZZ_BUILD) $(strip $(FUZZ_TIME))
-include $(FUZZ_BIN:=.d)

# valgrind (tests/valgrind.sh): a build without -march=native, whose AVX-512
# instructions valgrind 3.19 cannot decode.
VG_BUILD = build-vg
valgrind-bin:
	@$(MAKE) --no-print-directory BUILD=$(VG_BUILD) OPT="-O1" all

# The demo: pretrain + fine-tune on Fashion-MNIST (experiments/demo.yaml),
# the largest batch per run under 1-8 GiB (planner only, --no-confirm: one
# confirming step per run and cap would take minutes at these batches), then
# the figures of both fine-tuning stages (finetune, and finetune_lean: wasi 0.9
# with the memory options). Resumable: a second `make demo` skips finished runs.
DEMO_OUT = results/demo.h5
demo: deps
	@$(MAKE) --no-print-directory all
	@start=$$(date +%s); \
	./$(BUILD)/wasibench run experiments/demo.yaml --out $(DEMO_OUT) --threads $(THREADS) && \
	./$(BUILD)/wasibench maxbatch experiments/demo.yaml --out $(DEMO_OUT) --cap 1GiB,2GiB,4GiB,8GiB --no-confirm > $(DEMO_OUT:.h5=_maxbatch.txt) && \
	WASIBENCH_PLOT_STAGE=finetune,finetune_lean ./$(BUILD)/wasibench plot $(DEMO_OUT) --out plots/demo && \
	echo && ./$(BUILD)/wasibench info $(DEMO_OUT) && \
	echo && echo "figures: plots/demo/*.png (and .svg); results: $(DEMO_OUT) (h5dump -A $(DEMO_OUT)); $$(( $$(date +%s) - start )) s"

# make paper-mini: the paper's figures (wasibench plot --paper) on the mini
# task, a real run (experiments/paper/mini/*.yaml), resumable like the demo.
# The ViT file gives 3a, 3b, 4, 5, 8, 9; the Swin file Fig. 6, the micro Llama on a
# generated yes/no task (experiments/gen_text_task.sh) Fig. 7 (copied beside them).
PAPER_MINI = results/paper-mini
paper-mini: deps
	@$(MAKE) --no-print-directory all
	@start=$$(date +%s); mkdir -p $(PAPER_MINI) && \
	./$(BUILD)/wasibench run experiments/paper/mini/vit.yaml --out $(PAPER_MINI)/vit.h5 --threads $(THREADS) && \
	./$(BUILD)/wasibench run experiments/paper/mini/swin.yaml --out $(PAPER_MINI)/swin.h5 --threads $(THREADS) && \
	./$(BUILD)/wasibench plot $(PAPER_MINI)/vit.h5 --paper --out plots/paper-mini && \
	./$(BUILD)/wasibench plot $(PAPER_MINI)/swin.h5 --paper --out plots/paper-mini/swin && \
	cp plots/paper-mini/swin/paper_fig6.png plots/paper-mini/swin/paper_fig6.svg plots/paper-mini/ && \
	rm -f plots/paper-mini/paper_fig6_missing.txt && \
	bash experiments/gen_text_task.sh $(PAPER_MINI)/textdata && \
	./$(BUILD)/wasibench run experiments/paper/mini/llama.yaml --out $(PAPER_MINI)/llama.h5 --threads $(THREADS) && \
	./$(BUILD)/wasibench plot $(PAPER_MINI)/llama.h5 --paper --out plots/paper-mini/llama && \
	cp plots/paper-mini/llama/paper_fig7.png plots/paper-mini/llama/paper_fig7.svg plots/paper-mini/ && \
	rm -f plots/paper-mini/paper_fig7_missing.txt && \
	for f in md csv tex; do ./$(BUILD)/wasibench table $(PAPER_MINI)/vit.h5 --format $$f --out $(PAPER_MINI)/table1.$$f || exit 1; done && \
	for f in md csv tex; do ./$(BUILD)/wasibench table $(PAPER_MINI)/vit.h5 --table 2 --format $$f --out $(PAPER_MINI)/table2.$$f || exit 1; done && \
	./$(BUILD)/wasibench table $(PAPER_MINI)/swin.h5 --out $(PAPER_MINI)/table1_swin.md && \
	./$(BUILD)/wasibench report $(PAPER_MINI)/vit.h5 --out $(PAPER_MINI) 2>/dev/null && \
	echo && ./$(BUILD)/wasibench info $(PAPER_MINI)/vit.h5 | head -3 && \
	echo && cat $(PAPER_MINI)/table1.md && \
	echo && echo "paper figures: plots/paper-mini/paper_fig*.png (and .svg); missing ones: plots/paper-mini/*_missing.txt; Tables 1 and 2: $(PAPER_MINI)/table{1,2}.{md,csv,tex}; the page: $(PAPER_MINI)/index.html; $$(( $$(date +%s) - start )) s"

# make paper FIG=...: one paper figure at full size (experiments/paper/, the
# weights and data sets the user supplies: experiments/paper/README.md).
PAPER_YAML_3 = experiments/paper/vit_b_32_fig3.yaml
PAPER_YAML_4 = experiments/paper/vit_b_32_fig4.yaml
PAPER_YAML_5 = experiments/paper/vit_b_32_fig5.yaml
PAPER_YAML_8 = experiments/paper/vit_b_32_fig8.yaml
PAPER_YAML_9 = experiments/paper/vit_b_32_fig9.yaml
PAPER_YAML_table1 = experiments/paper/vit_b_32_all_linear.yaml
PAPER_YAML_table2 = experiments/paper/vit_b_32_fig8.yaml
PAPER_YAML_6 = experiments/paper/swin_t_mlp.yaml
PAPER_YAML_7 = experiments/paper/tinyllama_boolq.yaml
paper: deps
	@$(MAKE) --no-print-directory all
	@test -n "$(PAPER_YAML_$(FIG))" || { echo "make paper: FIG=3 (3a and 3b), 4, 5, 6, 7, 8, 9, table1 or table2 (experiments/paper/README.md)"; exit 2; }
	@name=$$(basename $(PAPER_YAML_$(FIG)) .yaml); \
	./$(BUILD)/wasibench run $(PAPER_YAML_$(FIG)) --out results/paper_$$name.h5 --threads $(THREADS) && \
	stages=$$(./$(BUILD)/wasibench info results/paper_$$name.h5 | awk 'NR>2 && $$1 ~ /\// {split($$1, a, "/"); print a[1]}' | sort -u | paste -sd, -) && \
	WASIBENCH_PLOT_STAGE=$$stages ./$(BUILD)/wasibench plot results/paper_$$name.h5 --paper --out plots/paper_$$name && \
	for f in md csv tex; do WASIBENCH_PLOT_STAGE=$$stages ./$(BUILD)/wasibench table results/paper_$$name.h5 --format $$f --out results/paper_$$name.table.$$f || exit 1; done && \
	for f in md csv tex; do WASIBENCH_PLOT_STAGE=$$stages ./$(BUILD)/wasibench table results/paper_$$name.h5 --table 2 --format $$f --out results/paper_$$name.table2.$$f || exit 1; done

# make bench: speed and memory side by side with PyTorch, one table in
# results/bench/latest.txt (experiments/bench/README.md). Not a test: timings
# never fail it. The bench programs link like the tests.
$(BUILD)/bench/%: experiments/bench/%.c $(BUILD)/libwasibench_app.a $(BUILD)/libwasibench.a
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(CFLAGS) -I$(BUILD) -o $@ $< $(BUILD)/libwasibench_app.a $(BUILD)/libwasibench.a $(LIBS) $(LDFLAGS)
bench-bin: check-libs $(BUILD)/wasibench $(BENCH_BIN)
bench: deps
	@$(MAKE) --no-print-directory bench-bin
	@BUILD=$(BUILD) PYTHON=$(PYTHON) bash experiments/bench/run.sh
# make bench-mpi: data-parallel scaling, 1 and 2 ranks of 1 thread, and the
# alpha-beta extrapolation (experiments/bench/README.md, "MPI"; results/bench/mpi.txt).
bench-mpi: deps
	@$(MAKE) --no-print-directory $(BUILD)/bench/bench_mpi
	@BUILD=$(BUILD) bash experiments/bench/run_mpi.sh
-include $(BENCH_BIN:=.d)

clean:
	rm -rf build build-san build-fuzz build-vg tests/data/gen

-include $(LIB_OBJ:.o=.d) $(APP_OBJ:.o=.d) $(BUILD)/experiments/main.d $(TEST_BIN:=.d) $(TEST_HELP:.o=.d)
