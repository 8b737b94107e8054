// The page a person reads, in a real browser (Debian's chromium driven by playwright-core): the live
// page of a running demo (refreshing itself from /api/v1/summary, behind basic auth too) and the
// self-contained `analyze --format html` file, opened offline. Screenshots at desktop and phone widths
// go to test-artifacts/ (gitignored; CI keeps them).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import bcrypt from 'bcryptjs';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, DEMO, missingOutsideCi, tempDir } from './helpers.js';
import { waitForOutput } from './netns.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts');
const dir = tempDir();
const children: ChildProcess[] = [];
let browser: Browser;

const skip = missingOutsideCi(existsSync(CHROMIUM));

async function demo(extra: string[] = []): Promise<string> {
  const c = spawn(process.execPath, [CLI, 'demo', '--web.listen-address', '127.0.0.1:0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AZTRAFFIC_IP_RANGES_URL: 'none' } });
  children.push(c);
  const m = await waitForOutput(c, /demo serving metrics on (https?:\/\/[^/\s]+)/);
  return m[1];
}

/** What a page did: its requests, console errors and uncaught exceptions. */
function watch(page: Page): { requests: string[]; errors: string[] } {
  const seen = { requests: [] as string[], errors: [] as string[] };
  page.on('request', (r) => seen.requests.push(r.url()));
  page.on('console', (m) => {
    if (m.type() === 'error') seen.errors.push(m.text());
  });
  page.on('pageerror', (e) => seen.errors.push(e.message));
  return seen;
}

async function open(url: string, width: number, opts: BrowserContextOptions = {}): Promise<{ page: Page; seen: ReturnType<typeof watch> }> {
  const context = await browser.newContext({ viewport: { width, height: 900 }, ...opts });
  const page = await context.newPage();
  const seen = watch(page);
  await page.goto(url);
  return { page, seen };
}

/** The page's money format, for comparing what it shows with the JSON it was made from. */
const money = (n: number): string => (n >= 100 ? '$' + Math.round(n).toLocaleString('en-US') : n >= 1 ? '$' + n.toFixed(2) : '$' + n.toPrecision(3));

beforeAll(async () => {
  if (skip) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  // as root, chromium's sandbox cannot start: the pages under test are our own
  browser = await chromium.launch({ executablePath: CHROMIUM, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await browser?.close();
});

describe.skipIf(skip)('the live page in a real browser', () => {
  it('shows $/hour now (the JSON endpoint’s value), the apt mirror as the top remote, capture health; refreshes itself; asks nothing outside the exporter', async () => {
    const base = await demo();
    const origin = new URL(base).origin;
    for (const [width, name] of [
      [1280, 'page-desktop.png'],
      [390, 'page-phone.png'],
    ] as const) {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      const page = await context.newPage();
      const seen = watch(page);
      let last: { dollars_per_hour: number; projected_dollars_per_month: number; remotes: { remote: string }[]; savings: { suggestion: string; remote: string; worth_it: boolean }[] } | undefined;
      page.on('response', async (r) => {
        if (!r.url().endsWith('/api/v1/summary')) return;
        // a refresh whose answer arrives as the page closes (a busy machine) has no body left to read
        const body = (await r.json().catch(() => undefined)) as typeof last;
        if (body !== undefined) last = body;
      });
      await page.goto(`${base}/?refresh=1`);
      // the script replaces the sections with what the JSON endpoint answered
      await page.waitForSelector('body[data-refreshes="2"]', { timeout: 20_000 });
      const shown = await page.locator('#dollars-per-hour').getAttribute('data-value');
      const text = (await page.locator('#dollars-per-hour').innerText()).trim();
      expect(last).toBeDefined();
      expect(Number(shown)).toBe(last!.dollars_per_hour);
      expect(last!.dollars_per_hour).toBeGreaterThan(0);
      expect(text).toBe(money(last!.dollars_per_hour));
      expect((await page.locator('#projection').innerText()).trim()).toBe(money(last!.projected_dollars_per_month));
      // the seed case on top, as a person sees it
      const firstRemote = (await page.locator('#remotes tbody tr').first().innerText()).split('\t')[0].trim();
      expect(firstRemote).toBe('us-east-1.ec2.archive.ubuntu.com');
      expect(last!.remotes[0].remote).toBe('us-east-1.ec2.archive.ubuntu.com');
      expect(await page.locator('#bill tbody tr').first().innerText()).toMatch(/^NatGateway-Bytes\t\$0\.0\d+\t[\d.]+ kB\/s\tnat_gateway\t0\.045$/);
      // what to do about it, under the bill lines: the JSON's cheaper paths, the story's mirror first
      expect(await page.evaluate("[...document.querySelectorAll('section')].map((e) => e.id).join(' ')")).toMatch(/\bbill savings\b/);
      expect(last!.savings[0]).toMatchObject({ suggestion: 'zone_cache', remote: 'us-east-1.ec2.archive.ubuntu.com', worth_it: true });
      const cheaper = await page.locator('#savings tbody tr').allInnerTexts();
      expect(cheaper.length).toBe(Math.min(10, last!.savings.length));
      expect(cheaper[0]).toMatch(/^serve what the hosts pull from us-east-1\.ec2\.archive\.ubuntu\.com from a cache or mirror in us-east-1d/);
      expect(cheaper.filter((t) => /not worth it at this rate/.test(t)).length).toBe(last!.savings.filter((x) => !x.worth_it).length);
      expect(await page.locator('#health').innerText()).toMatch(/ens5\s+replay/);
      expect(await page.locator('#health').innerText()).toMatch(/us-east-1d \(use1-az5\)|us-east-1d/);
      // nothing wider than the screen: wide tables scroll inside their section
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
      expect(seen.errors).toEqual([]);
      expect(seen.requests.filter((u) => new URL(u).origin !== origin)).toEqual([]);
      await context.close();
    }
  }, 90_000);

  it('works behind exporter-toolkit basic auth: the page and its refreshes', async () => {
    const web = join(dir, 'web.yml');
    writeFileSync(web, `basic_auth_users:\n  alice: ${bcrypt.hashSync('s3cret', 10)}\n`);
    const base = await demo(['--web.config.file', web]);
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect((await fetch(`${base}/api/v1/summary`)).status).toBe(401);
    const { page, seen } = await open(`${base}/?refresh=1`, 1280, { httpCredentials: { username: 'alice', password: 's3cret' } });
    await page.waitForSelector('body[data-refreshes="1"]', { timeout: 20_000 });
    expect(Number(await page.locator('#dollars-per-hour').getAttribute('data-value'))).toBeGreaterThan(0);
    expect(seen.errors).toEqual([]);
  }, 60_000);
});

describe.skipIf(skip)('analyze --format html in a real browser, offline', () => {
  it('one self-contained file: the same sections for the capture, a chart, nothing fetched', async () => {
    const file = join(dir, 'report.html');
    const r = spawnSync(process.execPath, [CLI, 'analyze', join(DEMO, 'demo.pcapng'), '--topology.file', join(DEMO, 'topology.yaml'), '--ip-ranges.file', join(DEMO, 'ip-ranges.json'), '--format', 'html'], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    writeFileSync(file, r.stdout);
    expect(r.stdout).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    const url = pathToFileURL(file).href;
    for (const [width, name] of [
      [1280, 'report-desktop.png'],
      [390, 'report-phone.png'],
    ] as const) {
      const { page, seen } = await open(url, width);
      expect((await page.locator('#dollars-per-hour').innerText()).trim()).toBe('$0.0531');
      expect((await page.locator('#projection').innerText()).trim()).toBe('$38.77');
      expect((await page.locator('#remotes tbody tr').first().innerText()).split('\t')[0].trim()).toBe('us-east-1.ec2.archive.ubuntu.com');
      expect(await page.locator('#bill tbody tr').first().innerText()).toMatch(/^NatGateway-Bytes\t\$0\.0351\t233 kB\/s\tnat_gateway\t0\.045$/);
      // the demo's cheaper paths at the capture's rate: its mirror's bill lines a month, a NAT gateway in the zone not worth its hours
      const cheaper = await page.locator('#savings tbody tr').allInnerTexts();
      expect(cheaper[0]).toMatch(/us-east-1\.ec2\.archive\.ubuntu\.com\s+nat_gateway\s+\$30\.63\s+unknown\s+\$30\.63\s+–$/);
      expect(cheaper.find((t) => t.includes('nat-0demo from us-east-1d'))).toMatch(/\$5\.69\s+\$32\.85\s+−\$27\.16 not worth it at this rate\s+3,285 GB\/month$/);
      expect(await page.locator('#chart svg polygon').count()).toBeGreaterThan(3);
      expect(await page.locator('#health').innerText()).toMatch(/ens5\s+file/);
      expect(await page.locator('#health').innerText()).toMatch(/truncated_ip_header 1/);
      expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
      await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
      expect(seen.errors).toEqual([]);
      expect(seen.requests).toEqual([url]);
    }
  }, 60_000);
});
