//! The live world: the seed plus everything that happened since — codes,
//! grants, consents, revocations, resources, operations, DigitalOcean's keys,
//! Droplets and actions, faults and a log of requests — behind one mutex.
//!
//! Handlers take the lock, change what they must and release it before any
//! await, so the emulator behaves like one consistent Azure.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::world::{User, World};

/// A scripted outcome for the next sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInOutcome {
    /// The user clicks Cancel.
    Deny,
    /// The tenant demands admin consent (AADSTS90094).
    AdminConsentRequired,
}

/// Why a user's grants stopped working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Revocation {
    /// Password changed or reset: AADSTS50173.
    PasswordChange,
    /// MFA now required: AADSTS50076.
    MfaRequired,
    /// The user must register for MFA: AADSTS50079.
    MfaRegistration,
    /// The refresh token expired through inactivity: AADSTS700082.
    Expired,
    /// The presented MFA expired: AADSTS50078.
    MfaExpired,
    /// Conditional Access sign-in frequency ended the session: AADSTS70043.
    SignInFrequency,
    /// Blocked by Conditional Access: AADSTS53003.
    ConditionalAccess,
}

impl Revocation {
    /// The AADSTS code and description the token endpoint answers with.
    pub fn aadsts(self) -> (u32, &'static str) {
        match self {
            Revocation::PasswordChange => (50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password."),
            Revocation::MfaRequired => (50076, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '797f4846-ba00-4fd7-ba43-dac1f8f63013'."),
            Revocation::MfaRegistration => (50079, "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '797f4846-ba00-4fd7-ba43-dac1f8f63013'."),
            Revocation::Expired => (700082, "The refresh token has expired due to inactivity. The token was issued on {issued} and was inactive for 90.00:00:00."),
            Revocation::MfaExpired => (50078, "Presented multi-factor authentication has expired due to policies configured by your administrator, you must refresh your multi-factor authentication to access '797f4846-ba00-4fd7-ba43-dac1f8f63013'."),
            Revocation::SignInFrequency => (70043, "The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on {issued}."),
            Revocation::ConditionalAccess => (53003, "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."),
        }
    }
}

/// An authorization code waiting to be redeemed.
#[derive(Debug, Clone)]
pub struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub user: String,
    pub tenant: String,
    pub scope: String,
    pub challenge: Option<(String, String)>,
    pub expires: i64,
    pub redeemed: bool,
    /// The authorize request's `nonce`, echoed in the id_token.
    pub nonce: Option<String>,
}

/// What a refresh token stands for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub client_id: String,
    pub user: String,
    pub scope: String,
    pub issued: i64,
    /// Order of issue, to compare with revocations made in the same second.
    pub seq: u64,
}

/// A blob of the in-memory blob store.
#[derive(Debug, Clone)]
pub struct StoredBlob {
    pub data: Vec<u8>,
    /// Quoted, as the `ETag` header carries it.
    pub etag: String,
    pub created: chrono::DateTime<chrono::Utc>,
    pub last_modified: chrono::DateTime<chrono::Utc>,
    pub content_type: String,
}

/// A long-running operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Operation {
    pub id: String,
    pub subscription: String,
    pub location: String,
    pub namespace: String,
    pub kind: OpKind,
    pub polls_left: u32,
    /// Set when a scripted failure applies: (code, message).
    pub failure: Option<(String, String)>,
    pub status: String,
    pub start: String,
    pub end: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum OpKind {
    /// A PUT of this resource.
    Put(String),
    /// A DELETE of these resources (a resource group takes all its contents).
    Delete(Vec<String>),
    /// A VM's power action (`powerOff`, `deallocate`, `start`, `restart`):
    /// the VM's power becomes `to` when it ends.
    Power { vm: String, to: String },
}

/// A resource that exists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resource {
    /// Its id, in the case it was created with.
    pub id: String,
    /// `Microsoft.Network/virtualNetworks` and so on; resource groups are `resourceGroups`.
    pub kind: String,
    pub subscription: String,
    pub resource_group: Option<String>,
    /// The body a GET returns.
    pub body: Value,
}

