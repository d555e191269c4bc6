/**
 * Keeps user-registered executor URLs away from addresses they must not reach. On AWS a URL that
 * resolves to 169.254.169.254 (instance metadata), 127.0.0.1:9001 (the Lambda runtime API) or a
 * VPC-internal address would turn the replay route into a proxy into the account; so those are
 * refused unless the host explicitly allows private networks (the one-machine host does: its demo
 * model and the user's models live on 127.0.0.1).
 *
 * IPv6 forms that carry an IPv4 address (IPv4-mapped and -compatible, 6to4, Teredo, NAT64) are
 * judged by the IPv4 address they lead to. The addresses checked are the ones the connection uses:
 * the transport connects through a lookup pinned to them (pinned-transport.ts), so a DNS server
 * that answers differently the second time (rebinding) reaches nothing new.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ExecutorError, ExecutorForbiddenAddressError, ExecutorTimeoutError, ExecutorUnreachableError, type ExecutorAddressPolicy } from '../../core/executor.js';

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

/**
 * Verdicts already reached, by address text: an executor's few addresses are checked on every
 * call, and each check builds a SocketAddress per range list. Bounded: emptied when full.
 */
const verdicts = new Map<string, Category | undefined>();
const MAX_VERDICTS = 1024;

/** Why an address may not be called, or undefined when it is a public unicast address. */
export function classifyAddress(address: string): Category | undefined {
  if (!verdicts.has(address)) {
    if (verdicts.size >= MAX_VERDICTS) verdicts.clear();
    verdicts.set(address, classifyUncached(address));
  }
  return verdicts.get(address);
}

function classifyUncached(address: string): Category | undefined {
  const family = isIP(address);
  if (family === 0) return 'unusable';
  if (family === 6) {
    // An IPv6 address that carries an IPv4 address is judged by the IPv4 address(es) it leads to
    // (the worst of them: a Teredo address carries two).
    const inner = embeddedIpv4s(address).map((e) => ({ kind: e.kind, category: classifyAddress(e.ipv4) }));
    const blocked = inner.find((e) => e.category === 'unusable') ?? inner.find((e) => e.category !== undefined);
    if (blocked?.category !== undefined) return blocked.category;
    // IPv4-compatible addresses are deprecated (RFC 4291 §2.5.5.1): no real service answers on one.
    if (inner.some((e) => e.kind === 'ipv4-compatible')) return 'unusable';
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [category, list] of RANGES) if (list.check(address, type)) return category;
  return undefined;
}

/** The ways an IPv6 address can carry an IPv4 address (RFC 4291, 3056, 4380, 6052). */
export type EmbeddingKind = 'ipv4-mapped' | 'ipv4-compatible' | '6to4' | 'teredo-client' | 'teredo-server' | 'nat64';

/**
 * Every IPv4 address an IPv6 address embeds, by the first rule that applies (in this order):
 * - IPv4-mapped `::ffff:0:0/96` (`::ffff:127.0.0.1`, `::ffff:7f00:1`): the low 32 bits;
 * - IPv4-compatible `::/96`, except `::` and `::1` (`::127.0.0.1`, `::7f00:1`; deprecated by RFC 4291): the low 32 bits;
 * - 6to4 `2002::/16` (`2002:7f00:1::`): bits 16–47;
 * - Teredo `2001::/32`: the client's address is the low 32 bits inverted (`2001::…:80ff:fefe` → 127.0.1.1);
 *   the server's, bits 32–63, is returned too;
 * - NAT64 `64:ff9b::/96` (RFC 6052 well-known prefix): the low 32 bits. The local-use prefix
 *   `64:ff9b:1::/48` places the IPv4 address by a prefix length the address does not tell, so it is
 *   refused as a whole (see RANGES) rather than decoded.
 */
export function embeddedIpv4s(address: string): Array<{ kind: EmbeddingKind; ipv4: string }> {
  const bytes = ipv6Bytes(address);
  if (bytes === undefined) return [];
  const v4 = (at: number, invert = false) => Array.from(bytes.subarray(at, at + 4), (b) => (invert ? b ^ 0xff : b)).join('.');
  const zeros = (from: number, to: number) => bytes.subarray(from, to).every((b) => b === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return [{ kind: 'ipv4-mapped', ipv4: v4(12) }];
  if (zeros(0, 12)) {
    // :: (unspecified) and ::1 (loopback) are their own ranges, not IPv4-compatible addresses.
    if (zeros(12, 15) && (bytes[15] ?? 0) <= 1) return [];
    return [{ kind: 'ipv4-compatible', ipv4: v4(12) }];
  }
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return [{ kind: '6to4', ipv4: v4(2) }];
  if (bytes[0] === 0x20 && bytes[1] === 0x01 && bytes[2] === 0 && bytes[3] === 0) {
    return [{ kind: 'teredo-client', ipv4: v4(12, true) }, { kind: 'teredo-server', ipv4: v4(4) }];
  }
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) return [{ kind: 'nat64', ipv4: v4(12) }];
  return [];
}

