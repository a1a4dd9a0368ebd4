//! The Spaces S3 data plane, path-style under `/_spaces/{region}/` (the
//! underscore keeps it apart from every Azure storage account name): each
//! request is checked as Spaces checks it — a SigV4 signature by a key of
//! the keys API (`spaces_keys.rs`), the payload's hash, the clock, the
//! key's grants — and then served: buckets (unique across every team and
//! region) and their objects, in S3's XML.
//!
//! DigitalOcean serves this at `https://{region}.digitaloceanspaces.com`;
//! clients reach the emulator's with an endpoint of
//! `{emulator}/_spaces/{region}` and path-style addressing.

use chrono::Utc;
use http::Method;

use super::sigv4;
use super::store::{Bucket, SpaceObject, SpacesKey};
use crate::http::{Req, Resp};
use crate::state::{guid, Fault, State};

/// The regions that have Spaces.
pub const REGIONS: &[&str] = &[
    "nyc3", "ams3", "sfo2", "sfo3", "sgp1", "fra1", "syd1", "blr1", "lon1", "tor1", "atl1",
];

const XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// How far a request's `x-amz-date` may be from the emulator's clock.
const SKEW_SECONDS: i64 = 15 * 60;

/// Whether a request is for the Spaces data plane.
pub fn is_request(segments: &[String]) -> bool {
    segments.first().is_some_and(|s| s == "_spaces")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An S3 error in S3's XML, naming the bucket when there is one. HEAD
/// answers carry no body, as S3 sends them.
pub fn error(status: u16, code: &str, message: &str, bucket: Option<&str>) -> Resp {
    let id = guid().replace('-', "")[..16].to_uppercase();
    let bucket = bucket
        .map(|b| format!("<BucketName>{}</BucketName>", escape(b)))
        .unwrap_or_default();
    Resp::new(status)
        .header("content-type", "application/xml")
        .header("x-amz-request-id", id.clone())
        .body(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{}</Message>{bucket}<RequestId>{id}</RequestId><HostId>{id}</HostId></Error>",
            escape(message)
        ))
}

