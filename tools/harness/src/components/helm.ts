import type { Component } from '../component.js';
import { run } from '../exec.js';
import { ensureGoTool } from '../provision.js';
import { HELM_VERSION } from './versions.js';

// Helm's offline default for .Capabilities.KubeVersion (helm template, --dry-run=client) is set at
// build time too; stamp the Kubernetes minor its client-go is from, as Helm's own release build does.
const HELM_KUBE_MINOR = '37';

const helmTool = {
  name: `helm-${HELM_VERSION}-k1.${HELM_KUBE_MINOR}`,
  pkg: `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`,
  // Stamp the real version: `go install` leaves Helm's internal version at its branch default.
  ldflags: [
    '-s -w',
    `-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`,
    '-X helm.sh/helm/v3/internal/version.gitTreeState=clean',
    '-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1',
    `-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=${HELM_KUBE_MINOR}`,
  ].join(' '),
};

/**
 * The helm CLI, built from the Go module proxy with its version stamped. It runs no daemon: tests
 * and the deploy code call it with `HELM_BIN` and the cluster's `KUBECONFIG`.
 */
export const helm: Component = {
  name: 'helm',
  description: `helm ${HELM_VERSION} CLI`,
  dependsOn: ['kube'],
  async provision() {
    await ensureGoTool(helmTool);
  },
  async start() {
    const bin = await ensureGoTool(helmTool);
    const r = await run(bin, ['version', '--template', '{{.Version}}']);
    return { daemons: [], env: { HELM_BIN: bin, DEPLOYTAG_HELM_VERSION: r.stdout.trim() } };
  },
};
