//! Component `files`: glob patterns are staged into a per-component directory
//! mounted read-only at `/`; `{ source, destination }` mappings are mounted as
//! they are.
//!
//! Staging copies, so a guest can never reach outside what the manifest lists.

use std::path::{Path, PathBuf};

use crate::manifest::FileMount;

/// Matches a `/`-separated relative path against a glob with `*`, `?` and `**`.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn segs(s: &str) -> Vec<&str> {
        s.split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect()
    }
    fn seg_match(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => seg_match(&p[1..], s) || (!s.is_empty() && seg_match(p, &s[1..])),
            (Some(b'?'), Some(_)) => seg_match(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => seg_match(&p[1..], &s[1..]),
            _ => false,
        }
    }
    fn walk(p: &[&str], s: &[&str]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some(&"**") => walk(&p[1..], s) || (!s.is_empty() && walk(p, &s[1..])),
            Some(first) => {
                !s.is_empty()
                    && seg_match(first.as_bytes(), s[0].as_bytes())
                    && walk(&p[1..], &s[1..])
            }
        }
    }
    walk(&segs(pattern), &segs(path))
}

fn walk_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk_files(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// Resolves a component's `files` into (host dir, guest path) mounts, staging
/// glob matches into `stage_dir`.
pub fn prepare(
    app_dir: &Path,
    files: &[FileMount],
    exclude: &[String],
    stage_dir: &Path,
) -> Result<Vec<(PathBuf, String)>, String> {
    let mut mounts = Vec::new();
    let patterns: Vec<&str> = files
        .iter()
        .filter_map(|f| match f {
            FileMount::Pattern(p) => Some(p.as_str()),
            FileMount::Mapping { .. } => None,
        })
        .collect();
    for f in files {
        if let FileMount::Mapping {
            source,
            destination,
        } = f
        {
            if !source.is_dir() {
                return Err(format!("`{}` is not a directory", source.display()));
            }
            if !destination.starts_with('/') {
                return Err(format!(
                    "destination `{destination}` must be an absolute guest path"
                ));
            }
            mounts.push((source.clone(), destination.clone()));
        }
    }
    if !patterns.is_empty() {
        let mut all = Vec::new();
        walk_files(app_dir, app_dir, &mut all)
            .map_err(|e| format!("cannot list {}: {e}", app_dir.display()))?;
        let _ = std::fs::remove_dir_all(stage_dir);
        std::fs::create_dir_all(stage_dir)
            .map_err(|e| format!("cannot create {}: {e}", stage_dir.display()))?;
        for rel in all {
            let wanted = patterns
                .iter()
                .any(|p| glob_match(p, &rel) || rel == p.trim_start_matches("./"));
            if !wanted || exclude.iter().any(|x| glob_match(x, &rel)) || rel.starts_with(".spin/") {
                continue;
            }
            let dest = stage_dir.join(&rel);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::copy(app_dir.join(&rel), &dest)
                .map_err(|e| format!("cannot stage `{rel}`: {e}"))?;
        }
        mounts.push((stage_dir.to_path_buf(), "/".to_string()));
    }
    Ok(mounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("static/*", "static/a.css"));
        assert!(!glob_match("static/*", "static/x/a.css"));
        assert!(glob_match("static/**/*", "static/x/a.css"));
        assert!(glob_match("**/*.html", "a/b/index.html"));
        assert!(glob_match("*.txt", "a.txt"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("*.txt", "a.md"));
    }
}
