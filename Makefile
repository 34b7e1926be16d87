# dit-pipe: `make demo` builds and generates digits with the shipped model;
# `make test` runs every test. Both install what they need first.
CPU ?= native
RELEASE_FLAGS = -c release -Xswiftc -target-cpu -Xswiftc $(CPU)
DIT = .build/release/dit

.PHONY: setup build release demo test test-swift test-cli clean

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
	swift build --build-tests
	swift test

# End-to-end: bad input, seeds, real mpirun runs under timeout, digit quality.
test-cli: release
	bash scripts/setup-python.sh
	DIT=$(DIT) bash scripts/test-cli.sh
	DIT=$(DIT) bash scripts/test-dump.sh

test: test-swift test-cli

clean:
	rm -rf .build out
