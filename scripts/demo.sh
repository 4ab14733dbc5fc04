#!/usr/bin/env bash
# The main job: brings the real local stack up (provisioning it on first use, with progress),
# builds the packages, and runs `deploytag pipeline` on the sample service as branch feature/demo
# twice: the first push builds and deploys, the second shows an unchanged commit is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON="${NX_DAEMON:-false}" NX_NO_CLOUD=true NX_TUI=false
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npm run -s stack -- up
npx nx run @deploytag/cli:build --output-style=stream-without-prefixes >/dev/null
npx tsx tools/harness/src/demo.ts
