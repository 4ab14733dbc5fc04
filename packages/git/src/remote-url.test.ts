import { describe, expect, it } from 'vitest';
import { httpRemoteUrl, parseRemoteUrl, stripCredentials } from './remote-url.js';

describe('parseRemoteUrl', () => {
  const gh = { host: 'github.com', owner: 'acme', repo: 'shop', path: 'acme/shop' };
  it.each([
    'https://github.com/acme/shop.git',
    'https://github.com/acme/shop',
    'https://github.com/acme/shop/',
    'https://x-access-token:abc@github.com/acme/shop.git',
    'http://github.com/acme/shop.git',
    'git@github.com:acme/shop.git',
    'git@github.com:acme/shop',
    'github.com:acme/shop.git',
    'ssh://git@github.com/acme/shop.git',
    'ssh://git@github.com:22/acme/shop',
    'git+ssh://git@github.com/acme/shop.git',
    'git://github.com/acme/shop.git',
    'HTTPS://GitHub.com/acme/shop.git',
  ])('reads %s', (url) => {
    expect(parseRemoteUrl(url)).toEqual(gh);
  });

  it('keeps the port of an http(s) URL (GitHub Enterprise) and drops the ssh port', () => {
    expect(parseRemoteUrl('https://ghe.corp.example:8443/team/api.git')).toEqual({
      host: 'ghe.corp.example:8443',
      owner: 'team',
      repo: 'api',
      path: 'team/api',
    });
    expect(parseRemoteUrl('ssh://git@ghe.corp.example:2222/team/api.git')?.host).toBe(
      'ghe.corp.example',
    );
  });

  it('reads GitLab subgroups into the owner', () => {
    for (const url of [
      'https://gitlab.com/group/sub/deeper/app.git',
      'git@gitlab.com:group/sub/deeper/app.git',
      'ssh://git@gitlab.com/group/sub/deeper/app',
    ]) {
      expect(parseRemoteUrl(url)).toEqual({
        host: 'gitlab.com',
        owner: 'group/sub/deeper',
        repo: 'app',
        path: 'group/sub/deeper/app',
      });
    }
  });

  it.each([
    '',
    '/srv/git/app.git',
    './app',
    'file:///srv/git/acme/app.git',
    'https://github.com/only-owner',
    'git@github.com:shop.git',
    'C:\\repos\\app',
    'not a url',
  ])('returns undefined for %j', (url) => {
    expect(parseRemoteUrl(url)).toBeUndefined();
  });
});

describe('stripCredentials and httpRemoteUrl', () => {
  it('drops user and password from http URLs only', () => {
    expect(stripCredentials('https://u:secret@h.example/a/b.git')).toBe(
      'https://h.example/a/b.git',
    );
    expect(stripCredentials('https://token@h.example/a/b.git')).toBe('https://h.example/a/b.git');
    expect(stripCredentials('ssh://git@h.example/a/b.git')).toBe('ssh://git@h.example/a/b.git');
    expect(stripCredentials('git@h.example:a/b.git')).toBe('git@h.example:a/b.git');
  });

  it('turns ssh remotes into https push URLs', () => {
    expect(httpRemoteUrl('git@github.com:acme/shop.git')).toBe('https://github.com/acme/shop.git');
    expect(httpRemoteUrl('http://127.0.0.1:9/x/y.git')).toBe('http://127.0.0.1:9/x/y.git');
    expect(httpRemoteUrl('/local/path')).toBeUndefined();
  });
});
