// What every browser scenario shares: Debian's Chromium driven by
// playwright-core, the emulator's command endpoint, screenshots, and an
// audit (axe-core's serious and critical violations, and nothing scrolling
// sideways) collected over the run.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

// axe-core's source, evaluated in the page (the console's CSP admits no
// injected <script>, and the check must not loosen it).
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export async function open(sim, shots) {
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(60000);
  const violations = [];
  return {
    browser,
    context,
    page,
    violations,
    async command(body) {
      const r = await fetch(`${sim}/_sim/commands`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      if (!r.ok) throw new Error(`emulator command failed: ${r.status} ${await r.text()}`);
    },
    async shot(name) {
      if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
    },
    async audit(screen) {
      if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(axeSource);
      const found = await page.evaluate(async () => {
        const r = await window.axe.run(document, { resultTypes: ["violations"] });
        return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")}`);
      });
      for (const f of found) violations.push(`${screen}: ${f}`);
      const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      if (scroll > width) violations.push(`${screen}: the page is ${scroll}px wide in a ${width}px window`);
    },
  };
}
