// Clicks through Skyport's console in Debian's Chromium, driven by
// playwright-core: connect, deny, expire and reconnect, a server stopped,
// started, resized and restarted, backup storage, DNS, account detail;
// axe-core on every screen, and every screen at 375 px. Usage: node console.mjs <app url> <api key> <emulator url> <screenshot dir>
import { open } from "./harness.mjs";

const [base, apiKey, sim, shots] = process.argv.slice(2);
const step = (name) => console.log(`• ${name}`);

const { browser, context, page, violations, command, shot, audit } = await open(sim, shots);
let current = "start";

// Clicks `opener` and answers the sign-in popup it opens. The wait for the
// popup starts before the click: the popup can open before a click returns.
async function popupDecision(opener, decision) {
  const [popup] = await Promise.all([context.waitForEvent("page"), page.click(opener)]);
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
  await popupDecision("#connect-azure", "accept");
  await page.waitForSelector("[data-account] .status.Active");
  const badges = await page.$$eval("[data-account] .badge", (b) => b.map((x) => x.textContent));
  if (badges.join(",") !== "Compute,Storage,DNS") throw new Error(`badges: ${badges}`);
  await shot("accounts");
  await audit("accounts");

  current = "a second tab opens signed in, and signing out signs out both";
  step(current);
  const second = await context.newPage();
  await second.goto(`${base}/#servers`);
  await second.waitForSelector("#servers:not([hidden])");
  await second.click("#sign-out");
  await second.waitForSelector("#signin:not([hidden])");
  await page.waitForSelector("#signin:not([hidden])");
  if (await page.evaluate(() => sessionStorage.getItem("skyport-api-key")) !== null) throw new Error("signing out must forget the key in every tab");
  await page.fill("#api-key", apiKey);
  await page.click("#signin-form button[type=submit]");
  await page.waitForSelector("#accounts:not([hidden])");
  await second.waitForSelector("#servers:not([hidden])");
  await second.close();

  current = "the Add Account menu by keyboard";
  step(current);
  await page.click("#add-account");
  if ((await page.evaluate(() => document.activeElement.id)) !== "connect-azure") throw new Error("the open menu must have the focus");
  await page.keyboard.press("Escape");
  await page.waitForSelector("#add-menu", { state: "hidden" });
  if ((await page.evaluate(() => document.activeElement.id)) !== "add-account") throw new Error("Escape must give the focus back to the menu button");

  current = "a sign-in window closed before it answered";
  step(current);
  await page.click("#add-account");
  const [popup] = await Promise.all([context.waitForEvent("page"), page.click("#connect-azure")]);
  await page.waitForSelector("#notice-title:has-text('Signing in with Microsoft')");
  await popup.close();
  await page.waitForSelector("#notice-title:has-text('Sign-in window closed')");

  current = "deny";
  step(current);
  await page.click("#add-account");
  await popupDecision("#connect-azure", "deny");
  await page.waitForSelector("#notice-title:has-text('Authorization Denied')");

  current = "admin consent for the organization the user names";
  step(current);
  await command({ action: "require_admin_consent", tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47", required: true });
  await page.click("#add-account");
  const [asking] = await Promise.all([context.waitForEvent("page"), page.click("#connect-azure")]);
  await asking.waitForSelector("#accept");
  await asking.click("#accept");
  await asking.waitForSelector("#return");
  await asking.click("#return");
  await asking.waitForEvent("close").catch(() => {});
  await page.waitForSelector("#notice-title:has-text('Admin consent required')");
  await audit("admin consent required");
  await page.fill("#admin-consent-tenant", "ada@contoso.onmicrosoft.com");
  const [admin] = await Promise.all([context.waitForEvent("page"), page.click("#admin-consent-form button")]);
  await admin.waitForSelector("#accept");
  if (!admin.url().includes("/contoso.onmicrosoft.com/v2.0/adminconsent")) throw new Error(`the admin-consent page of the user's organization, not ${admin.url()}`);
  await admin.click("#accept");
  await admin.waitForSelector("#outcome[data-outcome=admin_consent_granted]");
  await admin.close();
  const share = await page.textContent("#admin-consent-share");
  if (!share.includes("/oauth/azure/admin-consent?tenant=ada%40contoso.onmicrosoft.com")) throw new Error(`the link to send: ${share}`);
  await page.click("#add-account");
  await popupDecision("#connect-azure", "accept");
  await page.waitForSelector("#notice-title:has-text('Connected')");

  current = "revoke, refresh, expired, reconnect";
  step(current);
  await command({ action: "revoke", user: "ada@contoso.onmicrosoft.com", reason: "password_change" });
  await command({ action: "expire_access_tokens" });
  await page.click("[data-account] button.refresh");
  await page.waitForSelector("[data-account] .status.Expired");
  await page.waitForSelector("[data-account] .reason:has-text('password')");
  await shot("account-expired");
  await popupDecision("[data-account] button.reconnect", "accept");
  await page.waitForSelector("[data-account] .status.Active");

  current = "provision a server";
  step(current);
  await page.click("#nav-servers");
  await page.waitForSelector("#server-size option[value='Standard_B2s']", { state: "attached" });
  await page.selectOption("#server-size", "Standard_B2s");
  await page.waitForSelector("#server-estimate:has-text('per hour')");
  await page.fill("#server-name", "web1");
  await page.fill("#server-key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb0c2t5cG9ydA== me@host");
  await page.click("#server-more summary");
  await page.fill("#server-admin", "deploy");
  await page.fill("#server-cloud-init", "#cloud-config\npackages: [nginx]\n");
  await shot("servers");
  await audit("servers");
  // A double click submits once: one key per form, the button disabled in flight.
  await page.dblclick("#server-form button[type=submit]");
  await page.waitForSelector("#notice-title:has-text('Server ready')", { timeout: 180000 });
  await page.waitForSelector("[data-server] .ip");
  const servers = await page.$$eval("[data-server]", (s) => s.length);
  if (servers !== 1) throw new Error(`a double click made ${servers} servers`);
  const ssh = await page.textContent("[data-server] .ssh code");
  if (!ssh.startsWith("ssh deploy@")) throw new Error(`the admin user chosen on the form: ${ssh}`);

  current = "the server's cost estimate and its portal link";
  step(current);
  await page.waitForSelector("#cost-total:has-text('a month')");
  await page.waitForSelector("[data-server] details.cost summary:has-text('a month')");
  await page.click("[data-server] details.cost summary");
  await page.waitForSelector("[data-server] details.cost li:has-text('OS disk')");
  const portal = await page.$eval("[data-server] a.portal", (a) => [a.href, a.target]);
  if (!portal[0].startsWith("https://portal.azure.com/#@") || !portal[0].includes("/virtualMachines/web1") || portal[1] !== "_blank") throw new Error(`the portal link: ${portal}`);
  await audit("servers with a server");

  current = "stop, start, resize and restart the server";
  step(current);
  const confirmYes = async () => { await page.waitForSelector("#confirm[open]"); await page.click("#confirm-yes"); };
  await page.click("[data-server] button.stop");
  await confirmYes();
  await page.waitForSelector("#notice-title:has-text('web1 stopped')", { timeout: 120000 });
  await page.waitForSelector("[data-server] .status.stopped");
  await page.click("[data-server] button.start");
  await page.waitForSelector("#notice-title:has-text('web1 started')", { timeout: 120000 });
  await page.waitForSelector("[data-server] .status.running");
  await page.click("[data-server] button.resize");
  await page.waitForSelector(".resize-form select option[value='Standard_B2ms']", { state: "attached" });
  // A reload of the list (an action's own, a background tick) keeps the picker open.
  await page.evaluate(() => loadServers());
  if (!(await page.$(".resize-form select option[value='Standard_B2ms']"))) throw new Error("a reload of the servers closed the resize picker");
  await page.selectOption(".resize-form select", "Standard_B2ms");
  await shot("server-resize");
  await page.click(".resize-form button[type=submit]");
  await page.waitForSelector("#notice-title:has-text('web1 resized')", { timeout: 120000 });
  await page.waitForSelector("[data-server]:has-text('Standard_B2ms') .status.running");
  await page.click("[data-server] button.restart");
  await confirmYes();
  await page.waitForSelector("#notice-title:has-text('web1 restarted')", { timeout: 120000 });

  current = "a failed server, with its reason, retried";
  step(current);
  await command({ action: "fail_next_operation", failure: { path: "virtualMachines/web2", code: "AllocationFailed", message: "Allocation failed. We do not have sufficient capacity for the requested VM size in this region." } });
  await page.fill("#server-name", "web2");
  await page.click("#server-form button[type=submit]");
  await page.waitForSelector("#notice-title:has-text('Server failed')", { timeout: 180000 });
  await page.waitForSelector("[data-server]:has(.status.failed) .reason:has-text('capacity')");
  await page.click("[data-server]:has(.status.failed) button.retry");
  await page.waitForFunction(() => document.querySelectorAll("[data-server] .status.running").length === 2, null, { timeout: 180000 });

  current = "backup storage quick setup";
  step(current);
  await page.click("#nav-storage");
  await page.fill("#storage-name", "skyportbrowser1");
  await page.click("#storage-form button[type=submit]");
  await page.waitForSelector("#storage-verified", { timeout: 120000 });
  await page.waitForSelector("[data-target] .status.verified");
  await shot("storage");
  await audit("storage");

  current = "a backup target checked now, then detached";
  step(current);
  await page.click("[data-target] button.check");
  await page.waitForSelector("#notice-title:has-text('Access verified')");
  await page.click("[data-target] button.detach");
  await page.waitForSelector("#confirm-text:has-text('stay in your subscription')");
  await page.click("#confirm-yes");
  await page.waitForSelector("#notice-title:has-text('Backup target detached')");
  await page.waitForSelector("[data-target]", { state: "detached" });
  // The storage account stayed: the quick setup offers it, and uses it again.
  await page.selectOption("#storage-existing", "skyportbrowser1");
  await page.click("#storage-form button[type=submit]");
  await page.waitForSelector("[data-target] .status.verified", { timeout: 120000 });

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

  current = "DNS: the apex, a name that exists, delete, a hostname, a reload";
  step(current);
  await page.selectOption("#record-type", "TXT");
  await page.fill("#record-name", "@");
  await page.fill("#record-value", "v=spf1 -all");
  await page.click("#record-form button[type=submit]");
  await page.waitForSelector("[data-record='TXT @']");
  // Saving a name that exists asks first, and replaces only when told to.
  await page.selectOption("#record-type", "A");
  await page.fill("#record-name", "www");
  await page.fill("#record-value", "203.0.113.20\n203.0.113.21");
  await page.click("#record-form button[type=submit]");
  await page.waitForSelector("#confirm[open] #confirm-text:has-text('already exists')");
  await page.click("#confirm-yes");
  await page.waitForSelector("[data-record='A www']:has-text('203.0.113.21')");
  await page.click("[data-record='TXT @'] button.delete");
  await page.waitForSelector("#confirm[open]");
  await page.click("#confirm-yes");
  await page.waitForSelector("[data-record='TXT @']", { state: "detached" });
  await page.fill("#hostname-name", "app");
  await page.click("#hostname-form button[type=submit]");
  await page.waitForSelector("[data-record='A app']");
  await page.reload();
  await page.waitForSelector("[data-record='A app']");
  await shot("dns");
  await audit("dns");

  current = "the activity feed";
  step(current);
  await page.click("#nav-activity");
  await page.waitForSelector("[data-event='server.ready']");
  await page.waitForSelector("[data-event='account.connected']");
  await shot("activity");
  await audit("activity");

  current = "a narrow screen";
  step(current);
  await page.setViewportSize({ width: 375, height: 800 });
  for (const [screen, ready] of [["accounts", "[data-account]"], ["servers", "[data-server]"], ["storage", "#target-list li"], ["dns", "#dns-account option"], ["activity", "[data-event]"]]) {
    await page.click(`#nav-${screen}`);
    await page.waitForSelector(ready, { state: "attached" });
    await shot(`${screen}-narrow`);
    await audit(`${screen} at 375 px`);
  }

  current = "account detail and registering a provider";
  step(current);
  await page.setViewportSize({ width: 1100, height: 900 });
  await page.click("#nav-accounts");
  const subscription = await page.getAttribute("[data-account] [data-subscription]", "data-subscription");
  await command({ action: "set_provider", subscription, namespace: "Microsoft.Storage", state: "NotRegistered" });
  await page.click("[data-account] button.refresh");
  await page.click("[data-account] details summary");
  await page.waitForSelector("[data-account] details[open] .providers:has-text('Microsoft.Compute: registered')");
  await shot("account-detail");
  await audit("account detail");
  await page.click("[data-account] button.register");
  await page.waitForSelector("#notice-title:has-text('Registering Microsoft.Storage')");

  current = "delete an account that is still in use";
  step(current);
  await page.click("[data-account] button.delete");
  await page.waitForSelector("#confirm[open] #confirm-text:has-text('forgets its tokens')");
  await page.click("#confirm-yes");
  // What goes with it is listed before anything is deleted.
  await page.waitForSelector("#confirm[open] #confirm-text:has-text('Servers to delete: web1, web2')");
  const dependents = await page.textContent("#confirm-text");
  if (!dependents.includes("skyportbrowser1/backups") || !dependents.includes("contoso-apps.com")) throw new Error(`the dependents: ${dependents}`);
  await audit("delete with dependents");
  await page.click("#confirm-yes");
  await page.waitForSelector("#notice-title:has-text('Deleting the account')");

  if (violations.length) throw new Error(`accessibility and layout:\n${violations.join("\n")}`);
  console.log("console: all steps passed");
} catch (e) {
  console.error(`console: failed at "${current}": ${e.message}`);
  await page.screenshot({ path: `${process.env.SKYPORT_FAILURE_SHOT || "browser-failure.png"}`, fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
