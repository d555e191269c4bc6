// DynamoDB requests handed to dynalite without a socket. Plain JavaScript: the dynalite worker
// thread imports it too, and a worker does not go through the TypeScript loader.
//
// The local host's own SDK client and dynalite live in one process (dynalite on a worker thread).
// Going through a loopback TCP connection cost each DynamoDB call two HTTP messages written and
// parsed on each side, and under load the socket writes alone were the largest single cost of a
// record + read through the host. The request keeps the DynamoDB wire protocol (the same JSON body
// and headers the SDK would send) and is answered by dynalite's own HTTP request handler, so it
// validates, executes and answers exactly as it does for a client on its TCP port.
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
// Global index entries are written after the answer (see the file): a request that may read an
// index waits for them, and each answer starts them.
import { answered, settleIndexes, waitsForIndexes } from './dynalite-indexes.mjs';

/**
 * Answers one request with dynalite's HTTP request handler (`server.listeners('request')[0]`).
 * `request`: { method, path, headers (lower-case names), body (string) }. Resolves with
 * { statusCode, headers, body (string) }.
 */
export function serveDirect(handle, request) {
  if (waitsForIndexes(request.headers['x-amz-target'])) return settleIndexes().then(() => answer(handle, request));
  return answer(handle, request);
}

function answer(handle, request) {
  return new Promise((resolve, reject) => {
    const req = new EventEmitter();
    req.method = request.method;
    req.url = request.path;
    req.headers = request.headers;
    const headers = {};
    const res = {
      statusCode: 200,
      setHeader(name, value) {
        headers[String(name).toLowerCase()] = String(value);
      },
      end(data) {
        resolve({ statusCode: res.statusCode, headers, body: data === undefined ? '' : String(data) });
        answered();
      },
    };
    try {
      handle(req, res);
      if (request.body !== '') req.emit('data', Buffer.from(request.body));
      req.emit('end');
    } catch (err) {
      reject(err);
    }
  });
}
