//! Component `files`, as Spin's loader places them: every pattern, path and
//! `{ source, destination }` is copied into one per-component directory,
//! mounted read-only at `/`.
//!
//! Copying means a guest never reaches outside what the manifest lists;
//! `exclude_files` patterns (where `*` also crosses `/`, as in Spin) leave
//! files out of every copy.

use std::path::{Path, PathBuf};

use crate::manifest::FileMount;

/// Matches a `/`-separated relative path against a `files` glob: `*` and
/// `?` within one segment, `**` across segments.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn segs(s: &str) -> Vec<&str> {
        s.split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect()
    }
    fn walk(p: &[&str], s: &[&str]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some(&"**") => walk(&p[1..], s) || (!s.is_empty() && walk(p, &s[1..])),
            Some(first) => {
                !s.is_empty()
                    && text_match(first.as_bytes(), s[0].as_bytes())
                    && walk(&p[1..], &s[1..])
            }
        }
    }
    walk(&segs(pattern), &segs(path))
}

/// `*` (any run of bytes, `/` included) and `?` (one byte) over `s`.
fn text_match(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => text_match(&p[1..], s) || (!s.is_empty() && text_match(p, &s[1..])),
        (Some(b'?'), Some(_)) => text_match(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => text_match(&p[1..], &s[1..]),
        _ => false,
    }
}

/// An `exclude_files` pattern against a path relative to the app: as
/// Spin's `glob::Pattern::matches_path`, `*` crosses `/`.
fn excluded(exclude: &[String], rel: &str) -> bool {
    exclude.iter().any(|x| {
        let x = x.trim_start_matches("./");
        text_match(x.replace("**", "*").as_bytes(), rel.as_bytes())
    })
}

/// What Spin takes for a glob rather than a path.
fn looks_like_glob(p: &str) -> bool {
    p.contains(['*', '?', '[', '{'])
}

/// Every file under `dir`, as paths relative to `root`.
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

/// Copies into a component's files directory.
struct Stage<'a> {
    app_dir: &'a Path,
    dir: &'a Path,
    exclude: &'a [String],
}

impl Stage<'_> {
    /// Copies `app_dir/rel` to `dest` (relative to the mount), unless excluded.
    fn copy(&mut self, rel: &str, dest: &str) -> Result<(), String> {
        if excluded(self.exclude, rel) {
            return Ok(());
        }
        let to = self.dir.join(dest.trim_start_matches('/'));
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::copy(self.app_dir.join(rel), &to)
            .map_err(|e| format!("cannot copy `{rel}`: {e}"))?;
        Ok(())
    }

    /// Copies every file under `app_dir/dir_rel` to `dest/<its path in it>`.
    fn copy_dir(&mut self, dir_rel: &str, dest: &str) -> Result<(), String> {
        let root = self.app_dir.join(dir_rel);
        let mut under = Vec::new();
        walk_files(&root, &root, &mut under)
            .map_err(|e| format!("cannot list {}: {e}", root.display()))?;
        for rel in under {
            let from = format!("{}/{rel}", dir_rel.trim_end_matches('/'));
            self.copy(&from, &format!("{}/{rel}", dest.trim_end_matches('/')))?;
        }
        Ok(())
    }
}

