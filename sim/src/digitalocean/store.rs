//! The live DigitalOcean world: SSH keys, Droplets, actions, domains and
//! their records, cloud firewalls, reserved IPs and tags (made by the tags
//! API or by Droplets' creates), per team; OAuth grants with their access
//! and refresh tokens, and authorization codes; the id counters, and each
//! token's rate-limit window. It is one field of
//! [`crate::state::State`], behind the same mutex as the Azure world, and
//! (but for the rate-limit windows and the codes, which live minutes) part
//! of the snapshot a restart keeps.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

/// An SSH key registered on a team.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Key {
    pub id: u64,
    pub team: String,
    pub name: String,
    pub public_key: String,
    /// MD5 of the decoded key blob, colon-separated hex.
    pub fingerprint: String,
}

/// A Droplet. Its size, region and image objects are rendered from the
/// catalogue; what varies per Droplet is kept here.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Droplet {
    pub id: u64,
    pub team: String,
    pub name: String,
    pub region: String,
    pub size: String,
    /// GB; it stays when a resize changes only CPU and memory.
    pub disk: u32,
    /// `new`, `active` or `off`.
    pub status: String,
    pub created_at: String,
    pub tags: Vec<String>,
    pub ipv6: bool,
    pub monitoring: bool,
    pub backups: bool,
    /// Whether the droplet agent (web console) was installed.
    pub agent: bool,
    pub ssh_keys: Vec<u64>,
    pub user_data: Option<String>,
    pub vpc_uuid: String,
    /// The host number its addresses are made from, once it is active.
    pub host: Option<u32>,
}

/// An action: an event on a Droplet or on a reserved IP.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Action {
    pub id: u64,
    pub team: String,
    /// `create`, `power_off`, `shutdown`, `power_on`, `reboot`, `power_cycle`,
    /// `resize`; on a reserved IP `reserve_ip`, `assign_ip` or `unassign_ip`.
    pub kind: String,
    /// The Droplet the action is on; 0 for a reserved IP's action, so no
    /// Droplet counts it as its own pending event.
    pub droplet: u64,
    pub region: String,
    /// `in-progress`, `completed` or `errored`.
    pub status: String,
    pub started_at: String,
    pub completed_at: Option<String>,
    /// Reads left before it completes.
    pub polls_left: u32,
    /// For a resize: the new size and whether the disk grows with it.
    pub size: Option<String>,
    pub disk: bool,
    /// For a reserved IP's action: its address. Absent from snapshots made
    /// before reserved IPs, whose actions were all on Droplets.
    #[serde(default)]
    pub ip: Option<String>,
    /// For an `assign_ip`: the Droplet the address moves to when it completes.
    #[serde(default)]
    pub target: Option<u64>,
}

/// A domain (a DNS zone served by DigitalOcean's name servers) a team manages.
/// Its TTL and zone file are rendered from its records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Domain {
    /// Lowercase, without a trailing dot: `example.com`.
    pub name: String,
    pub team: String,
    /// The zone's serial: the unix time of its last change, as the SOA line
    /// of DigitalOcean's zone files shows it.
    pub serial: i64,
}

/// A record of a domain, kept as the API answers it: `name` relative to the
/// domain (`@` for the apex), hostnames in `data` without their trailing dot,
/// and the fields the record's type does not use left `None` (`null`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: u64,
    /// The domain's name (the key of [`Live::domains`]).
    pub domain: String,
    /// `A`, `AAAA`, `CAA`, `CNAME`, `MX`, `NS`, `SRV`, `TXT` or `SOA`.
    pub kind: String,
    pub name: String,
    pub data: String,
    pub priority: Option<u32>,
    pub port: Option<u32>,
    pub ttl: u32,
    pub weight: Option<u32>,
    pub flags: Option<u32>,
    pub tag: Option<String>,
}

/// A cloud firewall. Its rules are kept as the API answers them (see
/// `firewalls::rule`), so a read gives back what the last write set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Firewall {
    /// A uuid, as DigitalOcean names firewalls.
    pub id: String,
    pub team: String,
    pub name: String,
    pub created_at: String,
    pub inbound_rules: Vec<serde_json::Value>,
    pub outbound_rules: Vec<serde_json::Value>,
    pub droplet_ids: Vec<u64>,
    pub tags: Vec<String>,
    /// Reads left before the last change is applied to its Droplets: until
    /// then `status` is `waiting` and `pending_changes` lists them.
    pub polls_left: u32,
    /// The Droplets the last change touches, and whether it removes them.
    pub pending: Vec<(u64, bool)>,
}

/// A reserved IP: a public IPv4 address held by a team in one region, and
/// pointed at (at most) one of its Droplets there.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReservedIp {
    /// Dotted quad; the address is its own identifier.
    pub ip: String,
    pub team: String,
    pub region: String,
    /// The Droplet it is assigned to, once an `assign_ip` completed.
    pub droplet: Option<u64>,
    pub project_id: String,
}

