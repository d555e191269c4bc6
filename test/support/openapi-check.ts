/**
 * Holds every answer the e2e suite receives to the OpenAPI document the host serves: the status
 * must be declared for that route and method, the content type must be one the answer declares,
 * a JSON body must satisfy its schema (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses), and each
 * declared response header that is present must satisfy its schema. The request helpers of
 * test/support/http.ts call {@link checkAnswer} on every answer, so a route added later is held to
 * its description without anyone writing a test for it.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';

/** Paths the local host serves beside the API (demo model, local stand-ins); not part of the document. */
export const LOCAL_ONLY_PREFIXES = ['/_local/', '/demo/'] as const;

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => Ajv2020;

type JsonSchema = Record<string, unknown>;
interface MediaType {
  schema?: JsonSchema;
}
interface Response {
  $ref?: string;
  description?: string;
  headers?: Record<string, { schema?: JsonSchema; required?: boolean }>;
  content?: Record<string, MediaType>;
}
interface Document {
  paths: Record<string, Record<string, { responses: Record<string, Response> }>>;
  components: { schemas: Record<string, JsonSchema>; responses?: Record<string, Response> };
}

/** Thrown when an answer is not what the served document says it is. */
export class ContractViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractViolation';
  }
}

const DOC_ID = 'https://decision-replay.local/openapi.json';

/** The fetch of the platform, taken before a test may wrap the global one (see withCheckedFetch). */
const platformFetch = globalThis.fetch.bind(globalThis);

interface CompiledDocument {
  doc: Document;
  ajv: Ajv2020;
  routes: { method: string; template: string; pattern: RegExp; literals: number }[];
  validators: Map<string, ValidateFunction>;
}

const documents = new Map<string, Promise<CompiledDocument>>();

/** `METHOD /template STATUS` of every answer checked in this process, for coverage assertions. */
export const checkedAnswers = new Set<string>();

