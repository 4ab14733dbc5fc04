#!/usr/bin/env bash
# The whole test suite: installs dependencies when missing, builds, then runs the unit tier and the
# integration and e2e tiers against the real local stack (provisioned on first use, then cached).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npm run -s stack -- provision
npx nx run-many -t build --output-style=stream-without-prefixes
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --project unit --project integ --project e2e \
  --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# One plain closing line for CI logs, from vitest's JSON report.
node -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$report" || true
exit "$status"
