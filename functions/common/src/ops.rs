//! The one operation engine. Long work — a server's creation or removal, a
//! backup storage set-up, a DNS change — is a row of `operations` that whoever
//! holds its lease (a client's poll, or the jobs component) moves on one step
//! at a time; each function supplies a [`Handler`] that knows its steps.
//!
//! Every step is persisted before the next begins. Taking the lease bumps the
//! row's `version`, and every write compares it, so a request whose lease ran
//! out and was taken over writes nothing. Leases are short, so a request
//! killed mid-step stalls nothing for long. Transient failures are retried
//! with capped backoff and end the operation only after many tries.
//! Idempotency-Keys map to operations here too, and stay usable after a crash
//! at any point between accepting a request and making its operation.

use serde_json::{json, Value};
use spin_sdk::sqlite::{Connection, QueryResult};

use crate::api::ApiError;
use crate::db::{self, get_int, get_text, int, text};

/// Seconds a step may hold an operation before another request takes it
/// over (the app variable `operation_lease_seconds`, default 15). A step that
/// outlives it is harmless: its writes compare the version it read.
fn lease_seconds() -> i64 {
    spin_sdk::variables::get("operation_lease_seconds")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| (1..=600).contains(n))
        .unwrap_or(15)
}

/// Transient failures in a row after which an operation fails.
const MAX_ATTEMPTS: i64 = 12;
/// The longest wait between two tries of a transiently failing step.
const MAX_BACKOFF: i64 = 60;

/// How long an Idempotency-Key's first request may take to make its
/// operation; after that a replay takes the key over (the first one died).
const KEY_LEASE: i64 = 20;

/// How far an operation has come.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// The plugin's opaque token for the next step.
    pub token: String,
    /// What it is doing now, for people.
    pub step: String,
    pub index: u32,
    pub of: u32,
    /// What a finished operation made (the handler's own JSON).
    pub result: Value,
}

/// An operation as read under its lease.
#[derive(Debug, Clone)]
pub struct Op {
    pub id: String,
    pub org: String,
    pub kind: String,
    /// The object it works on (a server, a backup target, a DNS record).
    pub subject: String,
    pub account: String,
    pub token: String,
    pub step: String,
    /// The handler's own parameters, fixed when the operation was made.
    pub data: Value,
    /// Transient failures in a row so far.
    pub attempts: i64,
    version: i64,
}

impl Op {
    /// Whether an earlier step was tried (and may have been done) before
    /// this one: after a crash, a takeover or a transient failure.
    pub fn resumed(&self) -> bool {
        self.version > 1
    }
}

/// What one step came to.
pub enum Next {
    /// Moved on; more steps follow.
    Moved(Progress),
    /// Finished.
    Done(Progress),
    /// A transient failure (throttled, unavailable): nothing moved, and the
    /// step is tried again after a backoff.
    Later(ApiError),
    /// Failed for good, with the provider's reason.
    Failed(ApiError),
}

/// How an operation ended, for [`Handler::ended`].
pub enum Ended<'a> {
    Succeeded(&'a Progress),
    Failed(&'a ApiError),
}

/// What a function knows about its kinds of operation.
// Components run single-threaded, so the futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait Handler {
    /// Does the operation's next step (plugin calls; no writes of its own
    /// to the operation).
    async fn step(&self, db: &Connection, op: &Op) -> Result<Next, ApiError>;

    /// The subject's new state, written in the transaction that ends the
    /// operation — so both change together or not at all.
    fn ended(&self, db: &Connection, op: &Op, how: Ended<'_>) -> Result<(), ApiError>;

    /// After a failure was committed: starts removing what the operation
    /// made (at most once per operation).
    async fn undo(&self, _db: &Connection, _op: &Op) -> Result<(), ApiError> {
        Ok(())
    }
}

/// A new operation's fixed parts.
pub struct NewOp<'a> {
    pub id: &'a str,
    pub org: &'a str,
    pub kind: &'a str,
    pub subject: &'a str,
    pub account: &'a str,
    pub data: Value,
}

