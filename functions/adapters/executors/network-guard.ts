/**
 * Keeps user-registered executor URLs away from addresses they must not reach. On AWS a URL that
 * resolves to 169.254.169.254 (instance metadata), 127.0.0.1:9001 (the Lambda runtime API) or a
 * VPC-internal address would turn the replay route into a proxy into the account; so those are
 * refused unless the host explicitly allows private networks (the one-machine host does: its demo
 * model and the user's models live on 127.0.0.1).
 *
 * The check resolves the host itself and then lets fetch resolve it again, so a DNS server that
 * answers differently the second time (rebinding) is not caught; the redirect policy of the
 * callers (never follow) and the short time between the two lookups narrow that window.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ExecutorError, ExecutorForbiddenAddressError, ExecutorTimeoutError, ExecutorUnreachableError } from '../../core/executor.js';

/** One resolved address, as `dns.promises.lookup(host, {all: true})` gives it. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all its addresses. Injectable so tests can drive DNS. */
export type LookupFn = (hostname: string) => Promise<ResolvedAddress[]>;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS), every address, in the resolver's order. */
export const systemLookup: LookupFn = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface NetworkGuardOptions {
  lookup: LookupFn;
  /** Allow loopback, private and link-local addresses (the local host sets it; off on AWS). */
  allowPrivateNetworks: boolean;
  /** Aborts the lookup (the executor's overall timeout). */
  signal?: AbortSignal;
  /** The call's timeout, for the error message when `signal` fires. */
  timeoutMs?: number;
}

type Category = 'loopback' | 'link-local' | 'private' | 'unusable';

function blockList(entries: ReadonlyArray<[string, number, 'ipv4' | 'ipv6']>): BlockList {
  const list = new BlockList();
  for (const [net, prefix, type] of entries) list.addSubnet(net, prefix, type);
  return list;
}

// Node's BlockList matches IPv4 rules against IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) too.
const RANGES: ReadonlyArray<[Category, BlockList]> = [
  ['loopback', blockList([['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']])],
  ['link-local', blockList([['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']])],
  [
    'private',
    blockList([
      ['0.0.0.0', 8, 'ipv4'], // "this network": 0.0.0.0 connects to the local host on Linux
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
      ['100.64.0.0', 10, 'ipv4'], // carrier-grade NAT, also used inside some AWS services
      ['192.0.0.0', 24, 'ipv4'], // IETF protocol assignments
      ['198.18.0.0', 15, 'ipv4'], // benchmarking
      ['fc00::', 7, 'ipv6'], // unique local
      ['::', 128, 'ipv6'], // unspecified
      ['64:ff9b::', 96, 'ipv6'], // NAT64: embeds an IPv4 address that could be any of the above
      ['64:ff9b:1::', 48, 'ipv6'],
    ]),
  ],
  [
    'unusable',
    blockList([
      ['224.0.0.0', 4, 'ipv4'], // multicast
      ['240.0.0.0', 4, 'ipv4'], // reserved, and 255.255.255.255 broadcast
      ['ff00::', 8, 'ipv6'], // multicast
    ]),
  ],
];

/** Why an address may not be called, or undefined when it is a public unicast address. */
export function classifyAddress(address: string): Category | undefined {
  const family = isIP(address);
  if (family === 0) return 'unusable';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [category, list] of RANGES) if (list.check(address, type)) return category;
  return undefined;
}

/**
 * Refuses a URL whose scheme is not http(s) or whose host resolves to any address outside the
 * public internet (unless private networks are allowed; multicast and reserved are always refused).
 * Every address of the host is checked, since the HTTP client may pick any of them.
 */
export async function assertAllowedUrl(url: URL, options: NetworkGuardOptions): Promise<void> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ExecutorForbiddenAddressError(url.host, url.protocol, 'only http and https are allowed');
  }
  // URL keeps brackets around IPv6 literals.
  const host = url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
  const addresses = isIP(host) !== 0 ? [host] : await resolve(host, options);
  if (addresses.length === 0) throw new ExecutorUnreachableError(`executor host '${host}' has no address`);
  for (const address of addresses) {
    const category = classifyAddress(address);
    if (category === undefined) continue;
    if (category === 'unusable') throw new ExecutorForbiddenAddressError(host, address, 'not a unicast address');
    if (!options.allowPrivateNetworks) throw new ExecutorForbiddenAddressError(host, address, `a ${category} address`);
  }
}

async function resolve(host: string, options: NetworkGuardOptions): Promise<string[]> {
  const { signal } = options;
  signal?.throwIfAborted();
  let onAbort: (() => void) | undefined;
  // getaddrinfo cannot be cancelled; racing it against the signal keeps the overall timeout honest.
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal?.reason ?? new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    const found = await Promise.race([options.lookup(host), aborted]);
    return found.map((a) => a.address);
  } catch (err) {
    if (err instanceof ExecutorError) throw err;
    if (signal?.aborted) throw new ExecutorTimeoutError(options.timeoutMs ?? 0, `looking up '${host}'`, { cause: err });
    const code = (err as { code?: unknown } | null)?.code;
    throw new ExecutorUnreachableError(`executor host '${host}' could not be resolved${typeof code === 'string' ? ` (${code})` : ''}`, { cause: err });
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
