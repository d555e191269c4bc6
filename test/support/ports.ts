/** Free loopback ports for the tests that start `npm start` as its own process. */
import { createServer } from 'node:net';

/** A port nobody listens on right now (the OS picks it; we close and hand it over). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
