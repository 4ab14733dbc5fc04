import { Secret } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import {
  checkBuildArgs,
  chooseBaseTag,
  contentTag,
  parseBuildArgs,
  planAppImage,
  planBaseImage,
  renderDockerfile,
  type BaseImageFacts,
} from './plan.js';

const repo = 'registry.example:5000/shop/web_base';
const content = contentTag({ filesDigest: 'sha256:aa', dockerfile: 'FROM x' });
const facts = (over: Partial<BaseImageFacts> = {}): BaseImageFacts => ({
  hasDockerfile: true,
  repository: repo,
  contentTag: content,
  original: { sha: 'abc123', branch: 'feature-x', latest: false },
  existing: {},
  force: false,
  hookSaysBuild: undefined,
  ...over,
});

describe('contentTag', () => {
  it('is stable for the same inputs and changes with any input', () => {
    const base = { filesDigest: 'sha256:1', dockerfile: 'FROM a', buildArgs: { A: '1', B: '2' } };
    const t = contentTag(base);
    expect(t).toMatch(/^content-[0-9a-f]{32}$/);
    expect(contentTag({ ...base, buildArgs: { B: '2', A: '1' } })).toBe(t);
    expect(contentTag({ ...base, filesDigest: 'sha256:2' })).not.toBe(t);
    expect(contentTag({ ...base, dockerfile: 'FROM b' })).not.toBe(t);
    expect(contentTag({ ...base, buildArgs: { A: '1', B: '3' } })).not.toBe(t);
    expect(contentTag({ ...base, target: 'prod' })).not.toBe(t);
    expect(contentTag({ ...base, extra: ['base'] })).not.toBe(t);
    expect(contentTag({ ...base, buildArgs: { A: Secret.of('1'), B: '2' } })).toBe(t);
  });
});

describe('planBaseImage', () => {
  it('does nothing without a Dockerfile.base', () => {
    const p = planBaseImage(facts({ hasDockerfile: false }));
    expect(p.action).toBe('none');
    expect(p.tagsToWrite).toEqual([]);
  });

  it('builds when the content tag is missing and pushes content, sha and branch tags', () => {
    const p = planBaseImage(facts());
    expect(p.action).toBe('build');
    expect(p.tags).toEqual([content, 'abc123', 'feature-x']);
    expect(p.reasons.join()).toMatch(/does not exist/);
  });

  it('adds latest on master', () => {
    const p = planBaseImage(facts({ original: { sha: 's', branch: 'master', latest: true } }));
    expect(p.tags).toEqual([content, 's', 'master', 'latest']);
  });

  it('re-tags when the content exists but the original tags do not point at it', () => {
    const p = planBaseImage(
      facts({ existing: { [content]: 'sha256:d1', 'feature-x': 'sha256:old' } }),
    );
    expect(p.action).toBe('retag');
    expect(p.tagsToWrite).toEqual(['abc123', 'feature-x']);
  });

  it('is up to date when every tag points at the content', () => {
    const p = planBaseImage(facts({ existing: { [content]: 'd', abc123: 'd', 'feature-x': 'd' } }));
    expect(p.action).toBe('up-to-date');
    expect(p.tagsToWrite).toEqual([]);
  });

  it('builds when forced or when the hook exits 0, even if up to date', () => {
    const existing = { [content]: 'd', abc123: 'd', 'feature-x': 'd' };
    expect(planBaseImage(facts({ existing, force: true })).reasons).toEqual([
      'FORCE_BASE_BUILD is set',
    ]);
    const hook = planBaseImage(facts({ existing, hookSaysBuild: true }));
    expect(hook.action).toBe('build');
    expect(hook.reasons[0]).toMatch(/should_build_base\.sh exited 0/);
    expect(planBaseImage(facts({ existing, hookSaysBuild: false })).action).toBe('up-to-date');
  });

  it('still builds when the hook says no but the content is missing', () => {
    expect(planBaseImage(facts({ hookSaysBuild: false })).action).toBe('build');
  });
});

describe('planAppImage', () => {
  const app = {
    repository: 'r/web',
    contentTag: 'content-1',
    original: { sha: 's1', branch: 'main', latest: true },
  };
  it('builds when the content tag is missing', () => {
    const p = planAppImage({ ...app, existing: { s1: 'x' } });
    expect(p.action).toBe('build');
    expect(p.tagsToWrite).toEqual(['content-1', 's1', 'main', 'latest']);
  });
  it('re-tags instead of rebuilding when the content exists', () => {
    const p = planAppImage({ ...app, existing: { 'content-1': 'd', s1: 'd' } });
    expect(p.action).toBe('retag');
    expect(p.tagsToWrite).toEqual(['main', 'latest']);
  });
  it('does nothing on a re-run of the same commit', () => {
    const p = planAppImage({
      ...app,
      existing: { 'content-1': 'd', s1: 'd', main: 'd', latest: 'd' },
    });
    expect(p.action).toBe('up-to-date');
  });
  it('builds when forced', () => {
    expect(planAppImage({ ...app, existing: { 'content-1': 'd' }, force: true }).action).toBe(
      'build',
    );
  });
  it('has no branch tag without a branch', () => {
    expect(
      planAppImage({ ...app, original: { sha: 's', latest: false }, existing: {} }).tags,
    ).toEqual(['content-1', 's']);
  });
});

