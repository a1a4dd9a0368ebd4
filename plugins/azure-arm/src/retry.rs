//! When to retry an ARM call and how long to wait: throttling (429) and
//! server errors (5xx) are retried, honouring `Retry-After` up to a cap, with
//! exponential backoff when the service names no delay; other failures are not.

use std::time::Duration;

use crate::ArmError;

/// The retry rules.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first backoff when no `Retry-After` is given; doubles each time.
    pub base_delay: Duration,
    /// The longest single wait, whatever `Retry-After` says.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// How long to wait before attempt `attempt + 1`, or `None` to give up.
    pub fn wait(&self, method: &str, error: &ArmError, attempt: u32) -> Option<Duration> {
        if attempt >= self.max_attempts || !error.is_transient() {
            return None;
        }
        // A POST may not be idempotent: retry it only when ARM throttled it
        // (the request was refused, not half-done).
        if method == "POST" && error.status != 429 {
            return None;
        }
        let backoff = self.base_delay.saturating_mul(1 << (attempt - 1).min(16));
        let asked = error.retry_after.map(Duration::from_secs);
        Some(asked.unwrap_or(backoff).min(self.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(status: u16, retry_after: Option<u64>) -> ArmError {
        ArmError {
            status,
            code: "X".into(),
            message: String::new(),
            target: None,
            retry_after,
        }
    }

    #[test]
    fn honours_retry_after_with_a_cap() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.wait("GET", &err(429, Some(5)), 1),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            p.wait("GET", &err(429, Some(600)), 1),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn backs_off_exponentially_then_gives_up() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.wait("PUT", &err(503, None), 1),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            p.wait("PUT", &err(503, None), 2),
            Some(Duration::from_millis(1000))
        );
        assert_eq!(p.wait("PUT", &err(503, None), 4), None);
    }

    #[test]
    fn client_errors_and_unsafe_posts_are_not_retried() {
        let p = RetryPolicy::default();
        assert_eq!(p.wait("GET", &err(404, None), 1), None);
        assert_eq!(p.wait("POST", &err(500, None), 1), None);
        assert_eq!(
            p.wait("POST", &err(429, Some(1)), 1),
            Some(Duration::from_secs(1))
        );
    }
}
