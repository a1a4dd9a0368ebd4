//! Spin's HTTP route semantics: exact routes, `:name` segments, trailing `/...`
//! wildcards; exact beats wildcard and the longest prefix wins.
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

    /// How specific the route is; the router prefers larger keys.
    fn rank(&self) -> (bool, usize, usize) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        (!self.wildcard, self.segments.len(), literals)
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

/// Routes with their targets; `T` is whatever the server runs for a route.
#[derive(Debug)]
pub struct Router<T> {
    routes: Vec<(Route, T)>,
}

impl<T> Router<T> {
    /// Builds a router; routes are ordered most specific first.
    pub fn new(mut routes: Vec<(Route, T)>) -> Self {
        routes.sort_by_key(|route| std::cmp::Reverse(route.0.rank()));
        Router { routes }
    }

    /// The most specific route that matches `path`, with its target.
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
