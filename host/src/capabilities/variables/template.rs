//! Variables: names, `{{ var }}` templates, and resolving app variables through
//! providers (environment, runtime-config static values, defaults).
//!
//! Resolution happens once at start-up, so a missing required variable stops
//! the app with a clear message instead of failing the first request. Secret
//! values are kept apart so that nothing prints them.

use std::collections::BTreeMap;
use std::fmt;

/// Checks a name a guest asks for, as Spin's `Key` does (its reasons): it
/// starts with a lowercase letter, ends with a letter or digit, and has
/// lowercase letters, digits and single underscores.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!("invalid character {c:?}. Variable names may contain only lower-case letters, numbers, and underscores."));
    }
    if !key.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lowercase ASCII letter".into());
    }
    if !key.ends_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("must end with a lowercase ASCII letter or digit".into());
    }
    if key.contains("__") {
        return Err("must not contain multiple consecutive underscores".into());
    }
    Ok(())
}

/// A string with `{{ variable }}` references.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Var(String),
}

impl Template {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                return Err(format!("`{text}`: unmatched '{{{{' in template"));
            };
            // The name is checked against `[variables]` by the caller;
            // a `}}` outside a reference is text, as on Spin.
            let name = after[..end].trim();
            parts.push(Part::Var(name.to_string()));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    /// The variables the template refers to.
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Text(_) => None,
        })
    }

    /// Renders with resolved values; `Err` names a variable without a value.
    pub fn render(&self, values: &Values) -> Result<Rendered, String> {
        let mut out = String::new();
        let mut secret = false;
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => {
                    let value = values.get(v).ok_or_else(|| v.clone())?;
                    secret |= value.secret;
                    out.push_str(&value.value);
                }
            }
        }
        Ok(Rendered { value: out, secret })
    }
}

/// A resolved value; `Debug` and `Display` never show a secret one.
#[derive(Clone, PartialEq)]
pub struct Rendered {
    pub value: String,
    pub secret: bool,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secret {
            f.write_str("<secret>")
        } else {
            write!(f, "{:?}", self.value)
        }
    }
}

/// Resolved app variables.
#[derive(Debug, Clone, Default)]
pub struct Values {
    values: BTreeMap<String, Rendered>,
}

impl Values {
    pub fn get(&self, name: &str) -> Option<&Rendered> {
        self.values.get(name)
    }
}

/// Where app variable values come from, in the order they are asked.
#[derive(Debug, Clone)]
pub enum Provider {
    /// `SPIN_VARIABLE_<NAME>` (or another prefix), plus an optional dotenv file.
    Env {
        prefix: String,
        dotenv: BTreeMap<String, String>,
    },
    /// Values written in the runtime config.
    Static(BTreeMap<String, String>),
}

impl Provider {
    fn lookup(&self, name: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
        match self {
            Provider::Env { prefix, dotenv } => {
                let key = format!("{prefix}_{}", name.to_ascii_uppercase());
                env(&key).or_else(|| dotenv.get(&key).cloned())
            }
            Provider::Static(map) => map.get(name).cloned(),
        }
    }
}

/// An app variable as `[variables]` declares it.
#[derive(Debug, Clone)]
pub struct Declared {
    pub default: Option<String>,
    pub required: bool,
    pub secret: bool,
}

/// Resolves every declared app variable; returns the names of required ones
/// that no provider answers.
pub fn resolve(
    declared: &BTreeMap<String, Declared>,
    providers: &[Provider],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Values, Vec<String>> {
    let mut values = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, decl) in declared {
        let found = providers
            .iter()
            .find_map(|p| p.lookup(name, env))
            .or_else(|| decl.default.clone());
        match found {
            Some(value) => {
                values.insert(
                    name.clone(),
                    Rendered {
                        value,
                        secret: decl.secret,
                    },
                );
            }
            None if decl.required => missing.push(name.clone()),
            None => {}
        }
    }
    if missing.is_empty() {
        Ok(Values { values })
    } else {
        Err(missing)
    }
}