/// A scripted fault's answer in S3's words.
pub fn fault_error(status: u16) -> Resp {
    let (code, message) = match status {
        429 | 503 => ("SlowDown", "Please reduce your request rate."),
        400 => ("InvalidRequest", "The request is not valid."),
        403 => ("AccessDenied", "Access Denied"),
        404 => ("NoSuchKey", "The specified key does not exist."),
        409 => (
            "OperationAborted",
            "A conflicting conditional operation is currently in progress against this resource.",
        ),
        _ => (
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
    };
    error(status, code, message, None)
}

fn xml(status: u16, body: String) -> Resp {
    Resp::new(status)
        .header("content-type", "application/xml")
        .header(
            "x-amz-request-id",
            guid().replace('-', "")[..16].to_uppercase(),
        )
        .body(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{body}"))
}

/// What a request needs its key to grant.
#[derive(Clone, Copy, PartialEq)]
enum Need {
    /// Every bucket of the team (listing them all, making one).
    Team,
    Read,
    Write,
    /// The bucket itself (deleting it).
    Full,
}

fn granted(key: &SpacesKey, bucket: &str, need: Need) -> bool {
    key.grants.iter().any(|(b, p)| {
        let all = b.is_empty() && p == "fullaccess";
        match need {
            Need::Team => all,
            _ if all => true,
            Need::Read => b == bucket,
            Need::Write => b == bucket && (p == "readwrite" || p == "fullaccess"),
            Need::Full => b == bucket && p == "fullaccess",
        }
    })
}

/// S3's bucket-name rules: 3–63 lowercase letters, digits, hyphens and
/// dots, starting and ending with a letter or digit.
fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..")
}

fn decode_path(s: &str) -> String {
    String::from_utf8_lossy(&crate::http::percent_decode(s)).into_owned()
}

/// Checks the signature; the key that signed, or the refusal.
fn authenticate(state: &State, req: &Req, region: &str) -> Result<SpacesKey, Resp> {
    let Some(header) = req.header("authorization") else {
        return Err(error(403, "AccessDenied", "Access Denied", None));
    };
    let Some(auth) = sigv4::parse(header) else {
        return Err(error(
            400,
            "AuthorizationHeaderMalformed",
            "The authorization header is malformed.",
            None,
        ));
    };
    // DigitalOcean's own SDK examples sign with `us-east-1` (some SDKs
    // accept no other region), and Spaces takes it at every endpoint.
    if auth.region != region && auth.region != "us-east-1" {
        return Err(error(
            400,
            "AuthorizationHeaderMalformed",
            &format!("The authorization header is malformed; the region '{}' is wrong; expecting '{region}'", auth.region),
            None,
        ));
    }
    let Some(key) = state.digitalocean.spaces_keys.get(&auth.access_key) else {
        return Err(error(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            None,
        ));
    };
    let amz_date = req.header("x-amz-date").unwrap_or_default();
    let at = chrono::NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ")
        .map(|t| t.and_utc().timestamp());
    let Ok(at) = at else {
        return Err(error(
            403,
            "AccessDenied",
            "AWS authentication requires a valid Date or x-amz-date header",
            None,
        ));
    };
    if (at - Utc::now().timestamp()).abs() > SKEW_SECONDS || !amz_date.starts_with(&auth.date) {
        return Err(error(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            None,
        ));
    }
    let Some(payload) = req.header("x-amz-content-sha256") else {
        return Err(error(
            400,
            "InvalidRequest",
            "Missing required header for this request: x-amz-content-sha256",
            None,
        ));
    };
    if payload != "UNSIGNED-PAYLOAD" && payload != sigv4::payload_hash(&req.body) {
        return Err(error(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            None,
        ));
    }
    let expected = sigv4::expected(&key.secret_key, req, &auth, amz_date, payload);
    if !auth.signed_headers.iter().any(|h| h == "host") || expected != auth.signature {
        return Err(error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            None,
        ));
    }
    Ok(key.clone())
}

/// What the front door decided under the lock.
pub enum Plan {
    Answer(Resp),
    /// Send this to moto (outside the lock), then [`after`].
    Forward(Forward),
}

/// A request for moto, and what its answer means here.
pub struct Forward {
    /// moto's endpoint, e.g. `http://127.0.0.1:41235`.
    pub moto: String,
    /// The bucket the request is for.
    pub bucket: String,
    /// The path below the region and the query, e.g. `/b/k?uploads`.
    pub path: String,
    pub method: Method,
    pub headers: Vec<(String, String)>,
    pub body: bytes::Bytes,
    pub then: Then,
}

/// What is done with moto's answer.
pub enum Then {
    /// It is the answer.
    Relay,
    /// The bucket was recorded here; moto's success (or its having the
    /// bucket already) answers this, its failure takes the record back.
    Created(String, Resp),
    /// The bucket is forgotten here once moto deleted it (or never had it).
    Deleted(String),
}

/// Sends a planned request to moto, outside the state lock. A bucket the
/// emulator has and moto does not (made before moto was named, or moto
/// restarted) is made in moto and the request sent again, as the blob
/// front door makes Azurite's containers. moto out of reach is S3's 503.
pub async fn forward(f: &Forward) -> Resp {
    let send = |method: Method, path: &str, headers: Vec<(String, String)>, body: bytes::Bytes| {
        let url = format!("{}{path}", f.moto);
        async move { crate::blob::send(&url, headers, method, body).await }
    };
    let unreachable = |e: String| {
        error(
            503,
            "ServiceUnavailable",
            &format!("The S3 back end is not available: {e}"),
            None,
        )
    };
    let first = match send(f.method.clone(), &f.path, f.headers.clone(), f.body.clone()).await {
        Ok(r) => r,
        Err(e) => return unreachable(e),
    };
    let creating = matches!(f.then, Then::Created(..));
    let deleting = matches!(f.then, Then::Deleted(_));
    if creating || deleting || !is_code(&first, 404, "NoSuchBucket") {
        return first;
    }
    let made = send(
        Method::PUT,
        &format!("/{}", f.bucket),
        moto_headers(&[]),
        bytes::Bytes::new(),
    )
    .await;
    if let Err(e) = made {
        return unreachable(e);
    }
    send(f.method.clone(), &f.path, f.headers.clone(), f.body.clone())
        .await
        .unwrap_or_else(unreachable)
}

