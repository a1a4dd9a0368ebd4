// Skyport's console: one page, hash routes per screen, the API key in
// session storage. Every failure shows the API's message and remedy.
// Tabs of the console hand the key to each other over a same-origin
// BroadcastChannel, so a second tab opens signed in and signing out signs
// out every tab, while the key itself is never written to disk.
"use strict";

const $ = (id) => document.getElementById(id);
const key = () => sessionStorage.getItem("skyport-api-key");
const session = "BroadcastChannel" in window ? new BroadcastChannel("skyport-session") : null;

// The other tabs hear of a key only once the API has accepted it, and
// only a tab without a key takes it: a mistyped key, or another
// organization's, never reaches a tab that is working.
async function signIn(k, fromAnotherTab) {
  sessionStorage.setItem("skyport-api-key", k);
  route();
  if (fromAnotherTab || !session) return;
  try { await api("GET", "/api/v1/orgs/me"); } catch (_) { return; }
  if (key() === k) session.postMessage({ type: "key", key: k });
}

function signOut(fromAnotherTab) {
  sessionStorage.removeItem("skyport-api-key");
  if (!fromAnotherTab && session) session.postMessage({ type: "signed-out" });
  route();
}

if (session) {
  session.onmessage = (ev) => {
    const m = ev.data || {};
    if (m.type === "ask" && key()) session.postMessage({ type: "key", key: key() });
    else if (m.type === "key" && typeof m.key === "string" && m.key && !key()) signIn(m.key, true);
    else if (m.type === "signed-out" && key()) signOut(true);
  };
}

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
    if (r.status === 401 && e.code === "unauthenticated") signOut(true);
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

// The console speaks to people: where an API error's words are written for
// programs (an endpoint, a header), it says what to do here instead.
const consoleRemedies = {
  provider_not_registered: "Register it from Cloud Accounts › Details › Register (or in the provider's portal: Subscriptions › Resource providers), then try again.",
  unauthenticated: "Sign in again with an API key of your organization.",
  key_revoked: "Sign in again with a key that is still valid.",
  invalid_input: "Check what you entered and try again.",
  not_found: "It may have been removed meanwhile: reload the page.",
};

const failTitles = { 400: "Please check what you entered", 401: "Please sign in again", 403: "Not allowed", 404: "Not found", 409: "Not possible right now", 412: "Changed meanwhile", 413: "Too large" };

// A failure as a notice: a title that does not repeat the message, the
// message, and what to do.
function fail(e) {
  let title = failTitles[e.status] || (e.status >= 500 ? "Something went wrong" : "That did not work");
  let message = e.message || "";
  const colon = message.indexOf(": ");
  if (colon > 0 && colon < 60) { title = message.slice(0, colon); message = message.slice(colon + 2); }
  notice(title, message, consoleRemedies[e.code] || e.remedy, true);
}

// ---- Cloud Accounts -------------------------------------------------------

let accounts = [];

// The providers Add Account offers, with their words: the name messages
// use, the sign-in, the portal and its link (GET /api/v1/providers).
let providers = null;

async function loadProviders() {
  if (providers) return;
  // Words an entry leaves out fall back to its title.
  providers = (await api("GET", "/api/v1/providers")).providers.map((p) => {
    const name = p.name || p.title;
    return Object.assign({ name, signin: name, portal: `${name}'s portal` }, p);
  });
  $("add-menu").replaceChildren(el("p", { role: "presentation" }, "One-Click Connect"),
    ...providers.map((p) => el("button", { role: "menuitem", id: `connect-${p.id}`, onclick: () => { toggleAddMenu(false); connect(p, null); } }, p.title)));
}

// A provider's entry; one the list lacks is named by its id.
function providerOf(id) {
  return (providers || []).find((p) => p.id === id) || { id, title: id, name: id, signin: id, portal: `${id}'s portal` };
}

function providerOfAccount(accountId) {
  const a = accounts.find((x) => x.id === accountId);
  return providerOf(a ? a.provider : "");
}

// A provider's words for backup storage, its folders and the scope they
// live in (`storage`, `container`, `scope` in its entry), or the defaults.
function storageWords(accountId) {
  const p = providerOfAccount(accountId);
  return { storage: p.storage || "storage account", container: p.container || "container", scope: p.scope || "subscription" };
}

function providerOfServer(s) {
  return providerOfAccount(s.account_id);
}

