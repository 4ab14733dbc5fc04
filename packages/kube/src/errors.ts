import { DeploytagError } from '@deploytag/core';
import type { DeploytagErrorOptions } from '@deploytag/core';

/** Stable codes of the errors raised by `@deploytag/kube`. */
export const KubeErrorCodes = {
  /** The Kubernetes API refused or failed a request. */
  API: 'E_KUBE_API',
  /** A namespace exists but belongs to someone else (unlabelled, another branch or repository). */
  NAMESPACE_NOT_OURS: 'E_KUBE_NAMESPACE_NOT_OURS',
  /** A rollout cannot succeed (image pull, crash loop, unschedulable, failed Job, deadline). */
  ROLLOUT_STUCK: 'E_KUBE_ROLLOUT_STUCK',
  /** A LoadBalancer got no address before the deadline. */
  ADDRESS_PENDING: 'E_KUBE_ADDRESS_PENDING',
  /** The deploy lock could not be taken in time. */
  LOCKED: 'E_KUBE_LOCKED',
  /** Port-forwarding failed. */
  PORT_FORWARD: 'E_KUBE_PORT_FORWARD',
  /** A cloud (EKS, GKE) call or credential failed. */
  CLOUD: 'E_KUBE_CLOUD',
} as const;

/** An error of `@deploytag/kube`; `code` is one of {@link KubeErrorCodes}. */
export class KubeError extends DeploytagError {
  /**
   * @param code - one of {@link KubeErrorCodes}
   * @param message - what went wrong and what to do
   * @param options - cause, details, exit code
   */
  constructor(
    code: (typeof KubeErrorCodes)[keyof typeof KubeErrorCodes],
    message: string,
    options: DeploytagErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

/** The HTTP status of a failed Kubernetes API call, if it is one. */
export function apiStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** Whether a Kubernetes API call failed with 404. */
export function isNotFound(error: unknown): boolean {
  return apiStatus(error) === 404;
}

/** Whether a Kubernetes API call failed with 409 (already exists, or a stale resourceVersion). */
export function isConflict(error: unknown): boolean {
  return apiStatus(error) === 409;
}

/** Wraps a failed API call into a {@link KubeError} that says what was being done. */
export function apiError(what: string, error: unknown): KubeError {
  const status = apiStatus(error);
  let reason = error instanceof Error ? error.message : String(error);
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') reason = parsed.message;
    } catch {
      // keep the error's own message
    }
  }
  const hint =
    status === 401 || status === 403
      ? '; check the kubeconfig credentials and their RBAC permissions'
      : status === undefined
        ? '; check that the cluster is reachable (KUBECONFIG, network)'
        : '';
  return new KubeError(
    KubeErrorCodes.API,
    `${what} failed${status ? ` (HTTP ${status})` : ''}: ${reason}${hint}`,
    {
      cause: error,
      details: { status },
    },
  );
}
