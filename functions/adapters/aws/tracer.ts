/**
 * X-Ray tracing of the AWS SDK clients: every client a Lambda creates goes through {@link traced},
 * so each DynamoDB, Step Functions, EventBridge, Lambda, Bedrock, Secrets Manager, S3 and KMS call
 * is a subsegment of the invocation's trace, with the service, operation, request id, retries,
 * status and error/fault/throttle flags the X-Ray console shows for the X-Ray SDK's own
 * `captureAWSv3Client`, and the outgoing `X-Amzn-Trace-Id` names that subsegment as the parent.
 *
 * Why not Powertools Tracer (which wraps `aws-xray-sdk-core`): it was the largest single cost of a
 * cold start here, ~127 KiB per bundle (the X-Ray SDK, its `semver` and `cls-hooked`) and 14–20 %
 * of process start + import (issue 10), for the one feature this project uses, capturing SDK
 * clients. What that feature needs is small and documented: the trace header Lambda gives each
 * invocation (`_X_AMZN_TRACE_ID`, or the runtime's invoke store), the daemon address Lambda sets
 * (`AWS_XRAY_DAEMON_ADDRESS`), and one UDP datagram per subsegment in the daemon's JSON format
 * (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html). Lambda itself
 * records the function's segment (tracing ACTIVE); these subsegments hang below it.
 *
 * Outside Lambda (tests, the local host) there is no trace header and no daemon address: the
 * middleware then passes every call through untouched. A failure to send never fails the call.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { withFastConfig } from '../sdk/fast-config.js';

/** The middleware's name in each client's stack (adding it twice replaces it). */
export const XRAY_MIDDLEWARE_NAME = 'decisionReplayXRay';

/** The trace an invocation belongs to, from its `X-Amzn-Trace-Id`-format header. */
export interface TraceContext {
  /** `1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx` */
  root: string;
  /** The id of the segment calls hang below (Lambda's function segment). */
  parent: string;
  sampled: boolean;
  /** Other fields of the header (`Lineage=…`), passed on unchanged. */
  extra: string[];
}

/** Parses `Root=…;Parent=…;Sampled=1[;…]`; undefined without both a root and a parent. */
export function parseTraceHeader(header: string | undefined): TraceContext | undefined {
  if (header === undefined || header === '') return undefined;
  let root: string | undefined;
  let parent: string | undefined;
  let sampled = false;
  const extra: string[] = [];
  for (const field of header.split(';')) {
    const eq = field.indexOf('=');
    const key = field.slice(0, eq).trim();
    const value = field.slice(eq + 1).trim();
    if (key === 'Root') root = value;
    else if (key === 'Parent') parent = value;
    else if (key === 'Sampled') sampled = value === '1';
    else if (eq > 0 && key !== 'Self') extra.push(`${key}=${value}`);
  }
  return root && parent ? { root, parent, sampled, extra } : undefined;
}

/** Where the daemon listens: `host:port` or `udp:host:port tcp:host:port` (Lambda's format). */
export function parseDaemonAddress(address: string | undefined): { host: string; port: number } | undefined {
  if (!address) return undefined;
  const udp = address.split(/\s+/).find((part) => part.startsWith('udp:')) ?? address.split(/\s+/)[0] ?? '';
  const match = /^(?:udp:)?([^:\s]+):(\d{1,5})$/.exec(udp);
  return match ? { host: match[1] as string, port: Number(match[2]) } : undefined;
}

/** The Lambda runtime's per-invocation store (multi-concurrency runtimes keep the trace header there). */
type RuntimeGlobal = { awslambda?: { InvokeStore?: { getXRayTraceId(): string | undefined } } };

/** The current invocation's trace: the runtime's invoke store first, then `_X_AMZN_TRACE_ID`. */
function currentTrace(): TraceContext | undefined {
  return parseTraceHeader((globalThis as RuntimeGlobal).awslambda?.InvokeStore?.getXRayTraceId() ?? process.env._X_AMZN_TRACE_ID);
}

/** One X-Ray subsegment for one AWS call, as the daemon takes it. */
export interface AwsSubsegment {
  id: string;
  trace_id: string;
  parent_id: string;
  type: 'subsegment';
  name: string;
  namespace: 'aws';
  start_time: number;
  end_time: number;
  aws: { operation: string; region?: string; request_id?: string; retries: number; resource_names?: string[] } & Record<string, unknown>;
  http?: { response: { status: number } };
  error?: true;
  fault?: true;
  throttle?: true;
  cause?: { exceptions: { id: string; message: string; type: string; remote: true }[] };
}

/** Sends subsegments to the daemon; the default writes UDP datagrams to `AWS_XRAY_DAEMON_ADDRESS`. */
export type SegmentEmitter = (subsegment: AwsSubsegment) => void;

const DAEMON_HEADER = '{"format": "json", "version": 1}\n';
let socket: Socket | undefined;

