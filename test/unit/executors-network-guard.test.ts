import { describe, expect, it } from 'vitest';
import { ExecutorError, type ExecutionRequest } from '../../functions/core/executor.js';
import { HttpExecutor, type FetchFn } from '../../functions/adapters/executors/http-executor.js';
import { assertAllowedUrl, classifyAddress, type LookupFn } from '../../functions/adapters/executors/network-guard.js';

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
    ['64:ff9b::a9fe:a9fe', 'private'],
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

describe('HttpExecutor with the guard', () => {
  const request: ExecutionRequest = { functionName: 'f', inputs: [{ name: 'x', value: 1 }] };
  const okFetch = (): { fetch: FetchFn; calls: string[] } => {
    const calls: string[] = [];
    const fetch: FetchFn = async (input) => {
      calls.push(String(input));
      return new Response(JSON.stringify({ outputs: [{ name: 'y', value: 2 }] }), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    return { fetch, calls };
  };

  it('calls a public host (on AWS, private networks are off by default)', async () => {
    const { fetch, calls } = okFetch();
    const executor = new HttpExecutor({ type: 'http', url: 'https://model.example.com/decide' }, { fetch, lookup: dns({ 'model.example.com': ['93.184.216.34'] }), allowPrivateNetworks: false });
    const result = await executor.execute(request, { timeoutMs: 1000 });
    expect(result.outputs).toEqual([{ name: 'y', value: 2 }]);
    expect(calls).toEqual(['https://model.example.com/decide']);
  });

  it('never fetches a host that resolves to the metadata service', async () => {
    const { fetch, calls } = okFetch();
    const executor = new HttpExecutor({ type: 'http', url: 'http://rebind.attacker.example/' }, { fetch, lookup: dns({ 'rebind.attacker.example': ['169.254.169.254'] }), allowPrivateNetworks: false });
    await expect(executor.execute(request, { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'EXECUTOR_FORBIDDEN_ADDRESS' });
    expect(calls).toEqual([]);
  });
});
