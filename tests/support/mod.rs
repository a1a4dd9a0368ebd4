//! What every scenario shares: building the test components once, starting the
//! real `skyport` binary on an ephemeral port, and talking HTTP to it;
//! `product` adds the real app against the emulator.
#![allow(dead_code)]

pub mod clouds;
pub mod product;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Builds the test components once per test binary (cargo makes later builds
/// no-ops) and returns the directory holding the `.wasm` files.
pub fn wasm_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = root().join("target").join("wasm-components");
        let out = target.join("wasm32-wasip2").join("wasm");
        if std::env::var_os("SKYPORT_TEST_SKIP_WASM_BUILD").is_none() {
            let _ = Command::new("rustup")
                .args(["target", "add", "wasm32-wasip2"])
                .output();
            let status = Command::new(env!("CARGO"))
                .args(["build", "--target", "wasm32-wasip2", "--profile", "wasm"])
                .args([
                    "-p",
                    "probe",
                    "-p",
                    "hello",
                    "-p",
                    "greeter",
                    "-p",
                    "greet-caller",
                    "-p",
                    "count-caller",
                    "-p",
                    "kv-dns",
                    "-p",
                    "kv-storage",
                    "-p",
                    "ticker",
                ])
                .arg("--target-dir")
                .arg(&target)
                .current_dir(root())
                .status()
                .expect("running cargo to build the test components");
            assert!(status.success(), "building the test components failed");
        }
        out
    })
}

/// The path of a test component, e.g. `wasm("probe")`.
pub fn wasm(name: &str) -> String {
    wasm_dir()
        .join(format!("{}.wasm", name.replace('-', "_")))
        .display()
        .to_string()
}

/// A scratch directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: Mutex<u32> = Mutex::new(0);
        let n = {
            let mut g = N.lock().unwrap();
            *g += 1;
            *g
        };
        let dir = root()
            .join("target")
            .join("test-apps")
            .join(format!("{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Replaces `{probe}`, `{hello}`, `{greeter}`, `{greet-caller}`, `{count-caller}`, `{ticker}` with component paths.
pub fn manifest(text: &str) -> String {
    let mut out = text.to_string();
    for name in [
        "probe",
        "hello",
        "greeter",
        "greet-caller",
        "count-caller",
        "ticker",
    ] {
        out = out.replace(&format!("{{{name}}}"), &wasm(name));
    }
    out
}

/// An app with one catch-all route to component `a` built from `source`
/// (a placeholder such as `{probe}`), with `extra` lines for that component.
pub fn one_component(source: &str, extra: &str) -> String {
    manifest(&format!(
        "spin_manifest_version = 2\n[application]\nname = \"test\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"a\"\n[component.a]\nsource = \"{source}\"\n{extra}"
    ))
}

/// A free port on 127.0.0.1 (for an app that must know its own address
/// before it starts, such as the product's `public_url`).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The shared compile cache of the test run, so each component compiles once.
pub fn cache_dir() -> PathBuf {
    root().join("target").join("test-compile-cache")
}

/// A running `skyport up`.
pub struct Host {
    pub child: Child,
    pub url: String,
    pub addr: String,
    log: PathBuf,
    stdout: std::sync::Arc<Mutex<String>>,
}

/// How to start a host.
#[derive(Default, Clone)]
pub struct Opts {
    /// The address to serve on (default `127.0.0.1:0`, an ephemeral port).
    pub listen: Option<String>,
    pub runtime_config: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    pub cache_dir: Option<PathBuf>,
}

fn command(dir: &Path, opts: &Opts) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skyport"));
    cmd.arg("up")
        .arg("--from")
        .arg(dir.join("spin.toml"))
        .arg("--listen")
        .arg(opts.listen.as_deref().unwrap_or("127.0.0.1:0"));
    cmd.arg("--cache-dir")
        .arg(opts.cache_dir.clone().unwrap_or_else(cache_dir));
    if let Some(rc) = &opts.runtime_config {
        cmd.arg("--runtime-config-file").arg(rc);
    }
    cmd.args(&opts.args);
    for (k, v) in &opts.env {
        cmd.env(k, v);
    }
    cmd.env_remove("SKYPORT_LOG");
    cmd
}

impl Host {
    /// Starts `skyport up` for the app in `dir` and waits until it serves.
    pub fn start(dir: &Path, opts: &Opts) -> Host {
        wasm_dir();
        let log = dir.join(format!(
            "skyport-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let mut child = command(dir, opts)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting skyport");
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut url = None;
        let mut first = String::new();
        while url.is_none() {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.wait();
                panic!(
                    "skyport exited before serving:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            first.push_str(&line);
            url = line.trim().strip_prefix("Serving ").map(str::to_string);
        }
        // The route list and anything later are drained in the background so
        // the host never blocks on a full pipe.
        let stdout = std::sync::Arc::new(Mutex::new(first));
        let sink = stdout.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let url = url.unwrap();
        let addr = url.trim_start_matches("http://").to_string();
        Host {
            child,
            url,
            addr,
            log,
            stdout,
        }
    }

    /// What the host has printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// What the host has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle` (the log is written asynchronously).
    pub fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains(needle) || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        get(&format!("{}{}", self.url, path))
    }

    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.log()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `skyport up` expecting it to refuse the app; returns what it printed.
pub fn start_fails(dir: &Path, opts: &Opts) -> String {
    wasm_dir();
    let out = command(dir, opts)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "skyport accepted an app it should refuse:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "skyport panicked:\n{stderr}");
    assert!(
        !stderr.contains("stack backtrace"),
        "skyport printed a backtrace:\n{stderr}"
    );
    stderr
}

/// A GET that returns status and body for any status.
pub fn get(url: &str) -> (u16, String) {
    request("GET", url, &[], "")
}

pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let mut req = agent.request(method, url);
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let result = if body.is_empty() {
        req.call()
    } else {
        req.send_string(body)
    };
    match result {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{method} {url}: {e}"),
    }
}

/// A request to Azurite as its development account, signed with its
/// well-known key, to look behind the emulator: the status and the body.
pub fn azurite_request(azurite: &str, method: &str, path: &str, query: &str) -> (u16, String) {
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let headers = vec![
        ("x-ms-date".to_string(), date.clone()),
        ("x-ms-version".to_string(), "2025-01-05".to_string()),
    ];
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let sts =
        sim::sharedkey::string_to_sign(method, &headers, sim::blob::AZURITE_ACCOUNT, path, &pairs);
    let auth = format!(
        "SharedKey {}:{}",
        sim::blob::AZURITE_ACCOUNT,
        sim::sharedkey::sign(sim::blob::AZURITE_KEY, &sts).unwrap()
    );
    let url = match query {
        "" => format!("{azurite}{path}"),
        q => format!("{azurite}{path}?{q}"),
    };
    request(
        method,
        &url,
        &[
            ("x-ms-date", &date),
            ("x-ms-version", "2025-01-05"),
            ("authorization", &auth),
        ],
        "",
    )
}

/// One https request that trusts only the authority in `ca_pem` (the
/// emulator's): the status, the headers (names lowercased) and the body.
/// A plain HTTP/1.1 exchange with `Connection: close`, enough for the
/// emulator's answers, which carry a Content-Length.
pub fn https_request(
    method: &str,
    url: &str,
    ca_pem: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    use rustls::pki_types::pem::PemObject;
    use std::io::{Read, Write};
    let parsed = url::Url::parse(url).expect("an https URL");
    let host = parsed.host_str().expect("a host").to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("a PEM certificate")).unwrap();
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.clone()).unwrap();
    let mut conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let mut tcp = std::net::TcpStream::connect((host.as_str(), port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    let target = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nhost: {host}:{port}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    tls.write_all(head.as_bytes()).unwrap();
    tls.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    // The server closing without close_notify still leaves a full answer.
    let _ = tls.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

/// A tiny HTTP/1.1 server on 127.0.0.1 that answers every request with
/// `body` and counts the requests.
pub struct Upstream {
    pub port: u16,
    pub hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Upstream {
    pub fn start(body: &'static str) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 8192];
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Upstream { port, hits }
    }

    /// A server that accepts connections and never answers.
    pub fn hanging() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(stream);
            }
        });
        Upstream { port, hits }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Runs a Python `script` with the `standardwebhooks` package, `input` as
/// JSON on its standard input; returns what it printed.
pub fn standard_webhooks(script: &str, input: &serde_json::Value) -> String {
    run_python(&standard_webhooks_python(), script, input)
}

/// Runs `script` with `python` (a venv's), `input` as JSON on its standard
/// input; returns what it printed.
pub fn run_python(python: &Path, script: &str, input: &serde_json::Value) -> String {
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the Python script failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A Python with the `standardwebhooks` package from PyPI — the independent
/// Standard Webhooks implementation the webhook scenarios check against.
pub fn standard_webhooks_python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        python_with(
            "py-standardwebhooks",
            "standardwebhooks",
            &["standardwebhooks==1.0.0"],
        )
    })
    .clone()
}