/// Records a new running operation at `first`.
pub fn insert(db: &Connection, new: &NewOp<'_>, first: &Progress) -> Result<(), ApiError> {
    let now = crate::now();
    db.execute(
        "INSERT INTO operations (id, org_id, kind, subject_id, account_id, data, token, status, step, step_index, steps, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
        &[
            text(new.id), text(new.org), text(new.kind), text(new.subject), text(new.account), text(&new.data.to_string()),
            text(&first.token), text(&first.step), int(first.index.into()), int(first.of.into()), int(now), int(now),
        ],
    )?;
    Ok(())
}

/// Links a clean-up operation to the one whose failure it undoes; advancing
/// the parent advances the clean-up.
pub fn set_cleanup(db: &Connection, id: &str, cleanup: &str) -> Result<(), ApiError> {
    db.execute(
        "UPDATE operations SET cleanup_id = ? WHERE id = ?",
        &[text(cleanup), text(id)],
    )?;
    Ok(())
}

/// Operation `id` of `org` for a client that polls it: moved on by one
/// step first when `ours(kind)` (this function runs that kind) and it has
/// anything left to move on (it runs, owes an undo or has a clean-up);
/// its kind and its row of [`SHOWN`], read once when nothing moved.
pub async fn poll<H: Handler>(
    db: &Connection,
    org: &str,
    id: &str,
    h: &H,
    ours: impl Fn(&str) -> bool,
) -> Result<(String, QueryResult), ApiError> {
    let r = db.execute(
        &format!("SELECT {SHOWN}, undo_pending FROM operations WHERE id = ? AND org_id = ?"),
        &[text(id), text(org)],
    )?;
    let kind = get_text(&r, 0, "kind").ok_or_else(|| ApiError::not_found("operation"))?;
    let moving = get_text(&r, 0, "status").as_deref() == Some("running")
        || get_text(&r, 0, "cleanup_id").is_some()
        || get_int(&r, 0, "undo_pending") == Some(1);
    if !(moving && ours(&kind)) {
        return Ok((kind, r));
    }
    advance(db, id, h).await?;
    Ok((kind, shown(db, id)?))
}

/// Moves operation `id` on by one step if nobody else is (its clean-up
/// first). Returns whether this call did a step.
pub async fn advance<H: Handler>(db: &Connection, id: &str, h: &H) -> Result<bool, ApiError> {
    let r = db.execute(
        "SELECT status, cleanup_id, undo_pending FROM operations WHERE id = ?",
        &[text(id)],
    )?;
    if r.rows.is_empty() {
        return Err(ApiError::not_found("operation"));
    }
    let mut moved = false;
    if let Some(c) = get_text(&r, 0, "cleanup_id") {
        moved = Box::pin(advance(db, &c, h)).await?;
    }
    if get_int(&r, 0, "undo_pending") == Some(1) {
        return Ok(run_undo(db, id, h).await? || moved);
    }
    if get_text(&r, 0, "status").as_deref() != Some("running") {
        return Ok(moved);
    }
    let Some(op) = take(db, id)? else {
        return Ok(moved);
    };
    let next = match h.step(db, &op).await {
        Ok(n) => n,
        Err(e) => {
            // Skyport's own refusal (an Expired account…): nothing moved;
            // free the operation for the next try.
            release(db, &op)?;
            return Err(e);
        }
    };
    let now = crate::now();
    match next {
        Next::Moved(p) => {
            db.execute(
                "UPDATE operations SET token = ?, step = ?, step_index = ?, steps = ?, attempts = 0, error = NULL,
                 lease = NULL, version = version + 1, updated_at = ? WHERE id = ? AND version = ?",
                &[text(&p.token), text(&p.step), int(p.index.into()), int(p.of.into()), int(now), text(id), int(op.version)],
            )?;
        }
        Next::Done(p) => {
            end(db, &op, Ended::Succeeded(&p), h)?;
        }
        Next::Later(e) if op.attempts + 1 < MAX_ATTEMPTS => {
            let wait = backoff(op.attempts + 1);
            db.execute(
                "UPDATE operations SET attempts = attempts + 1, error = ?, lease = ?, version = version + 1, updated_at = ?
                 WHERE id = ? AND version = ?",
                &[text(&stored_error(&op, &e)), int(now + wait), int(now), text(id), int(op.version)],
            )?;
        }
        Next::Later(e) | Next::Failed(e) => {
            if end(db, &op, Ended::Failed(&e), h)? {
                run_undo(db, id, h).await?;
            }
        }
    }
    Ok(true)
}

