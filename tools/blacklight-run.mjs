#!/usr/bin/env node
// Runs The Markup's Blacklight collector (@themarkup/blacklight-collector, pinned in
// package.json) on each URL given, one collect() per URL with Blacklight's own defaults
// (one consent state: no interaction with any banner; the start page plus --num-pages
// links sampled from it), and prints one JSON line per run with its timing. The
// scanner's bench scanner/benches/versus_blacklight.rs runs it beside the scanner.
//
//   node tools/blacklight-run.mjs [--num-pages N] [--chromium PATH] [--chromium-arg FLAG]... URL...
//
// --num-pages: links Blacklight follows from the start page (its default, 3: four pages).
// --chromium: the browser (default $PUPPETEER_EXECUTABLE_PATH or /usr/bin/chromium;
// puppeteer's own browser download is skipped, see .puppeteerrc.cjs).
// --chromium-arg: an extra Chromium flag, e.g. --host-resolver-rules=... (repeatable).
//
// Each line: {"url", "ms" (collect() alone, browser start to report), "status",
// "pages" (the pages Blacklight visited), "third_party_hosts", "cookies"}.
// Blacklight's own progress messages go to stderr.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);

const args = process.argv.slice(2);
let numPages = 3;
let chromium = process.env.PUPPETEER_EXECUTABLE_PATH || '/usr/bin/chromium';
const extra = [];
const urls = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const value = () => {
    if (i + 1 >= args.length) throw new Error(`${a} needs a value`);
    return args[++i];
  };
  if (a === '--num-pages') numPages = Number(value());
  else if (a === '--chromium') chromium = value();
  else if (a === '--chromium-arg') extra.push(value());
  else if (a === '-h' || a === '--help') {
    console.error('usage: node tools/blacklight-run.mjs [--num-pages N] [--chromium PATH] [--chromium-arg FLAG]... URL...');
    process.exit(0);
  } else urls.push(a);
}
if (urls.length === 0 || !Number.isInteger(numPages) || numPages < 0) {
  console.error('usage: node tools/blacklight-run.mjs [--num-pages N] [--chromium PATH] [--chromium-arg FLAG]... URL...');
  process.exit(2);
}

// Blacklight logs its progress with console.log; keep stdout for the results.
console.log = (...a) => console.error(...a);
const write = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

const { collect } = require('@themarkup/blacklight-collector');

let failed = false;
for (const url of urls) {
  const outDir = mkdtempSync(join(tmpdir(), 'blacklight-'));
  const t = performance.now();
  try {
    const r = await collect(url, {
      outDir,
      numPages,
      puppeteerExecutablePath: chromium,
      // Blacklight's own extra flag, plus ours.
      extraChromiumArgs: ['--disable-features=TrackingProtection3pcd', ...extra],
    });
    const ms = performance.now() - t;
    const cookies = r.reports && Array.isArray(r.reports.cookies) ? r.reports.cookies.length : null;
    write({
      url,
      ms: Math.round(ms),
      status: r.status ?? 'success',
      pages: r.browsing_history ?? [],
      third_party_hosts: r.hosts ? r.hosts.requests.third_party.length : null,
      cookies,
    });
    if (r.status === 'failed') failed = true;
  } catch (e) {
    failed = true;
    write({ url, ms: Math.round(performance.now() - t), status: 'error', error: String(e && e.message ? e.message : e) });
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
process.exit(failed ? 1 : 0);
