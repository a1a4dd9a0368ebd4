//! Spin's HTTP route semantics: exact routes, `:name` segments, trailing `/...`
//! wildcards, ordered as Spin's router (routefinder) orders them.
//!
//! A [`Route`] is parsed once at start-up; a [`Router`] picks the route for a request path and reports what Spin passes
//! to the guest (path info and named matches).

/// One parsed route.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The route as written in the manifest, e.g. `/users/:id/...`.
    raw: String,
    /// The route normalised, e.g. `/users/:id/...` for `/users/:id/*`.
    pattern: String,
    segments: Vec<Segment>,
    wildcard: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// What a successful match tells the guest.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteMatch<'a> {
    pub route: &'a Route,
    /// The part of the path after the route's fixed prefix (`spin-path-info`).
    pub path_info: String,
    /// `:name` segments and their values.
    pub params: Vec<(String, String)>,
}

impl Route {
    /// Parses `route` as written under `[[trigger.http]]`.
    pub fn parse(route: &str) -> Result<Route, String> {
        if !route.starts_with('/') {
            return Err(format!("route `{route}` does not start with `/`"));
        }
        if route.contains('?') || route.contains('#') {
            return Err(format!("route `{route}` contains a query or fragment"));
        }
        let mut segments = Vec::new();
        let mut wildcard = false;
        let parts: Vec<&str> = route.trim_start_matches('/').split('/').collect();
        let count = parts.len();
        for (i, part) in parts.into_iter().enumerate() {
            let last = i + 1 == count;
            match part {
                "" if last => {}
                "" => return Err(format!("route `{route}` has an empty segment (`//`)")),
                "..." | "*" if last => wildcard = true,
                "..." | "*" => {
                    return Err(format!("route `{route}`: `{part}` may only end a route"))
                }
                p if p.starts_with(':') => {
                    let name = &p[1..];
                    if name.is_empty()
                        || !name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    {
                        return Err(format!(
                            "route `{route}`: `{p}` is not a valid named segment"
                        ));
                    }
                    if segments
                        .iter()
                        .any(|s| matches!(s, Segment::Param(n) if n == name))
                    {
                        return Err(format!("route `{route}` names `:{name}` twice"));
                    }
                    segments.push(Segment::Param(name.to_string()));
                }
                p if p.contains("...") || p.contains('*') => {
                    return Err(format!(
                        "route `{route}`: wildcards must be a whole final segment (`/...`)"
                    ))
                }
                p => segments.push(Segment::Literal(p.to_string())),
            }
        }
        let mut pattern = String::new();
        for s in &segments {
            pattern.push('/');
            match s {
                Segment::Literal(l) => pattern.push_str(l),
                Segment::Param(p) => {
                    pattern.push(':');
                    pattern.push_str(p);
                }
            }
        }
        if wildcard {
            pattern.push_str("/...");
        }
        if pattern.is_empty() {
            pattern.push('/');
        }
        Ok(Route {
            raw: route.to_string(),
            pattern,
            segments,
            wildcard,
        })
    }

    /// The route normalised, as in `spin-matched-route`.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The route as the manifest writes it (`spin-raw-component-route`).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// `spin-component-route`: the route as written without a trailing
    /// `/...` (Spin leaves `/*` and other forms as they are).
    pub fn component_route(&self) -> &str {
        self.raw.strip_suffix("/...").unwrap_or(&self.raw)
    }

    /// `spin-matched-route`: the route as written, less one trailing `/`
    /// (so `/` itself is matched as the empty route), as Spin reports it.
    pub fn matched_route(&self) -> &str {
        self.raw.strip_suffix('/').unwrap_or(&self.raw)
    }

    pub fn is_wildcard(&self) -> bool {
        self.wildcard
    }

    /// The route as Spin's router (routefinder) sees it, for precedence:
    /// Spin's form of it (`/...` written `/*`, one trailing `/` dropped),
    /// split at `/` and `.`, a `.` after a word staying part of the word.
    fn spec(&self) -> Vec<Spec> {
        let based = self.raw.strip_suffix('/').unwrap_or(&self.raw);
        let based = match based.strip_suffix("/...") {
            Some(prefix) => format!("{prefix}/*"),
            None => based.to_string(),
        };
        let trimmed = based.trim_start_matches('/').trim_end_matches('/');
        let mut spec = Vec::new();
        let mut before = None;
        let mut section = String::new();
        for c in trimmed.chars().chain(std::iter::once('/')) {
            if c != '/' && c != '.' {
                section.push(c);
                continue;
            }
            let word = match section.as_str() {
                "" => None,
                "*" => Some(Spec::Wildcard),
                w if w.starts_with(':') => Some(Spec::Param),
                _ => Some(Spec::Exact),
            };
            if before == Some('.') && spec.last() != Some(&Spec::Exact) {
                spec.push(Spec::Dot);
            }
            if let Some(word) = word {
                if before == Some('/') {
                    spec.push(Spec::Slash);
                }
                spec.push(word);
            }
            before = Some(c);
            section.clear();
        }
        spec
    }

