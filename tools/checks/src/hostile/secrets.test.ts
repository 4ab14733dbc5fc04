/**
 * The secret corpus against the parsers and renderers of `@deploytag/secrets`: every value a
 * variable can hold survives each format byte for byte (a JSON secret string, dotenv, JSON, a
 * Kubernetes Secret), and prints as `***`; a value with a NUL is refused everywhere, by a message
 * naming the variable and never the value. The end-to-end test evaluates the shell output in bash
 * and follows the values through a whole pipeline.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Secret, isDeploytagError } from '@deploytag/core';
import {
  kubernetesSecretManifest,
  parseEnvLines,
  parseJsonObject,
  renderDotenv,
  renderJson,
  renderShell,
} from '@deploytag/secrets';
import { leakPatterns, secretCorpus } from './corpus.js';

const TOKEN = 'tok3n1n51d3every5ecretvalue';
const corpus = secretCorpus(TOKEN, '/tmp/deploytag-hostile-never-created');
const storable = corpus.filter((e) => e.nul !== true);
const nul = corpus.filter((e) => e.nul === true);

/** What a failing call threw, checked to be an expected error that does not show the value. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (!isDeploytagError(error)) throw error;
    expect(error.message).not.toContain(TOKEN);
    expect(JSON.stringify(error.toJSON())).not.toContain(TOKEN);
    return error.message;
  }
  throw new Error('no error was thrown');
}

describe('the secret corpus', () => {
  it('holds every kind of value the issue names, with the token in each', () => {
    const all = corpus.map((e) => e.value);
    expect(all.some((v) => v.includes("'"))).toBe(true);
    expect(all.some((v) => v.includes('$('))).toBe(true);
    expect(all.some((v) => v.includes('`'))).toBe(true);
    expect(all.some((v) => v.includes('\n'))).toBe(true);
    expect(all.some((v) => v.includes('\0'))).toBe(true);
    expect(all.some((v) => Buffer.byteLength(v) === 65536)).toBe(true);
    for (const value of all) expect(value).toContain(TOKEN);
  });

  it('spreads the token through the 64 KiB value, so that any leaked part of it shows', () => {
    const big = corpus.find((e) => Buffer.byteLength(e.value) === 65536)!.value;
    for (let at = 0; at < big.length - 1100; at += 500)
      expect(big.slice(at, at + 1100)).toContain(TOKEN);
  });
});

describe('the leak patterns the end-to-end tests search for', () => {
  const patterns = leakPatterns(TOKEN, []);
  const found = (text: string) => patterns.some((p) => text.includes(p));

  it.each([0, 1, 2, 3, 4, 5])(
    'find the token in base64 text whatever its offset (%i bytes before it)',
    (before) => {
      const text = `${'k'.repeat(before)}KEY=${TOKEN}\n${'v'.repeat(before)}`;
      expect(found(Buffer.from(text).toString('base64'))).toBe(true);
      expect(found(text)).toBe(true);
    },
  );

  it('find nothing in text without it', () => {
    expect(found(Buffer.from(`KEY=${TOKEN.toUpperCase()}`).toString('base64'))).toBe(false);
    expect(found('a log line about something else')).toBe(false);
  });
});

describe.each(storable.map((e) => [e.name, e] as const))('%s', (_name, entry) => {
  const expected = Buffer.from(entry.value, 'utf8');
  const values = [[entry.name, Secret.of(entry.value)] as const];

  it('is read from a JSON secret string exactly', () => {
    const [read] = parseJsonObject(JSON.stringify({ [entry.name]: entry.value }), 'corpus');
    expect(read?.name).toBe(entry.name);
    expect(Buffer.from(read!.value.reveal(), 'utf8').equals(expected)).toBe(true);
  });

  it('survives dotenv and JSON output exactly', () => {
    const [dotenv] = parseEnvLines(renderDotenv(values), 'corpus');
    expect(Buffer.from(dotenv!.value.reveal(), 'utf8').equals(expected)).toBe(true);
    const json = JSON.parse(renderJson(values)) as Record<string, string>;
    expect(Buffer.from(json[entry.name]!, 'utf8').equals(expected)).toBe(true);
  });

  it('is base64 of its exact bytes in a Kubernetes Secret', () => {
    const manifest = kubernetesSecretManifest(values, { name: 'app-env' });
    expect(Buffer.from(manifest.data[entry.name]!, 'base64').equals(expected)).toBe(true);
  });

  it('is one single-quoted word in shell output, whatever it holds', () => {
    const text = renderShell(values);
    expect(text.startsWith(`export ${entry.name}='`)).toBe(true);
    // Inside single quotes a shell interprets nothing; a quote in the value closes, escapes, reopens.
    const body = text.slice(`export ${entry.name}=`.length, -1);
    expect(body.replaceAll(`'\\''`, '')).toMatch(/^'[^']*'$/);
  });

  it('prints as *** wherever a Secret is shown', () => {
    const secret = Secret.of(entry.value);
    expect(String(secret)).toBe('***');
    expect(JSON.stringify({ secret })).not.toContain(TOKEN);
    expect(inspect(secret)).not.toContain(TOKEN);
  });
});

describe.each(nul.map((e) => [e.name, e] as const))('%s (holds a NUL)', (_name, entry) => {
  const values = [[entry.name, Secret.of(entry.value)] as const];

  it('is refused when read, naming the variable and not the value', () => {
    const message = refusal(() =>
      parseJsonObject(JSON.stringify({ [entry.name]: entry.value }), 'staging/app'),
    );
    expect(message).toContain(entry.name);
    expect(message).toContain('NUL');
    expect(message).toContain('staging/app');
  });

  it.each([
    ['shell', () => renderShell(values)],
    ['dotenv', () => renderDotenv(values)],
    ['JSON', () => renderJson(values)],
    ['Kubernetes', () => kubernetesSecretManifest(values, { name: 'app-env' })],
  ])('is refused by the %s renderer rather than cut short', (_format, render) => {
    const message = refusal(render);
    expect(message).toContain(entry.name);
    expect(message).toContain('NUL');
  });
});
