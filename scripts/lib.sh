# Shared by scripts/run, scripts/test and scripts/bench: installs what is missing, idempotently,
# saying what it does. Everything comes from crates.io, npm or Debian: nothing else is reachable
# from our machines (see ../shared/docs/toolchain.md for the measured times and traps).

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# cargo-leptos (built with no_downloads) takes wasm-bindgen and wasm-opt from PATH.
export PATH="$ROOT/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

CARGO_LEPTOS_VERSION="0.3.10"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
skip() { printf '    %s (already there)\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: '$*' needs root" >&2; return 1; fi
}

APT_UPDATED=""
apt_install() {
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -q; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

setup_toolchain() {
  step "Rust target wasm32-unknown-unknown"
  if rustup target list --installed | grep -qx wasm32-unknown-unknown; then skip "wasm32 target"; else
    rustup target add wasm32-unknown-unknown; fi

  step "cargo-leptos $CARGO_LEPTOS_VERSION"
  if cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then skip "cargo-leptos"; else
    echo "    compiling cargo-leptos (about 14 minutes on 2 cores, once per machine)"
    # no_downloads: its default installs fetch binaries from outside the registries.
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi

  local wbg; wbg="$(wasm_bindgen_version)"
  step "wasm-bindgen CLI $wbg (the version in Cargo.lock)"
  if wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$"; then skip "wasm-bindgen $wbg"; else
    # Without --locked: its lockfile names a crate version the index lacks.
    cargo install wasm-bindgen-cli --version "$wbg" --force
  fi

  step "Node packages in end2end/ (wasm-opt 123, Playwright)"
  if ! command -v npm >/dev/null; then apt_install nodejs npm; fi
  # node_modules is current when it was installed from this very lockfile.
  local lock_hash stamp=end2end/node_modules/.installed-from-lock
  lock_hash="$(sha256sum end2end/package-lock.json | cut -d' ' -f1)"
  if [ -x end2end/node_modules/.bin/wasm-opt ] && [ "$(cat "$stamp" 2>/dev/null)" = "$lock_hash" ]; then
    skip "node_modules"
  else
    # Debian's binaryen (wasm-opt 108) corrupts wasm-bindgen output; the npm build is 123.
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
    echo "$lock_hash" > "$stamp"
  fi
}

setup_browser() {
  step "Chromium (Debian)"
  if [ -x /usr/bin/chromium ]; then skip "chromium"; else apt_install chromium; fi
}

# What the sources are, as git sees them: the commit, and the content of every change and
# untracked file. Empty outside a git checkout (then every call builds).
tree_state() {
  git rev-parse --verify -q HEAD >/dev/null 2>&1 || return 0
  {
    git rev-parse HEAD
    git diff HEAD --binary
    git ls-files -o --exclude-standard -z | xargs -0 -r sha256sum
  } | sha256sum | cut -d' ' -f1
}

build_release() {
  step "Building the product (release)"
  # The same tree as the last build: nothing to do (cargo-leptos would still spend about 47 s
  # regenerating the browser bundle).
  local stamp=target/release/.built-from state
  state="$(tree_state)"
  if [ -n "$state" ] && [ -x target/release/server ] && [ -f target/release/hash.txt ] \
    && [ "$(cat "$stamp" 2>/dev/null)" = "$state" ]; then
    skip "release build of this tree"
    return 0
  fi
  rm -f "$stamp"
  cargo leptos build --release
  # Brotli and gzip copies of the static files, served as they are (no compressing per request).
  target/release/server precompress target/site
  [ -z "$state" ] || echo "$state" > "$stamp"
}
