#!/usr/bin/env bash
# The project's test command; CI runs it (through .ci/run) as root on a fresh machine.
#
# The integration tests check doppel's Parquet output with an independent reader,
# scripts/check_parquet.py (pyarrow), and the YAML blocks of the documentation with PyYAML
# (tests/it/docs_examples.rs).  Both live in a venv under target/pyenv, installed on first use,
# and the tests find that interpreter through DOPPEL_PYTHON.
#
#   bash scripts/test.sh              # style (cargo fmt --check, clippy -D warnings), every test,
#                                     # then the install check (scripts/check_install.sh)
#   bash scripts/test.sh some_filter  # extra arguments go to `cargo test`
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Building doppel needs libclang (the pg_query crate, PostgreSQL's own parser for dump files).
bash scripts/build-deps.sh

PYARROW_VERSION=26.0.1
PYYAML_VERSION=6.0.3
# moto's server mode: the local S3-compatible server of the object-storage tests (tests/it/object_store.rs).
MOTO_VERSION=5.2.5
VENV="$PWD/target/pyenv"

if ! "$VENV/bin/python" -c "import sys, pyarrow, yaml, moto; sys.exit(pyarrow.__version__ != '$PYARROW_VERSION' or yaml.__version__ != '$PYYAML_VERSION' or moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "test.sh: installing pyarrow $PYARROW_VERSION, PyYAML $PYYAML_VERSION and moto $MOTO_VERSION into target/pyenv" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "pyarrow==$PYARROW_VERSION" "PyYAML==$PYYAML_VERSION" "moto[server]==$MOTO_VERSION"
fi
export DOPPEL_PYTHON="$VENV/bin/python"

# The report page's browser tests (tests/it/report/browser.rs) draw it in headless Chromium,
# Debian's `chromium` package: installed here when missing (the tests skip without it, saying so).
if ! command -v chromium >/dev/null 2>&1; then
  echo "test.sh: installing chromium (for the report page's browser tests)" >&2
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium >&2
fi

# Style first, on a full run (extra arguments select tests and skip it): formatting as
# rustfmt.toml says, and no clippy warning anywhere.
if [ "$#" -eq 0 ]; then
  cargo fmt --check
  cargo clippy --all-targets --quiet -- -D warnings
fi

# The integration tests (one binary, tests/it) mostly wait on PostgreSQL and on the doppel
# processes they start, so they run on more threads than a small machine has cores: on 2 busy
# cores, 4 threads took 556 s where the default 2 took 713 s. RUST_TEST_THREADS overrides it.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}"

cargo test --all-targets "$@"

# On a full run, the documented install exactly as users run it: `cargo install --locked
# --path .` (release profile) into a temporary root, then the installed binary's --version and
# the shop job. The optimised build adds a few minutes on 2 cores; it also leaves target/release
# ready for the README's first command.
if [ "$#" -eq 0 ]; then
  DOPPEL_INSTALL_PROFILE=release bash scripts/check_install.sh
fi
