import { apiStatus } from '@deploytag/kube';
import { CleanupError, CleanupErrorCodes } from './errors.js';

/** The reason the API server gave for a failed call, or the error's own message. */
function reasonOf(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // not JSON: use the error's message
    }
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Wraps a failed Kubernetes API call into a {@link CleanupError} that says what was being done.
 *
 * @param what - what was being done (`deleting namespace feature-x`)
 * @param error - what the client threw
 */
export function kubeError(what: string, error: unknown): CleanupError {
  const status = apiStatus(error);
  const hint =
    status === 401 || status === 403
      ? '; check the kubeconfig credentials and their RBAC permissions'
      : status === undefined
        ? '; check that the cluster is reachable (KUBECONFIG, network)'
        : '';
  return new CleanupError(
    CleanupErrorCodes.KUBE,
    `${what} failed${status === undefined ? '' : ` (HTTP ${status})`}: ${reasonOf(error)}${hint}`,
    { cause: error, details: { status } },
  );
}
