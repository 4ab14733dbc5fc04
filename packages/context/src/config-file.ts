/**
 * Finding and reading `deploytag.config.{json,yaml,yml}`: the only I/O in this package.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative } from 'node:path';
import { ConfigError } from '@deploytag/core';
import { assertValidConfig } from './config.js';
import type { DeployConfig } from './config.js';

/** The file names looked for, in this order. */
export const CONFIG_FILE_NAMES: readonly string[] = [
  'deploytag.config.json',
  'deploytag.config.yaml',
  'deploytag.config.yml',
];

/** A config file that was found, read and validated. */
export interface LoadedConfig {
  /** The validated settings. */
  config: DeployConfig;
  /** The file, relative to `cwd` when inside it. */
  file: string;
}

/** Options of {@link loadConfigFile}. */
export interface LoadConfigOptions {
  /** The folder to look in (the project's root). */
  cwd: string;
  /** An explicit file (`--config`); it must exist. */
  file?: string;
}

async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`, {
      file: path,
      cause: err,
    });
  }
}

/**
 * Parses a config file's text (JSON for `.json`, YAML otherwise) and validates it.
 *
 * @param text - the file's content
 * @param file - its name, for the parser choice and the errors
 * @throws ConfigError naming the file (and line) for a syntax error, or the keys that do not fit
 */
export async function parseConfigText(text: string, file: string): Promise<DeployConfig> {
  let json: unknown;
  if (file.endsWith('.json')) {
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`${file}: not valid JSON: ${jsonErrorText(text, err as Error)}`, {
        code: 'E_CONFIG_INVALID',
        file,
      });
    }
  } else {
    // Loaded only for YAML files: it is most of this package's start-up time.
    const { parseDocument } = await import('yaml');
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    const [error] = doc.errors;
    if (error !== undefined) {
      throw new ConfigError(`${file}: not valid YAML: ${yamlErrorText(error)}`, {
        code: 'E_CONFIG_INVALID',
        file,
      });
    }
    try {
      json = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      // An alias bomb ("billion laughs") is refused while expanding, not while parsing.
      throw new ConfigError(
        `${file}: not valid YAML: ${(err as Error).message}; write the values out instead of repeating aliases`,
        { code: 'E_CONFIG_INVALID', file, cause: err },
      );
    }
  }
  return assertValidConfig(json, file);
}

/** How many alias expansions a config document may make (the `yaml` package's default). */
const MAX_ALIAS_COUNT = 100;

/**
 * A YAML syntax error in one line: the parser's first line (it names line and column) without the
 * excerpt of the document that `prettyErrors` appends.
 */
export function yamlErrorText(error: Error): string {
  return (error.message.split('\n')[0] ?? error.message).replace(/:\s*$/, '');
}

/** A JSON syntax error in one line, with the line and column of the position V8 reports. */
function jsonErrorText(text: string, error: Error): string {
  const message = error.message.split('\n')[0] ?? error.message;
  const at = /at position (\d+)/.exec(message);
  if (at === null || /line \d+/.test(message)) return message;
  const before = text.slice(0, Number(at[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${message.replace(/\s*\(line \d+ column \d+\)/, '')} (line ${line}, column ${column})`;
}

/**
 * Finds and reads the project's config file: `file` when given, else the first of
 * {@link CONFIG_FILE_NAMES} in `cwd`. Two candidate files at once are an error (which one wins
 * would be a surprise).
 *
 * @returns the config and its file, or `undefined` when there is none (no file is fine)
 * @throws ConfigError for an explicit file that is missing, two files, or an invalid file
 */
export async function loadConfigFile(
  options: LoadConfigOptions,
): Promise<LoadedConfig | undefined> {
  const display = (path: string): string => {
    const rel = relative(options.cwd, path);
    return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  };
  if (options.file !== undefined) {
    const path = isAbsolute(options.file) ? options.file : join(options.cwd, options.file);
    const text = await readIfPresent(path);
    if (text === undefined) {
      throw new ConfigError(`config file ${options.file} does not exist; check --config`, {
        file: options.file,
      });
    }
    return { config: await parseConfigText(text, display(path)), file: display(path) };
  }
  const found: { path: string; text: string }[] = [];
  for (const name of CONFIG_FILE_NAMES) {
    const path = join(options.cwd, name);
    const text = await readIfPresent(path);
    if (text !== undefined) found.push({ path, text });
  }
  const [first, second] = found;
  if (first === undefined) return undefined;
  if (second !== undefined) {
    throw new ConfigError(
      `both ${basename(first.path)} and ${basename(second.path)} exist; keep one of them`,
      { file: display(second.path) },
    );
  }
  return {
    config: await parseConfigText(first.text, display(first.path)),
    file: display(first.path),
  };
}
