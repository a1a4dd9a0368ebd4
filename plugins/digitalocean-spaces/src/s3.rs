//! Spaces through its S3 API: where a region's endpoint is, which names may
//! reach a URL, one signed request (tried again within the step as the API
//! client's rules say), and S3's XML answers read into the contract's
//! errors and into the few values Skyport needs.
//!
//! DigitalOcean serves Spaces at `https://{region}.digitaloceanspaces.com`.
//! A session whose API base is not DigitalOcean's own (an emulator, a proxy)
//! reaches Spaces under that base, at `{base}/_spaces/{region}`: the same
//! requests, path-style, one level down.

use digitalocean_api::retry;
use digitalocean_api::types::{Detail, Error, Session, Throttle};
use spin_sdk::http::{Method, Request, Response};

use crate::sigv4::{self, Credentials, Unsigned};

/// DigitalOcean's own API base; any other is an emulator's or a proxy's.
const DIGITALOCEAN_API: &str = "https://api.digitalocean.com";

/// The regions that have Spaces.
pub const REGIONS: &[&str] = &[
    "nyc3", "ams3", "sfo2", "sfo3", "sgp1", "fra1", "syd1", "blr1", "lon1", "tor1", "atl1",
];

/// Where the region asked lists buckets; any region's endpoint lists them.
pub const LISTING_REGION: &str = "nyc3";

/// The base URL of a region's Spaces endpoint, for a session whose API base
/// is `management`.
pub fn endpoint(management: &str, region: &str) -> String {
    let base = management.trim_end_matches('/');
    if base == DIGITALOCEAN_API {
        format!("https://{region}.digitaloceanspaces.com")
    } else {
        format!("{base}/_spaces/{region}")
    }
}

fn invalid(code: &str, message: String, target: &str) -> Error {
    Error::InvalidInput(detail(code, &message, Some(target)))
}

pub fn detail(code: &str, message: &str, target: Option<&str>) -> Detail {
    digitalocean_api::detail(code, message, target)
}

/// A region with Spaces, checked before it becomes part of a host name.
pub fn region(r: &str) -> Result<String, Error> {
    if REGIONS.contains(&r) {
        Ok(r.to_string())
    } else {
        Err(invalid(
            "invalid_region",
            format!(
                "`{r}` is not a DigitalOcean region with Spaces; use one of {}.",
                REGIONS.join(", ")
            ),
            "region",
        ))
    }
}

/// A bucket name as Skyport makes and reads them: 3–63 lowercase letters,
/// digits and single hyphens, starting and ending with a letter or digit
/// (S3's rules, without the dots that break HTTPS on virtual hosts).
pub fn bucket(name: &str) -> Result<String, Error> {
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(name.to_string())
    } else {
        Err(invalid(
            "invalid_bucket_name",
            format!("`{name}` is not a Spaces bucket name (3–63 lowercase letters, digits and single hyphens)."),
            "name",
        ))
    }
}

/// A container, which is a folder (a key prefix) in the bucket: the same
/// characters as a bucket name.
pub fn folder(name: &str) -> Result<String, Error> {
    bucket(name).map_err(|_| {
        invalid(
            "invalid_container_name",
            format!("`{name}` is not a folder name for a Space (3–63 lowercase letters, digits and single hyphens)."),
            "container",
        )
    })
}

/// A bucket in its region: the storage account of the contract, whose id
/// is `{region}/{bucket}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Space {
    pub region: String,
    pub bucket: String,
}

impl Space {
    /// The Space an id names, each part checked.
    pub fn parse(id: &str) -> Result<Space, Error> {
        let (r, b) = id.split_once('/').ok_or_else(|| {
            invalid(
                "invalid_id",
                format!("`{id}` is not a Space's id (`region/bucket`)."),
                "account-id",
            )
        })?;
        Ok(Space {
            region: region(r)?,
            bucket: bucket(b)?,
        })
    }

    pub fn id(&self) -> String {
        format!("{}/{}", self.region, self.bucket)
    }

