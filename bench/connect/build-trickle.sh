#!/usr/bin/env bash
# Build this checkout with bench/connect/trickle.patch applied (send the description before ICE gathering completes,
# candidates and an end-of-candidates marker after it) into a temporary directory that shares node_modules by a
# symlink, and print the path of its bin/rtc-cli.js, for `npx tsx bench/connect/run.ts --bin trickle=<path>`.
# The checkout itself is not touched.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/rtc-cli-trickle-XXXXXX")
cd "$root"
git ls-files -z src bin package.json tsconfig.json tsconfig.build.json fixtures | xargs -0 cp --parents -t "$out"
ln -s "$root/node_modules" "$out/node_modules"
(cd "$out" && git apply "$root/bench/connect/trickle.patch")
(cd "$out" && node node_modules/typescript/bin/tsc -p tsconfig.build.json)
echo "$out/bin/rtc-cli.js"
