//! Starting a real Azurite (npm `azurite`) for tests: on an ephemeral
//! 127.0.0.1 port with its own data directory, stopped when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running Azurite blob service.
pub struct Azurite {
    child: Child,
    /// Its blob endpoint, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    dir: PathBuf,
}

impl Azurite {
    /// Starts `azurite-blob` from `node_modules` under `repo`; `Err` says why
    /// it cannot (not installed, did not start).
    pub fn start(repo: &Path) -> Result<Azurite, String> {
        let bin = repo.join("node_modules/.bin/azurite-blob");
        if !bin.exists() {
            return Err(format!(
                "Azurite is not installed at {} (run `npm ci` in the repository)",
                bin.display()
            ));
        }
        let port = crate::child::free_port()?;
        let dir =
            std::env::temp_dir().join(format!("skyport-azurite-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        // --disableTelemetry: without it Azurite ignores SIGTERM.
        let child = Command::new(&bin)
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &port.to_string(),
                "--disableTelemetry",
                "--skipApiVersionCheck",
                "--location",
            ])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        let mut az = Azurite {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
        };
        crate::child::wait_listening(&mut az.child, port, "Azurite")?;
        Ok(az)
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
