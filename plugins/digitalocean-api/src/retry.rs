//! When a DigitalOcean call is tried again within the same step, and after
//! how long: a refusal for the rate limit (429: nothing was done) whatever the
//! method, and a server error or a lost connection only for a method that can
//! be repeated (a POST may have been carried out). Longer waits are the
//! operation's to take: the step fails as throttled or unavailable and runs
//! again later, so no request holds an instance for long.

use std::time::Duration;

/// Tries in all, the first included.
pub const MAX_TRIES: u32 = 3;

/// The longest wait within a step; a rate limit that resets later than
/// this is handed to the operation.
pub const MAX_WAIT: Duration = Duration::from_secs(5);

/// What went wrong with one try.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Failure {
    /// An HTTP answer with this status, and how many seconds it asked to
    /// wait (`retry-after`, or until `ratelimit-reset`).
    Status(u16, Option<u64>),
    /// No answer at all.
    Unreachable,
}

/// How long to wait before try `tried + 1`, or `None` to stop.
pub fn wait(method: &str, failure: Failure, tried: u32) -> Option<Duration> {
    if tried >= MAX_TRIES {
        return None;
    }
    let repeatable = matches!(method, "GET" | "HEAD" | "PUT" | "DELETE");
    let backoff = Duration::from_millis(250) * (1 << (tried - 1).min(8));
    match failure {
        Failure::Status(429, asked) => {
            let asked = asked.map_or(backoff, Duration::from_secs);
            (asked <= MAX_WAIT).then_some(asked)
        }
        Failure::Status(500..=599, _) | Failure::Unreachable if repeatable => Some(backoff),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_refusal_is_tried_again_for_any_method_when_it_resets_soon() {
        let s = Duration::from_secs;
        assert_eq!(wait("POST", Failure::Status(429, Some(1)), 1), Some(s(1)));
        assert_eq!(
            wait("GET", Failure::Status(429, None), 1),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            wait("POST", Failure::Status(429, Some(3600)), 1),
            None,
            "the hourly window is the operation's to wait"
        );
    }

    #[test]
    fn server_errors_and_lost_answers_are_tried_again_only_where_repeating_is_safe() {
        assert_eq!(
            wait("GET", Failure::Status(503, None), 1),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            wait("DELETE", Failure::Unreachable, 2),
            Some(Duration::from_millis(500))
        );
        assert_eq!(wait("POST", Failure::Status(500, None), 1), None);
        assert_eq!(wait("POST", Failure::Unreachable, 1), None);
        assert_eq!(wait("GET", Failure::Status(404, None), 1), None);
    }

    #[test]
    fn tries_are_bounded() {
        assert_eq!(wait("GET", Failure::Status(503, None), MAX_TRIES), None);
        assert_eq!(wait("GET", Failure::Status(429, Some(1)), MAX_TRIES), None);
    }
}
