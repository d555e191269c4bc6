/**
 * Two more variants of the demo credit model, served by the local host beside `/demo/credit/v1|v2`:
 *
 * - **Noisy** — `/demo/credit-noisy/v1` and `/v2`: the same decisions as the plain model (v2 again
 *   weighs debt more heavily), but answered the way a real model service answers: with a fresh
 *   `requestId` and `generatedAt` on every call, the rationale in one of several paraphrases, and
 *   the score jittered by up to ±0.001. Two runs on the same input never answer identically, which
 *   is what a noise profile (`POST /functions/{fn}/noise-profile`) learns to tell from real changes.
 *   Its rationale wording is the same in both versions, so between v1 and v2 only the decisions
 *   that truly change (applicants with debt) differ beyond the noise.
 *
 * - **Tool-using** — `/demo/credit-tools/v1` and `/v2`: the decision also depends on an interest
 *   rate from a local "rates" tool (`GET /demo/rates`), whose answer changes on every call. The
 *   model reports the tool calls it made in its answer (`dependencies`), so you can record them
 *   with the snapshot. In a replay with `dependencyMode: "recorded"` the executor request carries
 *   `recordedDependencies` and the model answers the tool call from the recording (same rate, same
 *   decision every time); in `live` mode it asks the tool again (a new rate each time). v2 skips the
 *   rate lookup for debt-free applicants (nothing to price), so its replays of those decisions
 *   report the `rates` dependency as `missing`.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import { issueLine, toFieldIssues } from '../core/schema-util.js';
import { ApplicantSchema, decideCredit, type Applicant, type DemoVersion } from './demo-model.js';

type Reply = { status: number; body: unknown };

/** The executor request as these variants read it. */
const VariantRequestSchema = z.looseObject({
  inputs: z.array(z.looseObject({ name: z.string(), value: z.unknown() })),
  dependencyMode: z.optional(z.enum(['recorded', 'live'])),
  recordedDependencies: z.optional(z.array(z.looseObject({ name: z.string(), response: z.unknown() }))),
});
type VariantRequest = z.infer<typeof VariantRequestSchema>;

function badRequest(message: string): Reply {
  return { status: 400, body: { error: { code: 'INVALID_REQUEST', message } } };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function parse(body: unknown): { request: VariantRequest; applicant: Applicant } | Reply {
  const request = VariantRequestSchema.safeParse(body);
  if (!request.success) return badRequest(`expected the http executor request {functionName, inputs: [{name, value}], …}: ${toFieldIssues(request.error).map(issueLine).join('; ')}`);
  const entry = request.data.inputs.find((i) => i.name === 'applicant');
  if (entry === undefined) return badRequest("inputs must contain an entry named 'applicant' whose value is {income, age, debt?}");
  const applicant = ApplicantSchema.safeParse(entry.value);
  if (!applicant.success) return badRequest(`invalid applicant: ${toFieldIssues(applicant.error).map(issueLine).join('; ')}`);
  return { request: request.data, applicant: applicant.data };
}

// ------------------------------------------------------------------------------------------------
// Noisy

/**
 * Ways the noisy model opens the same rationale; the choice is random on every call. Each opener is
 * three words that share none with another opener or with a rationale, so any two differently worded
 * answers are equally far apart (a lexical similarity of n / (n + 3) for a rationale of n words).
 */
const OPENERS: readonly string[] = ['Model decision follows.', 'Assessment outcome stated.', 'Result explained briefly.', 'Short summary here.'];

/** The rationale core: the same words in both versions, so only real decision changes alter it. */
const NOISY_CORE: Record<'approve' | 'review' | 'decline', (income: number) => string> = {
  approve: (income) => `Approved: an income of ${income} covers the requested credit.`,
  review: (income) => `Referred for review: an income of ${income} makes the request borderline.`,
  decline: (income) => `Declined: an income of ${income} does not support the requested credit.`,
};

/** Uniform in [-0.001, 0.001], rounded to 4 decimals. */
function jitter(): number {
  return Math.round((Math.random() * 2 - 1) * 10) / 10_000;
}

/** An ISO-8601 UTC timestamp with microseconds, as many model services stamp their answers. */
function microsecondTimestamp(): string {
  const micros = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));
  const iso = new Date(Number(micros / 1000n)).toISOString();
  return `${iso.slice(0, -1)}${String(micros % 1000n).padStart(3, '0')}Z`;
}

/** One noisy answer: the deterministic decision with a fresh id, a timestamp, a paraphrase and score jitter. */
export function decideNoisy(version: DemoVersion, applicant: Applicant): { decision: string; score: number; rationale: string; requestId: string; generatedAt: string } {
  const base = decideCredit(version, applicant);
  const opener = OPENERS[Math.floor(Math.random() * OPENERS.length)] ?? '';
  const core = NOISY_CORE[base.decision](Math.round(applicant.income));
  return {
    decision: base.decision,
    score: Math.round((base.score + jitter()) * 10_000) / 10_000,
    rationale: `${opener} ${core}`,
    requestId: randomUUID(),
    generatedAt: microsecondTimestamp(),
  };
}

function noisyReply(version: DemoVersion, body: unknown): Reply {
  const started = performance.now();
  const parsed = parse(body);
  if ('status' in parsed) return parsed;
  const d = decideNoisy(version, parsed.applicant);
  return {
    status: 200,
    body: {
      outputs: [
        { name: 'decision', value: d.decision, type: 'string' },
        { name: 'score', value: d.score, type: 'number' },
        { name: 'rationale', value: d.rationale, type: 'string' },
        { name: 'requestId', value: d.requestId, type: 'string' },
        { name: 'generatedAt', value: d.generatedAt, type: 'string' },
      ],
      executionTimeMs: round3(performance.now() - started),
    },
  };
}

