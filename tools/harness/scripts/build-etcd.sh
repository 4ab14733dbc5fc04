#!/usr/bin/env bash
# Builds etcd from the Go module proxy into the DeployTag cache. Debian's etcd (3.4.23) is too old
# for the watch-progress requests Kubernetes clients now make: kube-apiserver turns their watch-list
# streams away, kwok's watches keep ending, and pods become ready minutes late. go.etcd.io/etcd's
# modules replace their siblings with local paths, so `go install` cannot build it; a wrapper
# module requiring the server module builds its main package instead. Idempotent.
set -euo pipefail
version="${1:?usage: build-etcd.sh vX.Y.Z OUT_DIR}"
out="${2:?usage: build-etcd.sh vX.Y.Z OUT_DIR}"
[[ -x "$out/etcd" ]] && exit 0
work="$(mktemp -d "${TMPDIR:-/tmp}/deploytag-etcd-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
go mod init local/etcd-wrapper >/dev/null 2>&1
echo "resolving go.etcd.io/etcd/server/v3@$version"
go get "go.etcd.io/etcd/server/v3@$version"
echo "compiling etcd $version"
mkdir -p "$out"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3
mv "$out/etcd.tmp" "$out/etcd"
