# Two commands do all set-up on a fresh machine: `make demo` and `make test` (README).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test bench lint clean

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	test -x /usr/sbin/sshd || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -r requirements.txt
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) --no-deps -e .
	$(PY) -m compileall -q -j 0 tourlink connectors mappings validators warehouse dags devkit >/dev/null
	touch $(STAMP)

demo: install
	$(VENV)/bin/tourlink demo $(if $(SCHEDULER),--scheduler)

test: install
	$(VENV)/bin/pytest -n 2 --dist loadfile -q

bench: install
	command -v psql >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client >/dev/null)
	$(PY) bench/run.py $(BENCH_FLAGS) --markdown bench/out/table.md
	$(PY) bench/sync.py $(SYNC_FLAGS) --markdown bench/out/sync.md
	$(PY) bench/startup.py --markdown bench/out/startup.md
	$(PY) bench/formats.py --rows 200000 1000000
	$(PY) bench/spine_stages.py
	$(PY) bench/indicators.py

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf var build *.egg-info