/// Runs the undo of a failed operation that still owes one. The failure
/// committed `undo_pending` with it, so an undo a crash interrupted is run
/// again (by the next poll or jobs run) — handlers make theirs safe to repeat.
async fn run_undo<H: Handler>(db: &Connection, id: &str, h: &H) -> Result<bool, ApiError> {
    let now = crate::now();
    db.execute(
        "UPDATE operations SET lease = ?, version = version + 1
         WHERE id = ? AND status = 'failed' AND undo_pending = 1 AND (lease IS NULL OR lease < ?)",
        &[int(now + lease_seconds()), text(id), int(now)],
    )?;
    if db::changes(db)? != 1 {
        return Ok(false);
    }
    let op = read(db, id)?;
    match h.undo(db, &op).await {
        Ok(()) => {
            db.execute(
                "UPDATE operations SET undo_pending = 0, lease = NULL WHERE id = ? AND version = ?",
                &[text(id), int(op.version)],
            )?;
            Ok(true)
        }
        Err(e) => {
            db.execute(
                "UPDATE operations SET lease = NULL WHERE id = ? AND version = ?",
                &[text(id), int(op.version)],
            )?;
            Err(e)
        }
    }
}

/// Running operations of these kinds whose lease is free (and failed ones
/// still owing their undo), fairly across
/// organizations: every organization's oldest first, then their second
/// oldest, and so on, at most `limit` in all.
pub fn due(db: &Connection, kinds: &[&str], limit: usize) -> Result<Vec<String>, ApiError> {
    let marks = vec!["?"; kinds.len()].join(", ");
    let mut params: Vec<spin_sdk::sqlite::Value> = vec![int(crate::now())];
    params.extend(kinds.iter().map(|k| text(k)));
    params.push(int(limit as i64));
    let r = db.execute(
        &format!(
            "SELECT id FROM (SELECT id, updated_at, ROW_NUMBER() OVER (PARTITION BY org_id ORDER BY updated_at, id) AS turn
               FROM operations WHERE (status = 'running' OR undo_pending = 1) AND (lease IS NULL OR lease < ?) AND kind IN ({marks})
                 AND {})
             ORDER BY turn, updated_at, id LIMIT ?",
            crate::provider::own_rows("account_id")
        ),
        &params,
    )?;
    Ok((0..r.rows.len())
        .filter_map(|i| get_text(&r, i, "id"))
        .collect())
}

/// One background turn over the due operations of these kinds: each moves
/// on as far as it goes without waiting on the provider (a step that leaves
/// it where it was ends its turn), until `budget` is spent. Returns what was
/// done, for the jobs component's log.
pub async fn work<H: Handler>(
    db: &Connection,
    kinds: &[&str],
    h: &H,
    budget: std::time::Duration,
) -> Result<Value, ApiError> {
    let started = std::time::Instant::now();
    let (mut touched, mut steps, mut finished) = (0, 0, 0);
    let mut errors = Vec::new();
    'ops: for id in due(db, kinds, 50)? {
        touched += 1;
        for _ in 0..30 {
            if started.elapsed() > budget {
                break 'ops;
            }
            let before = position(db, &id)?;
            match advance(db, &id, h).await {
                Ok(true) => steps += 1,
                Ok(false) => break,
                Err(e) => {
                    errors.push(json!({ "operation": id, "code": e.code }));
                    break;
                }
            }
            let after = position(db, &id)?;
            if after.0 != "running" {
                finished += 1;
                break;
            }
            if after == before {
                // Waiting on the provider: the next turn looks again.
                break;
            }
        }
    }
    Ok(json!({ "operations": touched, "steps": steps, "finished": finished, "errors": errors }))
}

