// A provider that signs in by API token, in the console: Add Account offers
// it beside Azure, asks for the token in a form (no sign-in window), refuses
// a malformed one with the provider's words, connects the team, writes a
// record in the team's domain, sets up backups in a Space, and brings an Expired account back with a
// new token through Reconnect.
// Usage: node token.mjs <app url> <api key> <emulator url> <token> <team uuid> <screenshot dir>
import { open } from "./harness.mjs";

const [base, apiKey, sim, token, team, shots] = process.argv.slice(2);
const step = (name) => console.log(`• ${name}`);
const { browser, page, violations, command, shot, audit } = await open(sim, shots);
let current = "start";

try {
  current = "sign in";
  step(current);
  await page.goto(`${base}/`);
  await page.fill("#api-key", apiKey);
  await page.click("#signin-form button[type=submit]");
  await page.waitForSelector("#accounts:not([hidden])");

  current = "Add Account offers both providers";
  step(current);
  await page.click("#add-account");
  const offered = await page.$$eval("#add-menu [role=menuitem]", (b) => b.map((x) => x.id));
  if (offered.join(",") !== "connect-azure,connect-digitalocean") throw new Error(`offered: ${offered}`);

  current = "a token, not a sign-in window";
  step(current);
  let windows = 0;
  page.context().on("page", () => windows++);
  await page.click("#connect-digitalocean");
  await page.waitForSelector("#token-form #provider-token");
  await page.waitForSelector("#signin-digitalocean:has-text('Sign in with DigitalOcean')");
  if ((await page.getAttribute("#provider-token", "type")) !== "password") throw new Error("the token field must not show the token");
  await audit("the token form");
  await shot("token-form");

  current = "a malformed token is refused in the provider's words";
  step(current);
  await page.fill("#provider-token", "not-a-token");
  await page.click("#token-form button[type=submit]");
  await page.waitForSelector("#notice:has-text('dop_v1_')");

  current = "the right token connects the team";
  step(current);
  await page.click("#add-account");
  await page.click("#connect-digitalocean");
  await page.fill("#provider-token", token);
  await page.click("#token-form button[type=submit]");
  await page.waitForSelector("#notice-title:has-text('Connected')");
  await page.waitForSelector("[data-account]:has-text('DigitalOcean') .status.Active");
  const badges = await page.$$eval("[data-account] .badge", (b) => b.map((x) => x.textContent));
  if (badges.join(",") !== "Compute,Storage,DNS") throw new Error(`badges: ${badges}`);
  if ((await page.content()).includes(token)) throw new Error("the token must not stay in the page");
  if (windows !== 0) throw new Error("no window opens for a token");
  await shot("token-connected");
  await audit("a token account");

  current = "the team's domain and its records, in DigitalOcean's DNS";
  step(current);
  await page.click("#nav-dns");
  await page.waitForSelector("#dns-account option", { state: "attached" });
  await page.click("#dns-load");
  await page.click(".use-zone");
  await page.waitForSelector("#name-servers:has-text('digitalocean.com')");
  await page.selectOption("#record-type", "A");
  await page.fill("#record-name", "www");
  await page.fill("#record-value", "203.0.113.10\n203.0.113.11");
  await page.click("#record-form button[type=submit]");
  await page.waitForSelector("[data-record='A www']:has-text('203.0.113.11')");
  await shot("token-dns");
  await audit("a DigitalOcean domain");

  current = "backups in a Space, in DigitalOcean's words and regions";
  step(current);
  await page.click("#nav-storage");
  await page.waitForSelector("#storage-existing option:has-text('A new Space')", { state: "attached" });
  const spaces = ["nyc3", "ams3", "sfo2", "sfo3", "sgp1", "fra1", "syd1", "blr1", "lon1", "tor1", "atl1"];
  const regions = await page.$$eval("#storage-region option", (o) => o.map((x) => x.value));
  if (!regions.length || regions.some((r) => !spaces.includes(r))) throw new Error(`storage regions: ${regions}`);
  // A Space's name follows DigitalOcean's rule (hyphens allowed), which the
  // form states and checks.
  const hint = await page.textContent("#storage-new-hint");
  if (!hint.includes("single hyphens") || !hint.includes("DigitalOcean")) throw new Error(`storage name hint: ${hint}`);
  await page.fill("#storage-name", "skyport-space-1");
  if (!(await page.$eval("#storage-name", (i) => i.checkValidity()))) throw new Error("a hyphenated Space name is refused by the form");
  await page.click("#storage-form button[type=submit]");
  await page.waitForSelector("#storage-verified", { timeout: 120000 });
  await page.waitForSelector("#target-list li:has-text('skyport-space-1/backups')");
  await shot("token-storage");
  await audit("a Space");
  await page.click("#nav-accounts");
  await page.waitForSelector("[data-account]:has-text('DigitalOcean') .status.Active");

  current = "an Expired account comes back with a new token";
  step(current);
  await command({ action: "revoke_digital_ocean_token", token });
  await page.click("[data-account] button.refresh");
  await page.waitForSelector("[data-account] .status.Expired");
  const renewed = `dop_v1_${"7".repeat(64)}`;
  await command({ action: "add_digital_ocean_team", team: { uuid: team, name: "Example Team", email: "sammy@example.com", tokens: [renewed] } });
  await page.click("[data-account] button.reconnect");
  await page.waitForSelector("#notice-title:has-text('Reconnect DigitalOcean')");
  await page.fill("#provider-token", renewed);
  await page.click("#token-form button[type=submit]");
  await page.waitForSelector("[data-account] .status.Active");

  current = "another team by DigitalOcean's sign-in window";
  step(current);
  const staging = "b5c7e0a9f3d14b2a8e6f0c1d2e3f4a5b6c7d8e9f";
  await command({ action: "add_digital_ocean_team", team: { uuid: staging, name: "Staging Team", email: "sammy@example.com", tokens: [`dop_v1_${"5".repeat(64)}`] } });
  await page.click("#add-account");
  await page.click("#connect-digitalocean");
  const [popup] = await Promise.all([page.context().waitForEvent("page"), page.click("#signin-digitalocean")]);
  await popup.waitForSelector("#authorize");
  await popup.selectOption("#team", staging);
  await popup.click("#authorize");
  await popup.waitForEvent("close").catch(() => {});
  await page.waitForSelector("[data-account]:has-text('Staging Team') .status.Active");
  await shot("oauth-connected");

  if (violations.length) throw new Error(`accessibility and layout:\n${violations.join("\n")}`);
  console.log("token: all steps passed");
} catch (e) {
  console.error(`token: failed at "${current}": ${e.message}`);
  await page.screenshot({ path: `${process.env.SKYPORT_FAILURE_SHOT || "browser-failure.png"}`, fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
