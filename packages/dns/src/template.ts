/**
 * Record templates, as the original's `--record '{.Branch}-app'`: each dot-separated part of a
 * template becomes one DNS label, placeholders filled in from the deployment.
 *
 * @packageDocumentation
 */
import { dnsLabel, type DeployContext } from '@deploytag/context';
import { DnsError, DnsErrorCodes } from './errors.js';
import { DNS_NAME_MAX_LENGTH, isHostName, normalizeName } from './records.js';

/** The template used when none is configured: the original's `{.Branch}-app`. */
export const DEFAULT_RECORD_TEMPLATE = '{.Branch}-app';

/** The placeholders a record template may use, each written `{.Name}`. */
export const RECORD_TEMPLATE_VARIABLES = [
  'Branch',
  'Namespace',
  'Release',
  'Repo',
  'Environment',
  'Subdomain',
  'Sha',
  'ShortSha',
] as const;

/** One of {@link RECORD_TEMPLATE_VARIABLES}. */
export type RecordTemplateVariable = (typeof RECORD_TEMPLATE_VARIABLES)[number];

/** Values of the placeholders; a template that uses a missing one is refused. */
export type RecordTemplateVars = Partial<Record<RecordTemplateVariable, string>>;

/**
 * The placeholder values of a deployment: `{.Branch}` the raw branch, `{.Namespace}`,
 * `{.Release}`, `{.Repo}`, `{.Environment}` (staging, preview, beta or production),
 * `{.Subdomain}` (`SUBDOMAIN` or the release), `{.Sha}` and `{.ShortSha}` (7 characters).
 *
 * @param context - the deployment
 */
export function recordTemplateVars(
  context: Pick<
    DeployContext,
    'branch' | 'namespace' | 'release' | 'repo' | 'kind' | 'subdomain' | 'sha'
  >,
): RecordTemplateVars {
  return {
    ...(context.branch === undefined || context.branch === '' ? {} : { Branch: context.branch }),
    Namespace: context.namespace,
    Release: context.release,
    Repo: context.repo,
    Environment: context.kind,
    Subdomain: context.subdomain,
    Sha: context.sha,
    ShortSha: context.sha.slice(0, 7),
  };
}

/**
 * Splits a comma-separated list of templates (the `DNS_RECORDS` form), dropping blanks.
 *
 * @param text - such as `{.Branch}-app, {.Branch}-api`
 */
export function parseRecordTemplates(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

const PLACEHOLDER = /\{\.([A-Za-z]+)\}/g;

/** Splits a template on the dots that are not inside a `{.Name}` placeholder. */
function splitLabels(template: string): string[] {
  const parts: string[] = [];
  let current = '';
  let depth = 0;
  for (const ch of template) {
    if (ch === '{') depth++;
    else if (ch === '}') depth = Math.max(0, depth - 1);
    if (ch === '.' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

function isVariable(name: string): name is RecordTemplateVariable {
  return (RECORD_TEMPLATE_VARIABLES as readonly string[]).includes(name);
}

function invalid(template: string, why: string): DnsError {
  return new DnsError(
    DnsErrorCodes.INVALID,
    `the DNS record template ${JSON.stringify(template)} ${why}`,
    { details: { template } },
  );
}

/**
 * Expands a record template into a fully qualified name in `zone`.
 *
 * Each dot-separated part of the template is one label. A part with placeholders is filled in and
 * then made a valid DNS label by `dnsLabel` of `@deploytag/context` (lower case, `[a-z0-9-]`, at
 * most 63 characters, a readable prefix plus a short hash when it had to change), so every branch
 * gives a valid, stable name and two branches never share one. A part without placeholders must
 * already be a valid label. The zone is appended; a template that already ends with the zone is
 * taken as a full name, and `@` stands for the zone's apex.
 *
 * @param template - such as `{.Branch}-app` or `{.Release}.preview`
 * @param vars - the placeholder values (see {@link recordTemplateVars})
 * @param zone - the zone's apex, such as `example.com`
 * @returns such as `feature-login-app.example.com`
 * @throws DnsError `E_DNS_INVALID` for an unknown or missing placeholder, a malformed template, or
 *   a name longer than 253 characters
 */
export function expandRecordTemplate(
  template: string,
  vars: RecordTemplateVars,
  zone: string,
): string {
  const apex = normalizeName(zone);
  if (!isHostName(apex)) {
    throw new DnsError(
      DnsErrorCodes.INVALID,
      `the DNS zone ${JSON.stringify(zone)} is not a domain name; set DNS_ZONE (or DOMAIN) to the zone's apex, such as example.com`,
    );
  }
  let relative = template.trim();
  if (relative === '@' || relative.toLowerCase() === apex) return apex;
  if (relative.toLowerCase().endsWith(`.${apex}`)) {
    relative = relative.slice(0, relative.length - apex.length - 1);
  }
  if (relative === '') throw invalid(template, 'is empty; use @ for the zone apex');
  const labels = splitLabels(relative).map((part) => {
    if (part === '') throw invalid(template, 'has an empty label (two dots in a row)');
    if (/[{}]/.test(part.replace(PLACEHOLDER, ''))) {
      throw invalid(template, 'has a brace that is not part of a {.Name} placeholder');
    }
    const used = /\{\.[A-Za-z]+\}/.test(part);
    const filled = part.replace(PLACEHOLDER, (_match, name: string) => {
      if (!isVariable(name)) {
        throw invalid(
          template,
          `uses {.${name}}, which does not exist; use ${RECORD_TEMPLATE_VARIABLES.map((v) => `{.${v}}`).join(', ')}`,
        );
      }
      const value = vars[name];
      if (value === undefined || value === '') {
        throw invalid(
          template,
          `uses {.${name}}, which this deployment does not have${name === 'Branch' ? ' (a tag build has no branch; use {.Release} or {.Environment})' : ''}`,
        );
      }
      return value;
    });
    if (!used) {
      const label = part.toLowerCase();
      if (!isHostName(label)) {
        throw invalid(template, `has ${JSON.stringify(part)}, which is not a DNS label`);
      }
      return label;
    }
    return dnsLabel(filled);
  });
  const name = `${labels.join('.')}.${apex}`;
  if (name.length > DNS_NAME_MAX_LENGTH) {
    throw invalid(
      template,
      `gives ${name.length} characters (${name}), more than DNS allows (${DNS_NAME_MAX_LENGTH})`,
    );
  }
  return name;
}