/// Where an operation stands: status, step and its index.
fn position(db: &Connection, id: &str) -> Result<(String, String, i64), ApiError> {
    let r = db.execute(
        "SELECT status, step, step_index FROM operations WHERE id = ?",
        &[text(id)],
    )?;
    Ok((
        get_text(&r, 0, "status").unwrap_or_default(),
        get_text(&r, 0, "step").unwrap_or_default(),
        get_int(&r, 0, "step_index").unwrap_or(0),
    ))
}

/// Takes the lease of a running operation whose lease is free, and reads it.
fn take(db: &Connection, id: &str) -> Result<Option<Op>, ApiError> {
    let now = crate::now();
    db.execute(
        "UPDATE operations SET lease = ?, version = version + 1
         WHERE id = ? AND status = 'running' AND (lease IS NULL OR lease < ?)",
        &[int(now + lease_seconds()), text(id), int(now)],
    )?;
    if db::changes(db)? != 1 {
        return Ok(None);
    }
    // Read only once the lease is ours: a poll that read before another
    // committed must not act on the older step.
    read(db, id).map(Some)
}

/// An operation as stored now.
fn read(db: &Connection, id: &str) -> Result<Op, ApiError> {
    let r = db.execute(
        "SELECT id, org_id, kind, subject_id, account_id, data, token, step, attempts, version FROM operations WHERE id = ?",
        &[text(id)],
    )?;
    Ok(Op {
        id: id.to_string(),
        org: get_text(&r, 0, "org_id").unwrap_or_default(),
        kind: get_text(&r, 0, "kind").unwrap_or_default(),
        subject: get_text(&r, 0, "subject_id").unwrap_or_default(),
        account: get_text(&r, 0, "account_id").unwrap_or_default(),
        data: get_text(&r, 0, "data")
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or(json!({})),
        token: get_text(&r, 0, "token").unwrap_or_default(),
        step: get_text(&r, 0, "step").unwrap_or_default(),
        attempts: get_int(&r, 0, "attempts").unwrap_or(0),
        version: get_int(&r, 0, "version").unwrap_or(0),
    })
}

/// Ends a running operation as failed with Skyport's own refusal (an
/// Expired account…) when its requester was told so and should not see it
/// happen later; nothing was written at the provider.
pub fn abandon(db: &Connection, id: &str, e: &ApiError) -> Result<(), ApiError> {
    db.execute(
        "UPDATE operations SET status = 'failed', error = ?, lease = NULL, version = version + 1, updated_at = ?
         WHERE id = ? AND status = 'running'",
        &[text(&record_of(e, "")), int(crate::now()), text(id)],
    )?;
    Ok(())
}

/// Keeps the lease for a step that makes several calls; `false` when it
/// was taken over (the step should stop: its writes would be refused).
pub fn renew(db: &Connection, op: &Op) -> Result<bool, ApiError> {
    db.execute(
        "UPDATE operations SET lease = ? WHERE id = ? AND version = ? AND status = 'running'",
        &[
            int(crate::now() + lease_seconds()),
            text(&op.id),
            int(op.version),
        ],
    )?;
    Ok(db::changes(db)? == 1)
}