/// Resolves a component's `files` into (host dir, guest path) mounts: one
/// directory, `stage_dir`, filled as Spin fills it, mounted at `/`.
pub fn prepare(
    app_dir: &Path,
    files: &[FileMount],
    exclude: &[String],
    stage_dir: &Path,
) -> Result<Vec<(PathBuf, String)>, String> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let _ = std::fs::remove_dir_all(stage_dir);
    std::fs::create_dir_all(stage_dir)
        .map_err(|e| format!("cannot create {}: {e}", stage_dir.display()))?;
    let mut stage = Stage {
        app_dir,
        dir: stage_dir,
        exclude,
    };
    let mut listing = None;
    for f in files {
        match f {
            FileMount::Pattern(p) => {
                let plain = p.trim_start_matches("./");
                if p == ".." || p.ends_with("/..") {
                    return Err(format!("{p:?}: a file pattern can't end in a parent directory path (..); to include a directory, use the source-destination form, or a glob pattern ending in **/*"));
                }
                if p == "." || p.ends_with("/.") {
                    return Err(format!("{p:?}: a file pattern can't end in a current directory path (.); to include a directory, use the source-destination form, or a glob pattern ending in **/*"));
                }
                if p == "*" || p == "**/*" {
                    tracing::warn!("A component is including the entire application directory as asset files (`files = [\"{p}\"]`). This is unlikely to be what you want; if it is, write \"./{p}\".");
                }
                let path = app_dir.join(plain);
                if path.is_dir() {
                    stage.copy_dir(plain, plain)?;
                } else if path.is_file() {
                    stage.copy(plain, plain)?;
                } else if looks_like_glob(p) {
                    let all = match &mut listing {
                        Some(all) => all,
                        None => {
                            let mut all = Vec::new();
                            walk_files(app_dir, app_dir, &mut all)
                                .map_err(|e| format!("cannot list {}: {e}", app_dir.display()))?;
                            listing.insert(all)
                        }
                    };
                    let wanted: Vec<String> = all
                        .iter()
                        .filter(|rel| glob_match(plain, rel) && !rel.starts_with(".spin/"))
                        .cloned()
                        .collect();
                    for rel in wanted {
                        stage.copy(&rel, &rel)?;
                    }
                } else {
                    return Err(format!(
                        "{p:?} does not exist and doesn't appear to be a glob pattern"
                    ));
                }
            }
            FileMount::Mapping {
                source,
                destination,
            } => {
                let rel = source
                    .strip_prefix(app_dir)
                    .map_err(|_| {
                        format!(
                            "`{}` is outside the application directory; files must be within it",
                            source.display()
                        )
                    })?
                    .to_string_lossy()
                    .replace('\\', "/");
                if source.is_dir() {
                    stage.copy_dir(&rel, destination)?;
                } else if source.is_file() {
                    stage.copy(&rel, destination)?;
                } else {
                    return Err(format!(
                        "File or directory `{}` does not exist",
                        source.display()
                    ));
                }
            }
        }
    }
    Ok(vec![(stage_dir.to_path_buf(), "/".to_string())])
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

    #[test]
    fn exclusions_cross_slashes_as_on_spin() {
        let x = ["*.map".to_string()];
        assert!(excluded(&x, "static/app.js.map"));
        assert!(excluded(&x, "a.map"));
        assert!(!excluded(&x, "static/app.js"));
        let x = ["static/secret/*".to_string()];
        assert!(excluded(&x, "static/secret/a/b.txt"));
        assert!(!excluded(&x, "static/public/a.txt"));
    }

    #[test]
    fn files_are_placed_as_spin_places_them() {
        let app = std::env::temp_dir().join(format!("skyport-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&app);
        for (rel, text) in [
            ("static/index.html", "i"),
            ("static/app.js", "j"),
            ("static/app.js.map", "m"),
            ("cfg.json", "{}"),
            ("assets/logo.svg", "s"),
        ] {
            let p = app.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let stage = app.join(".stage");
        let files = [
            FileMount::Pattern("static".into()),
            FileMount::Pattern("cfg.json".into()),
            FileMount::Mapping {
                source: app.join("assets"),
                destination: "public".into(),
            },
            FileMount::Mapping {
                source: app.join("cfg.json"),
                destination: "/etc/app.json".into(),
            },
        ];
        let mounts = prepare(&app, &files, &["*.map".into()], &stage).unwrap();
        assert_eq!(mounts, [(stage.clone(), "/".to_string())]);
        let has = |p: &str| stage.join(p).is_file();
        assert!(has("static/index.html") && has("static/app.js"));
        assert!(!has("static/app.js.map"), "excluded");
        assert!(has("cfg.json") && has("public/logo.svg") && has("etc/app.json"));
        // A path that is neither there nor a glob is refused, in Spin's words.
        let err = prepare(&app, &[FileMount::Pattern("nope".into())], &[], &stage).unwrap_err();
        assert_eq!(
            err,
            "\"nope\" does not exist and doesn't appear to be a glob pattern"
        );
        assert!(prepare(&app, &[FileMount::Pattern("static/..".into())], &[], &stage).is_err());
        let _ = std::fs::remove_dir_all(&app);
    }
}
