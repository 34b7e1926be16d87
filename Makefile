# dit-pipe: `make demo` builds and generates digits with the shipped model;
# `make test` runs every test. Both install what they need first.
CPU ?= native
RELEASE_FLAGS = -c release -Xswiftc -target-cpu -Xswiftc $(CPU)
DIT = .build/release/dit

.PHONY: setup build release demo test test-swift clean

setup:
	bash scripts/setup.sh

build: setup
	swift build

release: setup
	swift build $(RELEASE_FLAGS)

demo: release
	$(DIT) forward --checkpoint Tests/Fixtures/fwd-tiny-p2.safetensors \
	  --input Tests/Fixtures/fwd-tiny-p2-io.safetensors --output out/demo-forward.h5
	@echo "wrote out/demo-forward.h5 (dataset /out)"

test-swift: setup
	swift build --build-tests
	swift test

test: test-swift

clean:
	rm -rf .build out
