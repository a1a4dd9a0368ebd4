//! Azure's naming rules, checked before a value becomes part of an ARM URL:
//! each kind of name with its character set and length, regions, and resource
//! ids parsed down to their parts. Every plugin checks its inputs here, and
//! `Arm` refuses any path a segment could bend (`path_is_safe`), so a value
//! that slipped past a plugin still cannot reach another resource.

use crate::error::ArmError;

/// The kinds of name Skyport puts into ARM URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name {
    /// A subscription id: a GUID.
    Subscription,
    /// 1–90 letters, digits, `_`, `-`, `.`, `(`, `)`; not ending in `.`.
    ResourceGroup,
    /// 3–24 lowercase letters and digits.
    StorageAccount,
    /// 3–63 lowercase letters, digits and single hyphens, starting and
    /// ending with a letter or digit.
    Container,
    /// A location's programmatic name: 1–40 lowercase letters and digits.
    Region,
    /// A server: 1–64 lowercase letters, digits and hyphens, starting with a
    /// letter or digit (it names a VM, its group and its network resources).
    Server,
    /// A resource provider namespace such as `Microsoft.Compute`.
    ProviderNamespace,
    /// A DNS zone: a domain name of 2–34 labels.
    DnsZone,
    /// A record set's name relative to its zone: `@`, or labels of letters,
    /// digits, `-` and `_`, the first of which may be `*`.
    RecordName,
    /// A VM size such as `Standard_B2s`: letters, digits and `_`, 1–64.
    VmSize,
}

impl Name {
    fn what(self) -> &'static str {
        match self {
            Name::Subscription => "subscription id",
            Name::ResourceGroup => "resource group name",
            Name::StorageAccount => "storage account name",
            Name::Container => "container name",
            Name::Region => "region",
            Name::Server => "server name",
            Name::ProviderNamespace => "resource provider namespace",
            Name::DnsZone => "DNS zone name",
            Name::RecordName => "record name",
            Name::VmSize => "VM size",
        }
    }

    fn rule(self) -> &'static str {
        match self {
            Name::Subscription => "a GUID such as 8d2c1e44-1f3b-4c55-a3f2-6c1b9a0e7d10",
            Name::ResourceGroup => "1–90 letters, digits, underscores, hyphens, periods and parentheses, not ending in a period",
            Name::StorageAccount => "3–24 lowercase letters and digits",
            Name::Container => "3–63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit",
            Name::Region => "a region's name such as eastus or westeurope (lowercase letters and digits)",
            Name::Server => "1–64 lowercase letters, digits and hyphens, starting with a letter or digit",
            Name::ProviderNamespace => "a namespace such as Microsoft.Compute",
            Name::DnsZone => "a domain name such as example.com",
            Name::RecordName => "@ or a name such as www, _acme-challenge or *.app (letters, digits, hyphens, underscores)",
            Name::VmSize => "a size such as Standard_B2s",
        }
    }
}

/// A refused value as its message quotes it: escaped, and cut at `max`
/// characters with an ellipsis, so a long value neither floods the message
/// nor looks whole when it is not.
fn shown(value: &str, max: usize) -> String {
    let mut out: String = value
        .chars()
        .take(max)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if value.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

fn invalid(kind: Name, value: &str) -> ArmError {
    let shown = shown(value, 80);
    ArmError {
        status: 400,
        code: "InvalidInput".into(),
        message: format!(
            "`{shown}` is not a valid {}: use {}.",
            kind.what(),
            kind.rule()
        ),
        target: Some(kind.what().into()),
        retry_after: None,
    }
}

fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn dns_label(l: &str) -> bool {
    (1..=63).contains(&l.len())
        && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !l.starts_with('-')
        && !l.ends_with('-')
}

/// Checks `value` against the rules of `kind`.
pub fn check(kind: Name, value: &str) -> Result<(), ArmError> {
    let ok = match kind {
        Name::Subscription => is_guid(value),
        Name::ResourceGroup => {
            (1..=90).contains(&value.len())
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.()".contains(c))
                && !value.ends_with('.')
                && value != "."
                && value != ".."
        }
        Name::StorageAccount => (3..=24).contains(&value.len()) && value.chars().all(lower_alnum),
        Name::Container => {
            (3..=63).contains(&value.len())
                && value.chars().all(|c| lower_alnum(c) || c == '-')
                && value.starts_with(lower_alnum)
                && value.ends_with(lower_alnum)
                && !value.contains("--")
        }
        Name::Region => (1..=40).contains(&value.len()) && value.chars().all(lower_alnum),
        Name::Server => {
            (1..=64).contains(&value.len())
                && value.chars().all(|c| lower_alnum(c) || c == '-')
                && value.starts_with(lower_alnum)
        }
        Name::ProviderNamespace => {
            (3..=64).contains(&value.len())
                && value.split('.').count() >= 2
                && value
                    .split('.')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
        }
        Name::DnsZone => {
            value.len() <= 253
                && (2..=34).contains(&value.split('.').count())
                && value.split('.').all(dns_label)
        }
        Name::RecordName => {
            value == "@"
                || (value.len() <= 253
                    && value.split('.').enumerate().all(|(i, l)| {
                        (i == 0 && l == "*")
                            || ((1..=63).contains(&l.len())
                                && l.chars()
                                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                    }))
        }
        Name::VmSize => {
            (1..=64).contains(&value.len())
                && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(kind, value))
    }
}

/// A resource id taken apart:
/// `/subscriptions/{s}/resourceGroups/{g}/providers/{namespace}/{type}/{name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceId {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
}

impl ResourceId {
    /// The canonical id, rebuilt from checked parts.
    pub fn to_path(&self, namespace: &str, kind: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{namespace}/{kind}/{}",
            self.subscription, self.resource_group, self.name
        )
    }
}