async function loadDocument(baseUrl: string): Promise<CompiledDocument> {
  const res = await platformFetch(`${baseUrl}/openapi.json`);
  if (res.status !== 200) throw new ContractViolation(`GET ${baseUrl}/openapi.json answered ${res.status}: the document to check answers against is not served`);
  const doc = (await res.json()) as Document;
  // The whole document is one schema resource, so `#/components/schemas/X` refs resolve in it.
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema({ $id: DOC_ID, components: doc.components }, DOC_ID);
  const routes = Object.entries(doc.paths).flatMap(([template, ops]) => {
    const segments = template.split('/');
    const source = segments.map((seg) => (/^\{\w+\}$/.test(seg) ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/');
    const literals = segments.filter((seg) => !/^\{\w+\}$/.test(seg)).length;
    return Object.keys(ops).map((method) => ({ method: method.toUpperCase(), template, pattern: new RegExp(`^${source}$`), literals }));
  });
  return { doc, ajv, routes, validators: new Map() };
}

/** The document served at `baseUrl`, fetched and compiled once per host. */
function documentAt(baseUrl: string): Promise<CompiledDocument> {
  let entry = documents.get(baseUrl);
  if (!entry) {
    entry = loadDocument(baseUrl);
    documents.set(baseUrl, entry);
    entry.catch(() => documents.delete(baseUrl));
  }
  return entry;
}

function resolveResponse(compiled: CompiledDocument, response: Response): Response {
  if (response.$ref === undefined) return response;
  const name = /^#\/components\/responses\/(.+)$/.exec(response.$ref)?.[1];
  const target = name === undefined ? undefined : compiled.doc.components.responses?.[name];
  if (!target) throw new ContractViolation(`response $ref ${response.$ref} does not resolve`);
  return target;
}

/** A validator for a schema of the document, compiled once per `key`. */
function validatorFor(compiled: CompiledDocument, key: string, schema: JsonSchema): ValidateFunction {
  let validate = compiled.validators.get(key);
  if (!validate) {
    // A `$ref` inside `schema` is relative to the document, so point it into the document resource.
    validate = compiled.ajv.compile(rewriteRefs(schema));
    compiled.validators.set(key, validate);
  }
  return validate;
}

/** Points local refs (`#/components/...`) at the document resource. */
function rewriteRefs(value: JsonSchema): JsonSchema {
  return JSON.parse(JSON.stringify(value), (k, v: unknown) => (k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${DOC_ID}${v}` : v)) as JsonSchema;
}

function describeErrors(errors: readonly ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, 8)
    .map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}${e.keyword === 'additionalProperties' ? ` '${String((e.params as { additionalProperty?: string }).additionalProperty)}'` : ''}`)
    .join('; ');
}

/** What a request got back, as the checker needs it. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * Checks one answer against the document served at `baseUrl`; throws a {@link ContractViolation}
 * naming the route, the status and every mismatch. Answers from local-only paths are not checked.
 */
export async function checkAnswer(baseUrl: string, method: string, path: string, answer: Answer): Promise<void> {
  const pathname = new URL(path, 'http://host').pathname;
  if (LOCAL_ONLY_PREFIXES.some((prefix) => pathname.startsWith(prefix))) return;
  checkedAnswers.add(check(await documentAt(baseUrl), method, pathname, answer));
}

/** Checks one answer; returns what was checked (`METHOD /template STATUS`). */
function check(compiled: CompiledDocument, method: string, pathname: string, answer: Answer): string {
  const upper = method.toUpperCase();
  const route = compiled.routes.filter((r) => r.method === upper && r.pattern.test(pathname)).sort((a, b) => b.literals - a.literals)[0];
  const label = route ? `${upper} ${route.template} (${pathname}) → ${answer.status}` : `${upper} ${pathname} (no route) → ${answer.status}`;
  const fail = (what: string): never => {
    throw new ContractViolation(`${label}: ${what}\n  body: ${answer.text.slice(0, 400)}`);
  };

  let response: Response;
  let pointer: string;
  if (!route) {
    // Not described: the API's catch-all answers 404 in the shared error shape.
    if (answer.status !== 404) fail('a path and method the document does not describe must answer 404');
    response = { content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } } };
    pointer = '$default 404';
  } else {
    const responses = compiled.doc.paths[route.template]?.[route.method.toLowerCase()]?.responses ?? {};
    const declared = responses[String(answer.status)] ?? responses[`${String(answer.status)[0]}XX`] ?? responses.default;
    if (!declared) fail(`status ${answer.status} is not declared (declared: ${Object.keys(responses).join(', ')})`);
    response = resolveResponse(compiled, declared as Response);
    pointer = `${route.method} ${route.template} ${answer.status}`;
  }

  for (const [name, header] of Object.entries(response.headers ?? {})) {
    const value = answer.headers.get(name);
    if (value === null) {
      if (header.required === true) fail(`required header ${name} is missing`);
      continue;
    }
    if (header.schema) {
      const validate = validatorFor(compiled, `${pointer} header ${name}`, header.schema);
      // A header is text: one whose schema is a number is read as one (OpenAPI's `simple` style).
      const type = (header.schema as { type?: unknown }).type;
      const typed = (type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
      if (!validate(typed)) fail(`header ${name}: '${value}' does not match its schema: ${describeErrors(validate.errors)}`);
    }
  }

  // A HEAD answer never has a body (RFC 9110 §9.3.2), whatever its GET's would be.
  if (upper === 'HEAD') {
    if (answer.text !== '') fail('a HEAD answer carries a body');
    return pointer;
  }
  const content = response.content;
  if (!content || Object.keys(content).length === 0) {
    if (answer.text !== '') fail('the document declares no body, but one came');
    return pointer;
  }
  const mediaType = (answer.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const media = content[mediaType];
  if (!media) fail(`content type '${mediaType}' is not declared (declared: ${Object.keys(content).join(', ')})`);
  if (!(media as MediaType).schema) return pointer;
  let body: unknown = answer.text;
  if (mediaType === 'application/json' || mediaType.endsWith('+json')) {
    try {
      body = JSON.parse(answer.text);
    } catch {
      fail('the body is not valid JSON');
    }
  }
  const validate = validatorFor(compiled, `${pointer} ${mediaType}`, (media as MediaType).schema as JsonSchema);
  if (!validate(body)) fail(`the body does not match its schema: ${describeErrors(validate.errors)}`);
  return pointer;
}
