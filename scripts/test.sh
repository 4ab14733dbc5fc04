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
npx vitest run --project unit --project integ --project e2e "$@"
