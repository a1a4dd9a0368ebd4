//! `allowed_outbound_hosts`: Spin's grammar (`scheme://host[:port]`) and its
//! meaning, checked for every outbound request a component makes.
//!
//! Entries are parsed at start-up so a malformed one stops the app before it
//! serves anything; [`AllowList::allows`] is the per-request check.

use std::net::IpAddr;

use ipnet::IpNet;

/// One parsed entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AllowedHost {
    text: String,
    scheme: Option<String>,
    host: HostPattern,
    ports: PortPattern,
}

#[derive(Debug, Clone, PartialEq)]
enum HostPattern {
    Any,
    /// `*.example.com`: any subdomain, not the domain itself.
    Subdomain(String),
    Exact(String),
    Cidr(IpNet),
}

#[derive(Debug, Clone, PartialEq)]
enum PortPattern {
    Any,
    One(u16),
    /// `a..b`: from `a` up to, not including, `b`.
    Range(u16, u16),
}

fn default_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "http" => 80,
        "https" => 443,
        "redis" => 6379,
        "mysql" => 3306,
        "postgres" => 5432,
        "mqtt" => 1883,
        _ => return None,
    })
}

impl AllowedHost {
    /// Parses one entry, explaining what is wrong when it is malformed.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some((scheme, rest)) = text.split_once("://") else {
            let hint = if text == "*" {
                "*://*:*".to_string()
            } else {
                format!("https://{text}")
            };
            return Err(format!(
                "`{text}` has no scheme; every entry needs one, e.g. `{hint}`"
            ));
        };
        if scheme.is_empty() {
            return Err(format!("`{text}` has an empty scheme"));
        }
        if scheme != "*"
            && !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return Err(format!("`{text}`: `{scheme}` is not a scheme"));
        }
        if rest.contains('{') || rest.contains(',') {
            return Err(format!("`{text}`: host and port lists (`{{a,b}}`) are not supported yet; write one entry each"));
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Err(format!("`{text}` has no host"));
        }
        let (host, port) = split_host_port(text, rest)?;
        let host = match host.as_str() {
            "*" => HostPattern::Any,
            "self" | "self.alt" => {
                return Err(format!("`{text}`: `self` requests are not supported by skyport; call a component with `http://<component>.spin.internal` and allow that host"));
            }
            h if h.starts_with("*.") => {
                let domain = &h[2..];
                if domain.is_empty() || domain.contains('*') {
                    return Err(format!(
                        "`{text}`: `{h}` is not a valid wildcard; use `*.example.com`"
                    ));
                }
                HostPattern::Subdomain(domain.to_ascii_lowercase())
            }
            h if h.contains('*') => {
                return Err(format!(
                    "`{text}`: a wildcard host must be `*` or start with `*.`"
                ));
            }
            h if h.contains('/') => HostPattern::Cidr(
                h.parse()
                    .map_err(|_| format!("`{text}`: `{h}` is not a CIDR range"))?,
            ),
            h => HostPattern::Exact(
                h.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_ascii_lowercase(),
            ),
        };
        let ports = match port.as_deref() {
            None | Some("") => match default_port(scheme) {
                Some(p) => PortPattern::One(p),
                None => {
                    return Err(format!("`{text}`: `{scheme}` has no well-known port; add one, e.g. `{scheme}://host:1234` or `{scheme}://host:*`"));
                }
            },
            Some("*") => PortPattern::Any,
            Some(p) => match p.split_once("..") {
                Some((a, b)) => {
                    let a: u16 = a.parse().map_err(|_| {
                        format!("`{text}`: `{p}` is not a port range like `8000..8010`")
                    })?;
                    let b: u16 = b.parse().map_err(|_| {
                        format!("`{text}`: `{p}` is not a port range like `8000..8010`")
                    })?;
                    // As Spin reads it: `a..b` excludes `b`, and a range
                    // that ends before it starts allows nothing.
                    PortPattern::Range(a, b)
                }
                None => {
                    let n: u16 = p
                        .parse()
                        .map_err(|_| format!("`{text}`: `{p}` is not a port"))?;
                    PortPattern::One(n)
                }
            },
        };
        Ok(AllowedHost {
            text: text.to_string(),
            scheme: (scheme != "*").then(|| scheme.to_ascii_lowercase()),
            host,
            ports,
        })
    }

    fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        if let Some(s) = &self.scheme {
            if s != scheme {
                return false;
            }
        }
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Subdomain(d) => {
                host.len() > d.len() + 1
                    && host.ends_with(d.as_str())
                    && host[..host.len() - d.len()].ends_with('.')
            }
            HostPattern::Exact(h) => h == host,
            HostPattern::Cidr(net) => host.parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip)),
        };
        host_ok
            && match self.ports {
                PortPattern::Any => true,
                PortPattern::One(p) => p == port,
                PortPattern::Range(a, b) => (a..b).contains(&port),
            }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Splits `host[:port]`, where the host may be `[v6]` or a CIDR `ip/len`.
fn split_host_port(text: &str, rest: &str) -> Result<(String, Option<String>), String> {
    if let Some(inner) = rest.strip_prefix('[') {
        let Some((h, after)) = inner.split_once(']') else {
            return Err(format!("`{text}`: unclosed `[` in an IPv6 host"));
        };
        return Ok((h.to_string(), after.strip_prefix(':').map(str::to_string)));
    }
    match rest.split_once('/') {
        Some((ip, tail)) if ip.parse::<IpAddr>().is_ok() => {
            let (len, port) = match tail.split_once(':') {
                Some((l, p)) => (l, Some(p.to_string())),
                None => (tail, None),
            };
            Ok((format!("{ip}/{len}"), port))
        }
        Some(_) => Err(format!(
            "`{text}`: paths are not allowed; the allow-list works at host level"
        )),
        None => Ok(match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p.to_string())),
            None => (rest.to_string(), None),
        }),
    }
}

