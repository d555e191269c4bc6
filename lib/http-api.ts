/**
 * The HTTP API: one route per manifest route key, every route behind IAM (SigV4) authorization,
 * JSON access logs and stage-wide throttling.
 */
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpRoute, HttpRouteKey, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** One API Gateway v2 route key (`"GET /snapshots/{id}"` or `"$default"`) and its Lambda. */
export interface RouteBinding {
  readonly routeKey: string;
  readonly handler: IFunction;
}

export interface DecisionHttpApiProps {
  readonly routes: readonly RouteBinding[];
  /** Steady-state requests per second for the whole stage. */
  readonly rateLimit: number;
  /** Burst bucket size for the whole stage. */
  readonly burstLimit: number;
}

/**
 * HTTP API access log line: one JSON object per request. HTTP APIs support a subset of REST API
 * context variables, so the format is spelled out rather than taken from REST's standard fields.
 * Every value is quoted: a variable without a value renders as `-`, which bare would break the JSON.
 */
export const ACCESS_LOG_FIELDS: Readonly<Record<string, string>> = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  userArn: '$context.identity.userArn',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  error: '$context.error.message',
};

const METHODS: Record<string, HttpMethod> = {
  GET: HttpMethod.GET,
  POST: HttpMethod.POST,
  PUT: HttpMethod.PUT,
  DELETE: HttpMethod.DELETE,
  PATCH: HttpMethod.PATCH,
  HEAD: HttpMethod.HEAD,
  OPTIONS: HttpMethod.OPTIONS,
};

/** `"GET /a/{id}"` → `HttpRouteKey.with('/a/{id}', GET)`; `"$default"` → the catch-all. */
export function toHttpRouteKey(routeKey: string): HttpRouteKey {
  if (routeKey === '$default') return HttpRouteKey.DEFAULT;
  const match = /^([A-Z]+) (\/\S*)$/.exec(routeKey);
  const method = match?.[1] === undefined ? undefined : METHODS[match[1]];
  if (match?.[2] === undefined || method === undefined) throw new Error(`Unsupported route key "${routeKey}"`);
  return HttpRouteKey.with(match[2], method);
}

/**
 * The API. Every route, `$default` and `GET /openapi.json` included, requires IAM authorization:
 * the service holds audit data and is meant for callers inside the deploying account (SigV4).
 */
export class DecisionHttpApi extends Construct {
  public readonly api: HttpApi;
  public readonly stage: HttpStage;
  public readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: DecisionHttpApiProps) {
    super(scope, id);
    this.api = new HttpApi(this, 'Api', {
      description: 'decision-replay: record, replay and audit AI decisions',
      defaultAuthorizer: new HttpIamAuthorizer(),
      // The stage is created below so that access logging and throttling are set on it.
      createDefaultStage: false,
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.THREE_MONTHS });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    // One integration per function, shared by its routes (each route still gets its own invoke
    // permission, scoped to that route's ARN).
    const integrations = new Map<IFunction, HttpLambdaIntegration>();
    for (const { routeKey, handler } of props.routes) {
      let integration = integrations.get(handler);
      if (integration === undefined) {
        integration = new HttpLambdaIntegration(`${handler.node.id}Integration`, handler);
        integrations.set(handler, integration);
      }
      new HttpRoute(this, `Route${routeKey.replace(/[^A-Za-z0-9]+/g, '-')}`, {
        httpApi: this.api,
        routeKey: toHttpRouteKey(routeKey),
        integration,
      });
    }
  }

  /** The stage's invoke URL (ends with `/`). */
  get url(): string {
    return this.stage.url;
  }
}
