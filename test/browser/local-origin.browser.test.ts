/// <reference lib="dom" />
// Code inside page.evaluate runs in the browser: it needs the DOM types.
/**
 * Who may call the local host, in headless Chromium: pages the host serves (its reports, its
 * OpenAPI document) are same-origin and are answered, POSTs from them included; a page of another
 * origin (here another port of 127.0.0.1) that submits a text/plain form or a no-cors fetch (the
 * requests a browser sends without a CORS preflight) is refused, and nothing is stored.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, HTTPResponse } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.js';
import { demoV1Decision, startTestHost, type TestHost } from '../support/host.js';
import { requestJson } from '../support/http.js';

const FN = 'browser_origin_fn';
const EVIL_FN = 'browser_cross_origin_fn';

let t: TestHost;
let browser: Browser;
let other: Server;
let otherUrl: string;

/** The page another site would serve: it posts a snapshot to the host as a form and as a no-cors fetch. */
function attackerPage(hostUrl: string, kind: 'form' | 'fetch'): string {
  const body = JSON.stringify(demoV1Decision(EVIL_FN, { income: 1, age: 30 })).slice(0, -1);
  // A text/plain form sends `name=value`: the name carries the JSON up to a last field whose value closes it.
  const name = `${body},"context":{"x":"`;
  if (kind === 'form') {
    return `<!doctype html><form method="POST" action="${hostUrl}/snapshots" enctype="text/plain"><input name='${name}' value='"}}'></form><script>document.forms[0].submit()</script>`;
  }
  return `<!doctype html><script>fetch(${JSON.stringify(`${hostUrl}/snapshots`)}, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(`${body}}`)} }).then(() => { document.title = 'sent'; }, () => { document.title = 'failed'; });</script>`;
}

async function stored(functionName: string): Promise<number> {
  const res = await requestJson<{ items: unknown[] }>(t.url, 'GET', `/snapshots?functionName=${functionName}`);
  expect(res.status).toBe(200);
  return res.body.items.length;
}

beforeAll(async () => {
  [t, browser] = await Promise.all([startTestHost(), launchBrowser()]);
  other = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(attackerPage(t.url, req.url === '/fetch' ? 'fetch' : 'form'));
  });
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => other?.close(resolve));
  await t?.close();
});

describe('pages the local host serves', () => {
  it('open (a report) and call the API same-origin, a POST included', async () => {
    const a = await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', demoV1Decision(FN, { income: 40_000, age: 30 }));
    const b = await requestJson<{ snapshotId: string }>(t.url, 'POST', '/snapshots', demoV1Decision(FN, { income: 45_000, age: 31 }));
    const page = await browser.newPage();
    try {
      const report = await page.goto(`${t.url}/snapshots/${a.body.snapshotId}/diff/${b.body.snapshotId}/report`, { waitUntil: 'load' });
      expect(report?.status()).toBe(200);
      // The report's own CSP forbids any fetch; the OpenAPI document is a page of the same origin that allows one.
      await page.goto(`${t.url}/openapi.json`, { waitUntil: 'load' });
      const status = await page.evaluate(async (body: string) => {
        // eslint-disable-next-line no-restricted-globals -- the page's own fetch, in the browser: the request under test is the one Chromium sends (with its Origin)
        const res = await fetch('/snapshots', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        return res.status;
      }, JSON.stringify(demoV1Decision(FN, { income: 50_000, age: 32 })));
      expect(status).toBe(201);
      expect(await stored(FN)).toBe(3);
    } finally {
      await page.close();
    }
  });
});

describe('a page of another origin', () => {
  it('submitting a text/plain form to the host is answered 403 CROSS_ORIGIN_REQUEST and stores nothing', async () => {
    const page = await browser.newPage();
    try {
      const answered = page.waitForResponse((r: HTTPResponse) => r.url() === `${t.url}/snapshots` && r.request().method() === 'POST');
      await page.goto(`${otherUrl}/form`);
      const res = await answered;
      expect(res.status()).toBe(403);
      expect(await res.text()).toContain('CROSS_ORIGIN_REQUEST');
      expect(await stored(EVIL_FN)).toBe(0);
    } finally {
      await page.close();
    }
  });

  it('sending a no-cors fetch with text/plain stores nothing', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${otherUrl}/fetch`);
      await page.waitForFunction(() => document.title !== '', { timeout: 10_000 });
      expect(await page.title()).toBe('sent');
      expect(await stored(EVIL_FN)).toBe(0);
    } finally {
      await page.close();
    }
  });
});
