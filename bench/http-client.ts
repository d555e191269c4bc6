/**
 * The benchmarks' HTTP client for calls into the local host: node:http over a keep-alive agent,
 * the same stack the AWS SDK's own handler uses for the direct DynamoDB calls the host is compared
 * with, so neither side is charged for a slower client than the other.
 */
import { Agent, request as httpRequest } from 'node:http';

export class BenchClient {
  private readonly agent: Agent;

  /** `connections`: how many keep-alive sockets at most (8 by default). */
  constructor(
    private readonly base: string,
    connections = 8,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: connections });
  }

  /** One request (`extraHeaders` added or overriding); resolves with the status and the body text. */
  request(method: string, path: string, body?: string, extraHeaders?: Record<string, string>): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const headers = { ...(body !== undefined && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }), ...extraHeaders };
      const req = httpRequest(new URL(path, this.base), { method, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** A JSON request that must answer 2xx; resolves with the parsed body. */
  async json(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await this.request(method, path, body === undefined ? undefined : JSON.stringify(body));
    const parsed: unknown = res.body === '' ? undefined : JSON.parse(res.body);
    if (res.status < 200 || res.status > 299) throw new Error(`${method} ${path} → ${res.status} ${res.body.slice(0, 300)}`);
    return parsed;
  }

  close(): void {
    this.agent.destroy();
  }
}
