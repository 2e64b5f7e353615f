import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { pinRegSwap } from './pin-fitness.js';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...pinRegSwap(args), '--no-progress'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r;
};

/** Debian's Chromium (CI installs it with apt), headless, offline, with a fresh profile. */
async function openInChromium(file: string) {
  const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'swapnas-chromium-')), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1200, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { browser, page, requests, problems };
}

/** Every plot is drawn: a sized SVG with marks, whose pixels on screen are not blank. */
async function checkPlots(file: string, want: number) {
  const { browser, page, requests, problems } = await openInChromium(file);
  try {
    const figures = page.locator('figure.plot');
    expect(await figures.count()).toBe(want);
    for (let i = 0; i < want; i++) {
      const fig = figures.nth(i);
      const box = await fig.locator('svg').first().boundingBox();
      expect(box!.width).toBeGreaterThan(200);
      expect(box!.height).toBeGreaterThan(100);
      const marks = await fig.locator('svg path, svg circle, svg line, svg rect').count();
      expect(marks).toBeGreaterThan(10);
      const shot = await fig.locator('svg').first().screenshot();
      const { channels } = await sharp(shot).stats();
      // dark strokes and coloured marks on white: the darkest pixel is far from white and the image varies
      expect(Math.min(...channels.slice(0, 3).map((c) => c.min))).toBeLessThan(128);
      expect(channels[0]!.stdev).toBeGreaterThan(5);
    }
    expect(await page.locator('table tbody tr').count()).toBeGreaterThan(3);
    expect(requests).toEqual([pathToFileURL(file).href]); // nothing fetched besides the file itself
    expect(problems).toEqual([]);
  } finally {
    await browser.close();
  }
}

describe('HTML reports open in headless Chromium with their plots drawn; PNG export', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  });

  it('correlate --html writes one self-contained page; --png the plots as PNG', async () => {
    const out = mkdtempSync(join(tmpdir(), 'swapnas-html-c-'));
    const html = join(out, 'report.html');
    run([
      'correlate',
      ...'--sample 40 --channels 4 --cells 1 --batch 8 --repeats 1 --no-nwot --resamples 50 --png'.split(' '),
      '--out',
      out,
      '--html',
      html,
    ]);
    const text = readFileSync(html, 'utf8');
    expect(text).not.toMatch(/<script|<link|src="http|href="http|@import|url\(/i);
    expect(text).toContain('reg-SWAP');
    await checkPlots(html, 3);
    for (const name of ['scatter', 'values', 'rho']) {
      const meta = await sharp(readFileSync(join(out, `${name}.png`))).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBeGreaterThan(600); // 2× the SVG's size
    }
  });

  it('search --html writes one self-contained page with the best-so-far plot; --png the plot', async () => {
    const out = mkdtempSync(join(tmpdir(), 'swapnas-html-s-'));
    const html = join(out, 'search.html');
    const png = join(out, 'search.png');
    run(['search', '--strategy', 'random', '--budget', '40', '--html', html, '--png', png]);
    expect(readFileSync(html, 'utf8')).not.toMatch(/<script|<link|src="http|href="http|@import|url\(/i);
    await checkPlots(html, 1);
    const meta = await sharp(readFileSync(png)).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(1000);
  });
});
