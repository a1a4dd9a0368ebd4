//! Spin's HTTP route semantics: routes parsed, ordered and matched as Spin's
//! router (routefinder, under Spin's own rules for `/...` and path info) does.
//!
//! A [`Route`] is parsed once at start-up into pieces (words, `:name`s, the
//! wildcard, and the `/` and `.` between them); a [`Router`] keeps the routes
//! in Spin's order and gives a request path the first that matches, with
//! what Spin passes to the guest (path info and named matches).

/// One parsed route.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The route as written in the manifest, e.g. `/users/:id/...`.
    raw: String,
    /// Spin's form of it: absolute, less one trailing `/`.
    based: String,
    pieces: Vec<Piece>,
}

/// A piece of a route, as routefinder splits it at `/` and `.`.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Slash,
    Dot,
    Exact(String),
    Param(String),
    Wildcard,
}

/// What a successful match tells the guest.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteMatch<'a> {
    pub route: &'a Route,
    /// What the wildcard took, as Spin writes it (`spin-path-info`).
    pub path_info: String,
    /// `:name` segments and their values.
    pub params: Vec<(String, String)>,
}

impl Route {
    /// Parses `route` as written under `[[trigger.http]]`, as Spin does: a
    /// relative route is made absolute, `/...` is the wildcard, and only a
    /// named wildcard or an unnamed `:` is refused (with routefinder's words).
    pub fn parse(route: &str) -> Result<Route, String> {
        let absolute = if route.starts_with('/') {
            route.to_string()
        } else {
            format!("/{route}")
        };
        let based = absolute
            .strip_suffix('/')
            .map(str::to_string)
            .unwrap_or(absolute);
        let spec = match based.strip_suffix("/...") {
            Some(prefix) => format!("{prefix}/*"),
            None => based.clone(),
        };
        let trimmed = spec.trim_start_matches('/').trim_end_matches('/');
        let mut pieces = Vec::new();
        let mut before = None;
        let mut section = String::new();
        for c in trimmed.chars().chain(std::iter::once('/')) {
            if c != '/' && c != '.' {
                section.push(c);
                continue;
            }
            let piece = match section.as_str() {
                "" => None,
                "*" => Some(Piece::Wildcard),
                s if s.starts_with('*') => {
                    return Err(format!("route `{route}`: since there can only be one wildcard, it doesn't need a name. replace `{s}` with `*`"))
                }
                ":" => return Err(format!("route `{route}`: params must be named")),
                s if s.starts_with(':') => Some(Piece::Param(s[1..].to_string())),
                s => Some(Piece::Exact(s.to_string())),
            };
            // A `.` after a word stays in the word; elsewhere it is a piece.
            if before == Some('.') {
                match pieces.last_mut() {
                    Some(Piece::Exact(word)) => word.push('.'),
                    _ => pieces.push(Piece::Dot),
                }
            }
            if let Some(piece) = piece {
                if before == Some('/') {
                    pieces.push(Piece::Slash);
                }
                pieces.push(piece);
            }
            before = Some(c);
            section.clear();
        }
        // routefinder takes `/a/*/b` and then panics on every request.
        if pieces
            .iter()
            .rev()
            .skip(1)
            .any(|p| matches!(p, Piece::Wildcard))
        {
            return Err(format!(
                "route `{route}`: the wildcard may only end a route"
            ));
        }
        Ok(Route {
            raw: route.to_string(),
            based,
            pieces,
        })
    }

    /// The route as logs name it: Spin's form, `/` for the root.
    pub fn pattern(&self) -> &str {
        if self.based.is_empty() {
            "/"
        } else {
            &self.based
        }
    }

    /// The route as the manifest writes it (`spin-raw-component-route`).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// `spin-matched-route`: the route as written, less one trailing `/`
    /// (so `/` itself is matched as the empty route), as Spin reports it.
    pub fn matched_route(&self) -> &str {
        &self.based
    }

    /// `spin-component-route`: the route as written without a trailing
    /// `/...` (Spin leaves `/*` and other forms as they are).
    pub fn component_route(&self) -> &str {
        self.raw.strip_suffix("/...").unwrap_or(&self.raw)
    }

    pub fn is_wildcard(&self) -> bool {
        self.pieces.last() == Some(&Piece::Wildcard)
    }

    /// What Spin lists the route as: its fixed prefix (`/` when empty).
    pub fn prefix(&self) -> &str {
        let p = self
            .based
            .strip_suffix("/...")
            .or_else(|| self.based.strip_suffix("/*"))
            .unwrap_or(&self.based);
        if p.is_empty() {
            "/"
        } else {
            p
        }
    }

