#!/bin/sh
# The sample service's own tests, run by the pipeline before anything is built.
set -eu
cd "$(dirname "$0")/.."
grep -q '<h1>sample-service</h1>' site/index.html
[ "$(cat site/health)" = "ok" ]
echo "sample-service: 2 passed, 0 failed"
