//! A cron component for the host's cron-trigger tests. Each run prints one
//! line, `tick timestamp=… start=… end=…` (milliseconds), after sleeping for
//! the variable `sleep_ms`; the variable `probe` makes it also try something:
//! `kv` opens the store `default`, `http` sends a request to
//! `https://example.com`, `fail` returns an error, `trap` panics.

wit_bindgen::generate!({
    path: "../../../wit/deps/spin-cron",
    world: "spin-cron",
});

use spin_sdk::variables;

struct Ticker;

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

impl Guest for Ticker {
    fn handle_cron_event(metadata: Metadata) -> Result<(), Error> {
        let start = now_ms();
        let sleep = variables::get("sleep_ms")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        std::thread::sleep(std::time::Duration::from_millis(sleep));
        match variables::get("probe").unwrap_or_default().as_str() {
            "kv" => match spin_sdk::key_value::Store::open("default") {
                Ok(_) => println!("probe kv=opened"),
                Err(e) => println!("probe kv=refused {e:?}"),
            },
            probe @ ("http" | "chain") => {
                let url = if probe == "http" {
                    "https://example.com/"
                } else {
                    "http://web.spin.internal/"
                };
                let sent = spin_sdk::http::run(async {
                    let req = spin_sdk::http::Request::get(url);
                    spin_sdk::http::send::<_, spin_sdk::http::Response>(req).await
                });
                match sent {
                    Ok(r) => println!("probe {probe}=status {}", r.status()),
                    Err(e) => println!("probe {probe}=refused {e}"),
                }
            }
            "fail" => return Err(Error::Other("asked to fail".into())),
            "trap" => panic!("asked to trap"),
            _ => {}
        }
        println!(
            "tick timestamp={} start={start} end={}",
            metadata.timestamp,
            now_ms()
        );
        Ok(())
    }
}

export!(Ticker);