async function loadAccounts() {
  accounts = await every("/api/v1/accounts", "accounts");
  await loadCosts();
  redraw($("account-list"), "data-account", accounts.map(accountCard));
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
    el("button", { class: "refresh", "aria-label": `Refresh the account of ${a.user.name || a.user.id}`, onclick: () => refresh(a.id) }, "↻ Refresh"), " ",
    a.status === "Expired" ? el("button", { class: "reconnect primary", onclick: () => connect(providerOf(a.provider), a.id) }, "Reconnect") : null, " ",
    el("button", { class: "delete", "aria-label": `Delete the account of ${a.user.name || a.user.id}`, onclick: () => remove(a) }, "Delete"));
  return el("li", { "data-account": a.id },
    el("strong", {}, a.user.name || a.user.id), ` · ${providerOf(a.provider).title} · `,
    el("span", { class: `status ${a.status}` }, a.status),
    el("p", { class: "hint" }, `${a.subscriptions.length} subscription(s) · last checked ${when}`),
    badges, withheld, reason,
    costOf("account", a.id) ? el("p", { class: "hint account-cost" }, `Estimate for what Skyport made here: ${money(costOf("account", a.id).per_month)} a month, ${money(costOf("account", a.id).so_far)} so far`) : null,
    accountDetail(a), actions);
}

// The account in full: its directory, who signed in, and per subscription
// its state, the user's role and each resource provider, with Register for
// one that is not registered.
function accountDetail(a) {
  const sub = (s) => el("li", { "data-subscription": s.id },
    el("strong", {}, s.name), ` · ${s.state} · your role: ${s.role || "none that can create resources"}`,
    el("ul", { class: "providers" }, ...s.providers.map((p) => el("li", {}, `${p.namespace}: ${{ Registered: "registered", NotRegistered: "not registered", Registering: "registering…", Unregistered: "not registered" }[p.state] || p.state} `,
      (p.state === "NotRegistered" || p.state === "Unregistered") && a.status === "Active"
        ? el("button", { class: "register", "aria-label": `Register ${p.namespace} in ${s.name}`, onclick: (ev) => register(a, s, p.namespace, ev.currentTarget) }, "Register")
        : null))));
  return el("details", { class: "account-detail" }, el("summary", {}, "Details"),
    el("p", {}, `Directory (tenant): ${a.tenant_id}`),
    el("p", {}, `Signed in as ${a.user.name || "(no name)"} · user id ${a.user.id}`),
    el("p", {}, `Connected ${new Date(a.created_at * 1000).toLocaleString()}`),
    el("ul", { class: "subscriptions", "aria-label": "Subscriptions" }, ...a.subscriptions.map(sub)));
}

async function register(a, s, namespace, button) {
  button.disabled = true;
  try {
    const r = await api("POST", `/api/v1/accounts/${a.id}/subscriptions/${s.id}/providers/${namespace}/register`);
    notice(`Registering ${namespace}`, `${providerOf(a.provider).name} is registering ${namespace} in ${s.name} (${r.provider.state}). It takes a few minutes; refresh the account to see it done.`, "");
  } catch (e) { fail(e); }
  await loadAccounts().catch(fail);
}

async function refresh(id) {
  try { await api("POST", `/api/v1/accounts/${id}/refresh`); notice("Refreshed", "The account was checked again.", ""); }
  catch (e) { fail(e); }
  await loadAccounts().catch(fail);
}

// Signs in with `provider` (an entry of /api/v1/providers), for a new
// account or to reconnect `reconnectId`.
// A provider that signs in both ways (`"connect": "oauth+token"`) offers
// its sign-in window beside the token form; its reconnect goes the way the
// account was connected.
async function connect(provider, reconnectId) {
  if (provider.connect === "token" || (provider.connect === "oauth+token" && !reconnectId)) { tokenForm(provider, reconnectId); return; }
  await providerSignIn(provider, reconnectId);
}

// Opens the provider's sign-in window.
async function providerSignIn(provider, reconnectId) {
  try {
    const started = reconnectId ? await api("POST", `/api/v1/accounts/${reconnectId}/reconnect`) : await api("POST", `/api/v1/accounts/${encodeURIComponent(provider.id)}/connect`);
    const popup = window.open(started.popup_url, "skyport-connect", "width=520,height=680");
    if (!popup) { window.location.href = started.popup_url; return; }
    // Say what is happening while the popup is open, and if it is closed
    // before it answered, say that too.
    signInAnswered = false;
    notice(`Signing in with ${provider.signin}…`, "Finish in the window that opened: sign in, then Accept.", "");
    const watch = setInterval(() => {
      if (!popup.closed) return;
      clearInterval(watch);
      if (!signInAnswered) notice("Sign-in window closed", "The sign-in was not finished, so nothing was connected.", `Click Add Account › ${provider.title} to try again.`);
    }, 500);
  } catch (e) {
    // An account connected by token comes back with a new token.
    if (e.code === "reconnect_by_token" && provider.connect === "oauth+token") { tokenForm(provider, reconnectId); return; }
    fail(e);
  }
}

