/**
 * Model executors (bedrock, openai): the prompt built from a decision, and the reading of a model's
 * text answer as outputs.
 */
import { excerpt, parseExecutorAnswer } from './executor-answer.js';
import { ExecutorMalformedResponseError } from './executor-errors.js';
import type { ExecutionRequest } from './executor-port.js';
import type { JsonValue } from './json.js';
import { namedValuesToObject, type NamedValue } from './snapshot.js';

/** A chat prompt: one system text and one user text. */
export interface ModelPrompt {
  system: string;
  user: string;
}

/**
 * The prompt for a model executor: the system prompt is `context.systemPrompt` when the decision
 * recorded one (that is how it was made), else an instruction to answer with the outputs as JSON;
 * the user message is the inputs as a JSON object keyed by input name.
 */
export function buildModelPrompt(req: ExecutionRequest): ModelPrompt {
  const recorded = req.context?.systemPrompt;
  const system = typeof recorded === 'string' && recorded.trim() !== '' ? recorded : defaultSystemPrompt(req);
  return { system, user: JSON.stringify(namedValuesToObject(req.inputs)) };
}

function defaultSystemPrompt(req: ExecutionRequest): string {
  const names = req.expectedOutputs ?? [];
  const which = names.length > 0
    ? `exactly these outputs: ${names.map((n) => JSON.stringify(n)).join(', ')}`
    : 'every output of the decision';
  return [
    `You make the decision of the function ${JSON.stringify(req.functionName)}.`,
    'The user message is a JSON object holding the inputs of one decision, keyed by input name.',
    'Answer with a single JSON object and nothing else, of the form',
    '{"outputs":[{"name":"<output name>","value":<any JSON value>}]},',
    `listing ${which}.`,
  ].join(' ');
}

const FENCE = /```(?:json|JSON)?[ \t]*\r?\n?([\s\S]*?)```/;

/**
 * Reads a model's text answer as outputs: a JSON object `{outputs:[…]}` (also inside a ```json
 * fence), or a JSON object whose keys are exactly the expected output names; else, when exactly one
 * output is expected, text that is not a JSON object or array (prose) is that output. Anything else
 * (another JSON object or an array) is malformed.
 */
export function parseModelText(text: string, expectedOutputs: readonly string[] | undefined, target: string): NamedValue[] {
  const trimmed = text.trim();
  const fenced = FENCE.exec(trimmed);
  const candidates = fenced?.[1] !== undefined ? [fenced[1].trim(), trimmed] : [trimmed];
  let parsedObject: Record<string, unknown> | undefined;
  let parsedArray = false;
  for (const candidate of candidates) {
    const value = tryParseJson(candidate);
    if (Array.isArray(value)) parsedArray = true;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      parsedObject = value as Record<string, unknown>;
      break;
    }
  }
  if (parsedObject !== undefined) {
    if (Object.hasOwn(parsedObject, 'outputs')) return parseExecutorAnswer(parsedObject, target).outputs;
    const names = expectedOutputs ?? [];
    if (names.length > 0 && names.every((n) => Object.hasOwn(parsedObject, n))) {
      return parseExecutorAnswer({ outputs: names.map((name) => ({ name, value: parsedObject[name] as JsonValue })) }, target).outputs;
    }
  }
  // A JSON object or array that is not the asked-for shape is a malformed answer, not prose to
  // keep as the one output's text: counted as an executor error, not as a mismatch.
  if (parsedObject !== undefined || parsedArray) {
    const wanted = expectedOutputs && expectedOutputs.length > 0 ? `{"outputs":[…]} or an object keyed by ${expectedOutputs.map((n) => JSON.stringify(n)).join(', ')}` : '{"outputs":[…]}';
    throw new ExecutorMalformedResponseError(`${target} answered with JSON that is not ${wanted}: ${excerpt(trimmed)}`);
  }
  if (expectedOutputs?.length === 1 && trimmed !== '') {
    const [name] = expectedOutputs;
    // Through the same checks as a JSON answer (text that is not valid Unicode is malformed).
    if (name !== undefined) return parseExecutorAnswer({ outputs: [{ name, value: trimmed, type: 'string' }] }, target).outputs;
  }
  const wanted = expectedOutputs && expectedOutputs.length > 0 ? `the outputs ${expectedOutputs.map((n) => JSON.stringify(n)).join(', ')}` : 'outputs';
  throw new ExecutorMalformedResponseError(`${target} answered with text that holds no JSON object of ${wanted}: ${excerpt(trimmed)}`);
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
