#!/usr/bin/env bash
# Installs the Debian packages the tests and the playground need, when missing:
# clang + lld + wasi-libc + the wasm32 compiler-rt to compile the C programs,
# chromium for the browser tests, binaryen for the native wasm-opt the fuzzer
# generates random modules with, rustc with the wasm32 standard library for
# the Rust program of the tests. Safe to run again; does nothing when all is there.
set -euo pipefail

missing=()
command -v clang >/dev/null 2>&1 || missing+=(clang)
command -v wasm-ld >/dev/null 2>&1 || missing+=(lld)
[ -f /usr/lib/wasm32-wasi/libc.a ] || missing+=(wasi-libc)
compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a" >/dev/null || missing+=(libclang-rt-dev-wasm32)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v wasm-opt >/dev/null 2>&1 || missing+=(binaryen)
# Debian's rustc, whatever rustup may have put first on PATH.
[ -x /usr/bin/rustc ] || missing+=(rustc)
[ -d /usr/lib/rustlib/wasm32-unknown-unknown ] || missing+=(libstd-rust-dev-wasm32)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "ensure-system-deps: installing Debian packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "ensure-system-deps: cannot install ${missing[*]}: not root and no sudo." >&2
    echo "Run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
  echo "ensure-system-deps: apt-get could not install ${missing[*]}." >&2
  echo "Install them by hand (Debian/Ubuntu: apt-get install -y ${missing[*]}) and run again." >&2
  exit 1
fi
echo "ensure-system-deps: done"