describe('chooseBaseTag', () => {
  const built = planBaseImage(facts());
  const none = planBaseImage(facts({ hasDockerfile: false }));
  it("uses the branch's own base when it exists or is written by this run", () => {
    expect(chooseBaseTag({ base: built, branchTag: 'feature-x', existing: {} })).toBe('feature-x');
    expect(
      chooseBaseTag({
        base: none,
        branchTag: 'feature-x',
        existing: { 'feature-x': 'd', latest: 'd' },
      }),
    ).toBe('feature-x');
  });
  it('else latest', () => {
    expect(chooseBaseTag({ base: none, branchTag: 'feature-x', existing: { latest: 'd' } })).toBe(
      'latest',
    );
  });
  it('else the content tag', () => {
    expect(chooseBaseTag({ base: built, branchTag: undefined, existing: {} })).toBe(content);
    expect(chooseBaseTag({ base: none, branchTag: undefined, existing: {} })).toBe('latest');
  });
});

describe('renderDockerfile', () => {
  const text = [
    'ARG VERSION=1',
    'FROM ${BASE_IMAGE_REF}',
    'FROM registry/app_base:$DOCKER_TAG',
    'ENV PATH=$PATH:/app HOME=/root',
    'RUN echo ${VERSION} $PROJECT_ID $UNSET ${DB_PASSWORD} $MY_TOKEN',
  ].join('\n');
  const env = {
    PATH: '/usr/bin',
    PROJECT_ID: 'shop',
    DB_PASSWORD: 'hunter2',
    MY_TOKEN: 't0k',
    VERSION: '9',
  };

  it('substitutes computed and environment variables, leaving ARG/ENV, unset and secret ones', () => {
    const r = renderDockerfile({
      text,
      computed: { DOCKER_TAG: 'main', BASE_IMAGE_REF: 'r/b:main' },
      env,
    });
    expect(r.text).toContain('FROM r/b:main');
    expect(r.text).toContain('app_base:main');
    expect(r.text).toContain('ENV PATH=$PATH:/app');
    expect(r.text).toContain('echo ${VERSION} shop $UNSET ${DB_PASSWORD} $MY_TOKEN');
    expect(r.text).not.toContain('hunter2');
    expect(r.withheldSecrets.sort()).toEqual(['DB_PASSWORD', 'MY_TOKEN']);
    expect(r.warnings.join()).toMatch(
      /not substituting secret variable\(s\) DB_PASSWORD, MY_TOKEN/,
    );
  });

  it('bakes secrets in only when allowed, warning with their names', () => {
    const r = renderDockerfile({ text, computed: {}, env, allowSecrets: true });
    expect(r.text).toContain('hunter2');
    expect(r.bakedSecrets).toEqual(['DB_PASSWORD', 'MY_TOKEN']);
    expect(r.warnings.join()).toMatch(/substituting secret variable\(s\) DB_PASSWORD, MY_TOKEN/);
  });

  it('treats names given as secrets as secrets', () => {
    const r = renderDockerfile({
      text: 'RUN echo $PROJECT_ID',
      computed: {},
      env,
      secretNames: ['PROJECT_ID'],
    });
    expect(r.text).toBe('RUN echo $PROJECT_ID');
  });
});

describe('checkBuildArgs', () => {
  it('passes ordinary args', () => {
    expect(checkBuildArgs({ NODE_ENV: 'production' })).toEqual({
      buildArgs: { NODE_ENV: 'production' },
      warnings: [],
    });
  });
  it('refuses secret-looking args naming them', () => {
    expect(() => checkBuildArgs({ NPM_TOKEN: 'x', A: '1', KEY: Secret.of('k') })).toThrow(
      /NPM_TOKEN, KEY/,
    );
    expect(() => checkBuildArgs({ COLOR: 'x' }, { secretNames: ['COLOR'] })).toThrow(/COLOR/);
  });
  it('lets them through with a warning when allowed, as Secrets', () => {
    const r = checkBuildArgs({ NPM_TOKEN: 'x' }, { allowSecrets: true });
    expect(Secret.isSecret(r.buildArgs['NPM_TOKEN'])).toBe(true);
    expect(r.warnings[0]).toMatch(/NPM_TOKEN/);
  });
});

describe('parseBuildArgs', () => {
  it('reads docker CLI style, plain and comma forms, and bare names from the environment', () => {
    expect(parseBuildArgs('--build-arg A=1 --build-arg=B=two words', { words: 'w' })).toEqual({
      A: '1',
      B: 'two',
      words: 'w',
    });
    expect(parseBuildArgs('A=1,B=2')).toEqual({ A: '1', B: '2' });
    expect(parseBuildArgs('"A=a b"')).toEqual({ A: 'a b' });
    expect(parseBuildArgs(undefined)).toEqual({});
    expect(parseBuildArgs('MISSING', {})).toEqual({});
  });
  it('rejects a malformed entry', () => {
    expect(() => parseBuildArgs('1A=2')).toThrow(/not NAME=value/);
  });
});
