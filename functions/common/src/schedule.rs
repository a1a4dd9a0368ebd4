//! The background jobs' sense of time and turn: periods read from app
//! variables, checks staggered so they spread over their period and backed
//! off after errors, and work chosen fairly across organizations so one
//! organization's thousands of rows never starve another's one.

use spin_sdk::sqlite::{Connection, Value};

use crate::api::ApiError;
use crate::db::{get_text, int};

/// A positive number of seconds from the app variable `name`, or `default`.
pub fn seconds(name: &str, default: i64) -> i64 {
    spin_sdk::variables::get(name)
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// A fixed offset in `0..period` for a row, so its checks keep their place
/// in the period instead of bunching up.
pub fn stagger(id: &str, period: i64) -> i64 {
    let h = id
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
    (h % period.max(1) as u64) as i64
}

/// The next check after `failures` errors in a row: the period (give or
/// take a tenth, by row), or a shorter backoff (1, 2, 4… minutes, at most
/// the period) after errors.
pub fn next_check(now: i64, period: i64, failures: i64, id: &str) -> i64 {
    if failures == 0 {
        now + period - period / 10 + stagger(id, (period / 5).max(1))
    } else {
        now + (60i64 << (failures - 1).min(10)).min(period)
    }
}

/// Gives rows of `table` that match `filter` and have no `next_check_at`
/// yet their place in the period (at most 500 per call): their first check
/// falls at their stagger, so a thousand rows made at once spread out.
pub fn plan_first_checks(
    db: &Connection,
    table: &str,
    filter: &str,
    now: i64,
    period: i64,
) -> Result<(), ApiError> {
    let unplanned = db.execute(
        &format!("SELECT id FROM {table} WHERE {filter} AND next_check_at IS NULL LIMIT 500"),
        &[],
    )?;
    for i in 0..unplanned.rows.len() {
        if let Some(id) = get_text(&unplanned, i, "id") {
            db.execute(
                &format!(
                    "UPDATE {table} SET next_check_at = ? WHERE id = ? AND next_check_at IS NULL"
                ),
                &[int(now + stagger(&id, period)), crate::db::text(&id)],
            )?;
        }
    }
    Ok(())
}

/// At most `limit` ids from `FROM <table> t WHERE …` (rows aliased `t`,
/// with `id` and `org_id`), taking organizations in turn: every
/// organization's first row, then every second one, and so on.
pub fn fair(
    db: &Connection,
    from_where: &str,
    params: &[Value],
    limit: i64,
) -> Result<Vec<String>, ApiError> {
    let mut p = params.to_vec();
    p.push(int(limit));
    let r = db.execute(
        &format!(
            "SELECT id FROM (SELECT t.id, ROW_NUMBER() OVER (PARTITION BY t.org_id ORDER BY t.id) AS turn {from_where})
             ORDER BY turn, id LIMIT ?"
        ),
        &p,
    )?;
    Ok((0..r.rows.len())
        .filter_map(|i| get_text(&r, i, "id"))
        .collect())
}

/// The rows of `table` matching `filter` whose check is due at `now` (at
/// most `limit`, organizations in turn), after giving rows that have never
/// been checked their place in the period.
pub fn due(
    db: &Connection,
    table: &str,
    filter: &str,
    now: i64,
    period: i64,
    limit: i64,
) -> Result<Vec<String>, ApiError> {
    plan_first_checks(db, table, filter, now, period)?;
    fair(
        db,
        &format!("FROM {table} t WHERE ({filter}) AND t.next_check_at <= ?"),
        &[int(now)],
        limit,
    )
}

/// Records that row `id` of `table` could not be checked (its
/// `failures`-th error in a row) and when to try again.
pub fn put_off(
    db: &Connection,
    table: &str,
    id: &str,
    now: i64,
    period: i64,
    failures: i64,
) -> Result<(), ApiError> {
    db.execute(
        &format!("UPDATE {table} SET next_check_at = ?, check_failures = ? WHERE id = ?"),
        &[
            int(next_check(now, period, failures, id)),
            int(failures),
            crate::db::text(id),
        ],
    )?;
    Ok(())
}

/// Looks at each of `ids` in turn with `look` (whether it changed) and
/// tallies the run for the jobs log: how many were checked and changed,
/// and each error's code under `what`.
pub async fn tally<F, Fut>(ids: Vec<String>, what: &str, mut look: F) -> serde_json::Value
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<bool, ApiError>>,
{
    let (mut checked, mut changed) = (0, 0);
    let mut errors = Vec::new();
    for id in ids {
        checked += 1;
        match look(id.clone()).await {
            Ok(true) => changed += 1,
            Ok(false) => {}
            Err(e) => errors.push(serde_json::json!({ what: id, "code": e.code })),
        }
    }
    serde_json::json!({ "checked": checked, "changed": changed, "errors": errors })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_spread_out_and_back_off() {
        let period = 6 * 3600;
        let a = next_check(0, period, 0, "a");
        let b = next_check(0, period, 0, "some-other-account");
        assert!((period * 9 / 10..=period * 11 / 10).contains(&a), "{a}");
        assert!((period * 9 / 10..=period * 11 / 10).contains(&b), "{b}");
        assert_ne!(a, b, "two rows are not checked at the same second");
        assert_eq!(next_check(0, period, 1, "a"), 60);
        assert_eq!(next_check(0, period, 3, "a"), 240);
        assert_eq!(next_check(0, period, 30, "a"), period, "backoff is capped");
    }

    #[test]
    fn a_stagger_stays_in_its_period() {
        for id in ["", "a", "9f1c2e7a-0000-4000-8000-000000000000"] {
            let s = stagger(id, 600);
            assert!((0..600).contains(&s), "{id}: {s}");
            assert_eq!(s, stagger(id, 600), "the same place every time");
        }
        assert_eq!(stagger("x", 0), 0);
    }
}