// A provider that signs in by API token (`"connect": "token"` or
// `"oauth+token"` in its entry) takes the token in a form here instead of a sign-in window; the field is
// cleared as soon as it is sent, and the token is never shown again.
function tokenForm(provider, reconnectId) {
  notice(reconnectId ? `Reconnect ${provider.title}` : `Connect ${provider.title}`,
    `Paste an API token made in ${provider.portal} with read and write access. Skyport keeps it sealed and never shows it again.`, "");
  const input = el("input", { id: "provider-token", name: "token", type: "password", required: "", autocomplete: "off", spellcheck: "false" });
  const send = async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    input.value = "";
    try {
      const r = await api("POST", `/api/v1/accounts/${encodeURIComponent(provider.id)}/connect`, reconnectId ? { token, account_id: reconnectId } : { token });
      const a = r.account;
      notice("Connected", a.status === "Active" ? `The ${providerOf(a.provider).name} account is connected and Active.` : `The account is ${a.status}.`, a.status_reason || "", a.status !== "Active");
    } catch (e) { fail(e); }
    await loadAccounts().catch(fail);
  };
  if (provider.connect === "oauth+token" && !reconnectId) {
    $("notice").append(el("p", {}, el("button", { id: `signin-${provider.id}`, class: "primary", onclick: () => providerSignIn(provider, null) }, `Sign in with ${provider.signin}`), " or paste a token:"));
  }
  $("notice").append(el("form", { id: "token-form", onsubmit: send },
    el("label", { for: "provider-token" }, `${provider.name} API token`), input,
    el("button", { type: "submit", class: provider.connect === "oauth+token" ? "" : "primary" }, "Connect")));
  input.focus();
}

let signInAnswered = false;

