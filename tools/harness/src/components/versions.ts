/**
 * Versions of the programs the harness builds from the Go module proxy. Each must declare a `go`
 * directive the machine's Go toolchain satisfies (Go 1.26 here).
 */
export const KUBERNETES_VERSION = 'v1.37.2';
export const KWOK_VERSION = 'v0.8.0';
export const HELM_VERSION = 'v3.22.0';
export const ETCD_VERSION = 'v3.6.8';
/** docker-credential-helpers, for the `pass` credential helper (a Docker config's `credsStore`). */
export const CREDENTIAL_HELPERS_VERSION = 'v0.9.13';
