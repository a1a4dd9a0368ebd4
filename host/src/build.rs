//! `skyport build`: runs each component's `[component.<id>.build] command`, as
//! `spin build` does, after making sure the wasm32-wasip2 target is installed.
//!
//! rustup does not add a target listed in rust-toolchain.toml when the
//! toolchain is already installed, so a fresh machine would fail with E0463;
//! adding it here keeps the build a single command.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

use crate::manifest::{Manifest, RawCommands};

/// Installs the wasm32-wasip2 target through rustup when it is missing.
pub fn ensure_wasm_target() -> anyhow::Result<()> {
    let Ok(out) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        return Ok(()); // No rustup: the toolchain is managed some other way.
    };
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == "wasm32-wasip2")
    {
        return Ok(());
    }
    eprintln!("Installing the wasm32-wasip2 target (rustup target add wasm32-wasip2)");
    let status = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .status()?;
    if !status.success() {
        bail!("`rustup target add wasm32-wasip2` failed; install the target and run `skyport build` again");
    }
    Ok(())
}

/// Builds every component of the app at `manifest_path` that has a build command.
pub fn build(manifest_path: &Path) -> anyhow::Result<()> {
    let manifest = Manifest::load(manifest_path)?;
    let mut ensured = false;
    for (id, c) in &manifest.components {
        let Some(b) = &c.build else { continue };
        let commands = match &b.command {
            RawCommands::One(c) => vec![c.clone()],
            RawCommands::Many(v) => v.clone(),
        };
        let workdir = match &b.workdir {
            Some(w) => manifest.dir.join(w),
            None => manifest.dir.clone(),
        };
        for command in commands {
            if !ensured && command.contains("wasm32-wasip2") {
                ensure_wasm_target()?;
                ensured = true;
            }
            eprintln!("Building component {id} with `{command}`");
            let status = Command::new("sh")
                .arg("-c")
                .arg(&command)
                .current_dir(&workdir)
                .status()
                .with_context(|| format!("running the build command of component `{id}`"))?;
            if !status.success() {
                bail!(
                    "{}: `component.{id}.build.command` failed ({status}): `{command}`",
                    manifest.path.display()
                );
            }
        }
    }
    eprintln!("Finished building all components");
    Ok(())
}