    /// One request to this bucket, or to the object `key` in it.
    pub fn send(
        &self,
        session: &Session,
        creds: &Credentials,
        method: Method,
        key: Option<&str>,
        query: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Answer, Error> {
        send(
            session,
            creds,
            method,
            &self.region,
            Some(&self.bucket),
            key,
            query,
            body,
        )
    }
}

/// GetBucketLocation of `bucket`, asked at `region`'s endpoint (any
/// region's answers it).
pub fn location(
    session: &Session,
    creds: &Credentials,
    region: &str,
    bucket: &str,
) -> Result<Answer, Error> {
    send(
        session,
        creds,
        Method::Get,
        region,
        Some(bucket),
        None,
        &[("location", "")],
        b"",
    )
}

/// An answer of the S3 API: any status, for the caller to read.
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// One S3 request to `region`'s endpoint: the bucket and key (both already
/// checked) make the path; tried again within the step for a rate-limit or
/// server refusal of a method that can be repeated, and for a key the
/// keys API made a moment ago that Spaces does not know yet.
#[allow(clippy::too_many_arguments)]
pub fn send(
    session: &Session,
    creds: &Credentials,
    method: Method,
    region: &str,
    bucket: Option<&str>,
    key: Option<&str>,
    query: &[(&str, &str)],
    body: &[u8],
) -> Result<Answer, Error> {
    let base = endpoint(&session.cloud.management, region);
    let (host, prefix) = split_base(&base);
    let mut path = prefix.to_string();
    path.push('/');
    if let Some(b) = bucket {
        path.push_str(&sigv4::encode(b, true));
        if let Some(k) = key {
            path.push('/');
            path.push_str(&sigv4::encode(k, false));
        }
    }
    let verb = method.to_string();
    let mut tried = 1;
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let signed = sigv4::sign(
            creds,
            &Unsigned {
                method: &verb,
                host,
                path: &path,
                query,
                extra: &[],
                body,
                region,
                amz_date: &sigv4::amz_date(now),
            },
        );
        let q = sigv4::query_string(query);
        let scheme = if base.starts_with("https://") {
            "https"
        } else {
            "http"
        };
        let url = if q.is_empty() {
            format!("{scheme}://{host}{path}")
        } else {
            format!("{scheme}://{host}{path}?{q}")
        };
        let mut b = Request::builder();
        b.method(method.clone()).uri(url);
        for (k, v) in &signed {
            b.header(k.as_str(), v.as_str());
        }
        // S3 refuses a PUT without a length (411); a chunked body has none.
        if method == Method::Put {
            b.header("content-length", body.len().to_string());
        }
        b.body(body.to_vec());
        let failure = match spin_sdk::http::run(spin_sdk::http::send::<_, Response>(b.build())) {
            Ok(r) => {
                let answer = Answer {
                    status: *r.status(),
                    body: String::from_utf8_lossy(r.body()).into_owned(),
                };
                let fresh_key = answer.status == 403 && code(&answer.body) == "InvalidAccessKeyId";
                if fresh_key && tried < retry::MAX_TRIES {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    tried += 1;
                    continue;
                }
                if !(answer.status == 429 || answer.status >= 500) {
                    return Ok(answer);
                }
                match retry::wait(&verb, retry::Failure::Status(answer.status, None), tried) {
                    Some(pause) => {
                        std::thread::sleep(pause);
                        tried += 1;
                        continue;
                    }
                    None => return Ok(answer),
                }
            }
            Err(e) => (e, retry::Failure::Unreachable),
        };
        match retry::wait(&verb, failure.1, tried) {
            Some(pause) => std::thread::sleep(pause),
            None => {
                return Err(Error::Unavailable(detail(
                    "unreachable",
                    &format!("DigitalOcean Spaces could not be reached: {:?}", failure.0),
                    None,
                )))
            }
        }
        tried += 1;
    }
}

/// `https://host[:port]/prefix` → (`host[:port]`, `/prefix`).
fn split_base(base: &str) -> (&str, &str) {
    let rest = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"))
        .unwrap_or(base);
    match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    }
}

/// The text of each `<tag>…</tag>` in `xml`, in order, entities decoded.
/// An opening tag may carry attributes (`<LocationConstraint xmlns="…">`);
/// a self-closed one (`<Prefix/>`) is an empty text.
pub fn texts(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(end) = after.find('>') else { break };
        let attributes = &after[..end];
        if !(attributes.is_empty()
            || attributes.starts_with(char::is_whitespace)
            || attributes == "/")
        {
            // A longer tag name that begins with this one.
            rest = &after[end..];
            continue;
        }
        let body = &after[end + 1..];
        if attributes.ends_with('/') {
            out.push(String::new());
            rest = body;
            continue;
        }
        let Some(j) = body.find(&close) else { break };
        out.push(unescape(&body[..j]));
        rest = &body[j + close.len()..];
    }
    out
}

