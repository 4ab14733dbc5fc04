import { Buffer } from 'node:buffer';
import { Secret } from '@deploytag/core';
import { checkEntry } from './parse.js';

/** Variables to render: names to values, plain (not sensitive) or `Secret`. */
export type EnvValues =
  ReadonlyMap<string, string | Secret> | Iterable<readonly [string, string | Secret]>;

function* plainEntries(values: EnvValues): Generator<[string, string]> {
  for (const [name, value] of values) {
    const plain = Secret.isSecret(value) ? value.reveal() : value;
    checkEntry(name, plain, 'output');
    yield [name, plain];
  }
}

/**
 * Quotes a value for POSIX shells: single quotes around it, each `'` written as `'\''`. Inside
 * single quotes a shell interprets nothing (`$`, backticks, `\`, `!` in scripts, newlines), so the
 * result stands for exactly the value's bytes. A NUL character cannot be passed (no environment
 * variable can hold one); {@link renderShell} refuses it.
 */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Options of {@link renderShell}. */
export interface RenderShellOptions {
  /** Names to `unset` before the exports (what the reset hook unset). */
  unset?: Iterable<string>;
}

/**
 * Renders `export NAME='value'` lines for `eval "$(…)"` in bash, dash, zsh or ksh; safe for any
 * value (spaces, quotes, `$`, backticks, newlines, any Unicode). Names are checked; values with
 * NUL are refused, since no environment variable can hold one.
 *
 * @returns the lines, each ending in a newline (empty text for no variables)
 */
export function renderShell(values: EnvValues, options: RenderShellOptions = {}): string {
  let out = '';
  for (const name of options.unset ?? []) {
    checkEntry(name, '', 'output');
    out += `unset ${name}\n`;
  }
  for (const [name, value] of plainEntries(values)) out += `export ${name}=${shellQuote(value)}\n`;
  return out;
}

const DOTENV_PLAIN = /^[A-Za-z0-9_./:@%+,=-]*$/;

/**
 * Renders `NAME=value` lines. Values of safe characters are written bare; others in double quotes
 * with `\\`, `\"`, `\$`, `\n`, `\r` and `\t` escaped, which `parseEnvLines` reads back exactly.
 */
export function renderDotenv(values: EnvValues): string {
  let out = '';
  for (const [name, value] of plainEntries(values)) {
    const text = DOTENV_PLAIN.test(value)
      ? value
      : `"${value.replace(/[\\"$\n\r\t]/g, (c) => ({ '\\': '\\\\', '"': '\\"', $: '\\$', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c] ?? c)}"`;
    out += `${name}=${text}\n`;
  }
  return out;
}

/** Renders one JSON object of names to values, in order, followed by a newline. */
export function renderJson(values: EnvValues): string {
  return `${JSON.stringify(Object.fromEntries(plainEntries(values)), null, 2)}\n`;
}

/** Metadata of a Kubernetes Secret. */
export interface KubernetesSecretMeta {
  /** The Secret's name (a DNS subdomain). */
  name: string;
  /** Its namespace. */
  namespace?: string;
  /** Labels. */
  labels?: Readonly<Record<string, string>>;
}

/** A Kubernetes `v1` `Secret` of type `Opaque`, values base64-encoded under `data`. */
export interface KubernetesSecretManifest {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  type: 'Opaque';
  data: Record<string, string>;
}

const DNS_SUBDOMAIN =
  /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Builds a Kubernetes Secret manifest holding the variables (for `envFrom: secretRef`). The
 * result contains the values (base64 is an encoding, not protection): hand it to the API or
 * `kubectl apply -f -`, never to a log.
 *
 * @throws RangeError for a name that is not a DNS subdomain
 */
export function kubernetesSecretManifest(
  values: EnvValues,
  meta: KubernetesSecretMeta,
): KubernetesSecretManifest {
  if (meta.name.length > 253 || !DNS_SUBDOMAIN.test(meta.name)) {
    throw new RangeError(
      `"${meta.name}" is not a Kubernetes Secret name (lower-case letters, digits, - and ., at most 253)`,
    );
  }
  const data: Record<string, string> = {};
  for (const [name, value] of plainEntries(values)) {
    data[name] = Buffer.from(value, 'utf8').toString('base64');
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: meta.name,
      ...(meta.namespace === undefined ? {} : { namespace: meta.namespace }),
      ...(meta.labels === undefined ? {} : { labels: { ...meta.labels } }),
    },
    type: 'Opaque',
    data,
  };
}

/** Renders {@link kubernetesSecretManifest} as JSON (which `kubectl apply -f -` also reads). */
export function renderKubernetesSecret(values: EnvValues, meta: KubernetesSecretMeta): string {
  return `${JSON.stringify(kubernetesSecretManifest(values, meta), null, 2)}\n`;
}