/** The 16 bytes of an IPv6 address in any textual form (`::`, embedded dotted quad, zone id), or undefined. */
export function ipv6Bytes(address: string): Uint8Array | undefined {
  const text = address.replace(/%.*$/, '');
  if (isIP(text) !== 6) return undefined;
  const parse = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const gap = text.indexOf('::');
  const head = parse(gap === -1 ? text : text.slice(0, gap));
  const tail = gap === -1 ? [] : parse(text.slice(gap + 2));
  const groups = gap === -1 ? head : [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  if (groups.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}

/**
 * Refuses a URL whose scheme is not http(s) or whose host resolves to any address outside the
 * public internet (unless private networks are allowed; multicast and reserved are always refused).
 * Every address of the host is checked, since the HTTP client may pick any of them; they are
 * returned so that the connection is made to exactly those (no second lookup).
 */
export async function assertAllowedUrl(url: URL, options: NetworkGuardOptions): Promise<ResolvedAddress[]> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ExecutorForbiddenAddressError(url.host, url.protocol, 'only http and https are allowed');
  }
  const host = hostOf(url);
  const literal = isIP(host);
  const addresses = literal !== 0 ? [{ address: host, family: literal }] : await resolve(host, options);
  if (addresses.length === 0) throw new ExecutorUnreachableError(`executor host '${host}' has no address`);
  for (const { address } of addresses) {
    const why = refusal(address, options.allowPrivateNetworks);
    if (why !== undefined) throw new ExecutorForbiddenAddressError(host, address, why);
  }
  return addresses;
}

/** A URL's host as an address or name: URL keeps brackets around IPv6 literals. */
function hostOf(url: URL): string {
  return url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
}

/** Why the guard refuses to call `address` ('not a unicast address', 'a private address', …), or undefined. */
function refusal(address: string, allowPrivateNetworks: boolean): string | undefined {
  const category = classifyAddress(address);
  if (category === undefined) return undefined;
  if (category === 'unusable') return 'not a unicast address';
  return allowPrivateNetworks ? undefined : `a ${category} address`;
}

/**
 * What registration (`PUT /functions/{fn}/executor`) can tell of a URL without calling it: a host
 * that is a literal address {@link assertAllowedUrl} refuses (in any form the URL parser reads,
 * `http://0x7f000001/` being 127.0.0.1) is refused at once, by the same rules. A host name is
 * resolved only when called: what it resolves to then is what counts (and may change).
 */
export function executorAddressPolicy(allowPrivateNetworks: boolean): ExecutorAddressPolicy {
  return {
    refuses(target: URL): string | undefined {
      if (target.protocol !== 'http:' && target.protocol !== 'https:') return undefined; // the schema refuses it
      const host = hostOf(target);
      if (isIP(host) === 0) return undefined;
      const why = refusal(host, allowPrivateNetworks);
      if (why === undefined) return undefined;
      const hint = why === 'not a unicast address' ? 'no executor can be called there' : 'executors of this deployment may not call loopback, link-local or private addresses (see allowPrivateNetworkExecutors, EXECUTOR_ALLOW_PRIVATE_NETWORKS)';
      return `host ${host} is ${why}: ${hint}`;
    },
  };
}

async function resolve(host: string, options: NetworkGuardOptions): Promise<ResolvedAddress[]> {
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
    return found.map((a) => ({ address: a.address, family: a.family }));
  } catch (err) {
    if (err instanceof ExecutorError) throw err;
    if (signal?.aborted) throw new ExecutorTimeoutError(options.timeoutMs ?? 0, `looking up '${host}'`, { cause: err });
    const code = (err as { code?: unknown } | null)?.code;
    throw new ExecutorUnreachableError(`executor host '${host}' could not be resolved${typeof code === 'string' ? ` (${code})` : ''}`, { cause: err });
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