/// Whether an answer is the S3 error `code` with `status`.
fn is_code(r: &Resp, status: u16, code: &str) -> bool {
    r.status.as_u16() == status
        && std::str::from_utf8(&r.body).is_ok_and(|b| b.contains(&format!("<Code>{code}</Code>")))
}

/// Decides a request under `/_spaces/`; `fault` is the scripted fault that
/// matched it, if any.
pub fn plan(state: &mut State, req: &Req, fault: Option<&Fault>) -> Plan {
    let planned = serve(state, req, fault);
    match planned {
        Plan::Answer(r) => Plan::Answer(headless(req, r)),
        forward => forward,
    }
}

/// Finishes a forwarded request with moto's answer.
pub fn after(state: &mut State, req: &Req, then: Then, answer: Resp) -> Resp {
    let ok = (200..300).contains(&answer.status.as_u16());
    let r = match then {
        Then::Relay => answer,
        Then::Created(_, resp) if ok || answer.status.as_u16() == 409 => resp,
        Then::Created(name, _) => {
            state.digitalocean.buckets.remove(&name);
            answer
        }
        Then::Deleted(name) if ok => {
            state.digitalocean.buckets.remove(&name);
            answer
        }
        // moto never had it: nothing was in it.
        Then::Deleted(name) if is_code(&answer, 404, "NoSuchBucket") => {
            state.digitalocean.buckets.remove(&name);
            Resp::new(204)
        }
        Then::Deleted(_) => answer,
    };
    headless(req, r)
}

/// A HEAD answer has no body.
fn headless(req: &Req, resp: Resp) -> Resp {
    if req.method == Method::HEAD {
        Resp {
            body: Default::default(),
            ..resp
        }
    } else {
        resp
    }
}

/// The request as moto takes it: the same method, path below the region,
/// query, body and content and `x-amz-*` headers, signed anew with a
/// credential of moto's default region — moto checks no signatures, and
/// would refuse a bucket made with a Spaces region in the credential but
/// no location constraint in the body.
fn to_moto(moto: &str, req: &Req, bucket: &str, path: &str, then: Then) -> Plan {
    let mut kept: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(k, _)| {
            let k = k.as_str();
            matches!(
                k,
                "content-type"
                    | "content-md5"
                    | "content-encoding"
                    | "content-disposition"
                    | "content-language"
                    | "cache-control"
                    | "expires"
                    | "range"
                    | "if-match"
                    | "if-none-match"
                    | "if-modified-since"
                    | "if-unmodified-since"
            ) || (k.starts_with("x-amz-")
                && !matches!(
                    k,
                    "x-amz-date" | "x-amz-content-sha256" | "x-amz-security-token"
                ))
        })
        .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
        .collect();
    kept.sort();
    let query = if req.raw_query.is_empty() {
        String::new()
    } else {
        format!("?{}", req.raw_query)
    };
    Plan::Forward(Forward {
        moto: moto.trim_end_matches('/').to_string(),
        bucket: bucket.to_string(),
        path: format!("/{path}{query}"),
        method: req.method.clone(),
        headers: moto_headers(&kept),
        body: req.body.clone(),
        then,
    })
}

/// `headers` and the SigV4 headers moto reads a request's region from.
fn moto_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    let date = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let mut out = headers.to_vec();
    out.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential=SKYPORTSIM/{}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=0",
            &date[..8]
        ),
    ));
    out.push(("x-amz-date".into(), date));
    out.push(("x-amz-content-sha256".into(), "UNSIGNED-PAYLOAD".into()));
    out
}

