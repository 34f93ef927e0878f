# Every target creates or reuses the virtual environment .venv itself.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test test-slow lint format docs demo bench accuracy-table design-table arch-table clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Two processes (pytest-xdist), each taking whole test files, for the two cores. The slow tests stay in one
# process: they start Dask clusters of their own.
test: $(STAMP)
	$(PY) -m pytest -m "not slow" -n 2 --dist loadfile

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

# ruff: lint and the format check (`make format` applies the format).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .

# The documentation site (docs/, mkdocs.yml) into out/site; any warning fails the build.
# NO_MKDOCS_2_WARNING only hides mkdocs-material's banner about its successor (not a build warning).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir out/site

demo: $(STAMP)
	$(VENV)/bin/mirage devices | head -8
	$(VENV)/bin/mirage sweep ring_allpass --wl-start 1.54 --wl-stop 1.56 --points 2001 --csv out/ring_allpass.csv --plot out/ring_allpass.png
	$(VENV)/bin/mirage sweep mzi --set delta_length_um=20 --csv out/mzi.csv --plot out/mzi.png
	$(VENV)/bin/mirage mac --modulus 31 --x 5 --w 7
	$(VENV)/bin/mirage mac --modulus 31 --h 16 --trials 100000 --laser-power-mw 0.1 --plot out/mac.png
	$(VENV)/bin/mirage gemm --m 256 --k 256 --n 256 --out out/c.npy
	$(VENV)/bin/mirage gemm --m 256 --k 256 --n 256 --no-noise
	$(VENV)/bin/mirage layout --rows 2 --h 4 --out out/tile.gds
	$(VENV)/bin/mirage train --backend rns --epochs 2 --out out/train

bench: $(STAMP)
	$(PY) benchmarks/bench_models.py
	$(PY) benchmarks/bench_mac.py
	$(PY) benchmarks/bench_gemm.py
	$(PY) benchmarks/bench_montecarlo.py 100 2
	$(PY) benchmarks/bench_layout.py
	$(PY) benchmarks/bench_train.py 20 --model mlp --dataset digits
	$(PY) benchmarks/bench_train.py

# The README's accuracy tables: every backend on both datasets, seeds 0, 1, 2, 20 epochs (several hours on 2 cores).
accuracy-table: $(STAMP)
	$(VENV)/bin/mirage train-table --seeds 0,1,2 --epochs 20 --out out/accuracy

# The README's system table: every built-in model under both scenarios, and the tornado chart (about 2 minutes).
arch-table: $(STAMP)
	$(VENV)/bin/mirage arch-table --out out/arch/table.md --plot out/arch/tornado.png
	cp out/arch/tornado.png docs/img/arch_tornado.png

# The README's design-space table: every encoding x element x electrode on the default chip (about 5 minutes).
design-table: $(STAMP)
	$(VENV)/bin/mirage design --space --out out/design-space.md

clean:
	rm -rf $(VENV) out .pytest_cache
