// Skyport's console: one page, hash routes per screen, the API key in
// session storage. Every failure shows the API's message and remedy.
"use strict";

const $ = (id) => document.getElementById(id);
const key = () => sessionStorage.getItem("skyport-api-key");

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function notice(title, message, remedy, isError) {
  const n = $("notice");
  n.replaceChildren(el("strong", { id: "notice-title" }, title), el("p", { id: "notice-message" }, message || ""), remedy ? el("p", { id: "notice-remedy" }, remedy) : "");
  n.className = isError ? "error" : "";
  n.hidden = false;
}

async function api(method, path, body, headers) {
  const r = await fetch(path, {
    method,
    headers: Object.assign({ authorization: `Bearer ${key()}`, "content-type": "application/json" }, headers || {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) {
    const e = Object.assign({ status: r.status }, data.error || { code: "error", message: `The request failed (${r.status}).`, remedy: "" });
    if (r.status === 401 && e.code === "unauthenticated") { sessionStorage.removeItem("skyport-api-key"); route(); }
    throw e;
  }
  return data;
}

// Every page of a list: lists are paged (at most 100 items each), and the
// console follows `next` to the end.
async function every(path, field) {
  let items = [];
  let cursor = null;
  do {
    const page = await api("GET", `${path}?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items = items.concat(page[field]);
    cursor = page.next;
  } while (cursor);
  return items;
}

function fail(e) { notice(e.message ? e.message.split(":")[0] : "Failed", e.message, e.remedy, true); }

// ---- Cloud Accounts -------------------------------------------------------

let accounts = [];

async function loadAccounts() {
  accounts = await every("/api/v1/accounts", "accounts");
  const list = $("account-list");
  list.replaceChildren(...accounts.map(accountCard));
  $("no-accounts").hidden = accounts.length > 0;
  fillAccountSelects();
}

function accountCard(a) {
  const when = a.last_checked ? new Date(a.last_checked * 1000).toLocaleString() : "never";
  const badges = el("p", { class: "badges", "aria-label": "Capabilities" }, ...a.badges.map((b) => el("span", { class: "badge" }, b)));
  const withheld = a.badges_withheld.length && a.status === "Active"
    ? el("ul", { class: "reason" }, ...a.badges_withheld.map((w) => el("li", {}, `${w.capability}: ${w.reason}`))) : null;
  const reason = a.status !== "Active" && a.status_reason ? el("p", { class: "reason" }, `Why: ${a.status_reason}`) : null;
  const actions = el("p", {},
    el("button", { class: "refresh", "aria-label": "Refresh", onclick: () => refresh(a.id) }, "↻ Refresh"), " ",
    a.status === "Expired" ? el("button", { class: "reconnect primary", onclick: () => connect(a.id) }, "Reconnect") : null, " ",
    el("button", { class: "delete", onclick: () => remove(a) }, "Delete"));
  return el("li", { "data-account": a.id },
    el("strong", {}, a.user.name || a.user.id), " · Microsoft Azure · ",
    el("span", { class: `status ${a.status}` }, a.status),
    el("p", { class: "hint" }, `${a.subscriptions.length} subscription(s) · last checked ${when}`),
    badges, withheld, reason, actions);
}

async function refresh(id) {
  try { await api("POST", `/api/v1/accounts/${id}/refresh`); notice("Refreshed", "The account was checked again.", ""); }
  catch (e) { fail(e); }
  await loadAccounts().catch(fail);
}

async function connect(reconnectId) {
  try {
    const started = reconnectId ? await api("POST", `/api/v1/accounts/${reconnectId}/reconnect`) : await api("POST", "/api/v1/accounts/azure/connect");
    const popup = window.open(started.popup_url, "skyport-connect", "width=520,height=680");
    if (!popup) { window.location.href = started.popup_url; }
  } catch (e) { fail(e); }
}

// The sign-in popup reports back; a finished sign-in is a claim this window
// redeems with its own API key, so a sign-in lands only in this organization.
window.addEventListener("message", async (ev) => {
  if (ev.origin !== window.location.origin || !ev.data || ev.data.type !== "skyport:azure-connect") return;
  const d = ev.data;
  if (d.outcome === "signed_in" && d.details && d.details.claim) {
    try {
      const r = await api("POST", "/api/v1/accounts/azure/claim", { claim: d.details.claim });
      const a = r.account;
      notice("Connected", a.status === "Active" ? "The Azure account is connected and Active." : `The account is ${a.status}.`, a.status_reason || "", a.status !== "Active");
    } catch (e) { fail(e); }
    await loadAccounts().catch(fail);
    return;
  }
  notice(d.title, d.message, d.remedy, true);
  if (d.details && d.details.admin_consent_url) {
    $("notice").append(el("p", {}, el("a", { href: d.details.admin_consent_url, id: "admin-consent-link" }, "Admin consent link")));
  }
  loadAccounts().catch(fail);
});

async function remove(a) {
  if (!(await confirmDialog(`Delete the account of ${a.user.name || a.user.id}? Skyport forgets its tokens.`))) return;
  try {
    let r;
    try { r = await api("DELETE", `/api/v1/accounts/${a.id}`); }
    catch (e) {
      if (e.code !== "account_in_use") throw e;
      // Say exactly what goes with it before anything is deleted.
      const names = (list, f) => list.map(f).join(", ") || "none";
      const what = `Servers to delete: ${names(e.servers, (s) => s.name)}. Backup targets to detach: ${names(e.backup_targets, (t) => `${t.storage_account}/${t.container}`)}. Domains to detach: ${names(e.domains, (d) => d.name)}. Storage accounts and DNS zones stay yours.`;
      if (!(await confirmDialog(`This account is still in use. ${what} Delete them and the account?`))) return;
      r = await api("DELETE", `/api/v1/accounts/${a.id}?cascade=true`);
    }
    notice(r.deleting ? "Deleting the account" : "Account deleted", r.deleting ? "Its servers are being deleted; the account goes with the last one." : r.revoke, r.deleting ? r.revoke : "");
  } catch (e) { fail(e); }
  await loadAccounts().catch(fail);
}

function confirmDialog(text) {
  return new Promise((resolve) => {
    const d = $("confirm");
    $("confirm-text").textContent = text;
    const done = (v) => { d.close(); resolve(v); };
    $("confirm-yes").onclick = () => done(true);
    $("confirm-no").onclick = () => done(false);
    d.showModal();
  });
}

// ---- Shared pickers -------------------------------------------------------

function fillAccountSelects() {
  const options = [];
  for (const a of accounts.filter((a) => a.status === "Active")) {
    for (const s of a.subscriptions) options.push([`${a.id}|${s.id}`, `${a.user.name || a.user.id} — ${s.name}`]);
  }
  for (const id of ["server-account", "storage-account", "dns-account"]) {
    const sel = $(id);
    const keep = sel.value;
    sel.replaceChildren(...options.map(([v, t]) => el("option", { value: v }, t)));
    if (options.some(([v]) => v === keep)) sel.value = keep;
  }
}

const pick = (id) => { const [account, sub] = $(id).value.split("|"); return { account, sub }; };

// ---- Servers -------------------------------------------------------------

async function loadServers() {
  const servers = await every("/api/v1/servers", "servers");
  $("server-list").replaceChildren(...servers.map((s) => el("li", { "data-server": s.id },
    el("strong", {}, s.name), ` · ${s.region} · ${s.size} · `, el("span", { class: `status ${s.status}` }, s.status),
    s.public_ip ? el("p", { class: "ip" }, `Public IP: ${s.public_ip}`) : null,
    s.error ? el("p", { class: "reason" }, `Why: ${s.error.step ? `${s.error.step}: ` : ""}${s.error.message} ${s.error.remedy || ""}`) : null,
    s.status === "stopped" ? el("p", { class: "reason" }, `${s.status_reason || "Stopped"} outside Skyport. Start it in the Azure portal, or delete it here.`) : null,
    s.status === "missing" ? el("p", { class: "reason" }, `${s.status_reason || "Gone"}: it was deleted outside Skyport. Delete it here to remove it from the list.`) : null,
    s.status === "failed" ? el("button", { class: "retry", onclick: (ev) => retryServer(s, ev.currentTarget) }, "Retry") : null,
    el("button", { class: "delete", onclick: () => deleteServer(s) }, "Delete"))));
}

async function retryServer(s, button) {
  // Like the form: one key per attempt, the button off while it is in flight.
  if (button.disabled) return;
  button.disabled = true;
  if (!button.dataset.key) button.dataset.key = crypto.randomUUID();
  $("server-progress").hidden = false;
  try {
    const op = await api("POST", `/api/v1/servers/${s.id}/retry`, {}, { "idempotency-key": button.dataset.key });
    const done = await follow(op.id, $("server-progress-bar"), $("server-step"));
    if (done.status === "succeeded") notice("Server ready", `${done.server.name} is running at ${done.server.public_ip}.`, "");
    else notice("Server failed", done.error.message, done.error.remedy, true);
  } catch (e) { fail(e); }
  finally { button.disabled = false; }
  await loadServers().catch(fail);
}

async function loadRegions() {
  const { account, sub } = pick("server-account");
  if (!account) return;
  const regions = (await api("GET", `/api/v1/accounts/${account}/subscriptions/${sub}/compute/regions`)).regions;
  $("server-region").replaceChildren(...regions.map((r) => el("option", { value: r.name }, r.display_name)));
  await loadSizes();
}

async function loadSizes() {
  const { account, sub } = pick("server-account");
  const region = $("server-region").value;
  if (!account || !region) return;
  const sizes = (await api("GET", `/api/v1/accounts/${account}/subscriptions/${sub}/compute/sizes?region=${encodeURIComponent(region)}`)).sizes;
  $("server-size").replaceChildren(...sizes.map((z) => el("option", { value: z.name, "data-price": z.hourly_price ?? "", "data-currency": z.currency ?? "" },
    `${z.name} — ${z.vcpus} vCPU, ${z.memory_gb} GB${z.hourly_price != null ? ` — ${z.hourly_price} ${z.currency}/h` : ""}`)));
  estimate();
}

function estimate() {
  const o = $("server-size").selectedOptions[0];
  $("server-estimate").textContent = o && o.dataset.price ? `Estimated cost: ${o.dataset.price} ${o.dataset.currency} per hour, about ${(o.dataset.price * 730).toFixed(2)} ${o.dataset.currency} per month, before disk and traffic.` : "";
}

async function follow(op, progress, step) {
  for (;;) {
    const o = await api("GET", `/api/v1/operations/${op}`);
    progress.max = o.progress.of; progress.value = o.progress.step;
    step.textContent = `${o.step} (${o.progress.step} of ${o.progress.of})`;
    const cleaning = o.cleanup && o.cleanup.status === "running";
    if (o.status !== "running" && !cleaning) return o;
    await new Promise((r) => setTimeout(r, 700));
  }
}

async function createServer(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const button = form.querySelector("button");
  // A double click, or a second Enter, while the first is in flight does nothing.
  if (form.dataset.busy) return;
  form.dataset.busy = "1";
  if (button) button.disabled = true;
  // One Idempotency-Key per submitted form: repeating the submission after a
  // lost answer repeats the key, so it can never make a second server.
  if (!form.dataset.key) form.dataset.key = crypto.randomUUID();
  const { account, sub } = pick("server-account");
  const body = { account_id: account, subscription_id: sub, region: $("server-region").value, size: $("server-size").value, name: $("server-name").value, ssh_public_key: $("server-key").value.trim() };
  $("server-progress").hidden = false;
  try {
    const op = await api("POST", "/api/v1/servers", body, { "idempotency-key": form.dataset.key });
    delete form.dataset.key;
    const done = await follow(op.id, $("server-progress-bar"), $("server-step"));
    if (done.status === "succeeded") notice("Server ready", `${done.server.name} is running at ${done.server.public_ip}.`, "");
    else notice("Server failed", done.error.message, done.error.remedy, true);
  } catch (e) {
    // A refusal is final for this form's contents; a lost answer is not.
    if (e.status && e.status < 500) delete form.dataset.key;
    fail(e);
  } finally {
    delete form.dataset.busy;
    if (button) button.disabled = false;
  }
  await loadServers().catch(fail);
}

async function deleteServer(s) {
  if (!(await confirmDialog(`Delete server ${s.name} and everything created for it?`))) return;
  try { const op = await api("DELETE", `/api/v1/servers/${s.id}`); await follow(op.id, $("server-progress-bar"), $("server-step")); notice("Server deleted", `${s.name} was removed.`, ""); }
  catch (e) { fail(e); }
  await loadServers().catch(fail);
}

// ---- Storage -------------------------------------------------------------

async function loadTargets() {
  const targets = await every("/api/v1/storage/targets", "targets");
  $("target-list").replaceChildren(...targets.map((t) => el("li", {}, el("strong", {}, `${t.storage_account}/${t.container}`), el("p", { class: "hint" }, `${t.endpoint} · verified`))));
}

async function setupStorage(ev) {
  ev.preventDefault();
  const { account, sub } = pick("storage-account");
  const out = $("storage-result");
  out.textContent = "Setting up…";
  try {
    let op = await api("POST", "/api/v1/storage/setup", { account_id: account, subscription_id: sub, region: $("storage-region").value, storage_account: $("storage-name").value, container: $("storage-container").value });
    while (op.status === "running") { out.textContent = op.step; await new Promise((r) => setTimeout(r, 500)); op = await api("GET", `/api/v1/storage/operations/${op.id}`); }
    if (op.status === "succeeded") { out.replaceChildren(el("p", { class: "status succeeded", id: "storage-verified" }, "Access verified"), el("p", {}, op.target.endpoint)); }
    else { out.replaceChildren(el("p", { class: "status failed", id: "storage-failed" }, op.error.message), el("p", {}, op.error.remedy)); }
  } catch (e) { out.textContent = ""; fail(e); }
  await loadTargets().catch(fail);
}

// ---- DNS -------------------------------------------------------------------

let domain = null;

async function loadZones() {
  const { account, sub } = pick("dns-account");
  const zones = (await api("GET", `/api/v1/accounts/${account}/subscriptions/${sub}/dns/zones`)).zones;
  $("zone-list").replaceChildren(...zones.map((z) => el("li", {}, el("strong", {}, z.name), ` · ${z.record_sets} record sets `,
    el("button", { class: "use-zone", onclick: () => chooseZone(account, z) }, "Use for my domain"))));
}

async function chooseZone(account, z) {
  try {
    const d = await api("POST", "/api/v1/dns/domains", { account_id: account, zone_id: z.id });
    domain = d.domain;
    $("domain").hidden = false;
    $("domain-name").textContent = d.domain;
    $("name-servers").textContent = d.name_servers.join(", ");
    await loadRecords();
  } catch (e) { fail(e); }
}

async function loadRecords() {
  const records = await every(`/api/v1/dns/domains/${domain}/records`, "records");
  $("record-list").replaceChildren(...records.map((r) => el("tr", { "data-record": `${r.type} ${r.name}` },
    el("td", {}, r.type), el("td", {}, r.name), el("td", {}, r.values.join(", ")), el("td", {}, String(r.ttl)),
    el("td", {}, el("button", { class: "delete", "aria-label": `Delete ${r.type} ${r.name}`, onclick: () => deleteRecord(r) }, "Delete")))));
}

async function saveRecord(ev) {
  ev.preventDefault();
  try {
    await api("PUT", `/api/v1/dns/domains/${domain}/records/${$("record-type").value}/${encodeURIComponent($("record-name").value)}`, { ttl: 300, values: [$("record-value").value] });
    notice("Record saved", `${$("record-type").value} ${$("record-name").value}`, "");
  } catch (e) { fail(e); }
  await loadRecords().catch(fail);
}

async function deleteRecord(r) {
  try { await api("DELETE", `/api/v1/dns/domains/${domain}/records/${r.type}/${encodeURIComponent(r.name)}`, null, { "if-match": r.etag }); }
  catch (e) { fail(e); }
  await loadRecords().catch(fail);
}

// ---- Activity --------------------------------------------------------------

async function loadActivity() {
  const page = await api("GET", "/api/v1/events?limit=50");
  $("event-list").replaceChildren(...page.events.map((e) => el("li", { "data-event": e.kind, class: e.kind.endsWith("failed") || e.kind.endsWith("expired") || e.kind.endsWith("refused") || e.kind.endsWith("denied") ? "failed" : "" },
    el("time", { datetime: e.timestamp }, new Date(e.at * 1000).toLocaleString()), " ", el("strong", {}, e.kind), " ", e.summary && e.summary !== e.kind ? e.summary.slice(e.kind.length + 2) : "",
    e.data && e.data.error ? el("p", { class: "reason" }, `${e.data.error.message || ""} ${e.data.error.remedy || ""}`) : null)));
}

// The screens that show state keep it current by themselves: work finishes
// in the background, so a reload (or no reload) shows where it stands.
async function refreshVisible() {
  if (document.hidden || !key()) return;
  const screen = location.hash.slice(1) || "accounts";
  try {
    if (screen === "accounts") await loadAccounts();
    if (screen === "servers") await loadServers();
    if (screen === "activity") await loadActivity();
  } catch (_) { /* the next tick tries again; errors show on user actions */ }
}

// ---- Routing ---------------------------------------------------------------

const screens = ["accounts", "servers", "storage", "dns", "activity"];

async function route() {
  const screen = location.hash.slice(1) || "accounts";
  const signedIn = !!key();
  $("signin").hidden = signedIn;
  for (const s of screens) {
    $(s).hidden = !signedIn || s !== screen;
    $(`nav-${s}`).toggleAttribute("aria-current", s === screen);
    if (s === screen) $(`nav-${s}`).setAttribute("aria-current", "page");
  }
  if (!signedIn) { $("api-key").focus(); return; }
  try {
    await loadAccounts();
    if (screen === "servers") { await loadServers(); await loadRegions(); }
    if (screen === "storage") await loadTargets();
    if (screen === "activity") await loadActivity();
  } catch (e) { fail(e); }
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (ev) => { ev.preventDefault(); sessionStorage.setItem("skyport-api-key", $("api-key").value.trim()); route(); });
  $("add-account").addEventListener("click", () => { const m = $("add-menu"); m.hidden = !m.hidden; $("add-account").setAttribute("aria-expanded", String(!m.hidden)); });
  $("connect-azure").addEventListener("click", () => { $("add-menu").hidden = true; connect(null); });
  $("server-form").addEventListener("submit", createServer);
  $("server-account").addEventListener("change", () => loadRegions().catch(fail));
  $("server-region").addEventListener("change", () => loadSizes().catch(fail));
  $("server-size").addEventListener("change", estimate);
  $("storage-form").addEventListener("submit", setupStorage);
  $("dns-load").addEventListener("click", () => loadZones().catch(fail));
  $("record-form").addEventListener("submit", saveRecord);
  window.addEventListener("hashchange", route);
  setInterval(refreshVisible, 5000);
  route();
});
