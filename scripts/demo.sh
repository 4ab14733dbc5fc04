#!/usr/bin/env bash
# The main job: brings the real local stack up (provisioning it on first use, with progress) and
# shows how to reach it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npm run -s stack -- up
npm run -s stack -- status
echo
echo "# the stack's environment (eval \"\$(npm run -s stack -- env)\" to use it):"
npm run -s stack -- env | sed -E -e "s/((PASSWORD|TOKEN|SECRET_ACCESS_KEY)=).*/\1'***'/" -e 's#://([^:/@]+):[^@]*@#://\1:***@#'
