import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecutorError, type ExecutionRequest } from '../../functions/core/executor.js';
import { HttpExecutor, type Transport } from '../../functions/adapters/executors/http-executor.js';
import { assertAllowedUrl, classifyAddress, embeddedIpv4s, ipv6Bytes, type LookupFn } from '../../functions/adapters/executors/network-guard.js';
import { pinnedLookup } from '../../functions/adapters/executors/pinned-transport.js';
import { answerOf } from '../support/executor-assertions.js';

/** DNS as the test says it is. */
function dns(table: Record<string, string[]>): LookupFn {
  return async (hostname) => {
    const addresses = table[hostname];
    if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

async function guardError(url: string, lookup: LookupFn, allowPrivateNetworks: boolean): Promise<ExecutorError | undefined> {
  try {
    await assertAllowedUrl(new URL(url), { lookup, allowPrivateNetworks });
    return undefined;
  } catch (err) {
    if (err instanceof ExecutorError) return err;
    throw err;
  }
}

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['0.0.0.0', 'private'],
    ['fd00::1', 'private'],
    ['64:ff9b::a9fe:a9fe', 'link-local'], // NAT64 of 169.254.169.254: judged by the address it leads to
    ['64:ff9b::808:808', 'private'], // NAT64 of a public address: the prefix itself stays refused
    ['224.0.0.1', 'unusable'],
    ['255.255.255.255', 'unusable'],
  ])('%s is %s', (address, category) => {
    expect(classifyAddress(address)).toBe(category);
  });

  it.each(['8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '52.94.76.10'])('%s is public', (address) => {
    expect(classifyAddress(address)).toBeUndefined();
  });
});

