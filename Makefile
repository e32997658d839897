# The README's two quick-start commands: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.ragvid-installed
DEV_STAMP := $(VENV)/.ragvid-dev-installed

.PHONY: setup system demo test lint bench clean

# fonts for every supported script (Noto per script, Noto CJK, Symbola's monochrome emoji), espeak-ng, the
# offline voice of every language but English, and tesseract with the OCR data of the languages whose videos
# `ragvid sid encode` reads: Debian packages, installed when one is missing
SYSTEM_PACKAGES := fonts-noto-core fonts-noto-cjk fonts-symbola espeak-ng tesseract-ocr tesseract-ocr-eng \
	tesseract-ocr-spa tesseract-ocr-chi-sim tesseract-ocr-ara tesseract-ocr-hin
# the gallery's browser tests: Debian's chromium and its matching driver (selenium drives them; nothing is downloaded)
TEST_PACKAGES := chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# the CPU build of torch first: a bare `torch` requirement would pull several GB of CUDA wheels
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e .
	touch $(STAMP)

# the test tools, the local LLM server (llama-cpp-python compiles for 3-5 min) and langgraph-cli. llama.cpp is
# built for x86-64 with AVX2 (GGML_NATIVE=OFF), not for this CPU: a native build on a Xeon with AMX segfaults on
# the first prompt of more than one token (ggml_backend_amx_mul_mat, ggml-org/llama.cpp#20824)
$(DEV_STAMP): $(STAMP)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PY) -m pip install -q -e '.[dev]'
	touch $(DEV_STAMP)

system:
	@missing=$$(for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null; then \
	    echo "installing $$missing (apt-get)"; \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "warning: no apt-get: install the fonts and voices of $$missing yourself (see README)"; fi; \
	fi

PACKAGES ?= $(SYSTEM_PACKAGES)
setup test: PACKAGES = $(SYSTEM_PACKAGES) $(TEST_PACKAGES)

setup: system $(DEV_STAMP)

demo: system $(STAMP)
	$(VENV)/bin/ragvid generate examples/sids/coffee.json -o demo.mp4

# pytest exits 5 when it collected nothing; CI must see that as a failure, not a pass
test: system $(DEV_STAMP)
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests were collected"; exit 1; fi; exit $$rc

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(DEV_STAMP)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) bench/render.py
	$(PY) bench/llm.py

clean:
	rm -rf $(VENV) demo.mp4 demo.run.json