    fn matches(&self, path: &str) -> Option<RouteMatch<'_>> {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let parts: Vec<&str> = if trimmed.is_empty() {
            Vec::new()
        } else {
            trimmed.split('/').collect()
        };
        // A trailing slash on an exact route is tolerated, as Spin does.
        let parts: Vec<&str> = if !self.wildcard && parts.last() == Some(&"") {
            parts[..parts.len() - 1].to_vec()
        } else {
            parts
        };
        if parts.len() < self.segments.len()
            || (!self.wildcard && parts.len() != self.segments.len())
        {
            return None;
        }
        let mut params = Vec::new();
        for (seg, part) in self.segments.iter().zip(&parts) {
            match seg {
                Segment::Literal(l) if l == part => {}
                Segment::Literal(_) => return None,
                Segment::Param(_) if part.is_empty() => return None,
                Segment::Param(name) => params.push((name.clone(), part.to_string())),
            }
        }
        let rest = &parts[self.segments.len()..];
        let path_info = if rest.is_empty() {
            String::new()
        } else {
            format!("/{}", rest.join("/"))
        };
        Some(RouteMatch {
            route: self,
            path_info,
            params,
        })
    }
}

/// A piece of a route as routefinder parses it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Spec {
    Slash,
    Dot,
    Exact,
    Param,
    Wildcard,
}

/// routefinder's order of routes: at the first piece where they differ a
/// word beats a `:param`, which beats the wildcard; then more dots; then
/// the shorter route. Greater is preferred.
struct Precedence(Vec<Spec>);

impl Spec {
    fn precedence(self, other: Spec) -> std::cmp::Ordering {
        use std::cmp::Ordering::*;
        use Spec::*;
        let rank = |s: Spec| match s {
            Slash | Dot => 0,
            Wildcard => 1,
            Param => 2,
            Exact => 3,
        };
        match (self, other) {
            (Slash | Dot, Slash | Dot) => Equal,
            // A dot outranks any word, as in routefinder.
            (Dot, _) => Greater,
            (_, Dot) => Less,
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }
}

impl PartialEq for Precedence {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Precedence {}

impl PartialOrd for Precedence {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Precedence {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let dots = |s: &[Spec]| s.iter().filter(|p| **p == Spec::Dot).count();
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| a.precedence(*b))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| {
                dots(&self.0)
                    .cmp(&dots(&other.0))
                    .then(other.0.len().cmp(&self.0.len()))
            })
    }
}

/// Routes with their targets; `T` is whatever the server runs for a route.
#[derive(Debug)]
pub struct Router<T> {
    routes: Vec<(Route, T)>,
}

impl<T> Router<T> {
    /// Builds a router; routes are ordered as Spin's router orders them,
    /// the first in the manifest first among equals.
    pub fn new(mut routes: Vec<(Route, T)>) -> Self {
        routes.sort_by_cached_key(|route| std::cmp::Reverse(Precedence(route.0.spec())));
        Router { routes }
    }

    /// The first route in Spin's order that matches `path`, with its target.
    pub fn route(&self, path: &str) -> Option<(RouteMatch<'_>, &T)> {
        self.routes
            .iter()
            .find_map(|(r, t)| r.matches(path).map(|m| (m, t)))
    }

    pub fn routes(&self) -> impl Iterator<Item = &(Route, T)> {
        self.routes.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[&str]) -> Router<String> {
        Router::new(
            routes
                .iter()
                .map(|r| (Route::parse(r).unwrap(), r.to_string()))
                .collect(),
        )
    }

    fn pick(r: &Router<String>, path: &str) -> Option<String> {
        r.route(path).map(|(_, t)| t.clone())
    }

