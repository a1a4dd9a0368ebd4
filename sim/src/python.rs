//! The Python venvs the tests drive independent clients from (Microsoft's
//! SDKs, pydo, boto3, moto's server): the one `.ci/run` makes under
//! `target/`, or one made here from PyPI with the same pins.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python of `target/<dir>` under `repo`, which can import `module` and
/// was made with `pins` (noted in `requirements.pinned`, as `.ci/run`
/// notes them); made again when it cannot or was not.
pub fn venv(repo: &Path, dir: &str, module: &str, pins: &[&str]) -> Result<PathBuf, String> {
    let venv = repo.join("target").join(dir);
    let py = venv.join("bin").join("python");
    let pinned = venv.join("requirements.pinned");
    let ready = Command::new(&py)
        .args(["-c", &format!("import {module}")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
        && std::fs::read_to_string(&pinned).is_ok_and(|p| p.trim() == pins.join(" "));
    if ready {
        return Ok(py);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| format!("python3 cannot make a venv: {e}"))?;
    if !made.success() {
        return Err(format!("python3 -m venv {} failed", venv.display()));
    }
    let pip = Command::new(&py)
        .args(["-m", "pip", "install", "-q"])
        .args(pins)
        .status()
        .map_err(|e| format!("pip cannot run: {e}"))?;
    if !pip.success() {
        return Err(format!("installing {pins:?} from PyPI failed"));
    }
    std::fs::write(&pinned, pins.join(" ")).map_err(|e| e.to_string())?;
    Ok(py)
}