/// An authorization code waiting to be redeemed at `/v1/oauth/token`: single
/// use, for ten minutes, by the client it was issued to.
#[derive(Debug, Clone)]
pub struct OAuthCode {
    pub client_id: String,
    /// Exactly as the authorize request gave it; the token request must repeat it.
    pub redirect_uri: String,
    pub team: String,
    /// Granted scopes, space separated (`read` or `read write`).
    pub scope: String,
    /// PKCE `(code_challenge, code_challenge_method)`, when one was sent.
    pub challenge: Option<(String, String)>,
    pub expires: i64,
}

/// What a user granted an OAuth application on one team, and the tokens
/// that carry it now: one access token and one refresh token at a time,
/// since a refresh replaces both (and the old access token stops working).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OAuthGrant {
    /// A uuid; it stays the same across refreshes.
    pub id: String,
    pub client_id: String,
    pub team: String,
    /// Space separated, `read` and/or `write`.
    pub scope: String,
    /// Unix time of the authorization.
    pub created_at: i64,
    pub access_token: String,
    /// Unix time the access token stops working.
    pub expires: i64,
    pub refresh_token: String,
}

impl OAuthGrant {
    pub fn can_write(&self) -> bool {
        self.scope.split_whitespace().any(|s| s == "write")
    }
}

/// A Spaces access key (`/v2/spaces/keys`): its secret is shown once, when
/// it is made, and signs S3 requests to the team's buckets as its grants
/// allow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpacesKey {
    pub access_key: String,
    pub secret_key: String,
    pub team: String,
    pub name: String,
    /// (bucket, permission): `read`, `readwrite` or `fullaccess`; the bucket
    /// `""` with `fullaccess` is every bucket of the team.
    pub grants: Vec<(String, String)>,
    pub created_at: String,
}

/// A Spaces bucket. Names are unique across every team and region.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    pub team: String,
    pub region: String,
    pub created_at: String,
}

/// An object in a bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpaceObject {
    pub body: Vec<u8>,
    /// The MD5 of the body in hex, quoted as S3 sends it.
    pub etag: String,
    /// RFC 7231 (for `Last-Modified`) and ISO 8601 (for listings).
    pub modified_http: String,
    pub modified_iso: String,
    pub content_type: Option<String>,
}

/// Everything the DigitalOcean API has made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Live {
    pub keys: BTreeMap<u64, Key>,
    pub droplets: BTreeMap<u64, Droplet>,
    pub actions: BTreeMap<u64, Action>,
    /// Domain name → domain. A name is unique across every team, as it is
    /// at DigitalOcean. Absent (empty) in snapshots made before domains.
    #[serde(default)]
    pub domains: BTreeMap<String, Domain>,
    /// Record id → record, of every domain.
    #[serde(default)]
    pub records: BTreeMap<u64, Record>,
    /// The seed's (team, domain) pairs already put here, so a seed domain
    /// someone deleted is not made again when the seed is applied after a
    /// restart or when a team is added.
    #[serde(default)]
    pub seeded: BTreeSet<(String, String)>,
    /// Firewall id → firewall. Absent (empty) in snapshots made before
    /// firewalls, as are the two fields after it.
    #[serde(default)]
    pub firewalls: BTreeMap<String, Firewall>,
    /// Address → reserved IP.
    #[serde(default)]
    pub reserved_ips: BTreeMap<String, ReservedIp>,
    /// (team, tag) of every tag the team has: DigitalOcean makes a tag when
    /// `POST /v2/tags` asks or a Droplet is created with it, and keeps it
    /// after the Droplet is gone (or untagged) until the tag is deleted; a
    /// firewall may only name tags that exist.
    #[serde(default)]
    pub tags: BTreeSet<(String, String)>,
    /// (team, tag, Droplet) for each tag whose last tagging was by
    /// `POST /v2/tags/{name}/resources`: the tag's `last_tagged_uri` names
    /// that Droplet while it carries the tag. Absent (empty) in snapshots
    /// made before the tags API.
    #[serde(default)]
    pub last_tagged: Vec<(String, String, u64)>,
    pub next_key: u64,
    pub next_droplet: u64,
    pub next_action: u64,
    #[serde(default = "first_record")]
    pub next_record: u64,
    pub next_host: u32,
    /// The host number (in 192.0.2.0/24) the next reserved IP is tried at.
    #[serde(default)]
    pub next_reserved: u32,
    /// Token → the unix times of its requests in the last hour: each request
    /// counts for an hour from when it was made, as DigitalOcean counts them.
    #[serde(skip)]
    pub windows: HashMap<String, VecDeque<i64>>,
    /// Grant id → the OAuth grant, while it lasts (revoking it removes it).
    /// Absent (empty) in snapshots made before the OAuth server.
    #[serde(default)]
    pub oauth_grants: BTreeMap<String, OAuthGrant>,
    /// Authorization code → what it stands for; transient, like Azure's.
    #[serde(skip)]
    pub oauth_codes: HashMap<String, OAuthCode>,
    /// Access key → Spaces key. Absent (empty) in snapshots made before
    /// Spaces, as are the two fields after it.
    #[serde(default)]
    pub spaces_keys: BTreeMap<String, SpacesKey>,
    /// Bucket name → bucket.
    #[serde(default)]
    pub buckets: BTreeMap<String, Bucket>,
    /// Bucket name → key → object.
    #[serde(default)]
    pub objects: BTreeMap<String, BTreeMap<String, SpaceObject>>,
}

