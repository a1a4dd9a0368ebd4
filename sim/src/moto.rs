//! Starting a real moto server (PyPI `moto[server]`, S3 among its services)
//! for tests: on an ephemeral 127.0.0.1 port, stopped when dropped. The
//! emulator's Spaces front door forwards object requests to it once it is
//! the world's `digitalocean.moto_url`.

use std::path::Path;
use std::process::{Child, Command, Stdio};

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
                "moto is not installed at {} (run .ci/run, or: python3 -m venv target/py-moto && target/py-moto/bin/pip install 'moto[server]==5.2.5' boto3==1.44.8)",
                bin.display()
            ));
        }
        let port = crate::child::free_port()?;
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
        crate::child::wait_listening(&mut moto.child, port, "moto")?;
        Ok(moto)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