/// Frees the lease without moving the operation.
fn release(db: &Connection, op: &Op) -> Result<(), ApiError> {
    db.execute(
        "UPDATE operations SET lease = NULL, version = version + 1 WHERE id = ? AND version = ?",
        &[text(&op.id), int(op.version)],
    )?;
    Ok(())
}

/// The error as stored: the client's error object, the step it failed at,
/// and the HTTP status it is answered with (not shown).
fn stored_error(op: &Op, e: &ApiError) -> String {
    record_of(e, &op.step)
}

/// An error as the `error` column keeps it; `step` is added unless the
/// error names its own (or there is none).
fn record_of(e: &ApiError, step: &str) -> String {
    let mut v = e.to_json();
    if v.get("step").is_none() && !step.is_empty() {
        v["step"] = json!(step);
    }
    v["http_status"] = json!(e.status);
    v.to_string()
}

/// Ends the operation and writes its subject's new state in one
/// transaction; `false` when the lease had been taken over (nothing written).
fn end<H: Handler>(db: &Connection, op: &Op, how: Ended<'_>, h: &H) -> Result<bool, ApiError> {
    let now = crate::now();
    db::transaction(db, || {
        match &how {
            Ended::Succeeded(p) => db.execute(
                "UPDATE operations SET token = ?, step = ?, step_index = ?, steps = ?, status = 'succeeded', error = NULL,
                 result = ?, lease = NULL, version = version + 1, updated_at = ? WHERE id = ? AND version = ?",
                &[text(&p.token), text(&p.step), int(p.index.into()), int(p.of.into()), text(&p.result.to_string()), int(now), text(&op.id), int(op.version)],
            )?,
            // A failed operation's step is the one that failed.
            Ended::Failed(e) => db.execute(
                "UPDATE operations SET status = 'failed', step = ?, error = ?, undo_pending = 1, lease = NULL, version = version + 1, updated_at = ?
                 WHERE id = ? AND version = ?",
                &[text(e.extra["step"].as_str().unwrap_or(&op.step)), text(&stored_error(op, e)), int(now), text(&op.id), int(op.version)],
            )?,
        };
        if db::changes(db)? != 1 {
            return Ok(false);
        }
        h.ended(db, op, how)?;
        Ok(true)
    })
}

/// What clients see of an operation, as read from `operations`.
pub const SHOWN: &str = "id, kind, subject_id, status, step, step_index, steps, error, result, cleanup_id, attempts, created_at, updated_at";

/// Operation `id`'s row of [`SHOWN`] (none if there is no such operation).
pub fn shown(db: &Connection, id: &str) -> Result<QueryResult, ApiError> {
    Ok(db.execute(
        &format!("SELECT {SHOWN} FROM operations WHERE id = ?"),
        &[text(id)],
    )?)
}

/// The operation as clients see it: kind, subject, status, step, progress,
/// its error and its clean-up; `None` if there is none with that id.
pub fn json(db: &Connection, id: &str) -> Result<Option<Value>, ApiError> {
    let r = shown(db, id)?;
    if r.rows.is_empty() {
        return Ok(None);
    }
    row_json(db, &r, 0).map(Some)
}

/// Row `i` of a query of [`SHOWN`] as clients see it.
pub fn row_json(db: &Connection, r: &QueryResult, i: usize) -> Result<Value, ApiError> {
    let (mut v, result) = row_parts(db, r, i)?;
    if let Some(res) = result.and_then(|x| serde_json::from_str::<Value>(&x).ok()) {
        v["result"] = res;
    }
    Ok(v)
}

