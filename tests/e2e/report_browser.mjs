// Opens a `parallelagram report` page in headless Chromium (puppeteer-core, no browser
// download) and prints what the page shows as one JSON object on stdout, for
// report_browser_test.py and the 100k-task benchmark (docs/benchmarks.md).
//
//   node report_browser.mjs PAGE.html [--hover BAR_INDEX] [--screenshot FILE.png]
//
// Environment: PG_NODE_MODULES (tests/node/node_modules), PG_CHROMIUM (/usr/bin/chromium).
// Output: {load_ms, render_ms, bars, tasks, rows, summary, cells, console_errors,
// failed_requests, hover: {bar, seq, attempt, tip_seq, tip_text}, running_banner}.
import { createRequire } from "module";
import path from "path";

const args = process.argv.slice(2);
const page_path = path.resolve(args[0]);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const modules = process.env.PG_NODE_MODULES;
const require = createRequire(path.join(modules, "noop.js"));
const puppeteer = require("puppeteer-core");

const browser = await puppeteer.launch({
  executablePath: process.env.PG_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const out = { console_errors: [], failed_requests: [] };
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  page.on("console", (m) => {
    if (m.type() === "error") out.console_errors.push(m.text());
  });
  page.on("pageerror", (e) => out.console_errors.push(String(e)));
  page.on("requestfailed", (r) => out.failed_requests.push(r.url()));
  page.on("request", (r) => {
    if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) out.failed_requests.push("network: " + r.url());
  });
  const t0 = Date.now();
  await page.goto("file://" + page_path, { waitUntil: "load", timeout: 60000 });
  await page.waitForFunction(() => window.__report && window.__report.ready, { timeout: 60000 });
  out.load_ms = Date.now() - t0;
  Object.assign(out, await page.evaluate(() => {
    const r = window.__report;
    const cells = {};
    for (const td of document.querySelectorAll("#summary td[data-k]")) cells[td.dataset.k] = td.textContent;
    return { render_ms: r.renderMs, bars: r.bars, tasks: r.tasks, rows: r.rows, summary: r.summary, cells,
             max_running: r.maxRunning, throttled: r.throttled, cost_total: r.costTotal,
             cost_usd_attr: document.getElementById("summary").dataset.costUsd,
             running_banner: !!document.getElementById("running-banner"),
             body_bars: document.body.dataset.bars };
  }));
  const hover = opt("--hover");
  if (hover !== undefined) {
    const i = Number(hover);
    const info = await page.evaluate((i) => ({ p: window.__report.barPoint(i), b: window.__report.barInfo(i) }), i);
    await page.mouse.move(info.p.x, info.p.y);
    await page.waitForFunction(() => document.getElementById("tip").style.display === "block", { timeout: 5000 })
      .catch(() => {});
    out.hover = await page.evaluate(() => {
      const tip = document.getElementById("tip");
      return { tip_seq: tip.dataset.seq, tip_attempt: tip.dataset.attempt, tip_text: tip.textContent,
               shown: tip.style.display === "block" };
    });
    Object.assign(out.hover, { bar: i, seq: info.b.seq, attempt: info.b.attempt, outcome: info.b.outcome });
  }
  const shot = opt("--screenshot");
  if (shot) await page.screenshot({ path: shot, fullPage: true });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
