#!/usr/bin/env bash
# Compiles and lints the Bicep in infra/ with the real Bicep CLI; any warning fails.
#
#   scripts/bicep.sh          build + lint main.bicep and both parameter files,
#                             and write the ARM template to dist/infra/main.json
#   scripts/bicep.sh path     print the path of the Bicep CLI (fetching it if needed)
#
# Uses `bicep` from PATH when there is one. Otherwise the CLI comes from NuGet
# (Azure.Bicep.CommandLine.linux-x64, pinned below and checked against its
# SHA-512) into .tools/, so a fresh machine needs nothing but NuGet access, and
# later runs need no network at all. No Azure access is involved.
set -euo pipefail
cd "$(dirname "$0")/.."

BICEP_VERSION=0.49.2
BICEP_PACKAGE=azure.bicep.commandline.linux-x64
BICEP_SHA512=9019d7d221bdc1dfcf59d093c057d4be6e897a69fee4beec63b6fb1d08b993e2cbc1d166adbc38cb94532c5c5ec0214c741a944e188e20b31aeec8339253c401
NUGET_FLAT_CONTAINER=${NUGET_FLAT_CONTAINER:-https://api.nuget.org/v3-flatcontainer}
CACHE_DIR=.tools/bicep/${BICEP_VERSION}

# The .NET runtime inside the CLI needs somewhere to write; CI may have no HOME.
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_BUNDLE_EXTRACT_BASE_DIR=${DOTNET_BUNDLE_EXTRACT_BASE_DIR:-$PWD/.tools/dotnet-bundle}

fetch() {
  if command -v curl >/dev/null; then curl -fsSL --retry 3 -o "$2" "$1"; else wget -q -O "$2" "$1"; fi
}

extract_cli() {
  # $1 = .nupkg (a zip), $2 = destination folder
  if command -v unzip >/dev/null; then
    unzip -q -o "$1" tools/bicep -d "$2"
  else
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("tools/bicep", sys.argv[2])' "$1" "$2"
  fi
}

resolve_bicep() {
  if command -v bicep >/dev/null; then
    command -v bicep
    return
  fi
  local cli=$CACHE_DIR/tools/bicep
  if [[ ! -x $cli ]]; then
    local tmp
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/bicep.XXXXXX")
    local nupkg=$tmp/bicep.nupkg
    echo "bicep: fetching ${BICEP_PACKAGE} ${BICEP_VERSION} from NuGet" >&2
    fetch "${NUGET_FLAT_CONTAINER}/${BICEP_PACKAGE}/${BICEP_VERSION}/${BICEP_PACKAGE}.${BICEP_VERSION}.nupkg" "$nupkg"
    echo "${BICEP_SHA512}  ${nupkg}" | sha512sum -c --quiet - >&2
    extract_cli "$nupkg" "$tmp/pkg"
    chmod +x "$tmp/pkg/tools/bicep"
    mkdir -p "$(dirname "$CACHE_DIR")"
    rm -rf "$CACHE_DIR"
    # A rename, so that a concurrent run never sees half a CLI.
    mv "$tmp/pkg" "$CACHE_DIR"
    rm -rf "$tmp"
  fi
  echo "$PWD/$cli"
}

# Runs a Bicep command and fails on any diagnostic of level Warning or Error,
# whether from the linter (bicepconfig.json sets its rules to error) or from the
# compiler itself (BCP warnings such as unknown properties are not linter rules).
run_strict() {
  local out
  if ! out=$("$BICEP" "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    echo "bicep $1 failed" >&2
    exit 1
  fi
  if grep -E ' : (Warning|Error) ' <<<"$out" >&2; then
    echo "bicep $1 reported warnings; warnings are errors here" >&2
    exit 1
  fi
}

BICEP=$(resolve_bicep)

if [[ ${1:-} == path ]]; then
  echo "$BICEP"
  exit 0
fi

"$BICEP" --version
mkdir -p dist/infra
run_strict build infra/main.bicep --outfile dist/infra/main.json
run_strict lint infra/main.bicep
for params in infra/main.*.bicepparam; do
  run_strict build-params "$params" --outfile "dist/infra/$(basename "${params%.bicepparam}").parameters.json"
  run_strict lint "$params"
done
echo "bicep: infra/ builds and lints clean"