/// Record ids start apart from every other counter's range, so a test that
/// mixes them up sees a 404 rather than another resource.
fn first_record() -> u64 {
    1_850_000_001
}

impl Default for Live {
    /// Ids start at the magnitudes DigitalOcean's have reached, so a client
    /// that keeps them in 32 bits fails here as it would there (action ids
    /// are past 2^31).
    fn default() -> Self {
        Live {
            keys: BTreeMap::new(),
            droplets: BTreeMap::new(),
            actions: BTreeMap::new(),
            domains: BTreeMap::new(),
            records: BTreeMap::new(),
            seeded: BTreeSet::new(),
            firewalls: BTreeMap::new(),
            reserved_ips: BTreeMap::new(),
            tags: BTreeSet::new(),
            last_tagged: Vec::new(),
            next_key: 43_210_001,
            next_droplet: 480_112_001,
            next_action: 2_600_000_001,
            next_record: first_record(),
            next_host: 0,
            next_reserved: 0,
            windows: HashMap::new(),
            oauth_grants: BTreeMap::new(),
            oauth_codes: HashMap::new(),
            spaces_keys: BTreeMap::new(),
            buckets: BTreeMap::new(),
            objects: BTreeMap::new(),
        }
    }
}

impl Live {
    pub fn key_id(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key - 1
    }

    pub fn droplet_id(&mut self) -> u64 {
        self.next_droplet += 1;
        self.next_droplet - 1
    }

    pub fn action_id(&mut self) -> u64 {
        self.next_action += 1;
        self.next_action - 1
    }

    pub fn record_id(&mut self) -> u64 {
        self.next_record += 1;
        self.next_record - 1
    }

    pub fn host(&mut self) -> u32 {
        self.next_host += 1;
        self.next_host - 1
    }

    /// A key of `team` by id or fingerprint.
    pub fn key(&self, team: &str, ident: &str) -> Option<&Key> {
        self.keys.values().find(|k| {
            k.team == team && (k.fingerprint == ident || ident.parse::<u64>() == Ok(k.id))
        })
    }

    pub fn droplet(&self, team: &str, id: u64) -> Option<&Droplet> {
        self.droplets.get(&id).filter(|d| d.team == team)
    }

    /// A domain of `team`, by name in any case.
    pub fn domain(&self, team: &str, name: &str) -> Option<&Domain> {
        self.domains
            .get(&name.to_ascii_lowercase())
            .filter(|d| d.team == team)
    }

    /// The records of a domain, oldest first.
    pub fn records_of<'a>(&'a self, domain: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
        self.records.values().filter(move |r| r.domain == domain)
    }

    /// A firewall of `team` by id.
    pub fn firewall(&self, team: &str, id: &str) -> Option<&Firewall> {
        self.firewalls.get(id).filter(|f| f.team == team)
    }

    /// A reserved IP of `team` by address.
    pub fn reserved_ip(&self, team: &str, ip: &str) -> Option<&ReservedIp> {
        self.reserved_ips.get(ip).filter(|r| r.team == team)
    }

    /// Whether `team` has the tag, spelled as it was made: made by the tags
    /// API or a Droplet's create, or carried by
    /// one of its Droplets (which covers Droplets restored from a snapshot
    /// made before tags were kept).
    pub fn tag_exists(&self, team: &str, tag: &str) -> bool {
        self.tags.contains(&(team.to_string(), tag.to_string()))
            || self
                .droplets
                .values()
                .any(|d| d.team == team && d.tags.iter().any(|t| t == tag))
    }

    /// The action a reserved IP is busy with, if any.
    pub fn pending_ip(&self, ip: &str) -> Option<u64> {
        self.actions
            .values()
            .find(|a| a.ip.as_deref() == Some(ip) && a.status == "in-progress")
            .map(|a| a.id)
    }

    /// The grant whose current access token this is (expired or not).
    pub fn grant_by_access(&self, token: &str) -> Option<&OAuthGrant> {
        self.oauth_grants.values().find(|g| g.access_token == token)
    }

    /// The grant whose current refresh token this is.
    pub fn grant_by_refresh(&self, token: &str) -> Option<&OAuthGrant> {
        self.oauth_grants
            .values()
            .find(|g| g.refresh_token == token)
    }

    /// The action a Droplet is busy with, if any.
    pub fn pending(&self, droplet: u64) -> Option<u64> {
        self.actions
            .values()
            .find(|a| a.droplet == droplet && a.status == "in-progress")
            .map(|a| a.id)
    }
}