/// The first `<tag>` text, or empty.
pub fn text(xml: &str, tag: &str) -> String {
    texts(xml, tag).into_iter().next().unwrap_or_default()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// An S3 error's code (`NoSuchBucket`, `AccessDenied`, …); empty for a
/// body-less answer.
pub fn code(body: &str) -> String {
    text(body, "Code")
}

fn code_of(a: &Answer) -> String {
    match code(&a.body) {
        c if c.is_empty() => format!("HTTP{}", a.status),
        c => c,
    }
}

/// What Spaces said, or what its status says for a body-less answer.
pub fn message(a: &Answer) -> String {
    match text(&a.body, "Message") {
        m if m.is_empty() => format!("Spaces answered HTTP {} ({}).", a.status, code_of(a)),
        m => m,
    }
}

/// An answer that is not the one expected, as the contract's error.
pub fn error(a: &Answer) -> Error {
    let (code, message) = (code_of(a), message(a));
    let d = detail(&code, &message, None);
    match (a.status, code.as_str()) {
        (_, "SlowDown") | (429, _) => Error::Throttled(Throttle {
            retry_after_seconds: 5,
            detail: d,
        }),
        // The key is Skyport's own, just made: a refusal of it says nothing
        // about the account's token, which must not be refreshed for it.
        (_, "InvalidAccessKeyId") => Error::Unavailable(d),
        (_, "SignatureDoesNotMatch") => Error::Other(d),
        (403, _) => Error::Forbidden(d),
        (404, _) => Error::NotFound(d),
        (409, _) => Error::Conflict(d),
        (400, _) => Error::InvalidInput(d),
        (500..=599, _) => Error::Unavailable(d),
        _ => Error::Other(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_endpoint_is_digitaloceans_or_under_another_base() {
        assert_eq!(
            endpoint("https://api.digitalocean.com/", "ams3"),
            "https://ams3.digitaloceanspaces.com"
        );
        assert_eq!(
            endpoint("http://127.0.0.1:4000", "nyc3"),
            "http://127.0.0.1:4000/_spaces/nyc3"
        );
        assert_eq!(
            split_base("http://127.0.0.1:4000/_spaces/nyc3"),
            ("127.0.0.1:4000", "/_spaces/nyc3")
        );
        assert_eq!(
            split_base("https://ams3.digitaloceanspaces.com"),
            ("ams3.digitaloceanspaces.com", "")
        );
    }

    #[test]
    fn only_checked_names_reach_a_url() {
        assert_eq!(
            Space::parse("nyc3/skyport-backups").unwrap(),
            Space {
                region: "nyc3".into(),
                bucket: "skyport-backups".into()
            }
        );
        for bad in [
            "nyc3",
            "evil.com/bucket",
            "nyc3/../x",
            "nyc3/a",
            "nyc3/Bucket",
            "nyc3/a--b",
            "nyc3/b?x=1",
            "nyc3/b/c",
            "nyc3/-bb",
        ] {
            assert!(Space::parse(bad).is_err(), "{bad}");
        }
        assert!(region("nyc1").is_err(), "nyc1 has no Spaces");
        assert!(folder("backups").is_ok());
        assert!(folder("back/ups").is_err());
    }

    #[test]
    fn s3_errors_become_the_contracts() {
        let a = Answer {
            status: 409,
            body: "<?xml version=\"1.0\"?><Error><Code>BucketAlreadyExists</Code><Message>The requested bucket name is not available.</Message></Error>".into(),
        };
        assert!(
            matches!(error(&a), Error::Conflict(d) if d.code == "BucketAlreadyExists" && d.message.contains("not available"))
        );
        let a = Answer {
            status: 404,
            body: String::new(),
        };
        assert!(matches!(error(&a), Error::NotFound(d) if d.code == "HTTP404"));
        let a = Answer {
            status: 503,
            body:
                "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>"
                    .into(),
        };
        assert!(matches!(error(&a), Error::Throttled(_)));
        assert_eq!(
            text(
                "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">ams3</LocationConstraint>",
                "LocationConstraint"
            ),
            "ams3"
        );
        assert_eq!(
            texts(
                "<B><Name>a</Name><NameX>no</NameX><Name/><Name>b</Name></B>",
                "Name"
            ),
            vec!["a", "", "b"]
        );
        assert_eq!(
            texts("<R><CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>b&amp;c/</Prefix></CommonPrefixes></R>", "Prefix"),
            vec!["a/", "b&c/"]
        );
    }
}