/** The UDP emitter (the socket is opened on first use and never keeps the process alive). */
export const udpEmitter: SegmentEmitter = (subsegment) => {
  const daemon = parseDaemonAddress(process.env.AWS_XRAY_DAEMON_ADDRESS);
  if (!daemon) return;
  if (!socket) {
    socket = createSocket('udp4');
    socket.unref();
    // A lost datagram loses one subsegment; it must never surface as an error of the call.
    socket.on('error', () => undefined);
  }
  socket.send(DAEMON_HEADER + JSON.stringify(subsegment), daemon.port, daemon.host, () => undefined);
};

/** Input parameters that name the resource a call is about, shown in the trace (never values). */
const RESOURCE_PARAMS = ['TableName', 'FunctionName', 'stateMachineArn', 'executionArn', 'SecretId', 'Bucket', 'KeyId', 'modelId'] as const;

/** The part of an SDK error or output the subsegment uses. */
interface Metadata {
  $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number };
}

const X_AMZN_TRACE_ID = 'X-Amzn-Trace-Id';

type Next = (args: { input: object; request: unknown }) => Promise<{ output: Metadata }>;
interface Context {
  clientName?: string;
  commandName?: string;
}

/** The build-step middleware that records one subsegment per call. */
function xrayMiddleware(region: () => Promise<string>, emit: SegmentEmitter) {
  return (next: Next, context: Context) => async (args: { input: object; request: unknown }) => {
    const trace = currentTrace();
    if (!trace) return next(args);
    const id = randomBytes(8).toString('hex');
    const request = args.request as { headers?: Record<string, string> };
    if (request.headers) {
      request.headers[X_AMZN_TRACE_ID] = [`Root=${trace.root}`, `Parent=${trace.sampled ? id : trace.parent}`, `Sampled=${trace.sampled ? 1 : 0}`, ...trace.extra].join(';');
    }
    if (!trace.sampled) return next(args);
    const start = Date.now() / 1000;
    const record = async (meta: Metadata['$metadata'], error?: Error): Promise<void> => {
      const status = meta?.httpStatusCode;
      const input = args.input as Record<string, unknown>;
      const names = RESOURCE_PARAMS.map((p) => input[p]).filter((v): v is string => typeof v === 'string');
      const subsegment: AwsSubsegment = {
        id,
        trace_id: trace.root,
        parent_id: trace.parent,
        type: 'subsegment',
        name: (context.clientName ?? 'AWS').replace(/Client$/, ''),
        namespace: 'aws',
        start_time: start,
        end_time: Date.now() / 1000,
        aws: {
          operation: (context.commandName ?? 'Unknown').replace(/Command$/, ''),
          region: await region().catch(() => undefined),
          request_id: meta?.requestId,
          retries: Math.max(0, (meta?.attempts ?? 1) - 1),
          ...(names.length > 0 ? { resource_names: names } : {}),
        },
        ...(status !== undefined ? { http: { response: { status } } } : {}),
      };
      const throttled = status === 429 || /Throttl|TooManyRequests|RequestLimitExceeded/.test(error?.name ?? '');
      if (throttled) {
        subsegment.throttle = true;
        subsegment.error = true;
      } else if (status !== undefined && status >= 500) subsegment.fault = true;
      else if (status !== undefined && status >= 400) subsegment.error = true;
      else if (error) subsegment.fault = true;
      if (error) subsegment.cause = { exceptions: [{ id: randomBytes(8).toString('hex'), message: error.message, type: error.name, remote: true }] };
      try {
        emit(subsegment);
      } catch {
        // Tracing never fails the traced call.
      }
    };
    try {
      const result = await next(args);
      await record(result.output.$metadata);
      return result;
    } catch (err) {
      await record((err as Metadata).$metadata, err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  };
}

/** What {@link traced} needs of an SDK v3 client. */
interface TraceableClient {
  config: { region: unknown };
  middlewareStack: {
    add(middleware: never, options: { step: 'build'; name: string; override: boolean }): void;
  };
}

/**
 * `client`, traced: its middleware stack gains {@link XRAY_MIDDLEWARE_NAME}. `emit` is for tests;
 * on Lambda subsegments go to the daemon. Every client a Lambda creates comes through here, so this
 * is also where its configuration gets fast properties back ({@link withFastConfig}), which every
 * call of it copies several times.
 */
export function traced<C extends TraceableClient>(client: C, emit: SegmentEmitter = udpEmitter): C {
  withFastConfig(client);
  const configured = client.config.region;
  const region = async (): Promise<string> => String(typeof configured === 'function' ? await (configured as () => unknown)() : configured);
  client.middlewareStack.add(xrayMiddleware(region, emit) as never, { step: 'build', name: XRAY_MIDDLEWARE_NAME, override: true });
  return client;
}
