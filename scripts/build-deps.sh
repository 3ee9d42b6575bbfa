#!/usr/bin/env bash
# Installs what building doppel needs beyond Rust: libclang, which the pg_query crate's build
# (PostgreSQL's own SQL parser, for dump files as a source) loads through bindgen. On a fresh
# Debian machine run as root it installs Debian's libclang-dev; elsewhere it says what to do.
# Does nothing when libclang is already there. Run by README's set-up and by scripts/test.sh.
set -euo pipefail

# libclang itself: libclang.so or libclang-<version>.so (libclang-cpp, which other packages bring,
# is a different library and does not count).
if compgen -G "/usr/lib/llvm-*/lib/libclang.so*" >/dev/null || compgen -G "/usr/lib/*/libclang.so*" >/dev/null \
  || compgen -G "/usr/lib/*/libclang-[0-9]*.so*" >/dev/null || [ -n "${LIBCLANG_PATH:-}" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "build-deps.sh: installing libclang-dev (pg_query's build needs libclang)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libclang-dev >/dev/null
else
  echo "build-deps.sh: libclang not found; install it (Debian/Ubuntu: apt-get install libclang-dev; or set" \
    "LIBCLANG_PATH to the folder holding libclang.so), see docs/install.md" >&2
  exit 1
fi
