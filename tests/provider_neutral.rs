//! `functions/` names no provider: every provider is reached through the
//! plugins and the variables spin.toml gives each function instance, so a
//! provider is added without touching the product's code. This reads every
//! file under `functions/` (code, comments, the console's page and script)
//! and fails on any provider's or its products' name.

use std::path::{Path, PathBuf};

/// Names found anywhere in a word (`azureuser` counts).
const ANYWHERE: &[&str] = &[
    "azure",
    "microsoft",
    "digitalocean",
    "digital ocean",
    "hetzner",
    "vultr",
    "linode",
    "akamai",
    "cloudflare",
    "scaleway",
    "amazon",
    "google cloud",
    "alibaba",
];

/// Short names, found only as whole words (`laws` is not `aws`).
const WORDS: &[&str] = &[
    "aws", "gcp", "ovh", "entra", "aadsts", "droplet", "droplets", "arm",
];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Where `text` names a provider: `(line, name)` for each.
fn named(text: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lower = line.to_lowercase();
        for name in ANYWHERE {
            if lower.contains(name) {
                found.push((n + 1, *name));
            }
        }
        for word in lower.split(|c: char| !c.is_ascii_alphanumeric()) {
            if let Some(name) = WORDS.iter().find(|w| **w == word) {
                found.push((n + 1, *name));
            }
        }
    }
    found
}

#[test]
fn the_check_finds_what_it_looks_for() {
    assert_eq!(named("let user = \"azureuser\";"), vec![(1, "azure")]);
    assert_eq!(named("ok\n// on AWS"), vec![(2, "aws")]);
    assert_eq!(
        named("Microsoft Entra ID"),
        vec![(1, "microsoft"), (1, "entra")]
    );
    assert!(named("laws, warm, harm, entrance, arms").is_empty());
}

#[test]
fn functions_name_no_provider() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut all = Vec::new();
    files(&root.join("functions"), &mut all);
    assert!(all.len() > 20, "functions/ holds {} files", all.len());
    let mut found = Vec::new();
    for path in &all {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for (line, name) in named(&text) {
            found.push(format!(
                "{}:{line}: {name}",
                path.strip_prefix(root).unwrap().display()
            ));
        }
    }
    assert!(
        found.is_empty(),
        "functions/ must name no provider (their words come from spin.toml, their logic from plugins/):\n{}",
        found.join("\n")
    );
}
