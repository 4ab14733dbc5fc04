import { Secret } from '@deploytag/core';
import { describe, expect, it } from 'vitest';
import { createGitHubReleases } from './github.js';

type Call = { url: string; init: RequestInit };

function fakeFetch(responses: (Response | Error)[], calls: Call[]): typeof fetch {
  const fake = (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push({ url: url instanceof Request ? url.url : url.toString(), init: init ?? {} });
    const next = responses.shift();
    if (next === undefined) return Promise.reject(new Error('no more responses'));
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve(next);
  };
  return fake;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
const release = {
  id: 7,
  html_url: 'https://github.com/a/b/releases/tag/v1.0.0',
  tag_name: 'v1.0.0',
};

describe('createGitHubReleases', () => {
  const token = Secret.of('ghp_unit_test_token');

  it('calls the REST endpoints with the token, API version and JSON body', async () => {
    const calls: Call[] = [];
    const gh = createGitHubReleases({
      apiUrl: 'https://ghe.example/api/v3/',
      token,
      owner: 'a',
      repo: 'b',
      fetch: fakeFetch([json(404, { message: 'Not Found' }), json(201, release)], calls),
    });
    expect(await gh.getReleaseByTag('v1.0.0')).toBeUndefined();
    const input = {
      tag_name: 'v1.0.0',
      target_commitish: 'abc',
      name: 'Release x',
      body: 'notes',
      prerelease: false,
    };
    expect(await gh.createRelease(input)).toEqual({
      id: 7,
      htmlUrl: release.html_url,
      tagName: 'v1.0.0',
    });
    expect(calls.map((x) => [x.init.method, x.url])).toEqual([
      ['GET', 'https://ghe.example/api/v3/repos/a/b/releases/tags/v1.0.0'],
      ['POST', 'https://ghe.example/api/v3/repos/a/b/releases'],
    ]);
    const headers = calls[1]!.init.headers as Record<string, string>;
    expect(headers).toMatchObject({
      Authorization: 'Bearer ghp_unit_test_token',
      'X-GitHub-Api-Version': '2022-11-28',
      'Content-Type': 'application/json',
    });
    expect(JSON.parse(calls[1]!.init.body as string)).toEqual(input);
  });

  it('turns refusals and network failures into one clear error without the token', async () => {
    const calls: Call[] = [];
    const gh = createGitHubReleases({
      apiUrl: 'https://api.github.com',
      token,
      owner: 'a',
      repo: 'b',
      fetch: fakeFetch(
        [
          json(401, { message: 'Bad credentials' }),
          json(422, { message: 'Validation Failed' }),
          new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') }),
          json(200, { nope: true }),
        ],
        calls,
      ),
    });
    await expect(gh.getReleaseByTag('v1')).rejects.toThrow(
      /HTTP 401: Bad credentials\); the token was refused/,
    );
    await expect(
      gh.createRelease({
        tag_name: 'v1',
        target_commitish: 'x',
        name: 'n',
        body: 'b',
        prerelease: true,
      }),
    ).rejects.toMatchObject({ code: 'E_RELEASE_GITHUB', details: { status: 422 } });
    const down: unknown = await gh.getReleaseByTag('v1').catch((e: unknown) => e);
    expect(down).toMatchObject({ code: 'E_RELEASE_GITHUB' });
    expect((down as Error).message).toContain(
      'cannot reach the GitHub API at https://api.github.com (connect ECONNREFUSED)',
    );
    expect(JSON.stringify(down)).not.toContain('ghp_unit_test_token');
    await expect(gh.getReleaseByTag('v1')).rejects.toThrow(/not a release/);
  });
});
