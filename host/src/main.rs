//! The `skyport` command: `up` serves a Spin app, `build` builds its components.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use skyport::app::{App, LoadOptions};
use skyport::engine::CompileCache;
use skyport::error::ConfigError;

/// mimalloc rather than the system allocator: a request allocates and frees
/// many small and a few large buffers (headers, rows, the answer's body) on
/// two threads, where glibc's malloc spent a tenth of the host's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "skyport", version, about = "Run Spin applications on wasmtime")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app described by spin.toml.
    Up(UpArgs),
    /// Serve the Azure emulator (identity platform, ARM, prices, blob front door).
    Sim {
        /// The address to serve on.
        #[arg(long, default_value = "127.0.0.1:4000")]
        listen: String,
        /// A world file (TOML); without it the default world.
        #[arg(long)]
        world: Option<PathBuf>,
        /// Serve https, with a certificate from a certificate authority made
        /// at start (Microsoft's clients refuse a plain-http authority).
        #[arg(long)]
        tls: bool,
        /// Where `--tls` writes the authority's certificate (PEM) for clients
        /// to trust.
        #[arg(
            long = "ca-out",
            default_value = "skyport-sim-ca.pem",
            requires = "tls"
        )]
        ca_out: PathBuf,
    },
    /// Compose two components into one ahead of time: the socket's imports
    /// that the plug exports are wired to it (as `wac plug`), e.g. the
    /// compute adapter in front of a plugin built for compute 0.2.0.
    Plug {
        /// The component whose imports are filled.
        socket: PathBuf,
        /// The component that fills them.
        plug: PathBuf,
        /// Where the composed component is written.
        #[arg(long, short = 'o')]
        output: PathBuf,
    },
    /// Run each component's build command.
    Build {
        /// The manifest (default: ./spin.toml).
        #[arg(long = "from", short = 'f', default_value = "spin.toml")]
        from: PathBuf,
    },
}

#[derive(clap::Args)]
struct UpArgs {
    /// The manifest (default: ./spin.toml).
    #[arg(long = "from", short = 'f', default_value = "spin.toml")]
    from: PathBuf,
    /// The address to serve on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: String,
    /// A runtime-config file (variables providers, stores, databases, limits).
    #[arg(long = "runtime-config-file")]
    runtime_config_file: Option<PathBuf>,
    /// Where `default` key-value stores and SQLite databases live (default: <app>/.spin).
    #[arg(long = "state-dir")]
    state_dir: Option<PathBuf>,
    /// The compile cache directory (default: ~/.cache/skyport).
    #[arg(long = "cache-dir")]
    cache_dir: Option<PathBuf>,
    /// Compile every component afresh and cache nothing.
    #[arg(long = "no-cache")]
    no_cache: bool,
    /// Serve Prometheus metrics at a path on the app listener (`/metrics`) or on
    /// an address of their own (`127.0.0.1:9090`).
    #[arg(long)]
    metrics: Option<String>,
    /// Run `skyport build` first.
    #[arg(long)]
    build: bool,
    /// Run against the built-in Azure emulator: start it, and configure the
    /// app's variables (client, endpoints, token key, an API key) for it.
    #[arg(long)]
    sandbox: bool,
    /// Serve the sandbox's emulator over https, as Azure is: with a
    /// certificate authority kept in the state directory
    /// (`sandbox-ca.pem`), which the host trusts and a browser can be told to.
    #[arg(long = "sandbox-tls", requires = "sandbox")]
    sandbox_tls: bool,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SKYPORT_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(
                    "info,wasmtime_wasi_http=warn,cranelift=warn,wasmtime=warn",
                )
            }),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build { from } => skyport::build::build(&from),
        Command::Up(args) => up(args),
        Command::Plug {
            socket,
            plug,
            output,
        } => plug_files(&socket, &plug, &output),
        Command::Sim {
            listen,
            world,
            tls,
            ca_out,
        } => sim(&listen, world.as_deref(), tls.then_some(ca_out.as_path())),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            match e.downcast_ref::<ConfigError>() {
                Some(c) => eprintln!("Error: {c}"),
                None => eprintln!("Error: {e:#}"),
            }
            std::process::ExitCode::FAILURE
        }
    }
}

