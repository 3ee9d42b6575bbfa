#!/usr/bin/env bash
# Checks the documented install (docs/install.md): `cargo install --locked --path .` into a
# temporary root, then the installed binary: `doppel --version`, and the main job on the
# bundled shop fixture (the four tables written).
#
#   DOPPEL_INSTALL_PROFILE=release bash scripts/check_install.sh   # the release build users get
#                                                            # (a full optimised build: minutes)
#   bash scripts/check_install.sh                            # dev profile (--debug), reusing the
#                                                            # tests' build: seconds, for a quick check
#
# scripts/test.sh runs it with the release profile, the command docs/install.md documents.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

case "${DOPPEL_INSTALL_PROFILE:-dev}" in
  dev) profile=(--debug) ;;
  release) profile=() ;;
  *) echo "check_install.sh: DOPPEL_INSTALL_PROFILE must be dev or release" >&2; exit 2 ;;
esac

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
cargo install --quiet --locked --path . --root "$root" --target-dir "${CARGO_TARGET_DIR:-target}" "${profile[@]}"
doppel="$root/bin/doppel"

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
if [ "$("$doppel" --version)" != "doppel $version" ]; then
  echo "check_install.sh: the installed doppel --version says '$("$doppel" --version)', not 'doppel $version'" >&2
  exit 1
fi

# The README's main job, run by the installed binary from outside the repository.
cp fixtures/shop/demo.key "$root/demo.key"
chmod 600 "$root/demo.key"
repo=$PWD
(cd "$root" && "$doppel" run --quiet --rules "$repo/rules/shop.toml" --from "$repo/fixtures/shop/data" \
  --to "$root/shop" --key-file "$root/demo.key")
for table in customers orders order_items support_tickets; do
  if [ ! -s "$root/shop/public.$table.parquet" ]; then
    echo "check_install.sh: the installed doppel wrote no public.$table.parquet" >&2
    exit 1
  fi
done
echo "check_install.sh: cargo install --locked (${DOPPEL_INSTALL_PROFILE:-dev}) ok: $("$doppel" --version), shop job ok"
