// Clicks through Skyport's console in Debian's Chromium, driven by
// playwright-core: connect, deny, expire and reconnect, a server, backup
// storage, DNS. Usage: node console.mjs <app url> <api key> <emulator url> <screenshot dir>
import { chromium } from "playwright-core";

const [base, apiKey, sim, shots] = process.argv.slice(2);
const step = (name) => console.log(`• ${name}`);

async function command(body) {
  const r = await fetch(`${sim}/_sim/commands`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`emulator command failed: ${r.status} ${await r.text()}`);
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(60000);
let current = "start";

async function shot(name) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

async function popupDecision(decision) {
  const popup = await context.waitForEvent("page");
  await popup.waitForSelector(`#${decision}`);
  await popup.click(`#${decision}`);
  await popup.waitForEvent("close").catch(() => {});
}

try {
  current = "sign in";
  step(current);
  await page.goto(`${base}/`);
  await page.fill("#api-key", apiKey);
  await page.click("#signin-form button[type=submit]");
  await page.waitForSelector("#accounts:not([hidden])");
  if (!page.url().startsWith(base) || page.url().includes(apiKey)) throw new Error("the API key must never be in a URL");

  current = "connect an Azure account";
  step(current);
  await page.click("#add-account");
  await page.click("#connect-azure");
  await popupDecision("accept");
  await page.waitForSelector("[data-account] .status.Active");
  const badges = await page.$$eval("[data-account] .badge", (b) => b.map((x) => x.textContent));
  if (badges.join(",") !== "Compute,Storage,DNS") throw new Error(`badges: ${badges}`);
  await shot("accounts");

  current = "deny";
  step(current);
  await page.click("#add-account");
  await page.click("#connect-azure");
  await popupDecision("deny");
  await page.waitForSelector("#notice-title:has-text('Authorization Denied')");

  current = "revoke, refresh, expired, reconnect";
  step(current);
  await command({ action: "revoke", user: "ada@contoso.onmicrosoft.com", reason: "password_change" });
  await command({ action: "expire_access_tokens" });
  await page.click("[data-account] button.refresh");
  await page.waitForSelector("[data-account] .status.Expired");
  await page.waitForSelector("[data-account] .reason:has-text('password')");
  await shot("account-expired");
  await page.click("[data-account] button.reconnect");
  await popupDecision("accept");
  await page.waitForSelector("[data-account] .status.Active");

  current = "provision a server";
  step(current);
  await page.click("#nav-servers");
  await page.waitForSelector("#server-size option[value='Standard_B2s']", { state: "attached" });
  await page.selectOption("#server-size", "Standard_B2s");
  await page.waitForSelector("#server-estimate:has-text('per hour')");
  await page.fill("#server-name", "web1");
  await page.fill("#server-key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0c2t5cG9ydA== me@host");
  await shot("servers");
  // A double click submits once: one key per form, the button disabled in flight.
  await page.dblclick("#server-form button[type=submit]");
  await page.waitForSelector("#notice-title:has-text('Server ready')", { timeout: 180000 });
  await page.waitForSelector("[data-server] .ip");
  const servers = await page.$$eval("[data-server]", (s) => s.length);
  if (servers !== 1) throw new Error(`a double click made ${servers} servers`);

  current = "backup storage quick setup";
  step(current);
  await page.click("#nav-storage");
  await page.fill("#storage-name", "skyportbrowser1");
  await page.click("#storage-form button[type=submit]");
  await page.waitForSelector("#storage-verified", { timeout: 120000 });
  await shot("storage");

  current = "DNS quick setup and a record";
  step(current);
  await page.click("#nav-dns");
  await page.waitForSelector("#dns-account option", { state: "attached" });
  await page.click("#dns-load");
  await page.click(".use-zone");
  await page.waitForSelector("#name-servers:has-text('azure-dns')");
  await page.selectOption("#record-type", "A");
  await page.fill("#record-name", "www");
  await page.fill("#record-value", "203.0.113.10");
  await page.click("#record-form button[type=submit]");
  await page.waitForSelector("[data-record='A www']");
  await shot("dns");

  current = "the activity feed";
  step(current);
  await page.click("#nav-activity");
  await page.waitForSelector("[data-event='server.ready']");
  await page.waitForSelector("[data-event='account.connected']");
  await shot("activity");

  current = "a narrow screen";
  step(current);
  await page.setViewportSize({ width: 390, height: 800 });
  await page.click("#nav-accounts");
  await page.waitForSelector("[data-account]");
  await shot("accounts-narrow");
  console.log("console: all steps passed");
} catch (e) {
  console.error(`console: failed at "${current}": ${e.message}`);
  await page.screenshot({ path: `${process.env.SKYPORT_FAILURE_SHOT || "browser-failure.png"}`, fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
