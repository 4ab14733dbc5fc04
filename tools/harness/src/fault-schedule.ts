/**
 * The fault schedule of a {@link FaultProxy}: which request gets which fault. Pure (the clock is
 * passed in), so it is unit-tested on its own.
 */

/** What the proxy does to a request instead of (or before) forwarding it. */
export type Fault =
  /** Answers this status without forwarding (the request body is read and dropped). */
  | {
      kind: 'status';
      status: number;
      /** The answer's body; a short plain-text line by default. */
      body?: string;
      /** The answer's headers (`Content-Type` is `text/plain` unless given). */
      headers?: Readonly<Record<string, string>>;
    }
  /** Holds the request this long, then forwards it (a slow server). */
  | { kind: 'delay'; ms: number }
  /** Closes the client's connection at once (TCP reset), answering nothing. */
  | { kind: 'reset' }
  /** Never answers; the connection stays open until the client gives up or the proxy closes. */
  | { kind: 'hang' }
  /** Forwards the request, then closes both connections this long after it arrived (a cut stream). */
  | { kind: 'cut'; afterMs: number };

/** One entry of a schedule: which requests get a fault, how often and for how long. */
export interface FaultRule {
  /** Only requests with this method (any case); every method when absent. */
  method?: string;
  /** Only requests whose path (without the query) starts with this text, or matches this expression. */
  path?: string | RegExp;
  /** The fault. */
  fault: Fault;
  /** How many matching requests get it; unlimited when absent. */
  times?: number;
  /** For how long after the rule was added it applies, in milliseconds; forever when absent. */
  forMs?: number;
}

/** A rule in a schedule, with what is left of it. */
interface ActiveRule {
  rule: FaultRule;
  left: number;
  until: number;
}

/** A request as the schedule sees it. */
export interface RequestFacts {
  method: string;
  /** The request target (`/v2/app/manifests/v1?x=1`); the query is ignored when matching. */
  url: string;
}

/** Whether a rule applies to a request (ignoring its count and time limit). */
export function ruleMatches(rule: FaultRule, req: RequestFacts): boolean {
  if (rule.method !== undefined && rule.method.toUpperCase() !== req.method.toUpperCase())
    return false;
  if (rule.path === undefined) return true;
  const q = req.url.indexOf('?');
  const path = q === -1 ? req.url : req.url.slice(0, q);
  return typeof rule.path === 'string' ? path.startsWith(rule.path) : rule.path.test(path);
}

/**
 * An ordered list of fault rules. For each request the first rule that matches, has requests left
 * and has not expired gives its fault (and uses up one of its `times`); a request no rule takes is
 * forwarded untouched. Spent and expired rules are dropped.
 */
export class FaultSchedule {
  readonly #rules: ActiveRule[] = [];
  readonly #now: () => number;

  /** @param now - the clock, in milliseconds (`Date.now` unless given) */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Appends rules; their `forMs` counts from now. */
  add(...rules: readonly FaultRule[]): void {
    const now = this.#now();
    for (const rule of rules) {
      if (rule.times !== undefined && (!Number.isInteger(rule.times) || rule.times < 0))
        throw new RangeError(`times must be a non-negative integer, not ${rule.times}`);
      this.#rules.push({
        rule,
        left: rule.times ?? Number.POSITIVE_INFINITY,
        until: rule.forMs === undefined ? Number.POSITIVE_INFINITY : now + rule.forMs,
      });
    }
  }

  /** Removes every rule: from now on every request is forwarded. */
  clear(): void {
    this.#rules.length = 0;
  }

  /** How many rules are still in force. */
  get pending(): number {
    this.#prune();
    return this.#rules.length;
  }

  /** The fault for this request, if any (using up one of the rule's `times`). */
  take(req: RequestFacts): Fault | undefined {
    this.#prune();
    const active = this.#rules.find((r) => ruleMatches(r.rule, req));
    if (active === undefined) return undefined;
    active.left -= 1;
    return active.rule.fault;
  }

  #prune(): void {
    const now = this.#now();
    for (let i = this.#rules.length - 1; i >= 0; i--) {
      const r = this.#rules[i]!;
      if (r.left <= 0 || r.until <= now) this.#rules.splice(i, 1);
    }
  }
}
