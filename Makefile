# dit-pipe: `make demo` builds and generates digits with the shipped model;
# `make test` runs every test. Both install what they need first.
# `make report` measures and writes docs/report (REPORT=smoke|default|full).
CPU ?= native
# Kernels with 16-lane tiles are compiled in (-D AVX512) when the target CPU
# has AVX-512: by default when building natively on such a CPU; set AVX512=1
# for an explicit AVX-512 CPU (e.g. CPU=znver4), AVX512= to leave them out.
AVX512 ?= $(if $(filter native,$(CPU)),$(shell grep -qw avx512bw /proc/cpuinfo 2>/dev/null && echo 1))
ISA_FLAGS = $(if $(AVX512),-Xswiftc -DAVX512)
RELEASE_FLAGS = -c release -Xswiftc -target-cpu -Xswiftc $(CPU) $(ISA_FLAGS)
DIT = .build/release/dit

REPORT ?= default
REPORT_OUT ?= docs/report

.PHONY: setup build release demo test test-swift test-cli report clean

setup:
	bash scripts/setup.sh

build: setup
	swift build

release: setup
	swift build $(RELEASE_FLAGS)

demo: release
	$(DIT) sample experiments/digits-1stage.yaml --output-dir out/demo --overwrite
	@echo "wrote out/demo/grid.png (one of each digit 0-9), out/demo/samples.h5 and a PNG per image"

test-swift: setup
	swift build --build-tests $(ISA_FLAGS)
	swift test $(ISA_FLAGS)

# End-to-end: bad input (and the malformed-file corpus), seeds, real mpirun runs under timeout, digit quality.
test-cli: release
	bash scripts/setup-python.sh
	DIT=$(DIT) bash scripts/test-cli.sh
	DIT=$(DIT) bash scripts/test-malformed.sh
	DIT=$(DIT) bash scripts/test-netns.sh
	DIT=$(DIT) bash scripts/test-dump.sh

test: test-swift test-cli

# Benchmarks → docs/report/REPORT.md, CSVs and PNGs (bench/report/README.md).
report: release
	bash bench/report/setup.sh
	python3 bench/report/report.py --mode $(REPORT) --out $(REPORT_OUT) --dit $(DIT)

clean:
	rm -rf .build out
