//! The calling thread's CPU clock, for charging guests the CPU time they use
//! rather than the wall-clock time they happen to span.

use std::time::Duration;

/// CPU time the current thread has consumed.
pub fn thread_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_with_work_not_with_sleep() {
        let a = thread_time();
        std::thread::sleep(Duration::from_millis(50));
        let b = thread_time();
        assert!(
            b - a < Duration::from_millis(20),
            "sleeping costs no CPU: {:?}",
            b - a
        );
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(thread_time() - b >= Duration::from_millis(10));
    }
}
