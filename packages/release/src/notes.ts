import type { CommitInfo } from '@deploytag/git';

/** A bump level, from least to most significant change. */
export type BumpLevel = 'patch' | 'minor' | 'major';

/** A commit message read as a Conventional Commit. */
export interface ConventionalCommit {
  /** `feat`, `fix`, … in lower case; `undefined` when the subject does not follow the convention. */
  type?: string;
  /** The `(scope)`, when given. */
  scope?: string;
  /** True for `type!:` or a `BREAKING CHANGE:` / `BREAKING-CHANGE:` footer. */
  breaking: boolean;
  /** The description (or the whole subject for other commits), without a trailing `(#N)`. */
  description: string;
  /** Pull request number from `(#N)` at the end or `Merge pull request #N`. */
  pr?: number;
}

const HEADER = /^([A-Za-z]+)(?:\(([^()\r\n]*)\))?(!)?: +(\S.*)$/;
const BREAKING_FOOTER = /^BREAKING[ -]CHANGE: /m;
const MERGE_PR = /^Merge pull request #(\d+) from \S+/;
const TRAILING_PR = /\s*\(#(\d+)\)$/;

/**
 * Reads a commit's subject and body as a Conventional Commit. A GitHub merge commit
 * (`Merge pull request #N from …`) is read from its body's first line (the pull request's
 * title) and keeps the number.
 *
 * @param commit - subject and body
 */
export function parseConventionalCommit(
  commit: Pick<CommitInfo, 'subject' | 'body'>,
): ConventionalCommit {
  let subject = commit.subject.trim();
  let body = commit.body;
  let pr: number | undefined;
  const merge = MERGE_PR.exec(subject);
  if (merge !== null) {
    pr = Number(merge[1]);
    const [first = '', ...rest] = body.split('\n');
    if (first.trim() !== '') {
      subject = first.trim();
      body = rest.join('\n');
    }
  }
  const trailing = TRAILING_PR.exec(subject);
  if (trailing !== null) {
    pr ??= Number(trailing[1]);
    subject = subject.slice(0, trailing.index);
  }
  const breakingFooter = BREAKING_FOOTER.test(body);
  const m = HEADER.exec(subject);
  const out: ConventionalCommit =
    m === null
      ? { breaking: breakingFooter, description: subject }
      : {
          type: m[1]!.toLowerCase(),
          breaking: m[3] === '!' || breakingFooter,
          description: m[4]!.trim(),
        };
  if (m?.[2] !== undefined && m[2].trim() !== '') out.scope = m[2].trim();
  if (pr !== undefined) out.pr = pr;
  return out;
}

/**
 * The bump the commits call for under Conventional Commits: `major` for a breaking change,
 * `minor` for a `feat`, else `patch`.
 *
 * @param commits - the commits since the last release
 */
export function bumpFromCommits(
  commits: readonly Pick<CommitInfo, 'subject' | 'body'>[],
): BumpLevel {
  let level: BumpLevel = 'patch';
  for (const c of commits) {
    const cc = parseConventionalCommit(c);
    if (cc.breaking) return 'major';
    if (cc.type === 'feat') level = 'minor';
  }
  return level;
}

/** Sections of the notes, in order: Conventional Commit types, then everything else. */
const SECTIONS: readonly { title: string; types: readonly string[] }[] = [
  { title: 'Features', types: ['feat', 'feature'] },
  { title: 'Bug fixes', types: ['fix', 'bugfix'] },
  { title: 'Performance', types: ['perf'] },
  { title: 'Reverts', types: ['revert'] },
  { title: 'Documentation', types: ['docs'] },
  { title: 'Refactoring', types: ['refactor'] },
  { title: 'Tests', types: ['test', 'tests'] },
  { title: 'Build', types: ['build', 'deps'] },
  { title: 'Continuous integration', types: ['ci'] },
  { title: 'Styles', types: ['style'] },
  { title: 'Chores', types: ['chore'] },
];

/** What {@link renderNotes} needs besides the commits. */
export interface NotesContext {
  /** The repository's web address (`https://github.com/acme/shop`) for commit and PR links. */
  webUrl?: string;
  /** The tag the changes are counted from, for the compare link and the heading. */
  previousTag?: string;
  /** The new tag. */
  tag: string;
}

/** Merges of a branch into another carry no change description of their own. */
function isPlainMerge(subject: string): boolean {
  return /^Merge (branch|remote-tracking branch|tag) /.test(subject);
}

function entry(c: CommitInfo, cc: ConventionalCommit, webUrl: string | undefined): string {
  const text = cc.scope === undefined ? cc.description : `**${cc.scope}:** ${cc.description}`;
  const short = c.sha.slice(0, 7);
  const commitRef = webUrl === undefined ? short : `[${short}](${webUrl}/commit/${c.sha})`;
  const prRef =
    cc.pr === undefined
      ? ''
      : webUrl === undefined
        ? ` (#${cc.pr})`
        : ` ([#${cc.pr}](${webUrl}/pull/${cc.pr}))`;
  return `- ${text} (${commitRef})${prRef}`;
}

/**
 * Release notes in Markdown: breaking changes first, then one section per Conventional Commit
 * type, then "Other changes" for commits that follow no convention; each line links its commit
 * and pull request when `webUrl` is given. Plain branch merges are left out.
 *
 * @param commits - newest first, as `commitsBetween` returns them
 * @param context - links, previous and new tag
 */
export function renderNotes(commits: readonly CommitInfo[], context: NotesContext): string {
  const kept = commits.filter((c) => !isPlainMerge(c.subject));
  const breaking: string[] = [];
  const sections = new Map<string, string[]>();
  const other: string[] = [];
  for (const c of [...kept].reverse()) {
    const cc = parseConventionalCommit(c);
    const line = entry(c, cc, context.webUrl);
    if (cc.breaking) breaking.push(line);
    const section = SECTIONS.find((s) => cc.type !== undefined && s.types.includes(cc.type));
    if (section === undefined) other.push(line);
    else sections.set(section.title, [...(sections.get(section.title) ?? []), line]);
  }
  const parts: string[] = [];
  if (context.previousTag !== undefined) {
    parts.push(
      context.webUrl === undefined
        ? `Changes since ${context.previousTag}.`
        : `Changes since ${context.previousTag} ([compare](${context.webUrl}/compare/${context.previousTag}...${context.tag})).`,
    );
  }
  if (breaking.length > 0) parts.push(`### Breaking changes\n\n${breaking.join('\n')}`);
  for (const s of SECTIONS) {
    const lines = sections.get(s.title);
    if (lines !== undefined) parts.push(`### ${s.title}\n\n${lines.join('\n')}`);
  }
  if (other.length > 0) parts.push(`### Other changes\n\n${other.join('\n')}`);
  if (kept.length === 0) parts.push('No changes.');
  return `${parts.join('\n\n')}\n`;
}
