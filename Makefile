# bundle-extract: the two commands of README.md live here.
#   make demo  - install into .venv, start a local registry with a sample bundle, pull it into ./demo-out
#   make test  - install everything the tests need (apt packages included) and run the whole suite
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
APT_PACKAGES := docker-registry skopeo umoci gnupg gcc libyaml-dev
# igzip (the C limit pipeline of make bench)
BENCH_APT_PACKAGES := isal
APT_BINARIES := docker-registry skopeo umoci gpg gpg-agent gcc
# the YAML reader's optional C extension (goyaml's event loop) builds on libyaml's headers (libyaml-dev)
CEXT_SRC := imgextract/catalog/render/_goyamlc.c

.PHONY: venv system-deps bench-deps demo test lint unit nonroot clean bench

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The demo needs the package, its runtime dependencies and the `demo` extra (requests, which the
# registry fixture that pushes the sample bundle uses); the tests need the test extras.
$(VENV)/.installed-runtime: pyproject.toml $(CEXT_SRC) | $(BIN)/python
	$(BIN)/pip install -q -e '.[demo]'
	$(BIN)/python -m compileall -q imgextract  # editable install: byte-compile now (start-up ~0.3 s faster)
	touch $@

$(BIN)/bundle-extract: pyproject.toml $(CEXT_SRC) | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/python -m compileall -q imgextract
	touch $(VENV)/.installed-runtime $@

venv: $(BIN)/bundle-extract

system-deps:
	@missing=""; for b in $(APT_BINARIES); do command -v $$b >/dev/null || missing="$$missing $$b"; done; \
	[ -e /usr/include/yaml.h ] || missing="$$missing libyaml-dev"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi

demo: system-deps $(VENV)/.installed-runtime
	$(BIN)/python registry-fixtures/demo.py --out demo-out

lint: venv
	$(BIN)/ruff check imgextract tests registry-fixtures benchmarks
	$(BIN)/ruff format --check imgextract tests registry-fixtures benchmarks
	$(BIN)/mypy
	$(BIN)/mypy tests
	$(BIN)/lint-imports --no-cache
	@# the C extension compiles without a warning (pip builds it with -Wall -Wextra, and leaves it
	@# out, quietly, where it cannot build: IMGEXTRACT_REQUIRE_CEXT in .ci/run makes that a failure)
	@if [ -e /usr/include/yaml.h ] || [ -n "$${IMGEXTRACT_REQUIRE_CEXT:-}" ]; then \
	  $${CC:-cc} -O2 -Wall -Wextra -Werror -fPIC -c -o /dev/null \
	    -I"$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" $(CEXT_SRC); \
	else echo "lint: no libyaml headers (Debian libyaml-dev): C extension not checked"; fi

test: system-deps venv lint
	CI=$${CI:-} $(BIN)/python -m pytest -q -p no:cacheprovider
	$(MAKE) --no-print-directory nonroot

# The layer applier must work unprivileged: rerun its tests as an ordinary user.
nonroot:
	@if [ "$$(id -u)" = 0 ]; then bash .ci/nonroot; else echo "not root: the whole suite already ran unprivileged"; fi

# make bench also needs igzip (Debian isal) for the C limit pipeline; CI does not.
bench-deps: system-deps
	@command -v igzip >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(BENCH_APT_PACKAGES) >/dev/null; }

# BENCH_HUGE=1 adds the peak-RSS workloads (100,000 files, a 2 GiB layer; minutes to build)
bench: bench-deps venv
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache
