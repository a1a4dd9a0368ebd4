//! DigitalOcean keeps DNS records one by one, each with its own id; the
//! contract speaks of record sets (all records of one name and type) that
//! carry an etag. This file groups records into sets, computes a set's etag
//! from what makes it up, and plans the record writes that turn one set
//! into another — pure functions, so every rule is tested natively.

use serde_json::Value;

/// The record types the contract carries, as DigitalOcean spells them.
pub const TYPES: [&str; 4] = ["A", "AAAA", "CNAME", "TXT"];

/// One of DigitalOcean's records, as much of it as a record set needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: u64,
    pub kind: String,
    /// Relative to the domain; `@` is the apex.
    pub name: String,
    pub data: String,
    pub ttl: u32,
}

impl Record {
    /// A record from the API's JSON; `None` for one without an id or type.
    pub fn from_json(v: &Value) -> Option<Record> {
        Some(Record {
            id: v["id"].as_u64()?,
            kind: v["type"].as_str()?.to_ascii_uppercase(),
            name: v["name"].as_str().unwrap_or("@").to_string(),
            data: v["data"].as_str().unwrap_or_default().to_string(),
            ttl: v["ttl"].as_u64().unwrap_or(1800) as u32,
        })
    }
}

/// A record set: the records of one name and type, in id order.
#[derive(Debug, Clone, PartialEq)]
pub struct Set {
    pub name: String,
    pub kind: String,
    pub records: Vec<Record>,
}

impl Record {
    /// A digest of what a record holds (its value and time to live).
    fn digest(&self) -> u32 {
        let mut hash: u32 = 0x811c_9dc5;
        for b in self
            .data
            .bytes()
            .chain([0u8])
            .chain(self.ttl.to_string().bytes())
        {
            hash ^= u32::from(b);
            hash = hash.wrapping_mul(0x0100_0193);
        }
        hash
    }

    fn mark(&self) -> (u64, u32) {
        (self.id, self.digest())
    }
}

/// The records an etag was made of: (id, digest) pairs.
fn marks(etag: &str) -> Vec<(u64, u32)> {
    etag.trim_matches('"')
        .split('.')
        .filter_map(|m| {
            let (id, digest) = m.split_once('-')?;
            Some((
                u64::from_str_radix(id, 16).ok()?,
                u32::from_str_radix(digest, 16).ok()?,
            ))
        })
        .collect()
}

impl Set {
    /// Its etag: every record's id and a digest of its value and time to
    /// live, in id order — so any change to the set, made here or anywhere
    /// else, gives another one, and a write resumed after a crash can tell
    /// its own partial work from someone else's change.
    pub fn etag(&self) -> String {
        let mut records: Vec<&Record> = self.records.iter().collect();
        records.sort_by_key(|r| r.id);
        let marks: Vec<String> = records
            .iter()
            .map(|r| format!("{:x}-{:08x}", r.id, r.digest()))
            .collect();
        format!("\"{}\"", marks.join("."))
    }

    /// The set's time to live: DigitalOcean keeps one per record, and the
    /// shortest is the one a resolver may hold the set for.
    pub fn ttl(&self) -> u32 {
        self.records.iter().map(|r| r.ttl).min().unwrap_or(1800)
    }
}

/// Groups records into sets (the contract's types only), by name and type.
pub fn group(records: Vec<Record>) -> Vec<Set> {
    let mut sets: Vec<Set> = Vec::new();
    let mut records: Vec<Record> = records
        .into_iter()
        .filter(|r| TYPES.contains(&r.kind.as_str()))
        .collect();
    records.sort_by(|a, b| (&a.name, &a.kind, a.id).cmp(&(&b.name, &b.kind, b.id)));
    for r in records {
        match sets.last_mut() {
            Some(s) if s.name == r.name && s.kind == r.kind => s.records.push(r),
            _ => sets.push(Set {
                name: r.name.clone(),
                kind: r.kind.clone(),
                records: vec![r],
            }),
        }
    }
    sets
}

/// Whether `current` is what a write of `wanted` with `ttl` leaves when it
/// stopped part way: every record is either one the caller read (named by
/// `read`, the etag it read with; none for a create-only write) and still
/// unchanged, or one that already holds a wanted value with that ttl. A
/// write resumed after a crash goes on from there; anything else is a
/// change made by someone else.
pub fn resumable(current: &[Record], read: Option<&str>, wanted: &[String], ttl: u32) -> bool {
    let read = read.map(marks).unwrap_or_default();
    current
        .iter()
        .all(|r| read.contains(&r.mark()) || (r.ttl == ttl && wanted.contains(&r.data)))
}

/// Whether `current` is what is left of the set read with `read` after a
/// deletion stopped part way: only records read then, unchanged.
pub fn left_of(current: &[Record], read: &str) -> bool {
    let read = marks(read);
    current.iter().all(|r| read.contains(&r.mark()))
}

/// One write to the API.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Create { data: String },
    Update { id: u64, data: String },
    Delete { id: u64 },
}