/// A fault rule: matching requests get `status` (or a dropped connection,
/// or only latency) until `count` runs out or with `probability`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// A substring of the path (case-insensitive); `*` matches every path.
    pub path: String,
    #[serde(default)]
    pub method: Option<String>,
    /// 429, 500, 503…; absent for latency-only rules.
    #[serde(default)]
    pub status: Option<u16>,
    /// How many requests it applies to; absent for unlimited.
    #[serde(default)]
    pub count: Option<u32>,
    /// Chance it applies to a matching request (0–1); absent for always.
    #[serde(default)]
    pub probability: Option<f64>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    #[serde(default)]
    pub drop_connection: bool,
    /// Seconds for `Retry-After` (default 1), sent only with a 429 or a 503
    /// as Azure does; a 400, 404 or 500 carries none.
    #[serde(default)]
    pub retry_after: Option<u32>,
}

/// A scripted long-running-operation failure: the next PUT whose path contains
/// `path` ends Failed with this code and message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LroFailure {
    pub path: String,
    pub code: String,
    pub message: String,
}

/// One request the emulator answered, for inspection.
#[derive(Debug, Clone, Serialize)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub status: u16,
    /// `grant_type` for token requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
}

/// The mutable world.
pub struct State {
    pub world: World,
    /// Where the emulator is served, e.g. `http://127.0.0.1:4000`.
    pub base_url: String,
    /// The RS256 key its JWTs are signed with (PKCS#8 DER).
    pub key: Vec<u8>,
    pub codes: HashMap<String, Code>,
    pub grants: HashMap<String, Grant>,
    /// user id → (sequence number, reason): grants issued before it are revoked.
    pub revocations: HashMap<String, (u64, Revocation)>,
    /// A counter ordering grants and revocations.
    pub seq: u64,
    /// (user, client) pairs that consented.
    pub consents: HashSet<(String, String)>,
    /// (tenant, client) pairs an admin consented for.
    pub admin_consents: HashSet<(String, String)>,
    pub next_sign_in: Option<SignInOutcome>,
    /// Access tokens issued at or before this sequence number are treated as expired.
    pub tokens_expired_before: Option<u64>,
    /// Lowercased id → resource.
    pub resources: BTreeMap<String, Resource>,
    pub operations: HashMap<String, Operation>,
    /// (subscription, namespace) → polls until Registered.
    pub registering: HashMap<(String, String), u32>,
    pub faults: Vec<Fault>,
    /// When set, the state of the generator that decides probabilistic
    /// faults (xorshift), so a fault matrix can be replayed from its seed.
    pub fault_rng: Option<u64>,
    pub lro_failures: Vec<LroFailure>,
    /// (subscription, reads|writes|deletes) → (remaining, last refill).
    pub rate: HashMap<(String, &'static str), (f64, std::time::Instant)>,
    /// Storage account name → its two keys (kept apart from the body ARM returns).
    pub storage_keys: HashMap<String, Vec<String>>,
    /// (account, container, blob) → the blob, when no Azurite is configured.
    pub blobs: BTreeMap<(String, String, String), StoredBlob>,
    pub log: Vec<Logged>,
    /// Deterministic public IPs: the next host number.
    pub next_ip: u32,
    /// Lowercased VM id → its power (`stopped`, `deallocated`, or a
    /// transition such as `stopping`); a VM not listed runs once provisioned.
    pub vm_power: HashMap<String, String>,
    /// The DigitalOcean API's keys, Droplets, actions and rate windows.
    pub digitalocean: crate::digitalocean::store::Live,
}

impl State {
    pub fn new(world: World, base_url: String) -> State {
        let key = crate::jwt::new_key();
        State {
            world,
            base_url,
            key,
            codes: HashMap::new(),
            grants: HashMap::new(),
            revocations: HashMap::new(),
            seq: 0,
            consents: HashSet::new(),
            admin_consents: HashSet::new(),
            next_sign_in: None,
            tokens_expired_before: None,
            resources: BTreeMap::new(),
            operations: HashMap::new(),
            registering: HashMap::new(),
            faults: Vec::new(),
            fault_rng: None,
            lro_failures: Vec::new(),
            rate: HashMap::new(),
            storage_keys: HashMap::new(),
            blobs: BTreeMap::new(),
            log: Vec::new(),
            next_ip: 10,
            vm_power: HashMap::new(),
            digitalocean: Default::default(),
        }
    }

    /// A user by id or username (case-insensitive).
    pub fn user(&self, key: &str) -> Option<&User> {
        self.world
            .users
            .iter()
            .find(|u| u.id == key || u.username.eq_ignore_ascii_case(key))
    }

