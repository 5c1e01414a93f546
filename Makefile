# Two commands do everything on a fresh machine: `make demo` and `make test`
# (`make demo VENDOR=canon` for a simulated Canon EOS body).
# Each sets up what it needs first (a .venv, and Debian packages only when missing).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# through env: with $SUDO empty, a VAR=value after it would be run as the command
APT    := env DEBIAN_FRONTEND=noninteractive apt-get -qq

# command -> Debian package that provides it
DEBS := gphoto2:gphoto2 tshark:tshark dumpcap:tshark systemd-analyze:systemd chromium:chromium ip:iproute2 tc:iproute2

.PHONY: all setup debs lint test demo bench clean

all: test

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[all,test]'
	@touch $(STAMP)

# Byte-compile (only what changed): the CLI starts faster, even where
# PYTHONDONTWRITEBYTECODE is set.
setup: $(STAMP)
	@$(PY) -m compileall -q ptpd clients bench >/dev/null

# Install the external judges only when they are missing (root on CI and here).
debs:
	@missing=""; for pair in $(DEBS); do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || case " $$missing " in *" $$pkg "*) ;; *) missing="$$missing $$pkg";; esac; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO $(APT) update && echo 'wireshark-common wireshark-common/install-setuid boolean false' | $$SUDO debconf-set-selections && \
	  $$SUDO $(APT) install -y --no-install-recommends $$missing >/dev/null; \
	fi

# ruff (rules in pyproject.toml) and mypy (strict for the wire layers, the bus and the
# client library); a few seconds, so make test runs it first
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

test: setup debs lint
	$(PY) -m pytest -q -p no:cacheprovider -n 4

# make demo VENDOR=canon: the same on a simulated Canon EOS body
demo: setup
	$(PY) -m ptpdemo $(if $(VENDOR),--vendor $(VENDOR))

bench: setup debs
	$(PY) -m bench.run_all

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis .mypy_cache .ruff_cache