/// [`row_json`] with the result left out of the value: the stored JSON
/// text (checked to be JSON), for an answer that copies it in as it is.
pub fn row_parts(
    db: &Connection,
    r: &QueryResult,
    i: usize,
) -> Result<(Value, Option<String>), ApiError> {
    let mut v = json!({
        "id": get_text(r, i, "id"), "kind": get_text(r, i, "kind"), "subject_id": get_text(r, i, "subject_id"),
        "status": get_text(r, i, "status"), "step": get_text(r, i, "step"),
        "progress": { "step": get_int(r, i, "step_index"), "of": get_int(r, i, "steps") },
        "created_at": get_int(r, i, "created_at"), "updated_at": get_int(r, i, "updated_at"),
    });
    if let Some(mut e) =
        get_text(r, i, "error").and_then(|e| serde_json::from_str::<Value>(&e).ok())
    {
        if let Some(o) = e.as_object_mut() {
            o.remove("http_status");
        }
        // A running operation's error is the transient one it is retrying.
        let key = if v["status"] == "running" {
            "last_error"
        } else {
            "error"
        };
        v[key] = e;
        if key == "last_error" {
            v["attempts"] = json!(get_int(r, i, "attempts"));
        }
    }
    let result = get_text(r, i, "result")
        .filter(|x| serde_json::from_str::<&serde_json::value::RawValue>(x).is_ok());
    if let Some(c) = get_text(r, i, "cleanup_id") {
        if let Some(cv) = json(db, &c)? {
            v["cleanup"] = cv;
        }
    }
    Ok((v, result))
}

/// A failed operation's error as an API error, with the status it was made with.
pub fn error_of(db: &Connection, id: &str) -> Result<Option<ApiError>, ApiError> {
    let r = db.execute(
        "SELECT error FROM operations WHERE id = ? AND status = 'failed'",
        &[text(id)],
    )?;
    Ok(get_text(&r, 0, "error").and_then(|e| error_from_record(&e)))
}

/// The error of the last operation on `subject` that failed, if any.
pub fn last_error_on(db: &Connection, subject: &str) -> Result<Option<ApiError>, ApiError> {
    let r = db.execute(
        "SELECT error FROM operations WHERE subject_id = ? AND status = 'failed' ORDER BY updated_at DESC LIMIT 1",
        &[text(subject)],
    )?;
    Ok(get_text(&r, 0, "error").and_then(|e| error_from_record(&e)))
}

/// An error from its [`record_of`] (with the HTTP status it was made with).
fn error_from_record(stored: &str) -> Option<ApiError> {
    let mut v = serde_json::from_str::<Value>(stored).ok()?;
    let status = v["http_status"].as_u64().unwrap_or(502) as u16;
    if let Some(o) = v.as_object_mut() {
        o.remove("http_status");
    }
    Some(ApiError::from_json(status, &v))
}

/// The `Idempotency-Key` header, checked; `None` when absent.
pub fn idempotency_key(req: &spin_sdk::http::Request) -> Result<Option<String>, ApiError> {
    let Some(raw) = req.header("idempotency-key") else {
        return Ok(None);
    };
    match raw.as_str().map(str::trim) {
        // Visible ASCII and spaces only, as the API description says: a key
        // is echoed in logs and compared byte for byte.
        Some(k)
            if !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| (0x20..0x7f).contains(&b)) =>
        {
            Ok(Some(k.to_string()))
        }
        _ => Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "The `Idempotency-Key` header must be 1–200 visible characters.",
            "Send a unique key per request, e.g. a UUID; repeat it when you retry.",
        )),
    }
}

/// What an Idempotency-Key leads to.
pub enum Key {
    /// First use (or a takeover of a first request that died): make the
    /// operation with this id, or [`free_key`] if the request is refused.
    Fresh(String),
    /// The key made this operation already.
    Existing(String),
}