/// A component's parsed `allowed_outbound_hosts`.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    entries: Vec<AllowedHost>,
}

impl AllowList {
    pub fn new(entries: Vec<AllowedHost>) -> Self {
        AllowList { entries }
    }

    /// Whether a request to `scheme://host:port` may leave the component.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let scheme = scheme.to_ascii_lowercase();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let Some(port) = port.or_else(|| default_port(&scheme)) else {
            return false;
        };
        self.entries.iter().any(|e| e.allows(&scheme, &host, port))
    }

    /// The entry a user would add to allow `scheme://host:port`.
    pub fn suggestion(scheme: &str, host: &str, port: Option<u16>) -> String {
        match port {
            Some(p) if Some(p) != default_port(scheme) => format!("{scheme}://{host}:{p}"),
            _ => format!("{scheme}://{host}"),
        }
    }

    pub fn entries(&self) -> &[AllowedHost] {
        &self.entries
    }
}

/// Whether a rendered entry is empty: what an unset variable leaves.
pub fn is_unset(rendered: &str) -> bool {
    matches!(rendered, "" | "http://" | "https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_entries_are_recognized() {
        assert!(is_unset(""));
        assert!(is_unset("https://"));
        assert!(!is_unset("https://example.com"));
    }

    fn list(entries: &[&str]) -> AllowList {
        AllowList::new(
            entries
                .iter()
                .map(|e| AllowedHost::parse(e).unwrap())
                .collect(),
        )
    }

    #[test]
    fn scheme_is_mandatory() {
        let e = AllowedHost::parse("example.com").unwrap_err();
        assert!(e.contains("https://example.com"), "{e}");
        assert!(AllowedHost::parse("*").unwrap_err().contains("*://*:*"));
    }

    #[test]
    fn exact_host_uses_the_scheme_port() {
        let l = list(&["https://example.com"]);
        assert!(l.allows("https", "example.com", None));
        assert!(l.allows("https", "EXAMPLE.com", Some(443)));
        assert!(!l.allows("https", "example.com", Some(8443)));
        assert!(!l.allows("http", "example.com", None));
        assert!(!l.allows("https", "api.example.com", None));
    }

    #[test]
    fn subdomain_wildcard_excludes_the_domain() {
        let l = list(&["https://*.example.com"]);
        assert!(l.allows("https", "a.example.com", None));
        assert!(l.allows("https", "a.b.example.com", None));
        assert!(!l.allows("https", "example.com", None));
        assert!(!l.allows("https", "badexample.com", None));
    }

    #[test]
    fn ports_and_ranges() {
        let l = list(&["http://127.0.0.1:8000..8010", "http://localhost:*"]);
        assert!(l.allows("http", "127.0.0.1", Some(8005)));
        // Spin's ranges leave out their end.
        assert!(!l.allows("http", "127.0.0.1", Some(8010)));
        assert!(!l.allows("http", "127.0.0.1", Some(8011)));
        assert!(l.allows("http", "localhost", Some(1)));
        // A range that ends before it starts is accepted and allows nothing.
        let l = list(&["http://127.0.0.1:9..1"]);
        assert!(!l.allows("http", "127.0.0.1", Some(5)));
    }

    #[test]
    fn cidr_ranges() {
        let l = list(&["http://10.0.0.0/8:*", "https://[::1]:443"]);
        assert!(l.allows("http", "10.1.2.3", Some(99)));
        assert!(!l.allows("http", "11.1.2.3", Some(99)));
        assert!(!l.allows("http", "ten.example", Some(99)));
        assert!(l.allows("https", "[::1]", None));
    }

    #[test]
    fn wildcard_everything() {
        let l = list(&["*://*:*"]);
        assert!(l.allows("https", "anything.example", Some(1)));
        assert!(l.allows("http", "1.2.3.4", None));
    }

    #[test]
    fn malformed_entries() {
        assert!(AllowedHost::parse("https://example.com/path")
            .unwrap_err()
            .contains("paths"));
        assert!(AllowedHost::parse("https://{a,b}.com")
            .unwrap_err()
            .contains("not supported"));
        assert!(AllowedHost::parse("https://ex*ample.com").is_err());
        assert!(AllowedHost::parse("https://example.com:99999").is_err());
        assert!(AllowedHost::parse("*://example.com")
            .unwrap_err()
            .contains("well-known port"));
        assert!(AllowedHost::parse("http://10.0.0.0/99:*").is_err());
    }

    #[test]
    fn chaining_is_granted_as_any_host_is() {
        // As on Spin, the chaining URL is checked like any other: scheme,
        // host and port, and `*://*:*` grants it too.
        assert!(list(&["http://*.spin.internal"]).allows("http", "a.spin.internal", None));
        assert!(list(&["http://a.spin.internal"]).allows("http", "a.spin.internal", None));
        assert!(!list(&["http://a.spin.internal"]).allows("http", "b.spin.internal", None));
        assert!(!list(&["http://a.spin.internal"]).allows("https", "a.spin.internal", None));
        assert!(list(&["*://*:*"]).allows("http", "a.spin.internal", None));
    }

    #[test]
    fn suggestion_omits_default_port() {
        assert_eq!(
            AllowList::suggestion("https", "a.b", Some(443)),
            "https://a.b"
        );
        assert_eq!(
            AllowList::suggestion("http", "127.0.0.1", Some(9000)),
            "http://127.0.0.1:9000"
        );
    }
}