/// A Python with Microsoft's own clients from PyPI — `msal` (and
/// `requests`, which it brings) and the management SDKs — to drive the
/// emulator with them.
pub fn azure_python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        python_with(
            "py-azure",
            "msal, azure.identity, azure.mgmt.compute, azure.mgmt.network, azure.mgmt.resource.subscriptions, azure.mgmt.storage, azure.mgmt.dns, azure.storage.blob",
            AZURE_PACKAGES,
        )
    })
    .clone()
}

/// The API's OpenAPI description, docs/openapi.json.
pub fn api_description() -> serde_json::Value {
    let text = std::fs::read_to_string(root().join("docs/openapi.json"))
        .expect("docs/openapi.json exists");
    serde_json::from_str(&text).expect("docs/openapi.json is JSON")
}

/// A Python with schemathesis (the property-based API tester) and
/// openapi-spec-validator from PyPI, which the API description is held to.
pub fn schemathesis_python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        python_with(
            "py-schemathesis",
            "schemathesis, openapi_spec_validator",
            &["schemathesis==4.32.5", "openapi-spec-validator==0.9.0"],
        )
    })
    .clone()
}

/// What [`azure_python`] installs; .ci/run installs the same.
const AZURE_PACKAGES: &[&str] = &[
    "msal==1.39.0",
    "azure-identity==1.27.0",
    "azure-mgmt-resource==26.0.0",
    "azure-mgmt-resource-subscriptions==1.0.0",
    "azure-mgmt-compute==39.0.0",
    "azure-mgmt-network==33.1.0",
    "azure-mgmt-storage==25.3.0",
    "azure-mgmt-dns==9.0.0",
    "azure-storage-blob==12.31.1",
];

/// The Python of a venv under target/ that can import `module` and was made
/// with `requirements`: the one .ci/run makes, or made here once from PyPI.
fn python_with(venv: &str, module: &str, requirements: &[&str]) -> PathBuf {
    sim::python::venv(&root(), venv, module, requirements).unwrap_or_else(|e| panic!("{e}"))
}
