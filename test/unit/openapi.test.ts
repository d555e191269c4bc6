import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { DEPLOYED_ROUTES, ROUTES } from '../../functions/api/manifest.js';
import { buildOpenApiDocument, OpenApiGenerationError, SECURITY_SCHEME } from '../../functions/api/openapi.js';
import { OPERATIONS, type Operation } from '../../functions/api/operations.js';

interface Doc {
  openapi: string;
  security: Record<string, string[]>[];
  paths: Record<string, Record<string, { operationId: string; security: Record<string, string[]>[]; requestBody?: unknown; responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }> }>>;
  components: { schemas: Record<string, Record<string, unknown>>; responses: Record<string, { content: Record<string, { schema: { $ref: string } }> }>; securitySchemes: Record<string, Record<string, unknown>> };
}

const doc = buildOpenApiDocument() as unknown as Doc;
const routeKeys = ROUTES.map((r) => r.routeKey).filter((k) => k !== '$default');

function operation(routeKey: string) {
  const [method = '', path = ''] = routeKey.split(' ');
  return doc.paths[path]?.[method.toLowerCase()];
}

/** Every `$ref` value anywhere in a JSON value. */
function refsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refsIn(v, out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refsIn(v, out);
    }
  }
  return out;
}

/** Resolves a local JSON pointer (`#/a/b`) in the document. */
function resolve(ref: string): unknown {
  let at: unknown = doc;
  for (const seg of ref.replace(/^#\//, '').split('/')) at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[seg.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  return at;
}

describe('the OpenAPI document', () => {
  it('describes exactly the routes deployed (the manifest and the HEAD twin of each GET), each with a body schema for its success answers', () => {
    const described = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(described.sort()).toEqual(DEPLOYED_ROUTES.map((r) => r.routeKey).filter((k) => k !== '$default').sort());
    for (const routeKey of routeKeys) {
      const success = Object.entries(operation(routeKey)?.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
      expect(success.length, routeKey).toBeGreaterThan(0);
      for (const [status, response] of success) expect(Object.keys(response.content ?? {}), `${routeKey} ${status}`).not.toEqual([]);
    }
  });

  it('describes HEAD wherever GET is, with the same statuses and headers and no body', () => {
    for (const routeKey of routeKeys.filter((k) => k.startsWith('GET '))) {
      const get = operation(routeKey);
      const head = operation(routeKey.replace(/^GET /, 'HEAD ')) as (typeof get & { responses: Record<string, { headers?: unknown }> }) | undefined;
      expect(Object.keys(head?.responses ?? {}).sort(), routeKey).toEqual(Object.keys(get?.responses ?? {}).sort());
      for (const [status, response] of Object.entries(head?.responses ?? {})) {
        expect(response.content, `${routeKey} ${status}`).toBeUndefined();
        // A shared error response (a $ref) with its headers: a 503's Retry-After, a 416's Content-Range.
        const full = get?.responses[status] as { headers?: unknown; $ref?: string } | undefined;
        const shared = full?.$ref === undefined ? full : (doc as unknown as { components: { responses: Record<string, { headers?: unknown }> } }).components.responses[full.$ref.slice('#/components/responses/'.length)];
        expect(response.headers, `${routeKey} ${status}`).toEqual(shared?.headers);
      }
      expect(head?.operationId).toBe(`${get?.operationId}Head`);
    }
  });

  it('refers only to definitions it holds: every $ref resolves, and no inline $defs are left', () => {
    const refs = refsIn(doc);
    expect(refs.length).toBeGreaterThan(50);
    for (const ref of refs) {
      expect(ref, ref).toMatch(/^#\/components\/(schemas|responses)\/\w+$/);
      expect(resolve(ref), ref).toBeDefined();
    }
    expect(JSON.stringify(doc)).not.toMatch(/\$defs|__shared|\$id|\$schema/);
  });

  it('names the recursive JSON value as a component that refers to itself', () => {
    const jsonValue = doc.components.schemas.JsonValue;
    expect(refsIn(jsonValue)).toEqual(['#/components/schemas/JsonValue', '#/components/schemas/JsonValue']);
    expect(refsIn(doc.components.schemas.NamedValue)).toContain('#/components/schemas/JsonValue');
  });

  it('declares the SigV4 security scheme of API Gateway IAM authorization and requires it on every route', () => {
    expect(doc.components.securitySchemes[SECURITY_SCHEME]).toMatchObject({ type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authtype': 'awsSigv4' });
    expect(doc.security).toEqual([{ [SECURITY_SCHEME]: [] }]);
    for (const routeKey of routeKeys) expect(operation(routeKey)?.security, routeKey).toEqual([{ [SECURITY_SCHEME]: [] }]);
  });

  it('answers errors with the shared error schema on every route, and 403 for an unsigned request on AWS', () => {
    for (const routeKey of routeKeys) {
      const responses = operation(routeKey)?.responses ?? {};
      for (const status of ['413', '500']) expect(responses[status]?.$ref, `${routeKey} ${status}`).toMatch(/^#\/components\/responses\//);
      expect(responses['403']?.$ref).toBe('#/components/responses/Forbidden');
      for (const [status, response] of Object.entries(responses).filter(([s]) => /^[45]\d\d$/.test(s) && s !== '403')) {
        const shared = resolve(response.$ref ?? '') as Doc['components']['responses'][string];
        expect(shared.content['application/json']?.schema.$ref, `${routeKey} ${status}`).toBe('#/components/schemas/ErrorBody');
      }
    }
  });

  it('describes the request body of every route that takes one', () => {
    for (const [routeKey, op] of Object.entries(OPERATIONS) as [string, Operation][]) {
      expect(Boolean(operation(routeKey)?.requestBody), routeKey).toBe(op.body !== undefined);
    }
    expect(operation('POST /snapshots')?.requestBody).toEqual({ required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/RecordSnapshot' } } } });
  });

  it('declares the 200 of an idempotent repeat of POST /snapshots beside its 201', () => {
    const responses = operation('POST /snapshots')?.responses ?? {};
    expect(responses['201']?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/Snapshot' });
    expect(responses['200']?.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/Snapshot' });
  });

  it('describes the fields replay results, batches and batch results carry', () => {
    const properties = (name: string) => Object.keys(doc.components.schemas[name]?.properties as object);
    expect(properties('ReplayResult')).toEqual(expect.arrayContaining(['functionName', 'tolerance', 'overrides', 'policy']));
    expect(properties('FieldComparison')).toContain('provider');
    expect(properties('Batch')).toEqual(expect.arrayContaining(['maxConcurrency', 'request', 'trigger', 'createdAt', 'completedAt']));
    expect(properties('BatchResult')).toEqual(expect.arrayContaining(['integrity', 'createdAt']));
    // Closed objects: a field the schema does not declare is a violation, so drift shows.
    for (const name of ['ReplayResult', 'Batch', 'BatchResult', 'Snapshot', 'ValidationReport']) expect(doc.components.schemas[name]?.additionalProperties, name).toBe(false);
  });

  it('is a valid OpenAPI 3.1 document for @apidevtools/swagger-parser', async () => {
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  describe('redocly lint (recommended rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'openapi-lint-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reports no errors and no warnings', async () => {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc));
      const cli = join(dirname(createRequire(import.meta.url).resolve('@redocly/cli/package.json')), 'bin', 'cli.js');
      const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done, fail) => {
        const child = spawn(process.execPath, [cli, 'lint', '--extends=recommended', '--format=json', file], {
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
          timeout: 60_000,
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.on('error', fail);
        child.on('close', (exitCode) => done({ code: exitCode, stdout: out, stderr: err }));
      });
      const report = JSON.parse(stdout) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string; location: { pointer: string }[] }[] };
      const problems = report.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer ?? '?'}: ${p.message}`);
      expect(problems, stderr).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
      expect(code).toBe(0);
    }, 90_000);
  });
});

describe('buildOpenApiDocument', () => {
  it('refuses a recursive schema that is not a named component instead of emitting an unresolvable $defs reference', () => {
    type Tree = { children: Tree[] };
    const TreeSchema: z.ZodMiniType<Tree> = z.lazy(() => z.object({ children: z.array(TreeSchema) }));
    const operations: Record<string, Operation> = { ...OPERATIONS, 'GET /batches/{id}': { ...OPERATIONS['GET /batches/{id}'], responses: { 200: { description: 'nested', json: z.object({ tree: TreeSchema }) } } } };
    expect(() => buildOpenApiDocument(operations)).toThrow(OpenApiGenerationError);
  });

  it('describes an HTML page answer as text/html', () => {
    const operations: Record<string, Operation> = { ...OPERATIONS, 'GET /batches/{id}': { ...OPERATIONS['GET /batches/{id}'], responses: { 200: { description: 'A report', html: true } } } };
    const built = buildOpenApiDocument(operations) as unknown as Doc;
    expect(built.paths['/batches/{id}']?.get?.responses['200']?.content).toEqual({ 'text/html': { schema: { type: 'string', description: 'A self-contained HTML page' } } });
  });

  it('refuses a route without an operation, naming it', () => {
    const { 'GET /batches/{id}': _dropped, ...operations } = OPERATIONS;
    expect(() => buildOpenApiDocument(operations)).toThrow(/GET \/batches\/\{id\}/);
  });
});
