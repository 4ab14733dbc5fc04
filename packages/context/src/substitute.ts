/**
 * `config-yaml`: environment variables substituted into a YAML file, one environment's section
 * printed (the original `app.thor config_yaml FILE -e ENV`). Pure.
 *
 * @packageDocumentation
 */
import { ConfigError } from '@deploytag/core';
import type { Env } from './ci.js';
import { yamlErrorText } from './config-file.js';

/** Options of {@link substituteVariables} and {@link renderConfigYaml}. */
export interface SubstituteOptions {
  /** Throw naming every missing variable instead of substituting an empty string. */
  strict?: boolean;
  /** The file, named in errors. */
  file?: string;
}

/** Result of {@link substituteVariables}. */
export interface Substituted {
  /** The text with every reference replaced. */
  text: string;
  /** Variables referenced but not set (replaced by an empty string), in order, once each. */
  missing: string[];
}

const REFERENCE =
  /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

function missingError(names: readonly string[], file: string | undefined): ConfigError {
  const where = file === undefined ? '' : ` in ${file}`;
  const [head] = names;
  return new ConfigError(
    `${names.length === 1 ? 'variable' : 'variables'} ${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} referenced${where} but not set; set ${names.length === 1 ? 'it' : 'them'}, give a default with \${NAME:-default}, or drop --strict`,
    {
      code: 'E_CONFIG_MISSING',
      ...(head === undefined ? {} : { key: head }),
      ...(file === undefined ? {} : { file }),
    },
  );
}

/**
 * Replaces `${NAME}`, `$NAME`, `${NAME:-default}` (default when unset or empty) and
 * `${NAME-default}` (default when unset) with values from `env`; `$$` is a literal `$`, and a `$`
 * not followed by a name stays as it is. An unset variable becomes an empty string and is listed
 * in `missing`, or, with `strict`, throws.
 *
 * @throws ConfigError (code `E_CONFIG_MISSING`) naming every missing variable, with `strict`
 */
export function substituteVariables(
  text: string,
  env: Env,
  options: SubstituteOptions = {},
): Substituted {
  const missing = new Set<string>();
  const out = text.replace(
    REFERENCE,
    (
      _match,
      dollar: string | undefined,
      braced: string | undefined,
      operator: string | undefined,
      fallback: string | undefined,
      bare: string | undefined,
    ) => {
      if (dollar !== undefined) return '$';
      const name = braced ?? bare ?? '';
      const value = env[name];
      if (operator === ':-' && (value === undefined || value === '')) return fallback ?? '';
      if (operator === '-' && value === undefined) return fallback ?? '';
      if (value === undefined) {
        missing.add(name);
        return '';
      }
      return value;
    },
  );
  if (options.strict === true && missing.size > 0) throw missingError([...missing], options.file);
  return { text: out, missing: [...missing] };
}

/** Result of {@link renderConfigYaml}. */
export interface RenderedYaml {
  /** The section (or the whole document) as YAML. */
  yaml: string;
  /** Variables referenced but not set (replaced by an empty string). */
  missing: string[];
}

/** An unquoted scalar's text typed as YAML types it: a number, boolean or null, else the text. */
function plainScalar(text: string, parse: (text: string) => unknown): unknown {
  if (text === '') return null;
  try {
    const typed: unknown = parse(text);
    return typeof typed === 'number' || typeof typed === 'boolean' || typed === null ? typed : text;
  } catch {
    return text;
  }
}

/** Options of {@link renderConfigYaml}. */
export interface RenderConfigYamlOptions extends SubstituteOptions {
  /** The environment whose top-level section is printed; the whole file when not given. */
  environment?: string;
}

/**
 * Substitutes environment variables into a YAML document and returns one environment's section
 * (or the whole document) as YAML.
 *
 * Substitution happens inside the parsed document's string scalars (keys and values), so a value
 * holding `: `, `#` or a newline cannot change the document's structure; an unquoted scalar that
 * is made of references is typed after substitution as YAML would (`port: $PORT` with `PORT=80`
 * gives the number 80, as substituting into the text did).
 *
 * @throws ConfigError for invalid YAML, a missing section (listing the sections there are), or,
 *   with `strict`, every missing variable
 */
export async function renderConfigYaml(
  text: string,
  env: Env,
  options: RenderConfigYamlOptions = {},
): Promise<RenderedYaml> {
  // Loaded on use: it is most of this package's start-up time.
  const { isMap, isScalar, parse, parseDocument, stringify, visit } = await import('yaml');
  const file = options.file ?? 'the YAML file';
  const doc = parseDocument(text, { prettyErrors: true, merge: true });
  const [error] = doc.errors;
  if (error !== undefined) {
    throw new ConfigError(`${file}: not valid YAML: ${yamlErrorText(error)}`, {
      code: 'E_CONFIG_INVALID',
      ...(options.file === undefined ? {} : { file: options.file }),
    });
  }
  const missing = new Set<string>();
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return;
      const result = substituteVariables(node.value, env);
      for (const name of result.missing) missing.add(name);
      node.value = node.type === 'PLAIN' ? plainScalar(result.text, parse) : result.text;
    },
  });
  if (options.strict === true && missing.size > 0) throw missingError([...missing], options.file);
  let output: unknown = doc.toJS();
  if (options.environment !== undefined) {
    const root = doc.contents;
    const sections = isMap(root)
      ? root.items.flatMap((pair) => (isScalar(pair.key) ? [String(pair.key.value)] : []))
      : [];
    if (!isMap(root) || !sections.includes(options.environment)) {
      throw new ConfigError(
        `${file} has no section "${options.environment}"${sections.length === 0 ? '' : ` (it has ${sections.join(', ')})`}; pass one of them with -e, or leave -e out for the whole file`,
        {
          key: options.environment,
          ...(options.file === undefined ? {} : { file: options.file }),
        },
      );
    }
    output = (output as Record<string, unknown>)[options.environment];
  }
  return { yaml: stringify(output), missing: [...missing] };
}