fn plug_files(
    socket: &std::path::Path,
    plug: &std::path::Path,
    output: &std::path::Path,
) -> anyhow::Result<()> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
    };
    let composed = skyport::plug::plug(&read(socket)?, &read(plug)?)?;
    std::fs::write(output, composed)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
    eprintln!("wrote {}", output.display());
    Ok(())
}

fn up(args: UpArgs) -> anyhow::Result<()> {
    if args.build {
        skyport::build::build(&args.from)?;
    }
    let (metrics_path, metrics_addr) = match &args.metrics {
        Some(m) if m.starts_with('/') => (Some(m.clone()), None),
        Some(m) => (None, Some(m.clone())),
        None => (None, None),
    };
    // Bound first, so the sandbox can tell the app where it is served.
    let listener = std::net::TcpListener::bind(&args.listen).map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {}: {e} (pass another `--listen` address)",
            args.listen
        )
    })?;
    listener.set_nonblocking(true)?;
    // The emulator runs on a runtime of its own for as long as the host does.
    let (_emulator, trust) = if args.sandbox {
        let (emulator, ca) = sandbox(&args, listener.local_addr()?)?;
        (Some(emulator), ca.into_iter().collect())
    } else {
        (None, Vec::new())
    };
    let opts = LoadOptions {
        manifest: args.from.clone(),
        runtime_config: args.runtime_config_file.clone(),
        state_dir: args.state_dir.clone(),
        cache_dir: if args.no_cache {
            None
        } else {
            args.cache_dir.clone().or_else(CompileCache::default_dir)
        },
        metrics_path,
        trust,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let app = Arc::new(tokio::task::block_in_place(|| App::load(&opts))?);
        app.runtime.start_epoch_ticker();
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "Serving http://{addr}")?;
        writeln!(out, "Available Routes:")?;
        for (route, target) in app.router.routes() {
            let name = match target {
                skyport::app::Target::Component(id) => id.as_str(),
                skyport::app::Target::Static(_) => "(static response)",
            };
            let wildcard = if route.is_wildcard() {
                " (wildcard)"
            } else {
                ""
            };
            writeln!(out, "  {name}: http://{addr}{}{wildcard}", route.prefix())?;
        }
        if let Some(m) = &app.metrics_path {
            writeln!(out, "Metrics: http://{addr}{m}")?;
        }
        if let Some(m) = &metrics_addr {
            let ml = tokio::net::TcpListener::bind(m)
                .await
                .map_err(|e| anyhow::anyhow!("cannot listen on {m} for metrics: {e}"))?;
            writeln!(out, "Metrics: http://{}/metrics", ml.local_addr()?)?;
            tokio::spawn(skyport::capabilities::http_trigger::serve::serve_metrics(
                app.clone(),
                ml,
            ));
        }
        for t in &app.manifest.cron {
            writeln!(out, "  cron: {} on `{}`", t.component, t.expression)?;
        }
        out.flush()?;
        drop(out);
        skyport::capabilities::cron_trigger::start(&app);
        tokio::select! {
            r = skyport::capabilities::http_trigger::serve::serve(app, listener) => r,
            _ = tokio::signal::ctrl_c() => Ok(()),
        }
    })
}