fn serve(state: &mut State, req: &Req, fault: Option<&Fault>) -> Plan {
    let answer = |r: Resp| Plan::Answer(r);
    let segments = req.segments();
    let region = segments.get(1).cloned().unwrap_or_default();
    if !REGIONS.contains(&region.as_str()) {
        return answer(error(
            400,
            "InvalidArgument",
            &format!("`{region}` is not a region with Spaces."),
            None,
        ));
    }
    if let Some(status) = fault.and_then(|f| f.status) {
        return answer(fault_error(status));
    }
    let key = match authenticate(state, req, &region) {
        Ok(k) => k,
        Err(r) => return answer(r),
    };
    // The bucket and the object key, from the path as sent.
    let rest = req
        .path
        .strip_prefix(&format!("/_spaces/{region}"))
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string();
    let (bucket, object) = match rest.split_once('/') {
        Some((b, k)) => (
            decode_path(b),
            Some(decode_path(k)).filter(|k| !k.is_empty()),
        ),
        None => (decode_path(&rest), None),
    };
    let moto = state.world.digitalocean.moto_url.clone();
    let m = &req.method;
    let not_allowed = |bucket: Option<&str>| {
        error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            bucket,
        )
    };
    if bucket.is_empty() {
        return answer(if *m == Method::GET {
            list_buckets(state, &key)
        } else {
            not_allowed(None)
        });
    }
    if object.is_none() && *m == Method::PUT && plain(req) {
        let made = create_bucket(state, &key, &bucket, &region);
        return match moto {
            Some(moto) if made.status.as_u16() == 200 => to_moto(
                &moto,
                req,
                &bucket,
                &rest,
                Then::Created(bucket.clone(), made),
            ),
            _ => answer(made),
        };
    }
    if object.is_none() && *m == Method::GET && req.query.iter().any(|(k, _)| k == "location") {
        return answer(location(state, &key, &bucket));
    }
    let b = match find(state, &key, &bucket, &region) {
        Ok(b) => b,
        Err(r) => return answer(r),
    };
    let need = match (m, &object) {
        (&Method::DELETE | &Method::PUT, None) => Need::Full,
        (&Method::GET | &Method::HEAD, _) => Need::Read,
        _ => Need::Write,
    };
    if !granted(&key, &bucket, need) {
        return answer(error(403, "AccessDenied", "Access Denied", Some(&bucket)));
    }
    if *m == Method::HEAD && object.is_none() {
        return answer(Resp::new(200).header("x-amz-bucket-region", b.region));
    }
    if let Some(moto) = moto {
        let then = match (m, &object) {
            (&Method::DELETE, None) if plain(req) => Then::Deleted(bucket.clone()),
            _ => Then::Relay,
        };
        return to_moto(&moto, req, &bucket, &rest, then);
    }
    const LISTING: &[&str] = &[
        "x-id",
        "list-type",
        "prefix",
        "delimiter",
        "max-keys",
        "continuation-token",
        "start-after",
        "marker",
        "encoding-type",
        "fetch-owner",
    ];
    let subresource = if object.is_none() {
        req.query
            .iter()
            .any(|(k, _)| !LISTING.contains(&k.as_str()))
    } else {
        // Some SDKs name the operation in `x-id`; a read may override the
        // answer's headers. Anything else is a subresource (acl, tagging,
        // uploads, …) the memory does not keep.
        req.query.iter().any(|(k, _)| {
            k != "x-id"
                && !((*m == Method::GET || *m == Method::HEAD) && k.starts_with("response-"))
        })
    };
    if subresource || req.header("x-amz-copy-source").is_some() {
        return answer(error(
            501,
            "NotImplemented",
            "A header or query you provided implies functionality that is not implemented.",
            Some(&bucket),
        ));
    }
    answer(match (m.clone(), object) {
        (Method::GET, None) => list_objects(state, req, &bucket),
        (Method::DELETE, None) => delete_bucket(state, &bucket),
        (Method::PUT, Some(k)) => put_object(state, req, &bucket, &k),
        (Method::GET | Method::HEAD, Some(k)) => get_object(state, &bucket, &k),
        (Method::DELETE, Some(k)) => {
            if let Some(objects) = state.digitalocean.objects.get_mut(&bucket) {
                objects.remove(&k);
            }
            Resp::new(204)
        }
        _ => not_allowed(Some(&bucket)),
    })
}

