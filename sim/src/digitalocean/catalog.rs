//! What DigitalOcean sells, as `/v2/regions`, `/v2/sizes` and `/v2/images`
//! describe it: datacenter regions, the Basic Droplet plans at their current
//! list prices, and the one base image the emulator boots (Ubuntu 24.04).

use serde_json::{json, Value};

/// A datacenter region.
pub struct Region {
    pub slug: &'static str,
    pub name: &'static str,
    /// Whether new Droplets may be created there; the oldest datacenters
    /// (sfo1, nyc2, ams2) are closed to new Droplets and list no sizes.
    pub available: bool,
}

const fn region(slug: &'static str, name: &'static str, available: bool) -> Region {
    Region {
        slug,
        name,
        available,
    }
}

/// In the order the API lists them.
pub const REGIONS: &[Region] = &[
    region("nyc1", "New York 1", true),
    region("sfo1", "San Francisco 1", false),
    region("nyc2", "New York 2", false),
    region("ams2", "Amsterdam 2", false),
    region("sgp1", "Singapore 1", true),
    region("lon1", "London 1", true),
    region("nyc3", "New York 3", true),
    region("ams3", "Amsterdam 3", true),
    region("fra1", "Frankfurt 1", true),
    region("tor1", "Toronto 1", true),
    region("sfo2", "San Francisco 2", true),
    region("blr1", "Bangalore 1", true),
    region("sfo3", "San Francisco 3", true),
    region("syd1", "Sydney 1", true),
    region("atl1", "Atlanta 1", true),
];

/// A Droplet plan (size).
pub struct Size {
    pub slug: &'static str,
    /// MiB.
    pub memory: u32,
    pub vcpus: u32,
    /// GB of SSD.
    pub disk: u32,
    /// TB of outbound transfer a month.
    pub transfer: f64,
    pub price_monthly: f64,
    pub price_hourly: f64,
    /// Available regions that do not offer it (the smallest plan is not
    /// offered everywhere), so a size/region mismatch can be exercised.
    pub not_in: &'static [&'static str],
}

/// The Basic (shared CPU, regular SSD) plans, priced as since July 2022.
pub const SIZES: &[Size] = &[
    Size {
        slug: "s-1vcpu-512mb-10gb",
        memory: 512,
        vcpus: 1,
        disk: 10,
        transfer: 0.5,
        price_monthly: 4.0,
        price_hourly: 0.00595,
        not_in: &["lon1", "blr1", "syd1", "atl1"],
    },
    Size {
        slug: "s-1vcpu-1gb",
        memory: 1024,
        vcpus: 1,
        disk: 25,
        transfer: 1.0,
        price_monthly: 6.0,
        price_hourly: 0.00893,
        not_in: &[],
    },
    Size {
        slug: "s-1vcpu-2gb",
        memory: 2048,
        vcpus: 1,
        disk: 50,
        transfer: 2.0,
        price_monthly: 12.0,
        price_hourly: 0.01786,
        not_in: &[],
    },
    Size {
        slug: "s-2vcpu-2gb",
        memory: 2048,
        vcpus: 2,
        disk: 60,
        transfer: 3.0,
        price_monthly: 18.0,
        price_hourly: 0.02679,
        not_in: &[],
    },
    Size {
        slug: "s-2vcpu-4gb",
        memory: 4096,
        vcpus: 2,
        disk: 80,
        transfer: 4.0,
        price_monthly: 24.0,
        price_hourly: 0.03571,
        not_in: &[],
    },
    Size {
        slug: "s-4vcpu-8gb",
        memory: 8192,
        vcpus: 4,
        disk: 160,
        transfer: 5.0,
        price_monthly: 48.0,
        price_hourly: 0.07143,
        not_in: &[],
    },
    Size {
        slug: "s-8vcpu-16gb",
        memory: 16384,
        vcpus: 8,
        disk: 320,
        transfer: 6.0,
        price_monthly: 96.0,
        price_hourly: 0.14286,
        not_in: &[],
    },
];

/// The one image Droplets can be created from, by slug or by id. The id is
/// the emulator's: DigitalOcean gives each release of a distribution image a
/// new id, which is why clients name base images by slug.
pub const IMAGE_SLUG: &str = "ubuntu-24-04-x64";
pub const IMAGE_ID: u64 = 164_230_598;

pub fn region_of(slug: &str) -> Option<&'static Region> {
    REGIONS.iter().find(|r| r.slug == slug)
}

pub fn size_of(slug: &str) -> Option<&'static Size> {
    SIZES.iter().find(|s| s.slug == slug)
}

impl Size {
    /// Whether a Droplet of this size can be created in `region`.
    pub fn offered_in(&self, region: &Region) -> bool {
        region.available && !self.not_in.contains(&region.slug)
    }

    /// The regions offering it.
    pub fn regions(&self) -> Vec<&'static str> {
        REGIONS
            .iter()
            .filter(|r| self.offered_in(r))
            .map(|r| r.slug)
            .collect()
    }
}

/// Whether `image` (a slug or a numeric id, as a string or a number) is the
/// image the emulator boots.
pub fn is_image(image: &Value) -> bool {
    match image {
        Value::String(s) => s == IMAGE_SLUG || s.parse::<u64>().ok() == Some(IMAGE_ID),
        Value::Number(n) => n.as_u64() == Some(IMAGE_ID),
        _ => false,
    }
}

pub fn region_json(r: &Region) -> Value {
    let sizes: Vec<&str> = SIZES
        .iter()
        .filter(|s| s.offered_in(r))
        .map(|s| s.slug)
        .collect();
    json!({
        "name": r.name,
        "slug": r.slug,
        "features": ["backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"],
        "available": r.available,
        "sizes": sizes,
    })
}

/// `disk_info` of a Droplet or size with `disk` GiB of local disk.
pub fn disk_info(disk: u32) -> Value {
    json!([{ "type": "local", "size": { "amount": disk, "unit": "gib" } }])
}

pub fn size_json(s: &Size) -> Value {
    json!({
        "slug": s.slug,
        "memory": s.memory,
        "vcpus": s.vcpus,
        "disk": s.disk,
        "transfer": s.transfer,
        "price_monthly": s.price_monthly,
        "price_hourly": s.price_hourly,
        "regions": s.regions(),
        "available": true,
        "description": "Basic",
        "disk_info": disk_info(s.disk),
    })
}

pub fn image_json() -> Value {
    let regions: Vec<&str> = REGIONS
        .iter()
        .filter(|r| r.available)
        .map(|r| r.slug)
        .collect();
    json!({
        "id": IMAGE_ID,
        "name": "24.04 (LTS) x64",
        "distribution": "Ubuntu",
        "slug": IMAGE_SLUG,
        "public": true,
        "regions": regions,
        "created_at": "2024-10-29T17:09:17Z",
        "type": "base",
        "min_disk_size": 7,
        "size_gigabytes": 2.55,
        "description": "Ubuntu 24.04 (LTS) x64",
        "tags": [],
        "status": "available",
        "error_message": "",
    })
}