    #[test]
    fn exact_beats_wildcard_and_longest_prefix_wins() {
        let r = router(&["/...", "/api/...", "/api/users", "/api/users/..."]);
        assert_eq!(pick(&r, "/api/users").as_deref(), Some("/api/users"));
        assert_eq!(pick(&r, "/api/users/7").as_deref(), Some("/api/users/..."));
        assert_eq!(pick(&r, "/api/x").as_deref(), Some("/api/..."));
        assert_eq!(pick(&r, "/other").as_deref(), Some("/..."));
        assert_eq!(pick(&r, "/").as_deref(), Some("/..."));
    }

    #[test]
    fn wildcard_matches_its_own_prefix_and_reports_path_info() {
        let r = router(&["/static/..."]);
        let (m, _) = r.route("/static").unwrap();
        assert_eq!(m.path_info, "");
        let (m, _) = r.route("/static/css/a.css").unwrap();
        assert_eq!(m.path_info, "/css/a.css");
        assert!(r.route("/staticx").is_none());
    }

    #[test]
    fn named_segments() {
        let r = router(&["/users/:id", "/users/:id/posts/:post"]);
        let (m, t) = r.route("/users/42/posts/9").unwrap();
        assert_eq!(t, "/users/:id/posts/:post");
        assert_eq!(
            m.params,
            vec![("id".into(), "42".into()), ("post".into(), "9".into())]
        );
        assert!(r.route("/users").is_none());
        assert!(r.route("/users/1/2").is_none());
    }

    #[test]
    fn precedence_is_spins_piece_by_piece() {
        // At the first piece that differs: a word, then a param, then `/...`.
        let r = router(&["/:org/:repo/...", "/static/..."]);
        assert_eq!(
            pick(&r, "/static/css/a.css").as_deref(),
            Some("/static/...")
        );
        let r = router(&["/:tenant/health", "/api/..."]);
        assert_eq!(pick(&r, "/api/health").as_deref(), Some("/api/..."));
        assert_eq!(pick(&r, "/acme/health").as_deref(), Some("/:tenant/health"));
        // Equal up to the shorter: the shorter one.
        let r = router(&["/users/...", "/users"]);
        assert_eq!(pick(&r, "/users").as_deref(), Some("/users"));
        // The first piece decides, whatever comes after it.
        let r = router(&["/:y/b", "/a/:x"]);
        assert_eq!(pick(&r, "/a/b").as_deref(), Some("/a/:x"));
        // Equals: the first in the manifest.
        let r = router(&["/:x", "/:y"]);
        assert_eq!(pick(&r, "/q").as_deref(), Some("/:x"));
        let r = router(&["/:y", "/:x"]);
        assert_eq!(pick(&r, "/q").as_deref(), Some("/:y"));
    }

    #[test]
    fn specs_split_as_routefinder_does() {
        use Spec::*;
        let spec = |r: &str| Route::parse(r).unwrap().spec();
        assert_eq!(spec("/..."), [Wildcard]);
        assert_eq!(spec("/api/..."), [Exact, Slash, Wildcard]);
        assert_eq!(spec("/files/*"), [Exact, Slash, Wildcard]);
        assert_eq!(spec("/a.txt"), [Exact, Exact]);
        assert_eq!(spec("/"), []);
        assert_eq!(spec("/x/"), [Exact]);
    }

    #[test]
    fn literal_beats_param() {
        let r = router(&["/users/:id", "/users/me"]);
        assert_eq!(pick(&r, "/users/me").as_deref(), Some("/users/me"));
        assert_eq!(pick(&r, "/users/you").as_deref(), Some("/users/:id"));
    }

    #[test]
    fn route_headers_are_spins_quirks_included() {
        let cases = [
            ("/...", "/...", ""),
            ("/api/...", "/api/...", "/api"),
            ("/files/*", "/files/*", "/files/*"),
            ("/", "", "/"),
            ("/x/", "/x", "/x/"),
        ];
        for (raw, matched, component) in cases {
            let r = Route::parse(raw).unwrap();
            assert_eq!(
                (r.matched_route(), r.component_route()),
                (matched, component),
                "{raw}"
            );
        }
    }

    #[test]
    fn malformed_routes_are_refused() {
        assert!(Route::parse("nope").is_err());
        assert!(Route::parse("/a/.../b").is_err());
        assert!(Route::parse("/a//b").is_err());
        assert!(Route::parse("/a/:").is_err());
        assert!(Route::parse("/a/x*").is_err());
    }
}
