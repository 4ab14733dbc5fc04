#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler and kubectl from the Go module
# proxy into the DeployTag cache. k8s.io/kubernetes replaces its staging modules with local paths,
# so `go install` cannot build it; a wrapper module replaces each staging module with its published
# v0.X.Y (identical to v1.X.Y) instead. Idempotent: exits at once when the binaries exist.
set -euo pipefail
version="${1:?usage: build-kubernetes.sh vMAJOR.MINOR.PATCH OUT_DIR}"
out="${2:?usage: build-kubernetes.sh vMAJOR.MINOR.PATCH OUT_DIR}"
cmds=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
missing=0
for c in "${cmds[@]}"; do [[ -x "$out/$c" ]] || missing=1; done
[[ $missing == 0 ]] && exit 0

minor="${version#v1.}"; minor="${minor%%.*}"
staging_version="v0.${version#v1.}"
work="$(mktemp -d "${TMPDIR:-/tmp}/deploytag-k8s-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
go mod init local/k8s-wrapper >/dev/null 2>&1
gomod="$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
[[ -f "$gomod" ]] || { echo "cannot download k8s.io/kubernetes@$version from the Go module proxy" >&2; exit 1; }
go_line="$(grep -m1 '^go ' "$gomod")"
go mod edit -go="${go_line#go }"
while read -r module; do
  go mod edit -replace="$module=$module@$staging_version"
done < <(sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/.*#\1#p' "$gomod")
echo "resolving k8s.io/kubernetes@$version modules (first time: about 1 GB of downloads)"
pkgs=()
for c in "${cmds[@]}"; do
  if [[ $c == kubectl ]]; then pkgs+=("k8s.io/kubernetes/cmd/kubectl"); else pkgs+=("k8s.io/kubernetes/cmd/$c"); fi
done
for p in "${pkgs[@]}"; do go get -tool "$p@$version"; done
ldflags="-s -w"
for kv in "gitVersion=$version" "gitMajor=1" "gitMinor=$minor" "gitTreeState=clean" "buildDate=1970-01-01T00:00:00Z"; do
  ldflags+=" -X k8s.io/component-base/version.$kv -X k8s.io/client-go/pkg/version.$kv"
done
mkdir -p "$out"
for i in "${!cmds[@]}"; do
  echo "compiling ${cmds[$i]} $version"
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out/${cmds[$i]}.tmp" "${pkgs[$i]}"
  mv "$out/${cmds[$i]}.tmp" "$out/${cmds[$i]}"
done