/// The writes that make `current` hold exactly `wanted` with `ttl`: a
/// record whose data is wanted stays (its ttl mended), other records are
/// reused for the remaining values, and only what is left over is deleted —
/// last, so the name never resolves to nothing in between.
pub fn plan(current: &[Record], wanted: &[String], ttl: u32) -> Vec<Write> {
    let mut wanted: Vec<&String> = wanted.iter().collect();
    let mut seen = Vec::new();
    wanted.retain(|w| {
        let first = !seen.contains(w);
        seen.push(*w);
        first
    });
    let mut keep = Vec::new();
    let mut spare = Vec::new();
    let mut writes = Vec::new();
    for r in current {
        match wanted.iter().position(|w| **w == r.data) {
            Some(i) if !keep.contains(&i) => {
                keep.push(i);
                if r.ttl != ttl {
                    writes.push(Write::Update {
                        id: r.id,
                        data: r.data.clone(),
                    });
                }
            }
            _ => spare.push(r.id),
        }
    }
    let mut spare = spare.into_iter();
    for (i, data) in wanted.iter().enumerate() {
        if keep.contains(&i) {
            continue;
        }
        writes.push(match spare.next() {
            Some(id) => Write::Update {
                id,
                data: (*data).clone(),
            },
            None => Write::Create {
                data: (*data).clone(),
            },
        });
    }
    writes.extend(spare.map(|id| Write::Delete { id }));
    writes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: u64, kind: &str, name: &str, data: &str, ttl: u32) -> Record {
        Record {
            id,
            kind: kind.into(),
            name: name.into(),
            data: data.into(),
            ttl,
        }
    }

    #[test]
    fn records_group_into_sets_of_the_contracts_types() {
        let sets = group(vec![
            rec(3, "A", "www", "203.0.113.2", 1800),
            rec(1, "NS", "@", "ns1.digitalocean.com", 1800),
            rec(2, "A", "www", "203.0.113.1", 300),
            rec(4, "TXT", "@", "v=spf1 -all", 3600),
            rec(5, "SOA", "@", "1800", 1800),
        ]);
        assert_eq!(sets.len(), 2);
        assert_eq!((sets[0].name.as_str(), sets[0].kind.as_str()), ("@", "TXT"));
        assert_eq!(
            sets[1].records.iter().map(|r| r.id).collect::<Vec<_>>(),
            [2, 3]
        );
        assert_eq!(sets[1].ttl(), 300);
    }

    #[test]
    fn any_change_to_a_set_changes_its_etag() {
        let set = |records| Set {
            name: "www".into(),
            kind: "A".into(),
            records,
        };
        let base = set(vec![rec(1, "A", "www", "203.0.113.1", 1800)]);
        let etag = base.etag();
        assert_eq!(etag, base.clone().etag(), "the same set, the same etag");
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        assert_eq!(marks(&etag), [(1, base.records[0].digest())]);
        for other in [
            set(vec![rec(1, "A", "www", "203.0.113.2", 1800)]),
            set(vec![rec(1, "A", "www", "203.0.113.1", 300)]),
            // Deleted and made again with the same value: another record.
            set(vec![rec(9, "A", "www", "203.0.113.1", 1800)]),
            set(vec![
                rec(1, "A", "www", "203.0.113.1", 1800),
                rec(2, "A", "www", "203.0.113.2", 1800),
            ]),
        ] {
            assert_ne!(other.etag(), etag, "{other:?}");
        }
    }

    #[test]
    fn a_write_stopped_part_way_is_told_from_someone_elses_change() {
        let read = Set {
            name: "www".into(),
            kind: "A".into(),
            records: vec![
                rec(1, "A", "www", "203.0.113.1", 1800),
                rec(2, "A", "www", "203.0.113.2", 1800),
            ],
        };
        let etag = read.etag();
        let want = vec!["203.0.113.1".to_string(), "198.51.100.7".to_string()];
        // Created the new value, not yet deleted the old one: resumable.
        let partway = [
            read.records[0].clone(),
            read.records[1].clone(),
            rec(3, "A", "www", "198.51.100.7", 300),
        ];
        assert!(resumable(&partway, Some(&etag), &want, 300));
        // Someone changed a record the caller read: not resumable.
        let changed = [rec(1, "A", "www", "203.0.113.9", 1800)];
        assert!(!resumable(&changed, Some(&etag), &want, 300));
        // A create-only write: only records that hold wanted values.
        assert!(resumable(&partway[2..], None, &want, 300));
        assert!(!resumable(&partway, None, &want, 300));
        // A deletion stopped part way leaves only records that were read.
        assert!(left_of(&read.records[1..], &etag));
        assert!(!left_of(&changed, &etag));
        assert!(marks("\"garbage\"").is_empty());
    }

    #[test]
    fn a_plan_keeps_what_is_wanted_and_deletes_last() {
        let current = [
            rec(1, "A", "www", "203.0.113.1", 1800),
            rec(2, "A", "www", "203.0.113.2", 1800),
            rec(3, "A", "www", "203.0.113.3", 1800),
        ];
        let want = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // Nothing to do when the set already holds.
        assert!(plan(
            &current,
            &want(&["203.0.113.1", "203.0.113.2", "203.0.113.3"]),
            1800
        )
        .is_empty());
        // One value replaced by reusing a record; one dropped, deleted last.
        assert_eq!(
            plan(&current, &want(&["203.0.113.1", "198.51.100.7"]), 1800),
            [
                Write::Update {
                    id: 2,
                    data: "198.51.100.7".into()
                },
                Write::Delete { id: 3 }
            ]
        );
        // A new ttl touches every kept record.
        assert_eq!(
            plan(&current[..1], &want(&["203.0.113.1", "203.0.113.9"]), 300),
            [
                Write::Update {
                    id: 1,
                    data: "203.0.113.1".into()
                },
                Write::Create {
                    data: "203.0.113.9".into()
                }
            ]
        );
        // An empty set is made from nothing; duplicates ask once.
        assert_eq!(
            plan(&[], &want(&["x", "y", "x"]), 30),
            [
                Write::Create { data: "x".into() },
                Write::Create { data: "y".into() }
            ]
        );
    }
}
