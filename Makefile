# Two commands set everything up: `make gallery` builds the gallery, `make test` runs the tests.
PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
MANIFEST ?= gallery.yaml
LAYERS   ?=
METHODS  ?=
PORT     ?= 8000

.PHONY: install gallery gallery-all preview site serve test test-fast bench bench-peers natural-quality clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## the whole gallery of gallery.yaml (hours on a 2-core CPU); LAYERS=block1_conv1,block5_conv1 for a part
gallery: $(STAMP)
	$(BIN)/vgg-gallery build $(MANIFEST) $(if $(LAYERS),--layers $(LAYERS)) $(if $(METHODS),--methods $(METHODS))

## every filter of every layer (gallery-all.yaml: 4,224 per method, about a day on a 2-core CPU) into site-all/
gallery-all: $(STAMP)
	$(BIN)/vgg-gallery build gallery-all.yaml $(if $(LAYERS),--layers $(LAYERS)) $(if $(METHODS),--methods $(METHODS))

## a quick gallery (preview.yaml: 4 layers, 8 filters, both methods, small images, dataset examples) into preview/
preview: $(STAMP)
	$(BIN)/vgg-gallery build preview.yaml

## re-render every page from the cache, computing nothing
site: $(STAMP)
	$(BIN)/vgg-gallery site $(MANIFEST)

## browse the site: make serve (gallery) or make serve MANIFEST=preview.yaml
serve: $(STAMP)
	$(BIN)/vgg-gallery serve $(MANIFEST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not browser"

clean:
	rm -rf site site-all preview .cache

## the benchmark: original loop vs generator vs the machine's fp32 rate (docs/PERFORMANCE.md)
bench: $(STAMP)
	$(BIN)/python bench/bench.py --threshold-case --mixed

## the whole `vgg-gallery build` of a small job (block4_conv3, 16 filters x 10 steps), command to exit, vs the original loop
.PHONY: bench-whole
bench-whole: $(STAMP)
	$(BIN)/python bench/bench.py --whole-process $(ARGS)

## where a natural step's time goes: its pieces, the loop with one removed, before vs now (docs/PERFORMANCE.md)
bench-natural: $(STAMP)
	$(BIN)/python bench/natural_profile.py $(ARGS)

## render time and site size at 64 vs 512 filters per layer (random weights; fills its cache once, minutes)
.PHONY: bench-site
bench-site: $(STAMP)
	$(BIN)/python bench/site_bench.py $(ARGS)

## dataset examples over the built-in photos and 1,000 synthetic ones: time and peak memory (ARGS="--photos 100")
.PHONY: bench-examples
bench-examples: $(STAMP)
	$(BIN)/python bench/examples_bench.py $(ARGS)

## pixel vs natural: share of filters activated and high-frequency energy (docs/NATURAL.md)
natural-quality: $(STAMP)
	$(BIN)/python bench/natural_quality.py $(ARGS)

## this project's natural method vs Xplique, tf-keras-vis and Lucent on the same work (venvs in .venv-peers/, tens of minutes)
bench-peers: $(STAMP)
	$(BIN)/python bench/peers/run.py $(ARGS)
