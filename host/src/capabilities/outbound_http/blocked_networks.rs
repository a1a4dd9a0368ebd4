//! Spin's `[outbound_networking] block_networks` (runtime config): CIDR
//! ranges, and the keyword `private` for every address that is not globally
//! routable, that no outbound request may reach — app-wide, as in Spin.
//!
//! The check is made on the addresses a host name resolves to, and the
//! connection is then made to exactly those checked addresses (see
//! `outbound::send_checked`), so a name that resolves to a public address
//! for the check and to 127.0.0.1 a moment later (DNS rebinding) cannot get
//! through. When every address is blocked the guest gets
//! `destination-ip-prohibited`, as on Spin; blocked ones among others are
//! dropped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The blocked networks of the app.
#[derive(Debug, Clone, Default)]
pub struct BlockedNetworks {
    networks: Vec<IpNet>,
    private: bool,
}

impl BlockedNetworks {
    /// Parses the entries of `block_networks`: CIDR ranges (a bare address
    /// is a single host) or `private`.
    pub fn parse(entries: &[String]) -> Result<BlockedNetworks, String> {
        let mut out = BlockedNetworks::default();
        for e in entries {
            let e = e.trim();
            if e == "private" {
                out.private = true;
            } else if let Ok(net) = e.parse::<IpNet>() {
                out.networks.push(net.trunc());
            } else if let Ok(ip) = e.parse::<IpAddr>() {
                out.networks.push(IpNet::from(ip));
            } else {
                return Err(format!(
                    "`{e}` is neither an IP network in CIDR notation nor the keyword `private`"
                ));
            }
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        !self.private && self.networks.is_empty()
    }

    /// Whether `ip` may not be reached. An IPv6 address carrying an IPv4
    /// one (mapped or compatible) is judged by that IPv4 address too.
    pub fn is_blocked(&self, ip: IpAddr) -> bool {
        if self.private && !is_global(ip) {
            return true;
        }
        if self.networks.iter().any(|n| n.contains(&ip)) {
            return true;
        }
        match ip {
            IpAddr::V6(v6) => match embedded_v4(v6) {
                Some(v4) => self.is_blocked(IpAddr::V4(v4)),
                None => false,
            },
            IpAddr::V4(_) => false,
        }
    }
}

/// The IPv4 address an IPv6 address carries, if it carries one: mapped and
/// compatible (`::ffff:a.b.c.d`, `::a.b.c.d`), NAT64 (`64:ff9b::/96`) and
/// 6to4 (`2002:AABB:CCDD::/48`) — each of which reaches that IPv4 address.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return Some(v4(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(v4(s[1], s[2]));
    }
    v6.to_ipv4()
}

/// Whether an address is globally routable: not loopback, private, shared,
/// link-local, documentation, benchmarking, reserved, multicast, broadcast or
/// unspecified.
pub fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => is_global_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    const NOT_GLOBAL: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),       // "this network"
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // shared (carrier-grade NAT)
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation
        ([203, 0, 113, 0], 24),  // documentation
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, and the broadcast address
    ];
    !NOT_GLOBAL.iter().any(|(net, p)| in_v4(ip, *net, *p))
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if ip.is_unspecified() || ip.is_loopback() {
        return false;
    }
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_global_v4(v4);
    }
    if let Some(v4) = embedded_v4(ip).filter(|_| ip.to_ipv4().is_none()) {
        // NAT64 and 6to4 reach the IPv4 address they carry.
        if !is_global_v4(v4) {
            return false;
        }
    }
    let not_global = (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0) // benchmarking
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard-only
        || (s[0] == 0x0064 && s[1] == 0xff9b && s[2] == 0x0001); // local-use NAT64
    !not_global
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_blocks_what_is_not_globally_routable() {
        let b = BlockedNetworks::parse(&["private".into()]).unwrap();
        for blocked in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "2002:a00:1::1",
        ] {
            assert!(b.is_blocked(ip(blocked)), "{blocked}");
        }
        for open in [
            "1.1.1.1",
            "20.50.2.1",
            "2606:4700::1111",
            "64:ff9b::101:101",
        ] {
            assert!(!b.is_blocked(ip(open)), "{open}");
        }
    }

    #[test]
    fn cidrs_and_single_addresses() {
        let b =
            BlockedNetworks::parse(&["1.1.1.1/32".into(), "8.8.0.0/16".into(), "9.9.9.9".into()])
                .unwrap();
        assert!(b.is_blocked(ip("1.1.1.1")));
        assert!(b.is_blocked(ip("8.8.4.4")));
        assert!(b.is_blocked(ip("9.9.9.9")));
        assert!(!b.is_blocked(ip("1.1.1.2")));
        assert!(!b.is_blocked(ip("127.0.0.1")), "only what is listed");
        // A host-bits CIDR is truncated, as Spin does.
        let t = BlockedNetworks::parse(&["10.1.2.3/8".into()]).unwrap();
        assert!(t.is_blocked(ip("10.200.0.1")));
        assert!(BlockedNetworks::parse(&["localhost".into()]).is_err());
        assert!(BlockedNetworks::parse(&[]).unwrap().is_empty());
    }
}
