#!/usr/bin/env bash
# Step 1 of the rtc-cli GitHub Action (action.yml): install rtc-cli from the action's own checkout
# ($GITHUB_ACTION_PATH, the repository at the ref the workflow named in `uses:`). `npm ci` there installs the
# dependencies and builds dist/ through the "prepare" script. A stamp of package.json, the lock file and the sources
# lets a second use of the action in the same job skip the install.
set -euo pipefail

root="${GITHUB_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
if ! command -v node >/dev/null 2>&1; then
  echo "::error title=rtc-cli action::Node.js is not installed on this runner: add actions/setup-node (node-version: 20) before the rtc-cli step"
  exit 1
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "::error title=rtc-cli action::rtc-cli needs Node.js 20 or newer, this runner has $(node --version): add actions/setup-node (node-version: 20) before the rtc-cli step"
  exit 1
fi

cd "$root"
stamp_file="node_modules/.rtc-cli-action-stamp"
stamp="$(node -e '
  const fs = require("fs"), path = require("path"), h = require("crypto").createHash("sha256");
  const walk = (d) => fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)])) : [];
  for (const f of ["package.json", "package-lock.json", ...walk("bin"), ...walk("src"), ...walk("patches")]) { h.update(f + "\0"); h.update(fs.readFileSync(f)); }
  console.log(h.digest("hex"));
')"
if [ -f dist/cli.js ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
  echo "rtc-cli $(node bin/rtc-cli.js --version) is already installed in $root"
  exit 0
fi

echo "::group::npm ci in $root (installs rtc-cli's dependencies and builds dist/)"
npm ci --no-audit --no-fund
echo "::endgroup::"
if [ ! -f dist/cli.js ]; then
  echo "::error title=rtc-cli action::npm ci finished but dist/cli.js was not built in $root"
  exit 1
fi
printf '%s\n' "$stamp" > "$stamp_file"
echo "installed rtc-cli $(node bin/rtc-cli.js --version) in $root"