    /// The role `user_id` holds on `subscription`, if any (the strongest).
    pub fn role(&self, user_id: &str, subscription: &str) -> Option<&'static str> {
        let user = self.user(user_id)?;
        let held: Vec<&str> = self
            .world
            .role_assignments
            .iter()
            .filter(|r| {
                (r.user == user.id || r.user.eq_ignore_ascii_case(&user.username))
                    && r.subscription.eq_ignore_ascii_case(subscription)
            })
            .map(|r| r.role.as_str())
            .collect();
        ["Owner", "Contributor", "Reader"]
            .into_iter()
            .find(|r| held.contains(r))
    }

    pub fn subscription(&self, id: &str) -> Option<&crate::world::Subscription> {
        self.world
            .subscriptions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id))
    }

    pub fn subscription_mut(&mut self, id: &str) -> Option<&mut crate::world::Subscription> {
        self.world
            .subscriptions
            .iter_mut()
            .find(|s| s.id.eq_ignore_ascii_case(id))
    }

    /// The registration state of `namespace` on `subscription`.
    pub fn provider_state(&self, subscription: &str, namespace: &str) -> String {
        self.subscription(subscription)
            .and_then(|s| {
                s.providers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(namespace))
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_else(|| "NotRegistered".into())
    }

    /// The next sequence number.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn resource(&self, id: &str) -> Option<&Resource> {
        self.resources.get(&id.to_ascii_lowercase())
    }

    /// A fresh deterministic public IPv4 address from 20.0.0.0/8.
    pub fn allocate_ip(&mut self) -> String {
        let n = self.next_ip;
        self.next_ip += 1;
        format!(
            "20.{}.{}.{}",
            100 + (n >> 16) % 100,
            (n >> 8) & 0xff,
            n & 0xff
        )
    }
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// ISO 8601 with fractional seconds, as ARM writes times.
pub fn iso_now() -> String {
    let now = chrono::Utc::now();
    format!(
        "{}.{:07}Z",
        now.format("%Y-%m-%dT%H:%M:%S"),
        now.timestamp_subsec_nanos() / 100
    )
}

/// A new GUID.
pub fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// What of the live state outlives the process: signing key, grants and
/// consents, revocations, resources, operations, storage keys and the
/// DigitalOcean world — so a restarted emulator (the sandbox's) keeps every
/// connected account working.
/// Codes, faults and the request log are transient and not kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub key: Vec<u8>,
    pub grants: HashMap<String, Grant>,
    pub revocations: HashMap<String, (u64, Revocation)>,
    pub seq: u64,
    pub consents: Vec<(String, String)>,
    pub admin_consents: Vec<(String, String)>,
    pub tokens_expired_before: Option<u64>,
    pub resources: BTreeMap<String, Resource>,
    pub operations: HashMap<String, Operation>,
    pub registering: Vec<(String, String, u32)>,
    pub storage_keys: HashMap<String, Vec<String>>,
    pub next_ip: u32,
    /// Absent from snapshots made before the DigitalOcean API existed.
    #[serde(default)]
    pub digitalocean: crate::digitalocean::store::Live,
}

impl State {
    /// The part of the state worth keeping across a restart.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            key: self.key.clone(),
            grants: self.grants.clone(),
            revocations: self.revocations.clone(),
            seq: self.seq,
            consents: self.consents.iter().cloned().collect(),
            admin_consents: self.admin_consents.iter().cloned().collect(),
            tokens_expired_before: self.tokens_expired_before,
            resources: self.resources.clone(),
            operations: self.operations.clone(),
            registering: self
                .registering
                .iter()
                .map(|((a, b), n)| (a.clone(), b.clone(), *n))
                .collect(),
            storage_keys: self.storage_keys.clone(),
            next_ip: self.next_ip,
            digitalocean: self.digitalocean.clone(),
        }
    }

    /// Puts a snapshot back (over a freshly seeded state).
    pub fn restore(&mut self, s: Snapshot) {
        // An older emulator's key of another kind is replaced: the tokens
        // it signed expire, and the grants behind them stay.
        if crate::jwt::usable(&s.key) {
            self.key = s.key;
        }
        self.grants = s.grants;
        self.revocations = s.revocations;
        self.seq = s.seq;
        self.consents = s.consents.into_iter().collect();
        self.admin_consents = s.admin_consents.into_iter().collect();
        self.tokens_expired_before = s.tokens_expired_before;
        self.resources = s.resources;
        self.operations = s.operations;
        self.registering = s
            .registering
            .into_iter()
            .map(|(a, b, n)| ((a, b), n))
            .collect();
        self.storage_keys = s.storage_keys;
        self.next_ip = s.next_ip;
        self.digitalocean = s.digitalocean;
    }
}