/// Claims `key` for a request with this `fingerprint`: one operation per key,
/// even for concurrent requests (the first insert wins). A key whose first
/// request died before its operation existed is taken over once its lease
/// runs out, so no crash makes a key unusable.
pub fn claim_key(
    db: &Connection,
    org: &str,
    key: &str,
    fingerprint: &str,
) -> Result<Key, ApiError> {
    let deadline = crate::now() + 10;
    let fresh = crate::new_id();
    loop {
        let now = crate::now();
        db.execute(
            "INSERT INTO idempotency (org_id, key, request, operation_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            &[text(org), text(key), text(fingerprint), text(&fresh), int(now)],
        )?;
        if db::changes(db)? == 1 {
            return Ok(Key::Fresh(fresh));
        }
        let r = db.execute(
            "SELECT request, operation_id, created_at FROM idempotency WHERE org_id = ? AND key = ?",
            &[text(org), text(key)],
        )?;
        if r.rows.is_empty() {
            // The first request was refused and freed the key: this one
            // becomes the first.
            continue;
        }
        if get_text(&r, 0, "request").as_deref() != Some(fingerprint) {
            return Err(ApiError::new(
                422,
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request.",
                "Use a new key for a different request.",
            ));
        }
        let existing = get_text(&r, 0, "operation_id").unwrap_or_default();
        let made = db.execute(
            "SELECT 1 AS x FROM operations WHERE id = ?",
            &[text(&existing)],
        )?;
        if !made.rows.is_empty() {
            return Ok(Key::Existing(existing));
        }
        let started = get_int(&r, 0, "created_at").unwrap_or(0);
        if started + KEY_LEASE < now {
            db.execute(
                "UPDATE idempotency SET created_at = ? WHERE org_id = ? AND key = ? AND created_at = ?",
                &[int(now), text(org), text(key), int(started)],
            )?;
            if db::changes(db)? == 1 {
                return Ok(Key::Fresh(existing));
            }
        }
        if now > deadline {
            return Err(ApiError::new(
                503,
                "in_progress",
                "The first request with this key is still being processed.",
                "Retry in a few seconds with the same key.",
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Frees a key whose request was refused before it made its operation —
/// never one whose operation exists (another request with the key made it).
pub fn free_key(db: &Connection, org: &str, key: &str, op_id: &str) -> Result<(), ApiError> {
    db.execute(
        "DELETE FROM idempotency WHERE org_id = ? AND key = ? AND operation_id = ?
           AND NOT EXISTS (SELECT 1 FROM operations WHERE id = ?)",
        &[text(org), text(key), text(op_id), text(op_id)],
    )?;
    Ok(())
}

/// Keeps a claimed key's lease while its request is still working (after a
/// long wait), so a replay does not take it over from a live request.
pub fn keep_key(db: &Connection, org: &str, key: &str, op_id: &str) -> Result<(), ApiError> {
    db.execute(
        "UPDATE idempotency SET created_at = ? WHERE org_id = ? AND key = ? AND operation_id = ?",
        &[int(crate::now()), text(org), text(key), text(op_id)],
    )?;
    Ok(())
}

/// The hex SHA-256 of a request body, to tell a replay from a reuse.
pub fn fingerprint(body: &Value) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(body.to_string().as_bytes())
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// The backoff before the next try after `attempts` transient failures.
fn backoff(attempts: i64) -> i64 {
    (1i64 << attempts.clamp(0, 6)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), 2);
        assert_eq!(backoff(2), 4);
        assert_eq!(backoff(5), 32);
        assert_eq!(backoff(6), MAX_BACKOFF);
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn stored_errors_carry_step_and_status() {
        let op = Op {
            id: "o".into(),
            org: "g".into(),
            kind: "create".into(),
            subject: "s".into(),
            account: "a".into(),
            token: String::new(),
            step: "Creating the virtual machine".into(),
            data: json!({}),
            attempts: 0,
            version: 1,
        };
        let e = ApiError::new(412, "record_changed", "m", "r");
        let v: Value = serde_json::from_str(&stored_error(&op, &e)).unwrap();
        assert_eq!(v["step"], "Creating the virtual machine");
        assert_eq!(v["http_status"], 412);
        let back = ApiError::from_json(412, &v);
        assert_eq!(back.code, "record_changed");
    }
}
