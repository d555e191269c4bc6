/**
 * A small credit-decision model in two versions, served by the local host at `/demo/credit/v1` and
 * `/demo/credit/v2` so that a new user can register a real http executor and see replays match and
 * mismatch without writing a model first:
 *
 *   PUT /functions/approve_loan/executor  {"type":"http","url":"http://127.0.0.1:3000/demo/credit/v2"}
 *
 * Both versions are deterministic. v2 weighs the debt-to-income ratio more heavily, so applicants
 * with debt get lower scores and some decisions flip (approve → review, review → decline); for a
 * debt-free applicant both versions decide alike, with the same score and a slightly reworded
 * rationale (which a Tolerant replay accepts and a Strict one does not).
 */
import * as z from 'zod/mini';
import { issueLine, toFieldIssues } from '../core/schema-util.js';
import { handleDemoVariantRequest } from './demo-variants.js';

export type DemoVersion = 'v1' | 'v2';
export type Decision = 'approve' | 'review' | 'decline';

/** The applicant a demo decision is about; other fields are allowed and ignored. */
export const ApplicantSchema = z.looseObject({
  income: z.number().check(z.gte(0, 'income must be >= 0'), z.lte(1e12, 'income is implausibly large')),
  age: z.number().check(z.gte(0, 'age must be >= 0'), z.lte(150, 'age must be <= 150')),
  debt: z.optional(z.number().check(z.gte(0, 'debt must be >= 0'), z.lte(1e12, 'debt is implausibly large'))),
});
export type Applicant = z.infer<typeof ApplicantSchema>;

/** The http executor's request, as far as the demo reads it. */
const DemoRequestSchema = z.looseObject({
  inputs: z.array(z.looseObject({ name: z.string(), value: z.unknown() })),
});

/** Weights of each version; only the debt-to-income penalty differs. */
const WEIGHTS: Record<DemoVersion, { dtiPenalty: number }> = {
  v1: { dtiPenalty: 0.25 },
  v2: { dtiPenalty: 0.6 },
};

/** Income at which the income term saturates. */
const FULL_INCOME = 60_000;

export interface DemoDecision {
  decision: Decision;
  score: number;
  rationale: string;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const money = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** The demo model itself: a pure, deterministic function of the applicant. */
export function decideCredit(version: DemoVersion, applicant: Applicant): DemoDecision {
  if (applicant.age < 18) {
    return {
      decision: 'decline',
      score: 0,
      rationale: version === 'v1' ? 'Declined: applicants must be at least 18 years old.' : 'Declined: the applicant must be 18 or older.',
    };
  }
  const debt = applicant.debt ?? 0;
  // No income and some debt is the worst ratio the model distinguishes.
  const dti = applicant.income > 0 ? Math.min(debt / applicant.income, 2) : debt > 0 ? 2 : 0;
  const incomeTerm = 0.6 * Math.min(applicant.income / FULL_INCOME, 1);
  const ageTerm = applicant.age >= 25 && applicant.age <= 65 ? 0.05 : 0;
  const score = round3(Math.min(1, Math.max(0, 0.2 + incomeTerm + ageTerm - WEIGHTS[version].dtiPenalty * dti)));
  const decision: Decision = score >= 0.6 ? 'approve' : score >= 0.4 ? 'review' : 'decline';
  const income = money.format(applicant.income);
  const ratio = `${Math.round(dti * 100)}%`;
  return { decision, score, rationale: RATIONALE[version][decision](income, ratio) };
}

/** Same decision: a few words differ between versions. Different decision: a different sentence. */
const RATIONALE: Record<DemoVersion, Record<Decision, (income: string, ratio: string) => string>> = {
  v1: {
    approve: (income, ratio) => `Approved: an income of ${income} comfortably covers a debt-to-income ratio of ${ratio}.`,
    review: (income, ratio) => `Referred for review: an income of ${income} with a debt-to-income ratio of ${ratio} is borderline.`,
    decline: (income, ratio) => `Declined: an income of ${income} does not support a debt-to-income ratio of ${ratio}.`,
  },
  v2: {
    approve: (income, ratio) => `Approved: an income of ${income} comfortably supports a debt-to-income ratio of ${ratio}.`,
    review: (income, ratio) => `Referred for manual review: an income of ${income} with a debt-to-income ratio of ${ratio} is borderline.`,
    decline: (income, ratio) => `Declined: an income of ${income} cannot support a debt-to-income ratio of ${ratio}.`,
  },
};

function badRequest(message: string): { status: number; body: unknown } {
  return { status: 400, body: { error: { code: 'INVALID_REQUEST', message } } };
}

function demoDescription(version: DemoVersion): unknown {
  return {
    name: `demo-credit-${version}`,
    description:
      'A built-in demo credit-decision model. POST the http executor request; v2 weighs the debt-to-income ratio more heavily than v1.',
    request: {
      functionName: 'approve_loan',
      inputs: [{ name: 'applicant', value: { income: 52000, age: 41, debt: 20000 }, type: 'object' }],
    },
    outputs: [
      { name: 'decision', type: 'string', values: ['approve', 'review', 'decline'] },
      { name: 'score', type: 'number', range: [0, 1] },
      { name: 'rationale', type: 'string' },
    ],
    register: { method: 'PUT', path: '/functions/approve_loan/executor', body: { type: 'http', url: `http://127.0.0.1:<PORT>/demo/credit/${version}` } },
  };
}

/**
 * Serves the demo model: `POST` decides, `GET` describes. Returns undefined for any path other than
 * `/demo/credit/v1` and `/demo/credit/v2` (the caller then routes the request elsewhere).
 */
export function handleDemoRequest(method: string, path: string, body: unknown): { status: number; body: unknown } | undefined {
  const variant = handleDemoVariantRequest(method, path, body);
  if (variant !== undefined) return variant;
  const match = /^\/demo\/credit\/(v1|v2)\/?(?:\?.*)?$/.exec(path);
  const version = match?.[1] as DemoVersion | undefined;
  if (version === undefined) return undefined;
  const verb = method.toUpperCase();
  if (verb === 'GET') return { status: 200, body: demoDescription(version) };
  if (verb !== 'POST') return { status: 405, body: { error: { code: 'METHOD_NOT_ALLOWED', message: `${verb} is not supported on ${path}; use POST (or GET for a description)` } } };

  const started = performance.now();
  const request = DemoRequestSchema.safeParse(body);
  if (!request.success) {
    return badRequest(`expected the http executor request {functionName, inputs: [{name, value}], …}: ${toFieldIssues(request.error).map(issueLine).join('; ')}`);
  }
  const entry = request.data.inputs.find((i) => i.name === 'applicant');
  if (entry === undefined) return badRequest("inputs must contain an entry named 'applicant' whose value is {income, age, debt?}");
  const applicant = ApplicantSchema.safeParse(entry.value);
  if (!applicant.success) {
    return badRequest(`invalid applicant: ${toFieldIssues(applicant.error).map(issueLine).join('; ')}`);
  }
  const result = decideCredit(version, applicant.data);
  return {
    status: 200,
    body: {
      outputs: [
        { name: 'decision', value: result.decision, type: 'string' },
        { name: 'score', value: result.score, type: 'number' },
        { name: 'rationale', value: result.rationale, type: 'string' },
      ],
      executionTimeMs: round3(performance.now() - started),
    },
  };
}