/// Parses a dotenv file as Spin's reader (dotenvy) takes the common forms:
/// `KEY=value` lines, `export`, `#` comments, single or double quotes.
pub fn parse_dotenv(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("export ").unwrap_or(l).split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            // Quoted values are taken whole (less their quotes); an unquoted
            // one ends at ` #`, where a comment starts.
            let v = if let Some(q) = v.strip_prefix('\'').and_then(|r| r.split_once('\'')) {
                q.0.to_string()
            } else if let Some(q) = v.strip_prefix('"').and_then(|r| r.split_once('"')) {
                q.0.to_string()
            } else {
                v.split(" #").next().unwrap_or(v).trim_end().to_string()
            };
            (k.trim().to_string(), v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(entries: &[(&str, Option<&str>, bool, bool)]) -> BTreeMap<String, Declared> {
        entries
            .iter()
            .map(|(n, d, r, s)| {
                (
                    n.to_string(),
                    Declared {
                        default: d.map(str::to_string),
                        required: *r,
                        secret: *s,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn templates_parse_and_render() {
        let t = Template::parse("https://{{ host }}:{{port}}/").unwrap();
        assert_eq!(t.references().collect::<Vec<_>>(), vec!["host", "port"]);
        let values = resolve(
            &declared(&[
                ("host", Some("h"), false, false),
                ("port", Some("1"), false, true),
            ]),
            &[],
            &|_| None,
        )
        .unwrap();
        let r = t.render(&values).unwrap();
        assert_eq!(r.value, "https://h:1/");
        assert!(r.secret, "a template using a secret is secret");
        assert_eq!(format!("{r:?}"), "<secret>");
    }

    #[test]
    fn templates_as_spin_reads_them() {
        assert_eq!(
            Template::parse("{{ nope").unwrap_err(),
            "`{{ nope`: unmatched '{{' in template"
        );
        // A `}}` outside a reference is text (JSON, say).
        let t = Template::parse(r#"{"a":{"b":1}}"#).unwrap();
        assert_eq!(t.references().count(), 0);
        // The name of a reference is checked against `[variables]` later.
        let t = Template::parse("{{ Bad }}").unwrap();
        assert_eq!(t.references().collect::<Vec<_>>(), ["Bad"]);
    }

    #[test]
    fn keys_a_guest_asks_for_follow_spin() {
        assert!(check_key("api_token2").is_ok());
        assert_eq!(
            check_key("a_").unwrap_err(),
            "must end with a lowercase ASCII letter or digit"
        );
        assert_eq!(
            check_key("a__b").unwrap_err(),
            "must not contain multiple consecutive underscores"
        );
        assert_eq!(
            check_key("2a").unwrap_err(),
            "must start with a lowercase ASCII letter"
        );
        assert!(check_key("A")
            .unwrap_err()
            .starts_with("invalid character 'A'"));
        assert_eq!(check_key("").unwrap_err(), "must not be empty");
    }

    #[test]
    fn providers_in_order_then_default() {
        let d = declared(&[
            ("a", Some("default"), false, false),
            ("b", None, true, false),
            ("c", None, false, false),
        ]);
        let env = |k: &str| (k == "SPIN_VARIABLE_A").then(|| "from-env".to_string());
        let providers = vec![
            Provider::Env {
                prefix: "SPIN_VARIABLE".into(),
                dotenv: BTreeMap::new(),
            },
            Provider::Static(
                [
                    ("a".to_string(), "static".to_string()),
                    ("b".to_string(), "sb".to_string()),
                ]
                .into(),
            ),
        ];
        let v = resolve(&d, &providers, &env).unwrap();
        assert_eq!(v.get("a").unwrap().value, "from-env");
        assert_eq!(v.get("b").unwrap().value, "sb");
        assert!(v.get("c").is_none());
    }

    #[test]
    fn missing_required_is_reported() {
        let d = declared(&[("token_key", None, true, true)]);
        assert_eq!(
            resolve(&d, &[], &|_| None).unwrap_err(),
            vec!["token_key".to_string()]
        );
    }

    #[test]
    fn dotenv() {
        let m = parse_dotenv("# c\nA=1\nexport B=\"two\"\n\nC='x y'\nD=v # note\nE=\"a # b\"\n");
        assert_eq!(m["A"], "1");
        assert_eq!(m["B"], "two");
        assert_eq!(m["C"], "x y");
        assert_eq!(m["D"], "v");
        assert_eq!(m["E"], "a # b");
    }
}
