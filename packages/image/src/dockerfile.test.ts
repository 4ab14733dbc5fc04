import { describe, expect, it } from 'vitest';
import {
  contextInputsOf,
  parseDockerfile,
  referencedVariables,
  substituteVariables,
} from './dockerfile.js';

describe('parseDockerfile', () => {
  it('joins continuation lines, drops comments and skips heredoc bodies', () => {
    const text = [
      '# syntax=docker/dockerfile:1',
      'FROM base AS build',
      'RUN apt-get update \\',
      '  # a comment inside',
      '  && apt-get install -y x',
      'COPY <<EOF /etc/conf',
      'COPY not-an-instruction /x',
      'EOF',
      'copy a b',
    ].join('\n');
    const ins = parseDockerfile(text);
    expect(ins.map((i) => i.keyword)).toEqual(['FROM', 'RUN', 'COPY', 'COPY']);
    expect(ins[1]?.args).toBe('apt-get update   && apt-get install -y x');
    expect(ins[3]).toEqual({ keyword: 'COPY', args: 'a b', line: 9 });
  });
  it('honours the escape directive', () => {
    const ins = parseDockerfile('# escape=`\nRUN a `\n b\n');
    expect(ins[0]?.args).toBe('a  b');
  });
});

describe('contextInputsOf', () => {
  it('lists COPY/ADD sources, skipping --from, heredocs and keeping remote ADD sources apart', () => {
    const text = [
      'FROM x',
      'COPY --chown=1:1 package.json package-lock.json /app/',
      'COPY ["Gemfile", "Gemfile.lock", "/app/"]',
      'COPY --from=build /out /out',
      'ADD https://example.com/x.tgz /tmp/',
      'ADD vendor/lib/ /lib',
      'COPY config/*.yml /etc/',
      'COPY ./scripts/${NAME}.sh /bin/',
      'COPY vendor/lib/inner /x',
    ].join('\n');
    expect(contextInputsOf(text)).toEqual({
      paths: [
        'Gemfile',
        'Gemfile.lock',
        'config',
        'package-lock.json',
        'package.json',
        'scripts',
        'vendor/lib',
      ],
      remote: ['https://example.com/x.tgz'],
    });
  });
  it('widens to the whole context for COPY . and globs at the root', () => {
    expect(contextInputsOf('COPY . /app\nCOPY a /b').paths).toEqual(['.']);
    expect(contextInputsOf('COPY *.json /app').paths).toEqual(['.']);
    expect(contextInputsOf('COPY ../x /app').paths).toEqual(['.']);
  });
});

describe('substituteVariables', () => {
  it('replaces ${VAR} and $VAR for the given names only', () => {
    expect(
      substituteVariables('FROM a:${DOCKER_TAG} $DOCKER_TAG $OTHER ${OTHER} $DOCKER_TAGX', {
        DOCKER_TAG: 't',
      }),
    ).toBe('FROM a:t t $OTHER ${OTHER} $DOCKER_TAGX');
    expect(substituteVariables('$E-', { E: '' })).toBe('-');
  });
  it('lists referenced names', () => {
    expect(referencedVariables('$A ${B} $A')).toEqual(['A', 'B']);
  });
});