    /// routefinder's match of `path`: leading and trailing `/`s do not
    /// count, a word must come next, a `:name` takes up to the next `/` (or
    /// `.` when the route has one there), the wildcard takes the rest.
    fn matches(&self, path: &str) -> Option<RouteMatch<'_>> {
        let mut rest = path.trim_start_matches('/').trim_end_matches('/');
        let mut params = Vec::new();
        let mut wildcard = None;
        let mut pieces = self.pieces.iter().peekable();
        while let Some(piece) = pieces.next() {
            rest = match piece {
                Piece::Exact(word) => rest.strip_prefix(word.as_str())?,
                Piece::Param(name) => {
                    if rest.is_empty() {
                        return None;
                    }
                    let end = match pieces.peek() {
                        Some(Piece::Dot) => {
                            let i = rest.find(['.', '/'])?;
                            if !rest[i..].starts_with('.') {
                                return None;
                            }
                            i
                        }
                        _ => rest.find('/').unwrap_or(rest.len()),
                    };
                    params.push((name.clone(), rest[..end].to_string()));
                    &rest[end..]
                }
                Piece::Wildcard => {
                    wildcard = Some(rest);
                    ""
                }
                Piece::Slash => match (rest.starts_with('/'), pieces.peek()) {
                    (true, Some(_)) => &rest[1..],
                    (false, None) if rest.is_empty() => rest,
                    (false, Some(Piece::Wildcard)) if rest.is_empty() => rest,
                    _ => return None,
                },
                Piece::Dot => rest.strip_prefix('.')?,
            };
        }
        if !(rest.is_empty() || rest == "/") {
            return None;
        }
        // Spin keeps the trailing `/` routefinder drops.
        let path_info = match wildcard {
            None => String::new(),
            Some(taken) => match (taken.is_empty(), path.ends_with('/')) {
                (true, false) => String::new(),
                (true, true) => "/".into(),
                (false, false) => format!("/{taken}"),
                (false, true) => format!("/{taken}/"),
            },
        };
        Some(RouteMatch {
            route: self,
            path_info,
            params,
        })
    }
}

/// routefinder's order of routes: at the first piece where they differ a
/// word beats a `:name`, which beats the wildcard; then more dots; then the
/// shorter route. Greater is preferred.
fn precedence(a: &[Piece], b: &[Piece]) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    let rank = |p: &Piece| match p {
        Piece::Slash | Piece::Dot => 0,
        Piece::Wildcard => 1,
        Piece::Param(_) => 2,
        Piece::Exact(_) => 3,
    };
    let piece = |x: &Piece, y: &Piece| match (x, y) {
        (Piece::Slash | Piece::Dot, Piece::Slash | Piece::Dot) => Equal,
        // A dot outranks any word, as in routefinder.
        (Piece::Dot, _) => Greater,
        (_, Piece::Dot) => Less,
        (x, y) => rank(x).cmp(&rank(y)),
    };
    let dots = |s: &[Piece]| s.iter().filter(|p| **p == Piece::Dot).count();
    a.iter()
        .zip(b)
        .map(|(x, y)| piece(x, y))
        .find(|o| o.is_ne())
        .unwrap_or_else(|| dots(a).cmp(&dots(b)).then(b.len().cmp(&a.len())))
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
        routes.sort_by(|(a, _), (b, _)| precedence(&b.pieces, &a.pieces));
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
    fn path_info_is_spins() {
        let r = router(&["/static/...", "/..."]);
        let info = |path| r.route(path).unwrap().0.path_info;
        assert_eq!(info("/static"), "");
        assert_eq!(info("/static/"), "/");
        assert_eq!(info("/static/css/a.css"), "/css/a.css");
        assert_eq!(info("/static/css/"), "/css/");
        assert_eq!(info("/"), "/");
        assert_eq!(pick(&r, "/staticx").as_deref(), Some("/..."));
    }

    #[test]
    fn paths_are_trimmed_as_routefinder_trims_them() {
        let r = router(&["/foo"]);
        assert_eq!(pick(&r, "//foo").as_deref(), Some("/foo"));
        assert_eq!(pick(&r, "/foo//").as_deref(), Some("/foo"));
        assert_eq!(pick(&r, "/foo/bar"), None);
        assert_eq!(pick(&r, "/foobar"), None);
        // A doubled `/` inside a route counts once; inside a path it does not match.
        let r = router(&["/a//b"]);
        assert_eq!(pick(&r, "/a/b").as_deref(), Some("/a//b"));
        assert_eq!(pick(&r, "/a//b"), None);
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
    fn named_segments_split_at_dots_where_the_route_has_one() {
        let r = router(&["/files/:name.:ext"]);
        let (m, _) = r.route("/files/report.pdf").unwrap();
        assert_eq!(
            m.params,
            vec![
                ("name".into(), "report".into()),
                ("ext".into(), "pdf".into())
            ]
        );
        assert!(r.route("/files/report").is_none());
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
    fn routes_split_as_routefinder_does() {
        use Piece::*;
        let pieces = |r: &str| Route::parse(r).unwrap().pieces;
        assert_eq!(pieces("/..."), [Wildcard]);
        assert_eq!(pieces("/api/..."), [Exact("api".into()), Slash, Wildcard]);
        assert_eq!(pieces("/files/*"), [Exact("files".into()), Slash, Wildcard]);
        assert_eq!(pieces("/a.txt"), [Exact("a.".into()), Exact("txt".into())]);
        assert_eq!(
            pieces("/:n.:e"),
            [Param("n".into()), Dot, Param("e".into())]
        );
        assert_eq!(pieces("/"), []);
        assert_eq!(pieces("/x/"), [Exact("x".into())]);
        assert_eq!(pieces("foo"), [Exact("foo".into())]);
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
        assert_eq!(Route::parse("/api/...").unwrap().prefix(), "/api");
        assert_eq!(Route::parse("/...").unwrap().prefix(), "/");
        assert_eq!(Route::parse("/x").unwrap().prefix(), "/x");
    }

    #[test]
    fn routes_spin_refuses_are_refused() {
        assert!(Route::parse("/a/*x")
            .unwrap_err()
            .contains("replace `*x` with `*`"));
        assert!(Route::parse("/a/:")
            .unwrap_err()
            .contains("params must be named"));
        assert!(Route::parse("/a/*/b").is_err());
        // What routefinder takes as words, skyport takes too.
        assert!(Route::parse("/a/.../b").is_ok());
        assert!(Route::parse("/a/x*").is_ok());
        assert!(Route::parse("nope").is_ok());
    }
}