/// `skyport sim`; `ca_out` (with `--tls`) is where the authority's PEM goes.
fn sim(
    listen: &str,
    world_file: Option<&std::path::Path>,
    ca_out: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let world = match world_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                anyhow::anyhow!("cannot read the world file {}: {e}", path.display())
            })?;
            sim::World::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}\n  fix: correct the world file (see `skyport sim` in the README for its sections)", path.display()))?
        }
        None => sim::World::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let tls = match ca_out {
        Some(path) => {
            let tls = sim::tls::Tls::generate()?;
            std::fs::write(path, &tls.ca_pem).map_err(|e| {
                anyhow::anyhow!(
                    "cannot write the CA certificate to {}: {e}\n  fix: pass a writable path with --ca-out",
                    path.display()
                )
            })?;
            Some(tls)
        }
        None => None,
    };
    runtime.block_on(async move {
        let summary = summary(&world);
        let emulator = sim::Sim::start_with(world, listen, None, tls)
            .await
            .map_err(|e| anyhow::anyhow!("cannot start the emulator on {listen}: {e}"))?;
        let url = &emulator.url;
        let mut out = std::io::stdout().lock();
        writeln!(out, "Azure emulator serving {url}")?;
        if let Some(path) = ca_out {
            writeln!(
                out,
                "  CA:           {} (trust it: REQUESTS_CA_BUNDLE / SSL_CERT_FILE, or `[outbound_http] ca_file` in skyport's runtime config)",
                path.display()
            )?;
        }
        writeln!(
            out,
            "  authority:    {url}/common  (token: {url}/common/oauth2/v2.0/token)"
        )?;
        writeln!(out, "  ARM endpoint: {url}")?;
        writeln!(out, "  prices:       {url}/api/retail/prices")?;
        writeln!(
            out,
            "  admin:        {url}/_sim/world, POST {url}/_sim/commands"
        )?;
        write!(out, "{summary}")?;
        out.flush()?;
        drop(out);
        tokio::signal::ctrl_c().await?;
        drop(emulator);
        Ok(())
    })
}

/// What a person needs to point a client at the emulator.
fn summary(world: &sim::World) -> String {
    let mut s = String::new();
    for app in &world.apps {
        s.push_str(&format!("  app {}: client id {}", app.name, app.client_id));
        if let Some(secret) = &app.client_secret {
            s.push_str(&format!(", client secret {secret}"));
        }
        s.push_str(&format!(
            "\n    redirect URIs (any port on loopback): {}\n",
            app.redirect_uris.join(", ")
        ));
    }
    for user in &world.users {
        let roles: Vec<String> = world
            .role_assignments
            .iter()
            .filter(|r| r.user == user.id || r.user == user.username)
            .map(|r| format!("{} of {}", r.role, r.subscription))
            .collect();
        s.push_str(&format!(
            "  user {} ({}){}\n",
            user.username,
            user.name,
            if roles.is_empty() {
                String::new()
            } else {
                format!(": {}", roles.join(", "))
            }
        ));
    }
    s
}

/// Reads a value kept in the state directory, or makes and keeps one.
fn kept(path: &std::path::Path, make: impl FnOnce() -> String) -> anyhow::Result<String> {
    if let Ok(v) = std::fs::read_to_string(path) {
        if !v.trim().is_empty() {
            return Ok(v.trim().to_string());
        }
    }
    let v = make();
    write_private(path, &v)?;
    Ok(v)
}

/// Writes a secret readable by its owner only (keys, tokens).
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// The sandbox emulator's https: the authority's key is kept in the state
/// directory, so its certificate (`sandbox-ca.pem`, written beside it) stays
/// trusted across restarts. Returns the TLS settings and the certificate's path.
fn sandbox_tls(state: &std::path::Path) -> anyhow::Result<(sim::tls::Tls, std::path::PathBuf)> {
    let key_file = state.join("sandbox-ca-key.pem");
    let ca_file = state.join("sandbox-ca.pem");
    let tls = match std::fs::read_to_string(&key_file) {
        Ok(pem) => sim::tls::Tls::with_authority_key(&pem).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a usable authority key ({e})\n  fix: remove it (and sandbox-ca.pem) to have the sandbox make a new authority",
                key_file.display()
            )
        })?,
        Err(_) => {
            let tls = sim::tls::Tls::generate()?;
            write_private(&key_file, &tls.ca_key_pem)?;
            // A new key: an older certificate would not match it.
            let _ = std::fs::remove_file(&ca_file);
            tls
        }
    };
    // The first certificate is kept: it is the one users were told to trust,
    // and the one made now has the same subject and key.
    if !ca_file.exists() {
        std::fs::write(&ca_file, &tls.ca_pem)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", ca_file.display()))?;
    }
    Ok((tls, ca_file))
}

