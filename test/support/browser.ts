/// <reference lib="dom" />
// Code inside page.evaluate runs in the browser: it needs the DOM types.
/**
 * Browser-test helpers: headless Chromium (Debian's `chromium` package, or CHROMIUM_PATH) driven
 * by puppeteer-core, and a page loader that records console errors and every request the page
 * makes after its own document.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** Where screenshots and the HTML under test are written (gitignored). */
export const ARTIFACTS_DIR = join(process.cwd(), 'test-artifacts', 'reports');

export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) throw new Error(`headless Chromium not found at ${path}: install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH`);
  return path;
}

export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export interface LoadedReport {
  page: Page;
  /** console.error messages and uncaught page errors. */
  errors: string[];
  /** URLs requested after the report's own document. */
  requests: string[];
  /** Milliseconds from navigation start to the load event. */
  loadMs: number;
}

/** Writes `html` to the artifacts folder and opens it from the file, as someone opening a saved report would. */
export async function openReport(browser: Browser, name: string, html: string, width = 1280): Promise<LoadedReport> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const file = join(ARTIFACTS_DIR, `${name}.html`);
  writeFileSync(file, html);
  return openFile(browser, file, width);
}

/** Opens a saved report (an absolute path) from disk, recording its errors and requests. */
export async function openFile(browser: Browser, file: string, width = 1280): Promise<LoadedReport> {
  const url = `file://${file}`;
  const page = await browser.newPage();
  await page.setViewport({ width, height: 900 });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => {
    if (r.url() !== url) requests.push(r.url());
  });
  await page.goto(url, { waitUntil: 'load' });
  const loadMs = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
    return nav ? nav.loadEventStart : Number.NaN;
  });
  return { page, errors, requests, loadMs };
}

/** Per chart canvas: how many of its pixels are painted (not fully transparent). */
export function paintedPixels(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const out: Record<string, number> = {};
    for (const canvas of Array.from(document.querySelectorAll('canvas[data-chart]')) as HTMLCanvasElement[]) {
      const ctx = canvas.getContext('2d');
      let painted = 0;
      if (ctx && canvas.width > 0 && canvas.height > 0) {
        const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) painted++;
      }
      out[canvas.id] = painted;
    }
    return out;
  });
}

/** Saves a full-page screenshot of the page at `width` into the artifacts folder. */
export async function screenshot(page: Page, name: string, width: number): Promise<string> {
  await page.setViewport({ width, height: 900 });
  // Charts follow their box through a ResizeObserver: let them redraw at the new width first.
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  const path = join(ARTIFACTS_DIR, `${name}-${width}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Opens every <details> (expandable rows) so their content is rendered too. */
export async function expandAll(page: Page): Promise<number> {
  return page.evaluate(() => {
    const all = Array.from(document.querySelectorAll('details'));
    for (const d of all) d.open = true;
    return all.length;
  });
}

/** The probes put into snapshot outputs: if either ever ran, it would set `window.__xss`. */
export const XSS_SCRIPT = '<script>window.__xss = "script"</script>';
export const XSS_IMG = '"><img src=x onerror="window.__xss = \'img\'">';
export const XSS_BREAKOUT = '</script><script>window.__xss = "breakout"</script>\u2028';

/** Asserts nothing a probe could have done happened: returns what the page shows instead. */
export function xssState(page: Page): Promise<{ flag: unknown; injectedImages: number; injectedScripts: number; text: string }> {
  return page.evaluate(() => ({
    flag: (window as unknown as { __xss?: unknown }).__xss,
    injectedImages: document.querySelectorAll('img').length,
    // The page's own scripts: the data block, Chart.js and the start-up script.
    injectedScripts: document.querySelectorAll('script').length - 3,
    text: document.body.innerText,
  }));
}
