// Types for ./dynalite-direct.mjs (plain JavaScript, so that the dynalite worker thread can import it).
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface DirectRequest {
  method: string;
  path: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

export interface DirectResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Answers one request with dynalite's HTTP request handler, without a socket. */
export function serveDirect(handle: (req: IncomingMessage, res: ServerResponse) => void, request: DirectRequest): Promise<DirectResponse>;
