//! Compiled components are cached on disk, so a second start compiles nothing.

mod support;

use support::{Host, Opts, TempDir};

#[test]
fn second_start_loads_from_the_cache() {
    let dir = TempDir::new("cache");
    let cache = dir.path().join("compile-cache");
    dir.write("spin.toml", &support::one_component("{hello}", ""));
    let opts = Opts {
        cache_dir: Some(cache.clone()),
        ..Opts::default()
    };

    let first = Host::start(dir.path(), &opts);
    assert_eq!(first.get("/").0, 200);
    let log = first.stop();
    assert!(
        log.contains("component=a") && log.contains(" compiled in "),
        "{log}"
    );
    let entries: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
    assert_eq!(entries.len(), 1, "one compiled component in the cache");

    let second = Host::start(dir.path(), &opts);
    assert_eq!(second.get("/"), (200, "Hello, Skyport!".into()));
    let log = second.stop();
    assert!(log.contains("loaded from the compile cache"), "{log}");
    assert!(!log.contains(" compiled in "), "{log}");
}
