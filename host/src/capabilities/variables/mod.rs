//! Variables: `fermyon:spin/variables@2.0.0`. A component reads only the
//! variables its manifest declares, rendered from the app variables that the
//! runtime config's providers resolve at start-up; `template.rs` holds the
//! templates, the resolved values and the providers.

mod template;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use wasmtime::component::{HasSelf, Linker};

pub use template::{
    check_key, parse_dotenv, resolve, Declared, Provider, Rendered, Template, Values,
};

use super::fermyon::spin::variables::{self as wit, Error, Host};
use super::{Capability, GrantContext, InstanceContext, ManifestContext, RuntimeContext};
use crate::error::ConfigError;
use crate::manifest::Component;
use crate::state::HostState;

/// The variables capability.
pub struct Variables;

// ---------------------------------------------------------------------------
// Manifest section: `[component.<id>.variables]`, templates over `[variables]`.
// ---------------------------------------------------------------------------

/// Checks a template written at `field` against the app's `[variables]`.
pub fn check_template(
    file: &Path,
    field: &str,
    text: &str,
    app_variables: &BTreeMap<String, crate::manifest::RawVariable>,
) -> Result<Template, ConfigError> {
    let t = Template::parse(text).map_err(|p| {
        ConfigError::new(file, field, p, "write references as `{{ app_variable }}`")
    })?;
    if let Some(r) = t.references().find(|r| !app_variables.contains_key(*r)) {
        return Err(ConfigError::new(
            file,
            field,
            format!("`{text}` refers to `{r}`, which `[variables]` does not define"),
            format!("add `{r} = {{ default = \"…\" }}` (or `required = true`) to `[variables]`"),
        ));
    }
    Ok(t)
}

// ---------------------------------------------------------------------------
// Runtime-config section: `[[variables_provider]]` (and Spin's older name,
// `[[config_provider]]`).
// ---------------------------------------------------------------------------

/// One `[[variables_provider]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    dotenv_path: Option<String>,
    #[serde(default)]
    values: BTreeMap<String, String>,
}

/// The providers, asked in order, as Spin asks them: the configured ones in
/// the runtime config's order, then always the environment
/// (`SPIN_VARIABLE_…`, then `./.env`).
#[derive(Debug, Clone)]
pub struct Config {
    pub providers: Vec<Provider>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            providers: vec![env_provider(
                "SPIN_VARIABLE".into(),
                Some(Path::new(".env")),
            )],
        }
    }
}

/// An environment provider: `<prefix>_<NAME>`, else the dotenv file (a path
/// as given, from the working directory, as Spin reads it; none if missing).
fn env_provider(prefix: String, dotenv: Option<&Path>) -> Provider {
    let dotenv = dotenv
        .and_then(|f| std::fs::read_to_string(f).ok())
        .map(|text| parse_dotenv(&text))
        .unwrap_or_default();
    Provider::Env { prefix, dotenv }
}

/// What a component's variables render from: its templates and the app's values.
#[derive(Debug)]
pub struct Grant {
    pub templates: BTreeMap<String, Template>,
    pub values: Arc<Values>,
}

/// Resolves the app's `[variables]` with the configured providers; the
/// names of required ones nobody answers otherwise.
pub fn resolve_app(
    app_variables: &BTreeMap<String, crate::manifest::RawVariable>,
    config: &Config,
) -> Result<Values, Vec<String>> {
    let declared: BTreeMap<String, Declared> = app_variables
        .iter()
        .map(|(n, v)| {
            (
                n.clone(),
                Declared {
                    default: v.default.clone(),
                    required: v.required,
                    secret: v.secret,
                },
            )
        })
        .collect();
    resolve(&declared, &config.providers, &|k| std::env::var(k).ok())
}

impl Capability for Variables {
    type RuntimeSection = Vec<RawProvider>;
    type Config = Config;
    type Grant = Grant;
    type Instance = Instance;

    fn check_manifest(component: &Component, ctx: &ManifestContext<'_>) -> Result<(), ConfigError> {
        for (name, text) in &component.variables {
            let field = format!("component.{}.variables.{name}", component.id);
            crate::ids::lower_snake(name).map_err(|reason| {
                ConfigError::new(
                    ctx.file,
                    &field,
                    format!("`{name}` is not a valid variable name: {reason}"),
                    "use lowercase snake_case words that start with a letter, such as `api_token`",
                )
            })?;
            check_template(ctx.file, &field, text, ctx.app_variables)?;
        }
        Ok(())
    }

    fn configure(
        section: Vec<RawProvider>,
        ctx: &RuntimeContext<'_>,
    ) -> Result<Config, ConfigError> {
        let mut providers = Vec::new();
        for (i, p) in section.iter().enumerate() {
            let field = format!("variables_provider[{i}]");
            match p.kind.as_str() {
                "env" => {
                    let prefix = p.prefix.clone().unwrap_or_else(|| "SPIN_VARIABLE".into());
                    providers.push(env_provider(
                        prefix,
                        p.dotenv_path.as_deref().map(Path::new),
                    ));
                }
                "static" => providers.push(Provider::Static(p.values.clone())),
                other => {
                    return Err(ConfigError::new(
                        ctx.file,
                        format!("{field}.type"),
                        format!("variables provider `{other}` is not supported by skyport"),
                        "use `env` or `static`",
                    ))
                }
            }
        }
        // Spin always asks its default environment provider last.
        providers.extend(Config::default().providers);
        Ok(Config { providers })
    }

    fn grant(
        component: &Component,
        _config: &Config,
        ctx: &GrantContext<'_>,
    ) -> Result<Grant, ConfigError> {
        let mut templates = BTreeMap::new();
        for (name, text) in &component.variables {
            // Checked with the manifest; a template that parsed then parses now.
            let t = Template::parse(text).map_err(|p| {
                ConfigError::new(
                    ctx.manifest,
                    format!("component.{}.variables.{name}", component.id),
                    p,
                    "write references as `{{ app_variable }}`",
                )
            })?;
            templates.insert(name.clone(), t);
        }
        Ok(Grant {
            templates,
            values: ctx.values.clone(),
        })
    }

    fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
        wit::add_to_linker::<_, HasSelf<Instance>>(linker, |s: &mut HostState| &mut s.variables)
    }

    fn instance(grant: &Arc<Grant>, ctx: &InstanceContext<'_>) -> Instance {
        Instance {
            component: ctx.component.clone(),
            grant: grant.clone(),
        }
    }
}

// ---------------------------------------------------------------------------
// Per-instance state.
// ---------------------------------------------------------------------------

/// What one run reads its variables from.
pub struct Instance {
    component: Arc<str>,
    grant: Arc<Grant>,
}

impl Host for Instance {
    fn get(&mut self, name: String) -> Result<String, Error> {
        check_key(&name).map_err(|reason| Error::InvalidName(format!("{name:?}: {reason}")))?;
        let Some(template) = self.grant.templates.get(&name) else {
            // Spin's words; the log says what to add.
            tracing::debug!(
                "component `{}` read variable `{name}`, which it does not declare; add it under `[component.{}.variables]`",
                self.component, self.component
            );
            return Err(Error::Undefined(format!(
                "no variable for {:?}.{name:?}",
                &*self.component
            )));
        };
        template
            .render(&self.grant.values)
            .map(|r| r.value)
            .map_err(|missing| Error::Undefined(format!("app variable `{missing}` has no value")))
    }
}