/// Whether a request names no subresource (some SDKs name the operation
/// in `x-id`, which S3 ignores).
fn plain(req: &Req) -> bool {
    req.query.iter().all(|(k, _)| k == "x-id")
}

/// The team's bucket `name` at this region's endpoint, or S3's refusal:
/// none, another team's, or in another region.
fn find(state: &State, key: &SpacesKey, name: &str, region: &str) -> Result<Bucket, Resp> {
    match state.digitalocean.buckets.get(name) {
        None => Err(error(404, "NoSuchBucket", "The specified bucket does not exist", Some(name))),
        Some(b) if b.team != key.team => Err(error(403, "AccessDenied", "Access Denied", Some(name))),
        Some(b) if b.region != region => Err(error(
            301,
            "PermanentRedirect",
            "The bucket you are attempting to access must be addressed using the specified endpoint.",
            Some(name),
        )
        .header("x-amz-bucket-region", b.region.clone())),
        Some(b) => Ok(b.clone()),
    }
}

fn list_buckets(state: &State, key: &SpacesKey) -> Resp {
    let buckets: String = state
        .digitalocean
        .buckets
        .values()
        .filter(|b| b.team == key.team && granted(key, &b.name, Need::Read))
        .map(|b| {
            format!(
                "<Bucket><Name>{}</Name><CreationDate>{}</CreationDate></Bucket>",
                escape(&b.name),
                b.created_at
            )
        })
        .collect();
    xml(
        200,
        format!(
            "<ListAllMyBucketsResult xmlns=\"{XMLNS}\"><Owner><ID>{0}</ID><DisplayName>{0}</DisplayName></Owner><Buckets>{buckets}</Buckets></ListAllMyBucketsResult>",
            key.team
        ),
    )
}

fn create_bucket(state: &mut State, key: &SpacesKey, name: &str, region: &str) -> Resp {
    if !valid_bucket(name) {
        return error(
            400,
            "InvalidBucketName",
            "The specified bucket is not valid.",
            Some(name),
        );
    }
    if !granted(key, name, Need::Team) {
        return error(403, "AccessDenied", "Access Denied", Some(name));
    }
    match state.digitalocean.buckets.get(name) {
        Some(b) if b.team == key.team => {
            return error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.", Some(name))
        }
        Some(_) => {
            return error(409, "BucketAlreadyExists", "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.", Some(name))
        }
        None => {}
    }
    state.digitalocean.buckets.insert(
        name.to_string(),
        Bucket {
            name: name.to_string(),
            team: key.team.clone(),
            region: region.to_string(),
            created_at: Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        },
    );
    state
        .digitalocean
        .objects
        .insert(name.to_string(), Default::default());
    Resp::new(200).header("location", format!("/{name}"))
}

/// `?location`: answered at any region's endpoint, as S3 does.
fn location(state: &State, key: &SpacesKey, name: &str) -> Resp {
    match state.digitalocean.buckets.get(name) {
        None => error(
            404,
            "NoSuchBucket",
            "The specified bucket does not exist",
            Some(name),
        ),
        Some(b) if b.team != key.team || !granted(key, name, Need::Read) => {
            error(403, "AccessDenied", "Access Denied", Some(name))
        }
        Some(b) => xml(
            200,
            format!(
                "<LocationConstraint xmlns=\"{XMLNS}\">{}</LocationConstraint>",
                b.region
            ),
        ),
    }
}