fn random_bytes(n: usize) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(buf)
}

/// Starts the emulator and points the app's variables at it (variables the
/// environment already sets win).
fn sandbox(
    args: &UpArgs,
    served: std::net::SocketAddr,
) -> anyhow::Result<(sim::Sim, Option<std::path::PathBuf>)> {
    use base64::Engine;
    let app_dir = args
        .from
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."))
        .to_path_buf();
    let state = args
        .state_dir
        .clone()
        .unwrap_or_else(|| app_dir.join(".spin"));
    // The emulator's world outlives a restart (its port too, when free), so
    // accounts connected in an earlier run stay Active.
    let kept_world = state.join("sandbox-emulator.json");
    let saved: Option<serde_json::Value> = std::fs::read_to_string(&kept_world)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let snapshot: Option<sim::state::Snapshot> = saved
        .as_ref()
        .and_then(|v| serde_json::from_value(v["snapshot"].clone()).ok());
    if saved.is_some() && snapshot.is_none() {
        eprintln!(
            "warning: {} could not be read; the emulator starts with a fresh world",
            kept_world.display()
        );
    }
    let port = saved.as_ref().and_then(|v| v["port"].as_u64());
    std::fs::create_dir_all(&state)?;
    let (tls, ca_file) = match args.sandbox_tls {
        true => {
            let (tls, ca) = sandbox_tls(&state)?;
            (Some(tls), Some(ca))
        }
        false => (None, None),
    };
    let spawn = |addr: &str, snapshot| {
        sim::Sim::spawn_with(sim::World::default(), addr, snapshot, tls.clone())
    };
    let emulator = match port {
        Some(p) => spawn(&format!("127.0.0.1:{p}"), snapshot.clone())
            .or_else(|_| spawn("127.0.0.1:0", snapshot))?,
        None => spawn("127.0.0.1:0", snapshot)?,
    };
    emulator.keep_in(kept_world, std::time::Duration::from_secs(1));
    let token_key = kept(&state.join("sandbox-token-key"), || {
        base64::engine::general_purpose::STANDARD.encode(random_bytes(32).unwrap_or_default())
    })?;
    let api_key = kept(&state.join("sandbox-api-key"), || {
        format!(
            "sk_sandbox_{}",
            random_bytes(16)
                .unwrap_or_default()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    })?;
    let defaults = [
        (
            "AZURE_CLIENT_ID",
            sim::world::defaults::CLIENT_ID.to_string(),
        ),
        (
            "AZURE_CLIENT_SECRET",
            sim::world::defaults::CLIENT_SECRET.to_string(),
        ),
        ("AZURE_AUTHORITY", emulator.url.clone()),
        ("AZURE_MANAGEMENT", emulator.url.clone()),
        ("AZURE_PRICES", emulator.url.clone()),
        ("TOKEN_KEY", token_key),
        ("PUBLIC_URL", {
            // A browser cannot open 0.0.0.0: name the loopback address instead.
            let mut at = served;
            if at.ip().is_unspecified() {
                at.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{at}")
        }),
        ("BOOTSTRAP_API_KEY", api_key.clone()),
    ];
    for (name, value) in defaults {
        let var = format!("SPIN_VARIABLE_{name}");
        if std::env::var_os(&var).is_none() {
            std::env::set_var(var, value);
        }
    }
    println!(
        "Sandbox: the Azure emulator serves {} (sign in as {})",
        emulator.url,
        sim::world::defaults::USERNAME
    );
    if let Some(ca) = &ca_file {
        println!(
            "Sandbox CA: {} (skyport trusts it; import it into your browser as an authority, or accept the warning on the sign-in page once)",
            ca.display()
        );
    }
    println!(
        "Sandbox API key: {}",
        std::env::var("SPIN_VARIABLE_BOOTSTRAP_API_KEY").unwrap_or(api_key)
    );
    Ok((emulator, ca_file))
}
