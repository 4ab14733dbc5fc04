import { stringify } from 'yaml';
import { HelmError, HelmErrorCodes } from './errors.js';

/** Helm values: a YAML mapping. */
export type Values = Record<string, unknown>;

function isMapping(value: unknown): value is Values {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Merges values like Helm does (pure): mappings merge key by key, anything else (lists included)
 * is replaced by the later layer; `null` removes a key.
 *
 * @param layers - earliest first; later ones win
 */
export function mergeValues(...layers: readonly Values[]): Values {
  const out: Values = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === null) {
        Reflect.deleteProperty(out, key);
      } else if (isMapping(value) && isMapping(out[key])) {
        out[key] = mergeValues(out[key], value);
      } else {
        out[key] = isMapping(value) ? mergeValues(value) : value;
      }
    }
  }
  return out;
}

/** Splits on `sep` outside backslash escapes, unescaping `\<sep>`. */
function splitEscaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && text[i + 1] === sep) {
      current += sep;
      i++;
    } else if (ch === sep) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

function typed(raw: string, asString: boolean): unknown {
  if (asString) return raw;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw === 'null') return null;
  if (/^-?(?:0|[1-9]\d{0,14})$/.test(raw)) return Number(raw);
  return raw;
}

function setPath(target: Values, path: string, value: unknown, source: string): void {
  const segments: (string | number)[] = [];
  for (const part of splitEscaped(path, '.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m || (m[1] === '' && m[2] === '')) {
      throw new HelmError(
        HelmErrorCodes.VALUES,
        `cannot read the key ${JSON.stringify(path)} in ${source}; use a.b.c or list[0].name`,
      );
    }
    if (m[1] !== '') segments.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) segments.push(Number(idx[1]));
  }
  let node: Values | unknown[] = target;
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    const nextIsIndex = typeof segments[i + 1] === 'number';
    const container = node as Record<string | number, unknown>;
    if (last) {
      container[segment] = value;
      return;
    }
    let child = container[segment];
    if (nextIsIndex ? !Array.isArray(child) : !isMapping(child)) {
      child = nextIsIndex ? [] : {};
      container[segment] = child;
    }
    node = child as Values | unknown[];
  });
  // Fill holes a sparse index left, as helm does.
  const fill = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (v[i] === undefined) v[i] = null;
      v.forEach(fill);
    } else if (isMapping(v)) Object.values(v).forEach(fill);
  };
  fill(target);
}

/**
 * Parses `a=1,b.c=two,list[0]=x` into values, as `helm --set` does (pure): commas separate
 * assignments (`\,` keeps one), dots nest, `[n]` indexes lists; `true`/`false`/`null` and
 * integers are typed unless `asString`. This is `parse-helm-vars`.
 *
 * @param text - the assignments
 * @param asString - keep every value a string (`--set-string`)
 * @param source - named in errors
 * @throws HelmError `E_HELM_VALUES` for an assignment without `=` or a bad key
 */
export function parseHelmVars(
  text: string,
  asString = false,
  source = 'the helm variables',
): Values {
  const out: Values = {};
  for (const assignment of splitEscaped(text.trim(), ',')) {
    if (assignment.trim() === '') continue;
    const eq = assignment.indexOf('=');
    if (eq <= 0) {
      throw new HelmError(
        HelmErrorCodes.VALUES,
        `cannot read ${JSON.stringify(assignment)} in ${source}: each assignment is KEY=VALUE, separated by commas (a=1,b=2)`,
      );
    }
    setPath(out, assignment.slice(0, eq).trim(), typed(assignment.slice(eq + 1), asString), source);
  }
  return out;
}

/**
 * `parse-helm-vars`: `a=1,b=2` as a YAML values document (pure).
 *
 * @param text - the assignments
 */
export function helmVarsToYaml(text: string): string {
  return stringify(parseHelmVars(text));
}

/**
 * Substitutes `$NAME`, `${NAME}` and `${NAME:-default}` from an environment, like `envsubst`
 * (pure); `$$` is a literal `$`. Unset names become empty and are reported.
 *
 * @param text - the text
 * @param env - the variables
 */
export function substituteEnv(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): { text: string; missing: string[] } {
  const missing: string[] = [];
  const out = text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
      if (whole === '$$') return '$';
      const name = (braced ?? bare)!;
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      if (!missing.includes(name)) missing.push(name);
      return '';
    },
  );
  return { text: out, missing };
}

