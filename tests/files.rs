//! Component `files` as Spin places them: a directory path, a single file, a
//! glob and `{ source, destination }` mappings (of a directory or a file)
//! all land under `/`, read-only, with `exclude_files` left out; a path that
//! is neither there nor a glob stops the start with Spin's reason.

mod support;

use support::{Host, Opts, TempDir};

fn app(files: &str) -> TempDir {
    let dir = TempDir::new("files");
    for (rel, text) in [
        ("static/index.html", "<h1>hi</h1>"),
        ("static/app.js.map", "map"),
        ("docs/a.md", "a"),
        ("docs/b.txt", "b"),
        ("cfg.json", "{\"k\":1}"),
        ("assets/logo.svg", "<svg/>"),
    ] {
        dir.write(rel, text);
    }
    dir.write("spin.toml", &support::one_component("{probe}", files));
    dir
}

#[test]
fn files_land_where_spin_puts_them() {
    let dir = app(
        r#"files = ["static", "cfg.json", "docs/*.md", { source = "assets", destination = "/public" }, { source = "cfg.json", destination = "etc/app.json" }]
exclude_files = ["*.map"]
"#,
    );
    let host = Host::start(dir.path(), &Opts::default());
    let read = |path: &str| host.get(&format!("/?op=file&path={path}"));
    assert_eq!(read("/static/index.html"), (200, "<h1>hi</h1>".into()));
    assert_eq!(read("/cfg.json"), (200, "{\"k\":1}".into()));
    assert_eq!(read("/docs/a.md"), (200, "a".into()));
    assert_eq!(read("/public/logo.svg"), (200, "<svg/>".into()));
    assert_eq!(read("/etc/app.json"), (200, "{\"k\":1}".into()));
    // Left out: an excluded file, a file no pattern names, the app itself.
    assert_eq!(read("/static/app.js.map").0, 404);
    assert_eq!(read("/docs/b.txt").0, 404);
    assert_eq!(read("/spin.toml").0, 404);
}

#[test]
fn a_path_that_is_not_there_is_refused_as_spin_refuses_it() {
    let dir = app("files = [\"missing\"]\n");
    let err = support::start_fails(dir.path(), &Opts::default());
    assert!(
        err.contains("\"missing\" does not exist and doesn't appear to be a glob pattern"),
        "{err}"
    );
}
