# Everything runs from a project-local virtualenv; only python3 (3.11+) and make are needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench
# Pinned with hashes (`make lock` regenerates them from pyproject.toml): every install is reproducible.
RUN_LOCK := requirements/run.lock
DEV_LOCK := requirements/dev.lock
PIP_LOCKED := $(BIN)/pip install --quiet --require-hashes --no-deps
EDITABLE := $(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
# The browser test drives this Chromium (Debian's package; Playwright downloads nothing).
CHROMIUM ?= /usr/bin/chromium
# The inbox tests start this Dovecot (Debian's dovecot-imapd) on 127.0.0.1; the DKIM test runs
# mailauth (npm, pinned with hashes in requirements/npm/package-lock.json), a verifier of its own.
DOVECOT ?= /usr/sbin/dovecot
TOOLS := .tools
MAILAUTH := $(TOOLS)/mailauth/node_modules/.bin/mailauth
# apt-get install $$packages, as root or through sudo (the shell sets $$packages first).
APT_INSTALL = if [ "$$(id -u)" -eq 0 ]; then sudo=; \
	  elif command -v sudo >/dev/null 2>&1; then sudo=sudo; \
	  else echo "not root and no sudo: install $$packages as root" >&2; exit 1; fi; \
	  command -v apt-get >/dev/null 2>&1 || { echo "no apt-get: install $$packages yourself" >&2; exit 1; }; \
	  $$sudo apt-get update && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y $$packages

.PHONY: run serve test test-fast lint typecheck pytest browser test-tools eval bench bench-fetch \
	bench-subscribers dedupe-eval eval-extraction clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==26.3

# The run stamp is also satisfied by the test install (a superset), so `make run` after
# `make test` installs nothing.
$(STAMP): $(BIN)/python $(RUN_LOCK) pyproject.toml
	$(PIP_LOCKED) -r $(RUN_LOCK)
	$(EDITABLE)
	touch $@

$(TEST_STAMP): $(BIN)/python $(DEV_LOCK) pyproject.toml
	$(PIP_LOCKED) -r $(DEV_LOCK)
	$(EDITABLE)
	touch $(STAMP) $@

# Regenerates the locks after a dependency changes in pyproject.toml (needs uv; not used by CI).
lock:
	uv pip compile --quiet --python-version 3.11 --generate-hashes --no-header \
	  pyproject.toml requirements/build.in -o $(RUN_LOCK)
	uv pip compile --quiet --python-version 3.11 --generate-hashes --no-header \
	  --extra test --extra bench pyproject.toml requirements/build.in -o $(DEV_LOCK)

run: $(STAMP)
	$(BIN)/digest run

# Runs in the foreground on DIGEST_SCHEDULE (from .env or the environment) until Ctrl-C.
serve: $(STAMP)
	$(BIN)/digest serve

test: $(TEST_STAMP) browser test-tools lint typecheck pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check digest tests benchmarks
	$(BIN)/ruff format --check digest tests benchmarks

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

pytest: $(TEST_STAMP) browser test-tools
	$(BIN)/pytest -q

# The quick loop while editing: lint, and every test not marked slow (no servers in subprocesses).
test-fast: $(TEST_STAMP)
	$(BIN)/ruff check digest tests benchmarks
	$(BIN)/pytest -q -m "not slow"

# Installs Chromium with apt-get when it is missing (as root, else through sudo).
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  echo "$(CHROMIUM) not found: installing chromium with apt-get"; \
	  packages=chromium; $(APT_INSTALL); \
	fi

# What the end-to-end tests run besides Python: Dovecot for the IMAP inbox, mailauth for DKIM.
test-tools: $(MAILAUTH)
	@if [ ! -x "$(DOVECOT)" ]; then \
	  echo "$(DOVECOT) not found: installing dovecot-imapd with apt-get"; \
	  packages=dovecot-imapd; $(APT_INSTALL); \
	fi

$(MAILAUTH): requirements/npm/package.json requirements/npm/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "npm not found: installing nodejs and npm with apt-get"; \
	  packages="nodejs npm"; $(APT_INSTALL); \
	fi
	mkdir -p $(TOOLS)/mailauth
	cp requirements/npm/package.json requirements/npm/package-lock.json $(TOOLS)/mailauth/
	npm ci --no-audit --no-fund --prefix $(TOOLS)/mailauth
	touch $@

clean:
	rm -rf $(VENV) $(TOOLS) .digest outbox build dist

# The dev lock holds the bench extra too.
$(BENCH_STAMP): $(TEST_STAMP)
	touch $@

# Summary quality: ROUGE of every method on ../shared/eval (or DIGEST_EVAL_DIR), written to
# benchmarks/RESULTS.md; e.g. `make eval EVAL_ARGS="--limit 50"` for a quick look.
eval: $(BENCH_STAMP)
	$(BIN)/python benchmarks/eval.py $(EVAL_ARGS)

# One story, one entry: precision/recall of copies found, false merges, updates, sections
# on ../shared/eval (or DIGEST_EVAL_DIR); e.g. `make dedupe-eval DEDUPE_ARGS="--sample 50"`.
dedupe-eval: $(STAMP)
	$(BIN)/python benchmarks/dedupe_eval.py --write $(DEDUPE_ARGS)

# Speed at archive scale (benchmarks/bench.py): the real `digest` on corpora built from
# ../shared/eval (or DIGEST_EVAL_DIR), as ratios to a naive sumy loop run alongside; needs the
# test extras (aiosmtpd, trustme). `make bench BENCH_ARGS=--quick` for smaller sizes,
# BENCH_ARGS=--record to write the table into benchmarks/RESULTS.md.
bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

# Feeds: the real `digest fetch` of 200 feeds x 20 entries on 127.0.0.1, twice (the second finds
# nothing new); `make bench-fetch FETCH_ARGS=--record` writes the table into benchmarks/RESULTS.md.
bench-fetch: $(STAMP)
	$(BIN)/python benchmarks/fetch_bench.py $(FETCH_ARGS)

# Main text from HTML pages: F1 of the hand-written loader, trafilatura and digest.intake.extract on
# pages generated around ../shared/eval articles (or DIGEST_EVAL_DIR), written to
# benchmarks/RESULTS.md; e.g. `make eval-extraction EXTRACTION_ARGS="--limit 100"`.
eval-extraction: $(STAMP)
	$(BIN)/python benchmarks/extraction_eval.py --write $(EXTRACTION_ARGS)

# Ten thousand readers in 50 preference sets, DKIM-signed, to a counting SMTP sink in its own
# process, against that sink's ceiling measured by a bare client; `make bench-subscribers
# SUBSCRIBERS_ARGS=--quick` for 1,000 readers, SUBSCRIBERS_ARGS=--record to write RESULTS.md.
bench-subscribers: $(TEST_STAMP)
	$(BIN)/python benchmarks/subscribers_bench.py $(SUBSCRIBERS_ARGS)