// ------------------------------------------------------------------------------------------------
// Tool-using

let quoteCount = 0;

/** The local "rates" tool: an annual rate that moves on every call (a market that never sits still). */
export function quoteRate(currency: string): { currency: string; rate: number; quote: number } {
  quoteCount += 1;
  // Walks between 3.0 % and 6.9 % in 0.1 % steps; consecutive quotes always differ.
  const rate = Math.round((0.03 + ((quoteCount * 7) % 40) / 1000) * 10_000) / 10_000;
  return { currency, rate, quote: quoteCount };
}

interface ToolCall {
  name: string;
  kind: 'tool';
  request: { currency: string; amount: number };
  response: unknown;
  latencyMs: number;
}

/** Answers the `rates` call from the recording (recorded mode) or from the tool (live mode, or nothing recorded). */
function callRates(request: VariantRequest, ask: { currency: string; amount: number }): ToolCall {
  const started = performance.now();
  const recorded = request.recordedDependencies?.find((d) => d.name === 'rates');
  const response = request.dependencyMode === 'recorded' && recorded !== undefined ? recorded.response : quoteRate(ask.currency);
  return { name: 'rates', kind: 'tool', request: ask, response, latencyMs: round3(performance.now() - started) };
}

function rateOf(response: unknown): number | undefined {
  const rate = (response as { rate?: unknown } | null)?.rate;
  return typeof rate === 'number' && Number.isFinite(rate) ? rate : undefined;
}

function toolsReply(version: DemoVersion, body: unknown): Reply {
  const started = performance.now();
  const parsed = parse(body);
  if ('status' in parsed) return parsed;
  const { request, applicant } = parsed;
  const debt = applicant.debt ?? 0;
  const currency = typeof applicant.currency === 'string' ? applicant.currency : 'USD';
  const calls: ToolCall[] = [];
  let rate = 0;
  // v2 does not price a loan for a debt-free applicant: it makes no rates call then.
  if (version === 'v1' || debt > 0) {
    const call = callRates(request, { currency, amount: debt });
    calls.push(call);
    const r = rateOf(call.response);
    if (r === undefined) return { status: 502, body: { error: { code: 'TOOL_ANSWER_INVALID', message: 'the rates tool answered without a numeric rate' } } };
    rate = r;
  }
  const base = decideCredit(version, applicant);
  // A year's interest on the debt, against income: each rate point costs score.
  const interestShare = applicant.income > 0 ? (debt * rate) / applicant.income : debt > 0 ? 1 : 0;
  const score = round3(Math.max(0, Math.min(1, base.score - 2 * interestShare)));
  const decision = score >= 0.6 ? 'approve' : score >= 0.4 ? 'review' : 'decline';
  const rationale = calls.length > 0
    ? `${decision === 'approve' ? 'Approved' : decision === 'review' ? 'Referred for review' : 'Declined'}: at ${(rate * 100).toFixed(1)}% a year, interest on ${Math.round(debt)} is ${(interestShare * 100).toFixed(1)}% of an income of ${Math.round(applicant.income)}.`
    : `${decision === 'approve' ? 'Approved' : decision === 'review' ? 'Referred for review' : 'Declined'}: no debt to price; an income of ${Math.round(applicant.income)}.`;
  return {
    status: 200,
    body: {
      outputs: [
        { name: 'decision', value: decision, type: 'string' },
        { name: 'score', value: score, type: 'number' },
        { name: 'rationale', value: rationale, type: 'string' },
      ],
      executionTimeMs: round3(performance.now() - started),
      dependencies: calls,
    },
  };
}

/**
 * Serves the variants: `POST /demo/credit-noisy/{v1|v2}`, `POST /demo/credit-tools/{v1|v2}` and
 * `GET /demo/rates` (a USD quote). Returns undefined for any other path.
 */
export function handleDemoVariantRequest(method: string, path: string, body: unknown): Reply | undefined {
  const verb = method.toUpperCase();
  if (/^\/demo\/rates\/?$/.test(path)) {
    if (verb !== 'GET') return { status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED', message: `${verb} is not supported on /demo/rates; use GET` } } };
    return { status: 200, body: quoteRate('USD') };
  }
  const match = /^\/demo\/credit-(noisy|tools)\/(v1|v2)\/?(?:\?.*)?$/.exec(path);
  if (!match) return undefined;
  const [, variant, version] = match as unknown as [string, 'noisy' | 'tools', DemoVersion];
  if (verb === 'GET') {
    return {
      status: 200,
      body: {
        name: `demo-credit-${variant}-${version}`,
        description: variant === 'noisy'
          ? 'The demo credit model answering like a real model service: a fresh requestId and generatedAt, a paraphrased rationale and a score jitter of ±0.001 on every call.'
          : 'The demo credit model with a tool call: it asks the local rates tool (GET /demo/rates) for an interest rate that changes on every call, and reports the call under "dependencies". With recordedDependencies in the request (dependencyMode "recorded") it uses the recorded rate. v2 skips the call for debt-free applicants.',
        register: { method: 'PUT', path: '/functions/<functionName>/executor', body: { type: 'http', url: `http://127.0.0.1:<PORT>/demo/credit-${variant}/${version}` } },
      },
    };
  }
  if (verb !== 'POST') return { status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED', message: `${verb} is not supported on ${path}; use POST (or GET for a description)` } } };
  return variant === 'noisy' ? noisyReply(version, body) : toolsReply(version, body);
}