fn delete_bucket(state: &mut State, name: &str) -> Resp {
    if state
        .digitalocean
        .objects
        .get(name)
        .is_some_and(|o| !o.is_empty())
    {
        return error(
            409,
            "BucketNotEmpty",
            "The bucket you tried to delete is not empty.",
            Some(name),
        );
    }
    state.digitalocean.buckets.remove(name);
    state.digitalocean.objects.remove(name);
    Resp::new(204)
}

fn put_object(state: &mut State, req: &Req, bucket: &str, key: &str) -> Resp {
    let digest = super::md5::digest(&req.body);
    let etag = format!(
        "\"{}\"",
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let now = Utc::now();
    let object = SpaceObject {
        body: req.body.to_vec(),
        etag: etag.clone(),
        modified_http: now.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        modified_iso: now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        content_type: req.header("content-type").map(str::to_string),
    };
    state
        .digitalocean
        .objects
        .entry(bucket.to_string())
        .or_default()
        .insert(key.to_string(), object);
    Resp::new(200).header("etag", etag)
}

fn get_object(state: &State, bucket: &str, key: &str) -> Resp {
    let Some(o) = state
        .digitalocean
        .objects
        .get(bucket)
        .and_then(|o| o.get(key))
    else {
        return error(
            404,
            "NoSuchKey",
            "The specified key does not exist.",
            Some(bucket),
        );
    };
    // Set here because a HEAD answer is sent without its body.
    Resp::new(200)
        .header("content-length", o.body.len().to_string())
        .header("etag", o.etag.clone())
        .header("last-modified", o.modified_http.clone())
        .header(
            "content-type",
            o.content_type
                .clone()
                .unwrap_or_else(|| "binary/octet-stream".into()),
        )
        .body(o.body.clone())
}

/// ListObjectsV2 (`list-type=2`) and the older ListObjects: keys in order
/// under `prefix`, rolled up to common prefixes at `delimiter`, at most
/// `max-keys` (1,000) entries a page, continued by an opaque token (V2) or
/// a marker (V1); with `encoding-type=url` the keys and prefixes are sent
/// URL-encoded, as S3 sends them (boto3 asks for that on every listing).
fn list_objects(state: &State, req: &Req, bucket: &str) -> Resp {
    let q = |name: &str| {
        req.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let v2 = q("list-type") == Some("2");
    let prefix = q("prefix").unwrap_or_default();
    let delimiter = q("delimiter").unwrap_or_default();
    let url_encoded = match q("encoding-type") {
        None => false,
        Some("url") => true,
        Some(_) => {
            return error(
                400,
                "InvalidArgument",
                "Invalid Encoding Method specified in Request",
                Some(bucket),
            )
        }
    };
    let enc = |s: &str| {
        if url_encoded {
            url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
        } else {
            escape(s)
        }
    };
    let max = match q("max-keys").map(str::parse::<usize>) {
        None => 1000,
        Some(Ok(n)) => n.min(1000),
        Some(Err(_)) => {
            return error(
                400,
                "InvalidArgument",
                "Provided max-keys not an integer or within integer range",
                Some(bucket),
            )
        }
    };
    let token = q("continuation-token").filter(|_| v2);
    let after = match token {
        Some(t) => match hex_decode(t) {
            Some(k) => k,
            None => {
                return error(
                    400,
                    "InvalidArgument",
                    "The continuation token provided is incorrect",
                    Some(bucket),
                )
            }
        },
        None if v2 => q("start-after").unwrap_or_default().to_string(),
        None => q("marker").unwrap_or_default().to_string(),
    };
    let empty = Default::default();
    let objects = state.digitalocean.objects.get(bucket).unwrap_or(&empty);
    let (mut contents, mut prefixes, mut count) = (String::new(), Vec::<String>::new(), 0);
    let mut last = String::new();
    let mut truncated = false;
    for (k, o) in objects.range::<String, _>((
        std::ops::Bound::Excluded(&after),
        std::ops::Bound::Unbounded,
    )) {
        if !k.starts_with(prefix) {
            continue;
        }
        let rolled = (!delimiter.is_empty())
            .then(|| {
                k[prefix.len()..]
                    .find(delimiter)
                    .map(|i| k[..prefix.len() + i + delimiter.len()].to_string())
            })
            .flatten();
        if let Some(p) = &rolled {
            if prefixes.last() == Some(p) {
                last = k.clone();
                continue;
            }
        }
        if count == max {
            truncated = true;
            break;
        }
        count += 1;
        last = k.clone();
        match rolled {
            Some(p) => prefixes.push(p),
            None => contents.push_str(&format!(
                "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>{}</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
                enc(k), o.modified_iso, escape(&o.etag), o.body.len()
            )),
        }
    }
    let common: String = prefixes
        .iter()
        .map(|p| {
            format!(
                "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                enc(p)
            )
        })
        .collect();
    let paging = if v2 {
        format!(
            "{}{}{}<KeyCount>{count}</KeyCount>",
            token
                .map(|t| format!("<ContinuationToken>{}</ContinuationToken>", escape(t)))
                .unwrap_or_default(),
            if truncated {
                format!(
                    "<NextContinuationToken>{}</NextContinuationToken>",
                    hex_encode(&last)
                )
            } else {
                String::new()
            },
            q("start-after")
                .map(|s| format!("<StartAfter>{}</StartAfter>", enc(s)))
                .unwrap_or_default(),
        )
    } else {
        // S3 sends NextMarker only with a delimiter; without one the
        // client continues from the last key it was sent.
        format!(
            "<Marker>{}</Marker>{}",
            enc(&after),
            if truncated && !delimiter.is_empty() {
                format!("<NextMarker>{}</NextMarker>", enc(&last))
            } else {
                String::new()
            }
        )
    };
    let delimiter = if delimiter.is_empty() {
        String::new()
    } else {
        format!("<Delimiter>{}</Delimiter>", enc(delimiter))
    };
    let encoding = if url_encoded {
        "<EncodingType>url</EncodingType>"
    } else {
        ""
    };
    xml(
        200,
        format!(
            "<ListBucketResult xmlns=\"{XMLNS}\"><Name>{}</Name><Prefix>{}</Prefix>{paging}<MaxKeys>{max}</MaxKeys>{delimiter}{encoding}<IsTruncated>{truncated}</IsTruncated>{contents}{common}</ListBucketResult>",
            escape(bucket),
            enc(prefix)
        ),
    )
}

fn hex_encode(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(grants: &[(&str, &str)]) -> SpacesKey {
        SpacesKey {
            access_key: "DO1".into(),
            secret_key: "s".into(),
            team: "t".into(),
            name: "k".into(),
            grants: grants
                .iter()
                .map(|(b, p)| (b.to_string(), p.to_string()))
                .collect(),
            created_at: String::new(),
        }
    }

    #[test]
    fn grants_decide_as_spaces_does() {
        let all = key(&[("", "fullaccess")]);
        assert!(granted(&all, "a", Need::Team) && granted(&all, "a", Need::Full));
        let read = key(&[("a", "read")]);
        assert!(granted(&read, "a", Need::Read));
        assert!(!granted(&read, "a", Need::Write) && !granted(&read, "b", Need::Read));
        let rw = key(&[("a", "readwrite")]);
        assert!(
            granted(&rw, "a", Need::Write)
                && !granted(&rw, "a", Need::Full)
                && !granted(&rw, "a", Need::Team)
        );
    }

    #[test]
    fn bucket_names_follow_s3() {
        assert!(valid_bucket("skyport-backups") && valid_bucket("a.b.c"));
        for bad in ["ab", "Upper", "-a-", "a..b", "a_b", &"a".repeat(64)] {
            assert!(!valid_bucket(bad), "{bad}");
        }
        assert_eq!(
            hex_decode(&hex_encode("backups/x")).as_deref(),
            Some("backups/x")
        );
    }
}