/** `HELM_VARS` read into values and values files, in Helm's precedence. */
export interface HelmVarsInput {
  /** Values files given with `-f`/`--values`, in order. */
  files: string[];
  /** Values from `--set`, `--set-string` and bare `a=1,b=2`, merged in order (they beat files). */
  values: Values;
}

/** Splits a command-line-like string into words, honouring '…' and "…" quotes. */
function words(text: string): string[] {
  const out: string[] = [];
  let current: string | undefined;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length)
        current = (current ?? '') + text[++i]!;
      else current = (current ?? '') + ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      current ??= '';
    } else if (/\s/.test(ch)) {
      if (current !== undefined) out.push(current);
      current = undefined;
    } else {
      current = (current ?? '') + ch;
    }
  }
  if (quote !== undefined) {
    throw new HelmError(HelmErrorCodes.VALUES, `HELM_VARS has an unclosed ${quote} quote`);
  }
  if (current !== undefined) out.push(current);
  return out;
}

/**
 * Reads `HELM_VARS` (already env-substituted) into values (pure). Accepts what the original
 * passed to helm for values: `--set`, `--set-string`, `-f`/`--values` (also as `--flag=value`),
 * and bare `a=1,b=2` assignments. The values go into a values file, never onto helm's command line.
 *
 * @param text - the variable's text
 * @throws HelmError `E_HELM_VALUES` for any other flag
 */
export function parseHelmVarsArgs(text: string): HelmVarsInput {
  const result: HelmVarsInput = { files: [], values: {} };
  const list = words(text);
  for (let i = 0; i < list.length; i++) {
    let word = list[i]!;
    let inline: string | undefined;
    const eq = word.indexOf('=');
    if (word.startsWith('--') && eq > 0) {
      inline = word.slice(eq + 1);
      word = word.slice(0, eq);
    }
    const take = (): string => {
      if (inline !== undefined) return inline;
      const next = list[++i];
      if (next === undefined)
        throw new HelmError(HelmErrorCodes.VALUES, `HELM_VARS: ${word} needs a value`);
      return next;
    };
    if (word === '--set') {
      result.values = mergeValues(result.values, parseHelmVars(take(), false, 'HELM_VARS'));
    } else if (word === '--set-string') {
      result.values = mergeValues(result.values, parseHelmVars(take(), true, 'HELM_VARS'));
    } else if (word === '-f' || word === '--values') {
      result.files.push(
        ...take()
          .split(',')
          .filter((f) => f !== ''),
      );
    } else if (word.startsWith('-')) {
      throw new HelmError(
        HelmErrorCodes.VALUES,
        `HELM_VARS contains ${word}; only --set, --set-string, -f/--values and a=1,b=2 are accepted there (DeployTag sets --wait, --timeout and the namespace itself)`,
      );
    } else {
      result.values = mergeValues(result.values, parseHelmVars(word, false, 'HELM_VARS'));
    }
  }
  return result;
}

/** Facts that make the generated values. */
export interface GeneratedValuesInput {
  /** `HOST`. */
  host: string;
  /** The release (the TLS secret is `<release>-staging-cert`, as the original named it). */
  release: string;
  /** The commit sha: `image.tag`. */
  imageTag: string;
  /** The environment Secret's name and checksum, when there is one. */
  envSecret?: { name: string; checksum: string };
}

/**
 * The values the original set with `--set` (pure): ingress host and TLS host = `HOST`, TLS
 * secret `<release>-staging-cert`, `image.tag` = the sha; plus `envSecret.name` and
 * `envSecret.checksum` (put the checksum in a pod annotation so pods roll when a value changes).
 *
 * @param input - host, release, tag and env Secret
 */
export function generatedValues(input: GeneratedValuesInput): Values {
  const values: Values = {
    image: { tag: input.imageTag },
    ingress: {
      hosts: [{ host: input.host }],
      tls: [{ hosts: [input.host], secretName: `${input.release}-staging-cert` }],
    },
  };
  if (input.envSecret !== undefined) values.envSecret = { ...input.envSecret };
  return values;
}

const SECRET_KEY = /pass(word)?|secret|token|credential|private|api[-_]?key|auth/i;

/**
 * A copy of values with likely-secret entries (by key name) replaced by `***`, for printing (pure).
 *
 * @param values - the values
 */
export function maskValues(values: unknown, key = ''): unknown {
  if (Array.isArray(values)) return values.map((v) => maskValues(v, key));
  if (isMapping(values)) {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, maskValues(v, k)]));
  }
  if (
    key !== '' &&
    SECRET_KEY.test(key) &&
    !/name$/i.test(key) &&
    values !== null &&
    values !== ''
  ) {
    return '***';
  }
  return values;
}