describe('assertAllowedUrl', () => {
  const lookup = dns({
    'model.example.com': ['93.184.216.34'],
    'metadata.attacker.example': ['169.254.169.254'],
    'mixed.attacker.example': ['93.184.216.34', '10.0.0.5'],
    'intranet.corp': ['192.168.10.20'],
    'v6.example.com': ['2606:4700:4700::1111'],
  });

  it('allows a host that resolves to public addresses only', async () => {
    expect(await guardError('https://model.example.com/v1', lookup, false)).toBeUndefined();
    expect(await guardError('http://[2606:4700:4700::1111]:8080/', lookup, false)).toBeUndefined();
  });

  it('refuses a host resolving to the metadata service (link-local) unless private networks are allowed', async () => {
    const err = await guardError('http://metadata.attacker.example/latest', lookup, false);
    expect(err?.code).toBe('EXECUTOR_FORBIDDEN_ADDRESS');
    expect(err?.message).toMatch(/169\.254\.169\.254 \(a link-local address\)/);
    expect(await guardError('http://metadata.attacker.example/latest', lookup, true)).toBeUndefined();
  });

  it('refuses when ANY of the addresses is private (the client may pick any of them)', async () => {
    const err = await guardError('http://mixed.attacker.example/', lookup, false);
    expect(err?.code).toBe('EXECUTOR_FORBIDDEN_ADDRESS');
    expect(err?.message).toMatch(/10\.0\.0\.5 \(a private address\)/);
  });

  it('refuses IP literals in private ranges without a lookup, in IPv4 and IPv6 and mapped forms', async () => {
    const noDns: LookupFn = async () => {
      throw new Error('must not be called for an IP literal');
    };
    for (const url of ['http://10.0.0.1/', 'http://169.254.169.254/', 'http://[::1]:3000/', 'http://[fe80::1]/', 'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0:3000/']) {
      expect((await guardError(url, noDns, false))?.code, url).toBe('EXECUTOR_FORBIDDEN_ADDRESS');
    }
  });

  it('allows loopback and private addresses only when allowed', async () => {
    expect((await guardError('http://127.0.0.1:3000/demo/credit/v1', lookup, false))?.code).toBe('EXECUTOR_FORBIDDEN_ADDRESS');
    expect(await guardError('http://127.0.0.1:3000/demo/credit/v1', lookup, true)).toBeUndefined();
    expect(await guardError('http://intranet.corp/', lookup, true)).toBeUndefined();
  });

  it('always refuses multicast and broadcast, and any scheme but http(s)', async () => {
    expect((await guardError('http://224.0.0.1/', lookup, true))?.code).toBe('EXECUTOR_FORBIDDEN_ADDRESS');
    expect((await guardError('http://255.255.255.255/', lookup, true))?.code).toBe('EXECUTOR_FORBIDDEN_ADDRESS');
    expect((await guardError('ftp://model.example.com/', lookup, true))?.code).toBe('EXECUTOR_FORBIDDEN_ADDRESS');
  });

  it('reports a host that does not resolve as EXECUTOR_UNREACHABLE', async () => {
    const err = await guardError('http://nowhere.invalid/', lookup, false);
    expect(err?.code).toBe('EXECUTOR_UNREACHABLE');
    expect(err?.message).toMatch(/ENOTFOUND/);
  });

  it('a lookup that hangs is cut off by the call timeout', async () => {
    const hanging: LookupFn = () => new Promise(() => undefined);
    const err = await assertAllowedUrl(new URL('http://slow-dns.example/'), { lookup: hanging, allowPrivateNetworks: false, signal: AbortSignal.timeout(100), timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutorError);
    expect((err as ExecutorError).code).toBe('EXECUTOR_TIMEOUT');
  });
});

describe('IPv6 forms that carry a blocked IPv4 address', () => {
  it.each([
    // IPv4-compatible (::/96, deprecated): the low 32 bits.
    ['::7f00:1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['::a9fe:a9fe', 'link-local'],
    ['::10.0.0.1', 'private'],
    ['::8.8.8.8', 'unusable'], // deprecated form: refused even for a public address
    // IPv4-mapped (::ffff:0:0/96), dotted and hex.
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'link-local'],
    // 6to4 (2002::/16): bits 16–47.
    ['2002:7f00:1::', 'loopback'],
    ['2002:a9fe:a9fe::1', 'link-local'],
    ['2002:c0a8:0101::', 'private'],
    ['2002:e000:1::', 'unusable'], // 224.0.0.1
    // Teredo (2001::/32): the client address is the low 32 bits inverted; the server's, bits 32–63.
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'], // client 127.0.0.1
    ['2001:0:4136:e378:8000:63bf:5601:5601', 'link-local'], // client ~5601:5601 = 169.254.169.254
    ['2001:0:7f00:1:8000:63bf:3fff:fdd2', 'loopback'], // server 127.0.0.1
    // NAT64 well-known prefix (64:ff9b::/96): the low 32 bits.
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    // NAT64 local-use prefix (64:ff9b:1::/48): refused whole.
    ['64:ff9b:1::a9fe:a9fe', 'private'],
    ['64:ff9b:1:7f00:1::', 'private'],
  ])('%s is %s', (address, category) => {
    expect(classifyAddress(address)).toBe(category);
  });

  it.each([
    '2002:0808:0808::1', // 6to4 of 8.8.8.8
    '2001:0:4136:e378:8000:63bf:f7f7:f7f7', // Teredo: server 65.54.227.120, client 8.8.8.8
    '2606:4700:4700::1111',
  ])('%s (a public IPv4 inside, or none) is public', (address) => {
    expect(classifyAddress(address)).toBeUndefined();
  });

  it('decodes each form to the IPv4 address it carries', () => {
    expect(embeddedIpv4s('::7f00:1')).toEqual([{ kind: 'ipv4-compatible', ipv4: '127.0.0.1' }]);
    expect(embeddedIpv4s('::ffff:127.0.0.1')).toEqual([{ kind: 'ipv4-mapped', ipv4: '127.0.0.1' }]);
    expect(embeddedIpv4s('2002:7f00:1::')).toEqual([{ kind: '6to4', ipv4: '127.0.0.1' }]);
    expect(embeddedIpv4s('2001:0:4136:e378:8000:63bf:3f57:fefd')).toEqual([
      { kind: 'teredo-client', ipv4: '192.168.1.2' },
      { kind: 'teredo-server', ipv4: '65.54.227.120' },
    ]);
    expect(embeddedIpv4s('64:ff9b::c000:221')).toEqual([{ kind: 'nat64', ipv4: '192.0.2.33' }]);
    expect(embeddedIpv4s('::')).toEqual([]);
    expect(embeddedIpv4s('::1')).toEqual([]);
    expect(embeddedIpv4s('2606:4700:4700::1111')).toEqual([]);
  });

  it('reads every textual form of an IPv6 address', () => {
    expect(Array.from(ipv6Bytes('::1') ?? [])).toEqual([...new Array<number>(15).fill(0), 1]);
    expect(Array.from(ipv6Bytes('fe80::1%eth0') ?? []).slice(0, 2)).toEqual([0xfe, 0x80]);
    expect(Array.from(ipv6Bytes('::ffff:1.2.3.4') ?? []).slice(10)).toEqual([0xff, 0xff, 1, 2, 3, 4]);
    expect(ipv6Bytes('1.2.3.4')).toBeUndefined();
  });

  it('refuses URLs with those literals on AWS, before any connection', async () => {
    const noDns: LookupFn = async () => {
      throw new Error('must not be called for an IP literal');
    };
    for (const url of ['http://[::7f00:1]/', 'http://[::127.0.0.1]:3000/', 'http://[2002:a9fe:a9fe::]/latest/meta-data', 'http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/', 'http://[64:ff9b::a9fe:a9fe]/', 'http://[64:ff9b:1::1]/']) {
      expect((await guardError(url, noDns, false))?.code, url).toBe('EXECUTOR_FORBIDDEN_ADDRESS');
    }
  });

  it('refuses a host name that resolves to one of those forms', async () => {
    const err = await guardError('http://sneaky.attacker.example/', dns({ 'sneaky.attacker.example': ['2002:a9fe:a9fe::'] }), false);
    expect(err?.code).toBe('EXECUTOR_FORBIDDEN_ADDRESS');
    expect(err?.message).toMatch(/2002:a9fe:a9fe:: \(a link-local address\)/);
  });
});

describe('HttpExecutor with the guard', () => {
  const request: ExecutionRequest = { functionName: 'f', inputs: [{ name: 'x', value: 1 }] };
  const okTransport = (): { transport: Transport; calls: Array<{ url: string; addresses: string[] }> } => {
    const calls: Array<{ url: string; addresses: string[] }> = [];
    const transport: Transport = async (url, _request, addresses) => {
      calls.push({ url: String(url), addresses: addresses.map((a) => a.address) });
      return answerOf(200, JSON.stringify({ outputs: [{ name: 'y', value: 2 }] }), { 'content-type': 'application/json' });
    };
    return { transport, calls };
  };

  it('calls a public host, handing the transport exactly the addresses it checked', async () => {
    const { transport, calls } = okTransport();
    const executor = new HttpExecutor({ type: 'http', url: 'https://model.example.com/decide' }, { transport, lookup: dns({ 'model.example.com': ['93.184.216.34'] }), allowPrivateNetworks: false });
    const result = await executor.execute(request, { timeoutMs: 1000 });
    expect(result.outputs).toEqual([{ name: 'y', value: 2 }]);
    expect(calls).toEqual([{ url: 'https://model.example.com/decide', addresses: ['93.184.216.34'] }]);
  });

  it('never calls a host that resolves to the metadata service', async () => {
    const { transport, calls } = okTransport();
    const executor = new HttpExecutor({ type: 'http', url: 'http://rebind.attacker.example/' }, { transport, lookup: dns({ 'rebind.attacker.example': ['169.254.169.254'] }), allowPrivateNetworks: false });
    await expect(executor.execute(request, { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'EXECUTOR_FORBIDDEN_ADDRESS' });
    expect(calls).toEqual([]);
  });
});

describe('DNS rebinding: the connection goes to the address the guard checked', () => {
  let server: Server;
  let port: number;
  let hits = 0;
  const request: ExecutionRequest = { functionName: 'f', inputs: [{ name: 'x', value: 1 }] };

  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ outputs: [{ name: 'y', value: 'from 127.0.0.1' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** A resolver that answers `first` once, then `then` forever (a rebinding DNS server). */
  function rebinding(first: string, then: string): LookupFn & { calls: number } {
    const lookup = Object.assign(
      async () => {
        lookup.calls += 1;
        const address = lookup.calls === 1 ? first : then;
        return [{ address, family: 4 }];
      },
      { calls: 0 },
    );
    return lookup;
  }

  it('a public first answer and 127.0.0.1 second: nothing reaches 127.0.0.1 and the resolver is asked once', async () => {
    hits = 0;
    const lookup = rebinding('192.0.2.10', '127.0.0.1');
    const executor = new HttpExecutor({ type: 'http', url: `http://rebind-a.attacker.test:${port}/decide` }, { lookup, allowPrivateNetworks: false, maxRetries: 0 });
    const err = await executor.execute(request, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutorError);
    expect(['EXECUTOR_UNREACHABLE', 'EXECUTOR_TIMEOUT']).toContain((err as ExecutorError).code);
    expect(hits).toBe(0);
    expect(lookup.calls).toBe(1);
  });

  it('connects to the checked first answer even when the resolver would now say otherwise', async () => {
    hits = 0;
    // Private networks allowed (the local host): 127.0.0.1 is checked and used; the second answer,
    // an unroutable documentation address, is never asked for. An unpinned client would resolve the
    // name itself and fail.
    const lookup = rebinding('127.0.0.1', '192.0.2.10');
    const executor = new HttpExecutor({ type: 'http', url: `http://rebind-b.attacker.test:${port}/decide` }, { lookup, allowPrivateNetworks: true });
    const result = await executor.execute(request, { timeoutMs: 2000 });
    expect(result.outputs).toEqual([{ name: 'y', value: 'from 127.0.0.1' }]);
    expect(hits).toBe(1);
    expect(lookup.calls).toBe(1);
  });

  it('reaches an IPv6 literal (brackets stripped) and a name pinned to an IPv6 address', async () => {
    const v6 = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"outputs":[{"name":"y","value":"v6"}]}'));
    await new Promise<void>((resolve) => v6.listen(0, '::1', resolve));
    try {
      const v6port = (v6.address() as AddressInfo).port;
      const literal = new HttpExecutor({ type: 'http', url: `http://[::1]:${v6port}/x` }, { allowPrivateNetworks: true });
      expect((await literal.execute(request, { timeoutMs: 2000 })).outputs).toEqual([{ name: 'y', value: 'v6' }]);
      const named = new HttpExecutor({ type: 'http', url: `http://v6-only.test:${v6port}/x` }, { lookup: dns({ 'v6-only.test': ['::1'] }), allowPrivateNetworks: true });
      expect((await named.execute(request, { timeoutMs: 2000 })).outputs).toEqual([{ name: 'y', value: 'v6' }]);
    } finally {
      v6.closeAllConnections();
      await new Promise<void>((resolve) => v6.close(() => resolve()));
    }
  });

  it('the pinned lookup answers only with the checked addresses, by family, in both callback forms', () => {
    const lookup = pinnedLookup([{ address: '192.0.2.1', family: 4 }, { address: '2001:db8::1', family: 6 }]);
    const answers: unknown[] = [];
    lookup('anything.example', { all: true }, (_err, address) => answers.push(address));
    lookup('anything.example', { family: 6 }, (_err, address, family) => answers.push([address, family]));
    lookup('anything.example', { family: 4, all: true }, (_err, address) => answers.push(address));
    expect(answers).toEqual([
      [{ address: '192.0.2.1', family: 4 }, { address: '2001:db8::1', family: 6 }],
      ['2001:db8::1', 6],
      [{ address: '192.0.2.1', family: 4 }],
    ]);
    let error: NodeJS.ErrnoException | null = null;
    pinnedLookup([{ address: '192.0.2.1', family: 4 }])('v6only.example', { family: 6 }, (err) => (error = err));
    expect(error).toMatchObject({ code: 'ENOTFOUND' });
  });
});
