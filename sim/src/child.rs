//! What the tests' helper processes (Azurite, moto) share: an ephemeral
//! 127.0.0.1 port to start one on, and the wait until it listens there.

use std::net::TcpListener;
use std::process::Child;
use std::time::{Duration, Instant};

/// A port free on 127.0.0.1 now.
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Waits up to 30 seconds for `child` to listen on `port`; `Err` when it
/// exits first or does not.
pub fn wait_listening(child: &mut Child, port: u16, what: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            return Err(format!("{what} did not start within 30 seconds"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