/// Parses `id` as a resource of `namespace/kind` (compared without case, as
/// ARM does) whose name follows `name`, in `subscription` if one is given.
pub fn resource_id(
    id: &str,
    namespace: &str,
    kind: &str,
    name: Name,
    subscription: Option<&str>,
) -> Result<ResourceId, ArmError> {
    let expected = format!(
        "a resource id of the form /subscriptions/{{subscription}}/resourceGroups/{{group}}/providers/{namespace}/{kind}/{{name}}"
    );
    let wrong = |why: &str| {
        // An id is quoted whole up to a long id's length: the wrong
        // part is often at its end.
        let shown = shown(id, 300);
        ArmError {
            status: 400,
            code: "InvalidResourceId".into(),
            message: format!("`{shown}` is not {expected}: {why}."),
            target: Some("id".into()),
            retry_after: None,
        }
    };
    if id.len() > 1024 {
        return Err(wrong("it is too long"));
    }
    let parts: Vec<&str> = id.split('/').collect();
    let [empty, subs, sub, groups, group, providers, ns, ty, resource] = parts.as_slice() else {
        return Err(wrong("it does not have that shape"));
    };
    if !empty.is_empty()
        || !subs.eq_ignore_ascii_case("subscriptions")
        || !groups.eq_ignore_ascii_case("resourceGroups")
        || !providers.eq_ignore_ascii_case("providers")
    {
        return Err(wrong("it does not have that shape"));
    }
    if !ns.eq_ignore_ascii_case(namespace) || !ty.eq_ignore_ascii_case(kind) {
        return Err(wrong(&format!("it names a {ns}/{ty}")));
    }
    check(Name::Subscription, sub)?;
    check(Name::ResourceGroup, group)?;
    check(name, resource)?;
    if let Some(s) = subscription {
        if !s.eq_ignore_ascii_case(sub) {
            return Err(wrong("it belongs to another subscription"));
        }
    }
    Ok(ResourceId {
        subscription: sub.to_string(),
        resource_group: group.to_string(),
        name: resource.to_string(),
    })
}