// The sign-in popup reports back; a finished sign-in is a claim this window
// redeems with its own API key, so a sign-in lands only in this organization.
window.addEventListener("message", async (ev) => {
  if (ev.origin !== window.location.origin || !ev.data || ev.data.type !== "skyport:connect") return;
  signInAnswered = true;
  const d = ev.data;
  if (d.outcome === "signed_in" && d.details && d.details.claim) {
    try {
      const r = await api("POST", `/api/v1/accounts/${encodeURIComponent(d.provider)}/claim`, { claim: d.details.claim });
      const a = r.account;
      notice("Connected", a.status === "Active" ? `The ${providerOf(a.provider).name} account is connected and Active.` : `The account is ${a.status}.`, a.status_reason || "", a.status !== "Active");
    } catch (e) { fail(e); }
    await loadAccounts().catch(fail);
    return;
  }
  notice(d.title, d.message, d.remedy, true);
  if (d.details && d.details.admin_consent_url) {
    $("notice").append(el("p", {}, el("a", { href: d.details.admin_consent_url, id: "admin-consent-link", target: "_blank", rel: "noopener noreferrer" }, "Admin consent link (opens in a new tab)")));
  } else if (d.details && d.details.admin_consent_link) {
    // The organization is not known until the user names it; the link is
    // made for that organization and opens beside the console.
    const shareable = (ev) => {
      const link = `${window.location.origin}${d.details.admin_consent_link}?tenant=${encodeURIComponent($("admin-consent-tenant").value.trim())}`;
      const p = $("admin-consent-share") || el("p", { id: "admin-consent-share" });
      p.replaceChildren("Send this link to your administrator: ", el("code", {}, link));
      ev.target.after(p);
    };
    $("notice").append(el("form", { id: "admin-consent-form", method: "get", action: d.details.admin_consent_link, target: "_blank", rel: "noopener", onsubmit: shareable },
      el("label", { for: "admin-consent-tenant" }, "Your organization's domain or tenant ID"),
      el("input", { id: "admin-consent-tenant", name: "tenant", required: "", placeholder: "contoso.com", autocomplete: "organization" }),
      el("button", { type: "submit" }, "Open the admin consent link")));
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

function confirmDialog(text, yes) {
  return new Promise((resolve) => {
    const d = $("confirm");
    $("confirm-text").textContent = text;
    $("confirm-yes").textContent = yes || "Delete";
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

// Redraws a list whose items carry `attr`, and gives the keyboard focus
// back to the same control of the same item (by its class) if it had it.
function redraw(list, attr, items) {
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  const item = focused && focused.closest(`[${attr}]`);
  const where = item && focused.className ? [item.getAttribute(attr), focused.className.split(" ")[0]] : null;
  // Details someone opened stay open (by item and the details' class).
  const open = [...list.querySelectorAll("details[open]")].map((d) => [d.closest(`[${attr}]`).getAttribute(attr), d.className.split(" ")[0]]);
  list.replaceChildren(...items);
  for (const [id, cls] of open) {
    const d = list.querySelector(`[${attr}="${CSS.escape(id)}"] details.${CSS.escape(cls)}`);
    if (d) d.open = true;
  }
  if (where) {
    const again = list.querySelector(`[${attr}="${CSS.escape(where[0])}"] .${CSS.escape(where[1])}`);
    if (again) again.focus();
  }
}

// ---- Costs ----------------------------------------------------------------

// The organization's estimate, read with the lists that show it; a price
// list that cannot be read leaves the estimates out rather than the lists.
let costs = null;
let costsAt = 0;
async function loadCosts() {
  // The accounts and servers lists of one redraw share one reading.
  if (Date.now() - costsAt > 2000) {
    costsAt = Date.now();
    try { costs = await api("GET", "/api/v1/costs"); } catch (_) { costs = null; }
  }
  const total = $("cost-total");
  if (!costs || costs.accounts.length === 0) { total.hidden = true; return; }
  total.hidden = false;
  total.textContent = `Estimated cost of everything Skyport made: ${money(costs.per_month)} a month, ${money(costs.so_far)} so far. ${costs.note}`;
}

function money(v) {
  const currency = (costs && costs.currency) || "USD";
  return new Intl.NumberFormat(undefined, { style: "currency", currency, maximumFractionDigits: v < 1 && v > 0 ? 4 : 2 }).format(v);
}

const costOf = (kind, id) => {
  if (!costs) return null;
  for (const a of costs.accounts) {
    if (kind === "account" && a.account_id === id) return a;
    const found = kind === "server" && a.servers.find((s) => s.id === id);
    if (found) return found;
  }
  return null;
};

// An estimate with its lines, each with its price and what it assumes.
function costDetail(c) {
  if (!c) return null;
  const unit = { hour: "an hour", month: "a month", "GB-month": "per GB a month", GB: "per GB", "10,000 writes": "per 10,000 writes", "1,000,000 queries": "per million queries" };
  const when = { while_running: "while it runs", while_present: "while it exists", per_use: "at the assumed use" };
  return el("details", { class: "cost" },
    el("summary", {}, `Estimate: ${money(c.per_month)} a month · ${money(c.so_far)} so far`),
    el("ul", {}, ...c.lines.map((l) => el("li", {}, `${l.label}: ${money(l.price)} ${unit[l.unit] || l.unit}, ${when[l.billed] || ""} — ${money(l.per_month)} a month`))));
}

// The server in its provider's portal, in its account's directory: the
// provider's `portal_link`, with `{tenant}` and `{resource}` (the server's
// resource whose id contains `server_resource`) filled in.
function portalLink(s) {
  const account = accounts.find((a) => a.id === s.account_id);
  const p = account && providerOf(account.provider);
  if (!p || !p.portal_link || !p.server_resource) return null;
  const vm = (s.resources || []).find((r) => r.toLowerCase().includes(p.server_resource.toLowerCase()));
  if (!vm) return null;
  const href = p.portal_link.replace("{tenant}", encodeURIComponent(account.tenant_id)).replace("{resource}", vm);
  return el("a", { class: "portal", href, target: "_blank", rel: "noopener noreferrer" }, `Open ${s.name} in ${p.portal}`);
}

async function loadServers() {
  const servers = await every("/api/v1/servers", "servers");
  await loadCosts();
  // A resize picker someone opened outlives a redraw that was already on its
  // way when they opened it (an action's own reload, a background tick).
  const list = $("server-list");
  const picker = list.querySelector(".resize-form");
  const pickerOf = picker && picker.closest("[data-server]").getAttribute("data-server");
  const pickerFocus = picker && picker.contains(document.activeElement) ? document.activeElement : null;
  redraw(list, "data-server", servers.map((s) => el("li", { "data-server": s.id },
    el("strong", {}, s.name), ` · ${s.region} · ${s.size} · `, el("span", { class: `status ${s.status}` }, s.status),
    s.public_ip ? el("p", { class: "ip" }, `Public IP: ${s.public_ip}`) : null,
    s.ssh_command ? el("p", { class: "ssh" }, "Log in: ", el("code", {}, s.ssh_command), " ",
      el("button", { class: "copy", "aria-label": `Copy the SSH command for ${s.name}`, onclick: (ev) => copyText(s.ssh_command, ev.currentTarget) }, "Copy")) : null,
    el("p", { class: "hint" }, `Admin user ${s.admin_username} · created ${new Date(s.created_at * 1000).toLocaleString()}`),
    costDetail(costOf("server", s.id)),
    s.status !== "failed" && s.status !== "missing" ? el("p", {}, portalLink(s)) : null,
    s.error ? el("p", { class: "reason" }, `Why: ${s.error.step ? `${s.error.step}: ` : ""}${s.error.message} ${s.error.remedy || ""}`) : null,
    s.status === "stopped" ? el("p", { class: "reason" }, `${s.status_reason || "Stopped"}. A stopped server's compute is not billed; its disk and IP address are.`) : null,
    s.status === "missing" ? el("p", { class: "reason" }, `${s.status_reason || "Gone"}: it was deleted outside Skyport. Delete it here to remove it from the list.`) : null,
    s.status === "failed" ? el("button", { class: "retry", "aria-label": `Retry ${s.name}`, onclick: (ev) => retryServer(s, ev.currentTarget) }, "Retry") : null,
    s.status === "stopped" ? actionButton(s, "start", "Start") : null,
    s.status === "running" ? actionButton(s, "stop", "Stop") : null,
    s.status === "running" ? actionButton(s, "restart", "Restart") : null,
    s.status === "running" || s.status === "stopped" ? el("button", { class: "resize", "aria-label": `Resize ${s.name}`, "aria-expanded": "false", onclick: (ev) => openResize(s, ev.currentTarget) }, "Resize") : null,
    el("button", { class: "delete", "aria-label": `Delete ${s.name}`, onclick: () => deleteServer(s) }, "Delete"))));
  const resize = picker && list.querySelector(`[data-server="${CSS.escape(pickerOf)}"] button.resize`);
  if (resize) {
    resize.after(picker);
    resize.setAttribute("aria-expanded", "true");
    if (pickerFocus) pickerFocus.focus();
  }
}

async function copyText(text, button) {
  try { await navigator.clipboard.writeText(text); button.textContent = "Copied"; }
  catch (_) { button.textContent = "Select and copy it"; }
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
}

// What each action says before, while and after it runs.
const actionWords = {
  start: { confirm: null, done: (n) => [`${n} started`, `${n} is running again.`] },
  stop: { confirm: (n, p) => `Stop ${n}? ${p.stop ? `${p.name} ${p.stop}, and it` : "It"} is unreachable until you start it.`, done: (n, _, p) => [`${n} stopped`, `${n} is ${p.stopped || "stopped"}.`] },
  restart: { confirm: (n) => `Restart ${n}? It is unreachable for a minute or two.`, done: (n) => [`${n} restarted`, `${n} is running again.`] },
  resize: { confirm: null, done: (n, size) => [`${n} resized`, `${n} is now ${size}.`] },
};

function actionButton(s, action, label) {
  return el("button", { class: action, "aria-label": `${label} ${s.name}`, onclick: (ev) => serverAction(s, action, ev.currentTarget) }, label);
}

async function serverAction(s, action, button, body) {
  const words = actionWords[action];
  const p = providerOfServer(s);
  if (words.confirm && !(await confirmDialog(words.confirm(s.name, p), button ? button.textContent : "OK"))) return;
  if (button) button.disabled = true;
  $("server-progress").hidden = false;
  try {
    const op = await api("POST", `/api/v1/servers/${s.id}/${action}`, body || {});
    await loadServers().catch(() => {});
    const done = await follow(op.id, $("server-progress-bar"), $("server-step"));
    if (done.status === "succeeded") notice(...words.done(s.name, body && body.size, p), "");
    else notice(`${s.name}: ${action} failed`, done.error.message, done.error.remedy, true);
  } catch (e) { fail(e); }
  finally { if (button) button.disabled = false; }
  await loadServers().catch(fail);
}

// The resize picker, inside the server's card: the sizes that server can
// take, each with its price, and a button to apply one.
async function openResize(s, button) {
  const card = button.closest("li");
  const open = card.querySelector(".resize-form");
  if (open) { open.remove(); button.setAttribute("aria-expanded", "false"); return; }
  button.setAttribute("aria-expanded", "true");
  const id = `resize-${s.id}`;
  const select = el("select", { id, required: "" }, el("option", { value: "" }, "Loading sizes…"));
  const form = el("form", { class: "resize-form" },
    el("label", { for: id }, `New size for ${s.name} (now ${s.size})`), select,
    el("p", { class: "hint" }, s.status === "running" ? `${providerOfServer(s).name} restarts the server to resize it.` : ""),
    el("button", { type: "submit" }, "Apply size"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!select.value) return;
    // The picker has done its part; the card shows the resize's progress.
    const size = select.value;
    const card = form.closest("li");
    form.remove();
    const again = card && card.querySelector("button.resize");
    if (again) { again.setAttribute("aria-expanded", "false"); again.focus(); }
    serverAction(s, "resize", null, { size });
  });
  button.after(form);
  try {
    const sizes = (await api("GET", `/api/v1/servers/${s.id}/sizes`)).sizes;
    if (!sizes.length) { select.replaceChildren(el("option", { value: "" }, "No other sizes are offered for this server")); return; }
    select.replaceChildren(...sizes.map((z) => el("option", { value: z.name },
      `${z.name} — ${z.vcpus} vCPU, ${z.memory_gb} GB${z.monthly_estimate != null ? ` — about ${z.monthly_estimate} ${z.currency}/month` : ""}`)));
    select.focus();
  } catch (e) { form.remove(); button.setAttribute("aria-expanded", "false"); fail(e); }
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
  const user = providerOfAccount(account).admin_user;
  $("server-admin").placeholder = user || "";
  $("server-admin-hint").textContent = `The user you log in as with your key (${user ? `default ${user}; ` : ""}not root or admin).`;
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
  // The optional fields go only when filled: the API's defaults stand otherwise.
  if ($("server-admin").value.trim()) body.admin_username = $("server-admin").value.trim();
  if ($("server-cloud-init").value.trim()) body.cloud_init = $("server-cloud-init").value;
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
  const words = { verified: "verified", access_denied: "access denied", check_failed: "check failed" };
  const when = (t) => t.checked_at ? ` · checked ${new Date(t.checked_at * 1000).toLocaleString()}` : "";
  $("target-list").replaceChildren(...targets.map((t) => el("li", { "data-target": t.id },
    el("strong", {}, `${t.storage_account}/${t.container}`), " · ",
    el("span", { class: `status ${t.status}` }, words[t.status] || t.status),
    el("p", { class: "hint" }, `${t.endpoint}${when(t)}`),
    t.status_reason ? el("p", { class: "reason" }, t.status_reason) : null,
    t.remedy ? el("p", { class: "hint" }, t.remedy) : null,
    el("button", { type: "button", class: "check", "aria-label": `Check now ${t.storage_account}/${t.container}`, onclick: () => checkTarget(t) }, "Check now"),
    el("button", { type: "button", class: "detach", "aria-label": `Detach ${t.storage_account}/${t.container}`, onclick: () => detachTarget(t) }, "Detach"))));
}

async function checkTarget(t) {
  try {
    const r = await api("POST", `/api/v1/storage/targets/${t.id}/check`);
    if (r.status === "verified") notice("Access verified", `Skyport can write to ${t.storage_account}/${t.container}.`, "");
    else notice(r.status === "access_denied" ? "Storage access denied" : "Storage check failed", r.status_reason, r.remedy, true);
  } catch (e) { fail(e); }
  await loadTargets().catch(fail);
}

async function detachTarget(t) {
  const w = storageWords(t.account_id);
  if (!(await confirmDialog(`Detach ${t.storage_account}/${t.container}? Skyport stops using it for backups. The ${w.storage} and the ${w.container} stay in your ${w.scope}.`, "Detach"))) return;
  try {
    await api("DELETE", `/api/v1/storage/targets/${t.id}`);
    notice("Backup target detached", `${t.storage_account}/${t.container} is no longer used; it stays in your ${w.scope}.`, "");
  } catch (e) { fail(e); }
  await loadTargets().catch(fail);
  await loadStorageChoices().catch(fail);
}

// The quick setup picks from what exists: regions the subscription can use,
// and its storage accounts with their containers (or a new account).
let storageAccounts = [];
async function loadStorageChoices() {
  const { account, sub } = pick("storage-account");
  if (!account) return;
  // A provider's naming rule for its storage comes with its entry
  // (`storage_rule`, `storage_pattern`); the defaults are the first
  // provider's. The provider checks the name again either way.
  const entry = providerOfAccount(account);
  $("storage-new-hint").textContent = `${entry.storage_rule || "3–24 lowercase letters and digits"}, unique across ${entry.name}.`;
  $("storage-name").pattern = entry.storage_pattern || "[a-z0-9]{3,24}";
  const keepRegion = $("storage-region").value || "westeurope";
  const [regions, existing] = await Promise.all([
    api("GET", `/api/v1/accounts/${account}/subscriptions/${sub}/compute/regions`),
    api("GET", `/api/v1/accounts/${account}/subscriptions/${sub}/storage/accounts`),
  ]);
  // A provider whose storage is offered in fewer regions than its servers
  // lists them (`storage_regions` in its entry).
  const only = providerOfAccount(account).storage_regions;
  const offered = regions.regions.filter((r) => !Array.isArray(only) || only.includes(r.name));
  $("storage-region").replaceChildren(...offered.map((r) => el("option", { value: r.name }, r.display_name)));
  if (offered.some((r) => r.name === keepRegion)) $("storage-region").value = keepRegion;
  storageAccounts = existing.storage_accounts;
  $("storage-existing").replaceChildren(el("option", { value: "" }, `A new ${storageWords(account).storage}`),
    ...storageAccounts.map((a) => el("option", { value: a.name }, `${a.name} (${a.region})`)));
  chooseStorageAccount();
}

function chooseStorageAccount() {
  const a = storageAccounts.find((x) => x.name === $("storage-existing").value);
  $("storage-name").readOnly = !!a;
  $("storage-region").disabled = !!a;
  if (a) { $("storage-name").value = a.name; $("storage-region").value = a.region; }
  $("storage-containers").replaceChildren(...(a ? a.containers : []).map((c) => el("option", { value: c })));
  $("storage-new-hint").hidden = !!a;
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
  await loadStorageChoices().catch(fail);
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
    await showDomain(d.domain, d.name_servers, d.account_id);
  } catch (e) { fail(e); }
}

// The chosen domain stays chosen across reloads of this tab.
async function showDomain(name, nameServers, accountId) {
  domain = name;
  sessionStorage.setItem("skyport-domain", name);
  $("domain").hidden = false;
  $("domain-name").textContent = name;
  $("name-servers").replaceChildren(...nameServers.map((n) => el("li", {}, el("code", {}, n))));
  const p = providerOfAccount(accountId);
  $("delegation").textContent = `For the records below to answer on the internet, ${name} must be delegated to ${p.dns || p.name}: at the registrar where you bought ${name}, set its name servers to the ones listed here (they are the zone's NS records, which ${p.name} manages along with its SOA).`;
  await Promise.all([loadRecords(), loadHostnameServers()]);
}

async function restoreDomain() {
  const name = sessionStorage.getItem("skyport-domain");
  if (!name || domain === name) return;
  try {
    const d = await api("GET", `/api/v1/dns/domains/${encodeURIComponent(name)}`);
    await showDomain(name, d.name_servers || [], d.account_id);
  } catch (_) { sessionStorage.removeItem("skyport-domain"); }
}

async function loadRecords() {
  const records = await every(`/api/v1/dns/domains/${domain}/records`, "records");
  $("record-list").replaceChildren(...records.map((r) => el("tr", { "data-record": `${r.type} ${r.name}` },
    el("td", {}, r.type), el("td", {}, r.name === "@" ? `@ (${domain})` : r.name), el("td", {}, r.values.join(", ")), el("td", {}, String(r.ttl)),
    el("td", {}, el("button", { class: "edit", "aria-label": `Edit ${r.type} ${r.name}`, onclick: () => editRecord(r) }, "Edit"), " ",
      el("button", { class: "delete", "aria-label": `Delete ${r.type} ${r.name}`, onclick: () => deleteRecord(r) }, "Delete")))));
}

// Editing fills the form with the record and remembers its version, so
// saving replaces exactly what was shown.
function editRecord(r) {
  $("record-type").value = r.type;
  $("record-name").value = r.name;
  $("record-value").value = r.values.join("\n");
  $("record-ttl").value = r.ttl;
  $("record-form").dataset.etag = r.etag;
  $("record-form").dataset.editing = `${r.type} ${r.name}`;
  $("record-name").focus();
}

async function saveRecord(ev) {
  ev.preventDefault();
  const form = $("record-form");
  const type = $("record-type").value;
  const name = $("record-name").value.trim() || "@";
  // A TXT value may hold commas: only lines separate TXT values.
  const values = $("record-value").value.split(type === "TXT" ? /\n+/ : /[\n,]+/).map((v) => v.trim()).filter(Boolean);
  const ttl = Number($("record-ttl").value) || 300;
  const path = `/api/v1/dns/domains/${domain}/records/${type}/${encodeURIComponent(name)}`;
  // A new record never replaces one of the same name unasked; an edited one
  // replaces only the version that was shown.
  const editing = form.dataset.editing === `${type} ${name}` && form.dataset.etag;
  const condition = editing ? { "if-match": form.dataset.etag } : { "if-none-match": "*" };
  try {
    try { await api("PUT", path, { ttl, values }, condition); }
    catch (e) {
      if (e.code !== "record_changed") throw e;
      const what = editing ? `The ${type} record ${name} was changed since you opened it.` : `A ${type} record named ${name} already exists.`;
      if (!(await confirmDialog(`${what} Replace it with ${values.join(", ")}?`, "Replace"))) return;
      await api("PUT", path, { ttl, values }, { "if-match": "*" });
    }
    delete form.dataset.etag; delete form.dataset.editing;
    notice("Record saved", `${type} ${name} → ${values.join(", ")}`, "");
  } catch (e) { fail(e); }
  await loadRecords().catch(fail);
}

async function deleteRecord(r) {
  if (!(await confirmDialog(`Delete the ${r.type} record ${r.name} (${r.values.join(", ")})?`))) return;
  try { await api("DELETE", `/api/v1/dns/domains/${domain}/records/${r.type}/${encodeURIComponent(r.name)}`, null, { "if-match": r.etag }); notice("Record deleted", `${r.type} ${r.name}`, ""); }
  catch (e) { fail(e); }
  await loadRecords().catch(fail);
}

// Point a hostname of the domain at one of the organization's servers.
async function loadHostnameServers() {
  const servers = (await every("/api/v1/servers", "servers")).filter((s) => s.public_ip);
  $("hostname-server").replaceChildren(...servers.map((s) => el("option", { value: s.id }, `${s.name} (${s.public_ip})`)));
  $("hostname-form").hidden = servers.length === 0;
}

async function pointHostname(ev) {
  ev.preventDefault();
  const name = $("hostname-name").value.trim() || "@";
  try {
    await api("PUT", `/api/v1/dns/domains/${domain}/hostnames/${encodeURIComponent(name)}`, { server_id: $("hostname-server").value });
    notice("Hostname set", `${name === "@" ? domain : `${name}.${domain}`} now points at ${$("hostname-server").selectedOptions[0].textContent}.`, "");
  } catch (e) { fail(e); }
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
    // Not while a resize picker is open: a redraw would close it.
    if (screen === "servers" && !document.querySelector(".resize-form")) await loadServers();
    if (screen === "activity") await loadActivity();
  } catch (_) { /* the next tick tries again; errors show on user actions */ }
}

// ---- The Add Account menu: a menu button, by mouse or keyboard -----------

function toggleAddMenu(open) {
  const m = $("add-menu");
  const show = open === undefined ? m.hidden : open;
  m.hidden = !show;
  $("add-account").setAttribute("aria-expanded", String(show));
  const first = m.querySelector("[role=menuitem]");
  if (show && first) first.focus();
}

function addMenuKeys(ev) {
  const items = [...$("add-menu").querySelectorAll("[role=menuitem]")];
  if (!items.length) return;
  const at = items.indexOf(document.activeElement);
  if (ev.key === "Escape") { ev.preventDefault(); toggleAddMenu(false); $("add-account").focus(); }
  else if (ev.key === "ArrowDown") { ev.preventDefault(); items[(at + 1) % items.length].focus(); }
  else if (ev.key === "ArrowUp") { ev.preventDefault(); items[(at - 1 + items.length) % items.length].focus(); }
  else if (ev.key === "Home") { ev.preventDefault(); items[0].focus(); }
  else if (ev.key === "End") { ev.preventDefault(); items[items.length - 1].focus(); }
}

// ---- Routing ---------------------------------------------------------------

const screens = ["accounts", "servers", "storage", "dns", "activity"];

async function route() {
  const screen = location.hash.slice(1) || "accounts";
  const signedIn = !!key();
  $("signin").hidden = signedIn;
  $("sign-out").hidden = !signedIn;
  for (const s of screens) {
    $(s).hidden = !signedIn || s !== screen;
    $(`nav-${s}`).toggleAttribute("aria-current", s === screen);
    if (s === screen) $(`nav-${s}`).setAttribute("aria-current", "page");
  }
  // A notice belongs to the screen it was given on.
  $("notice").hidden = true;
  if (!signedIn) { $("api-key").focus(); return; }
  // Focus follows the screen, so keyboard and screen-reader users land on
  // what they asked for instead of the top of the page.
  const heading = $(screen).querySelector("h2");
  if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
  try {
    await loadProviders().catch(fail);
    await loadAccounts();
    if (screen === "servers") { await loadServers(); await loadRegions(); }
    if (screen === "storage") { await loadTargets(); await loadStorageChoices(); }
    if (screen === "dns") await restoreDomain();
    if (screen === "activity") await loadActivity();
  } catch (e) { fail(e); }
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (ev) => { ev.preventDefault(); signIn($("api-key").value.trim()); $("api-key").value = ""; });
  $("sign-out").addEventListener("click", () => signOut());
  // A new tab asks the console's other tabs for the key.
  if (!key() && session) session.postMessage({ type: "ask" });
  $("add-account").addEventListener("click", () => toggleAddMenu());
  $("add-menu").addEventListener("keydown", addMenuKeys);
  $("server-form").addEventListener("submit", createServer);
  $("server-account").addEventListener("change", () => loadRegions().catch(fail));
  $("server-region").addEventListener("change", () => loadSizes().catch(fail));
  $("server-size").addEventListener("change", estimate);
  $("storage-form").addEventListener("submit", setupStorage);
  $("storage-account").addEventListener("change", () => loadStorageChoices().catch(fail));
  $("storage-existing").addEventListener("change", chooseStorageAccount);
  $("dns-load").addEventListener("click", () => loadZones().catch(fail));
  $("record-form").addEventListener("submit", saveRecord);
  $("hostname-form").addEventListener("submit", pointHostname);
  window.addEventListener("hashchange", route);
  setInterval(refreshVisible, 5000);
  route();
});
