// Opens a musrec HTML report in headless Debian Chromium (playwright-core
// drives it; no browser download), checks that it renders its charts and
// tables with no console errors and no network requests, and saves a
// screenshot. Usage: node report_browser.mjs REPORT.html SCREENSHOT.png
import { chromium } from 'playwright-core';

const [report, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
const errors = [];
const requests = [];
page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`); });
page.on('pageerror', e => errors.push(`pageerror: ${e.message}`));
page.on('request', r => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
await page.goto('file://' + report, { waitUntil: 'load' });
const facts = await page.evaluate(() => ({
  svgs: document.querySelectorAll('svg.chart').length,
  drawn: [...document.querySelectorAll('svg.chart')].filter(s => s.querySelector('rect,polyline')).length,
  tables: document.querySelectorAll('table').length,
  sections: [...document.querySelectorAll('h2')].map(h => h.textContent),
  comparisonRows: [...document.querySelectorAll('table')]
      .filter(t => t.rows[0] && t.rows[0].textContent.includes('ndcg'))
      .map(t => [...t.rows].slice(1).map(r => r.cells[0].textContent)),
  scripts: document.querySelectorAll('script').length,
  external: [...document.querySelectorAll('[src],link[href]')].length,
}));
await page.screenshot({ path: shot, fullPage: true });
await browser.close();
console.log(JSON.stringify({ ...facts, errors, requests }));
