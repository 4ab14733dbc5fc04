import fc from 'fast-check';
import { ConfigError } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import { renderConfigYaml, substituteVariables } from './substitute.js';

describe('substituteVariables', () => {
  const env = { A: 'one', B: '', PATH_X: 'p' };

  it('replaces ${VAR}, $VAR, defaults and $$', () => {
    expect(substituteVariables('${A}-$A-$PATH_X.x', env).text).toBe('one-one-p.x');
    expect(substituteVariables('${B:-dflt}|${B-dflt}|${C-dflt}|${C:-d2}', env).text).toBe(
      'dflt||dflt|d2',
    );
    expect(substituteVariables('cost: $$5 and $ 3 and $1', env).text).toBe(
      'cost: $5 and $ 3 and $1',
    );
  });

  it('lists missing variables once, or throws naming them with strict', () => {
    expect(substituteVariables('$X ${X} $Y', env)).toEqual({ text: '  ', missing: ['X', 'Y'] });
    try {
      substituteVariables('$X ${Y}', env, { strict: true, file: 'config.yml' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toMatch(/X, Y are referenced in config\.yml/);
      expect((err as ConfigError).key).toBe('X');
    }
  });

  it('never changes text without a $', () => {
    fc.assert(
      fc.property(
        fc.string().filter((s) => !s.includes('$')),
        (s) => {
          expect(substituteVariables(s, env).text).toBe(s);
        },
      ),
    );
  });

  it('puts any value in verbatim (values are not substituted again)', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        expect(substituteVariables('<${V}>', { V: value }).text).toBe(`<${value}>`);
      }),
    );
  });
});

describe('renderConfigYaml', () => {
  const file = [
    'default: &default',
    '  adapter: postgresql',
    '  host: ${DB_HOST}',
    '  port: $DB_PORT',
    '  quoted: "$DB_PORT"',
    'staging:',
    '  <<: *default',
    '  database: app-$ENV_NAME',
    '  password: $DB_PASSWORD',
    'production:',
    '  database: prod',
  ].join('\n');
  const env = {
    DB_HOST: 'db.local',
    DB_PORT: '5432',
    ENV_NAME: 'staging',
    DB_PASSWORD: 'p: a#s\nword',
  };

  it('prints one environment section with values substituted and typed', async () => {
    const { yaml, missing } = await renderConfigYaml(file, env, { environment: 'staging' });
    expect(missing).toEqual([]);
    const parsed = await renderConfigYaml(yaml, {}, {});
    expect(parsed.missing).toEqual([]);
    expect(yaml).toContain('port: 5432');
    expect(yaml).toContain('database: app-staging');
    expect(yaml).toContain('adapter: postgresql');
  });

  it('keeps hostile values inside their scalar', async () => {
    const { yaml } = await renderConfigYaml(file, env, { environment: 'staging' });
    const { parse } = await import('yaml');
    expect(parse(yaml)).toMatchObject({ password: 'p: a#s\nword', quoted: '5432', port: 5432 });
  });

  it('prints the whole file without an environment', async () => {
    const { yaml } = await renderConfigYaml(file, env);
    const { parse } = await import('yaml');
    expect(Object.keys(parse(yaml) as object)).toEqual(['default', 'staging', 'production']);
  });

  it('names the sections there are when the environment is missing', async () => {
    await expect(
      renderConfigYaml(file, env, { environment: 'beta', file: 'config.yml' }),
    ).rejects.toThrow(/config\.yml has no section "beta" \(it has default, staging, production\)/);
  });

  it('substitutes an empty string for a missing variable, or fails with --strict', async () => {
    const { yaml, missing } = await renderConfigYaml('a: x$NOPE\nb: $NOPE\n', {});
    expect(missing).toEqual(['NOPE']);
    expect(yaml).toBe('a: x\nb: null\n');
    await expect(renderConfigYaml('a: $NOPE\n', {}, { strict: true })).rejects.toThrow(
      /NOPE is referenced/,
    );
  });

  it('reports YAML syntax errors with the file', async () => {
    await expect(renderConfigYaml('a: [\n', {}, { file: 'c.yml' })).rejects.toThrow(
      /c\.yml: not valid YAML/,
    );
  });
});
