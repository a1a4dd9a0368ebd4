//! Starting a real moto server (PyPI `moto[server]`, S3 among its services)
//! for tests: on an ephemeral 127.0.0.1 port, stopped when dropped. The
//! emulator's Spaces front door forwards object requests to it once it is
//! the world's `digitalocean.moto_url`.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server.
pub struct Moto {
    child: Child,
    /// Its endpoint, e.g. `http://127.0.0.1:41235`.
    pub url: String,
}

impl Moto {
    /// Starts `moto_server` from the venv at `target/py-moto` under `repo`
    /// (made by `.ci/run`); `Err` says why it cannot.
    pub fn start(repo: &Path) -> Result<Moto, String> {
        let bin = repo.join("target/py-moto/bin/moto_server");
        if !bin.exists() {
            return Err(format!(
                "moto is not installed at {} (run .ci/run, or: python3 -m venv target/py-moto && target/py-moto/bin/pip install 'moto[server]' boto3)",
                bin.display()
            ));
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| e.to_string())?
            .local_addr()
            .map_err(|e| e.to_string())?
            .port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let mut moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline || moto.child.try_wait().ok().flatten().is_some() {
                return Err("moto did not start within 30 seconds".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(moto)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