/// Whether a path Skyport built can go to ARM as it is: absolute, each
/// segment non-empty and free of anything that would change which resource or
/// query the URL names (`.`/`..`, `%`, `#`, `\`, white space, controls); the
/// query, if any, free of `#`, white space and controls.
pub fn path_is_safe(path: &str) -> bool {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let clean = |s: &str| {
        !s.chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '#' || c == '\\' || !c.is_ascii())
    };
    path.starts_with('/')
        && path[1..].split('/').all(|seg| {
            !seg.is_empty() && seg != "." && seg != ".." && !seg.contains('%') && clean(seg)
        })
        && query.is_none_or(|q| clean(q) && !q.contains('?'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "8d2c1e44-1f3b-4c55-a3f2-6c1b9a0e7d10";

    #[test]
    fn a_long_value_is_quoted_cut_with_an_ellipsis_and_a_long_id_whole() {
        let e = check(Name::StorageAccount, &"a".repeat(100)).unwrap_err();
        assert!(
            e.message.starts_with(&format!("`{}…`", "a".repeat(80))),
            "{}",
            e.message
        );
        let e = check(Name::StorageAccount, "ab").unwrap_err();
        assert!(e.message.starts_with("`ab` "), "{}", e.message);
        let id = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/dnsZones/contoso-apps.com/A/www");
        let e = resource_id(&id, "Microsoft.Network", "dnsZones", Name::DnsZone, None).unwrap_err();
        assert!(e.message.contains(&format!("`{id}`")), "{}", e.message);
    }

    #[test]
    fn names_follow_azures_rules() {
        for (kind, good, bad) in [
            (
                Name::ResourceGroup,
                vec!["rg", "my_rg-(1).x", "a"],
                vec![
                    "",
                    "rg.",
                    "rg/providers",
                    "rg?x",
                    "a b",
                    "r%2F",
                    "..",
                    &"x".repeat(91),
                ],
            ),
            (
                Name::StorageAccount,
                vec!["abc", "backups2026"],
                vec!["ab", "Backups", "back-ups", &"a".repeat(25)],
            ),
            (
                Name::Container,
                vec!["backups", "a-b-c", "abc"],
                vec!["ab", "-abc", "abc-", "a--b", "ABC", "a_b"],
            ),
            (
                Name::Region,
                vec!["eastus", "westus2"],
                vec!["", "East US", "eastus\0", "<script>", "east'us", "east/us"],
            ),
            (
                Name::Server,
                vec!["web1", "a", "web-1"],
                vec!["-web", "Web", "web_1", "web.1", ""],
            ),
            (
                Name::DnsZone,
                vec!["example.com", "a.b.example.co.uk"],
                vec!["com", "ex ample.com", "-a.com", "a..com", "a.com?x"],
            ),
            (
                Name::RecordName,
                vec!["@", "www", "_acme-challenge", "*.app", "a.b"],
                vec!["", "a/b", "a?b", "a..b", "w w", "a.*"],
            ),
            (
                Name::Subscription,
                vec![SUB],
                vec![
                    "8d2c1e44",
                    "../subscriptions",
                    "8d2c1e44-1f3b-4c55-a3f2-6c1b9a0e7d1z",
                ],
            ),
            (
                Name::ProviderNamespace,
                vec!["Microsoft.Compute"],
                vec!["Microsoft", "Microsoft/Compute", "Microsoft..Compute"],
            ),
            (
                Name::VmSize,
                vec!["Standard_B2s"],
                vec!["Standard B2s", "Standard_B2s/x", ""],
            ),
        ] {
            for v in good {
                assert!(check(kind, v).is_ok(), "{kind:?} {v:?} should pass");
            }
            for v in bad {
                let e = check(kind, v).unwrap_err();
                assert_eq!(e.status, 400, "{kind:?} {v:?}");
                assert_eq!(e.kind(), crate::error::Kind::InvalidInput);
            }
        }
        // Unicode and very long values are refused, and the message stays short.
        let e = check(Name::Region, &"é".repeat(30_000)).unwrap_err();
        assert!(e.message.len() < 400);
    }

    #[test]
    fn resource_ids_are_parsed_to_the_expected_type() {
        let zone = format!("/subscriptions/{SUB}/resourceGroups/dns/providers/Microsoft.Network/dnszones/contoso.com");
        let id = resource_id(
            &zone,
            "Microsoft.Network",
            "dnszones",
            Name::DnsZone,
            Some(SUB),
        )
        .unwrap();
        assert_eq!(id.name, "contoso.com");
        assert_eq!(id.resource_group, "dns");
        assert_eq!(id.to_path("Microsoft.Network", "dnszones"), zone);
        // Case-insensitive keywords, as ARM treats them.
        assert!(resource_id(
            &zone.to_lowercase(),
            "Microsoft.Network",
            "dnsZones",
            Name::DnsZone,
            None
        )
        .is_ok());
        for bad in [
            format!("{zone}?foo=bar"),
            format!("{zone}/"),
            format!("https://evil.example{zone}"),
            format!("/subscriptions/{SUB}/resourceGroups/dns/providers/Microsoft.Network/networkSecurityGroups/web9-nsg"),
            format!("/subscriptions/{SUB}/resourceGroups/../providers/Microsoft.Network/dnszones/contoso.com"),
            format!("/subscriptions/{SUB}/resourceGroups/dns/providers/Microsoft.Network/dnszones/contoso.com/A/www"),
            "contoso.com".to_string(),
            format!("/subscriptions/{SUB}/resourceGroups/dns/providers/Microsoft.Network/dnszones/{}", "é".repeat(20_000)),
        ] {
            assert!(resource_id(&bad, "Microsoft.Network", "dnszones", Name::DnsZone, None).is_err(), "{bad}");
        }
        let other = "11111111-2222-3333-4444-555555555555";
        assert!(resource_id(
            &zone,
            "Microsoft.Network",
            "dnszones",
            Name::DnsZone,
            Some(other)
        )
        .is_err());
    }

    #[test]
    fn only_paths_no_segment_can_bend_reach_arm() {
        assert!(path_is_safe(&format!(
            "/subscriptions/{SUB}/resourceGroups/rg"
        )));
        assert!(path_is_safe(
            "/subscriptions/x/providers/Microsoft.Compute/skus?$filter=location%20eq%20'eastus'"
        ));
        for bad in [
            "subscriptions/x",
            "/subscriptions//x",
            "/subscriptions/x/../y",
            "/subscriptions/x/./y",
            "/subscriptions/x%2F..",
            "/subscriptions/x#frag",
            "/subscriptions/x y",
            "/subscriptions/x\0",
            "/subscriptions/x\\y",
            "/subscriptions/é",
            "/subscriptions/x?a=b?c",
        ] {
            assert!(!path_is_safe(bad), "{bad:?}");
        }
    }
}
