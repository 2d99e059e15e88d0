//! The `[firewall]` table of site.toml.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// An empty `[firewall]` (or none) means govbox manages no firewall on this machine.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FirewallConfig {
    #[serde(default)]
    pub zones: Zones,
    #[serde(default)]
    pub outbound: Outbound,
    /// The port sshd listens on; the `ssh` service opens it.
    #[serde(default = "default_ssh_port")]
    pub ssh_port: u16,
    /// Dropped packets are logged at most this often (e.g. "10/minute"); "" turns logging off.
    #[serde(default = "default_log_rate")]
    pub log_drops: String,
}

fn default_ssh_port() -> u16 {
    22
}

fn default_log_rate() -> String {
    "10/minute".into()
}

impl FirewallConfig {
    pub fn is_empty(&self) -> bool {
        self.zones.iter().next().is_none()
    }
}

/// The five zones of a machine room, each optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Zones {
    pub management: Option<Zone>,
    pub downstream: Option<Zone>,
    pub upstream: Option<Zone>,
    pub internal: Option<Zone>,
    pub external: Option<Zone>,
}

impl Zones {
    /// Zones in match order. Subnets never overlap across zones (validation refuses it), so the
    /// order only decides between a zone matched by interface and one matched by subnet: the
    /// management zone is always tried first, so SSH from its subnet works on any interface.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Zone)> {
        [
            ("management", &self.management),
            ("downstream", &self.downstream),
            ("upstream", &self.upstream),
            ("internal", &self.internal),
            ("external", &self.external),
        ]
        .into_iter()
        .filter_map(|(name, z)| z.as_ref().map(|z| (name, z)))
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    /// Network interfaces of the zone, e.g. ["eth1"].
    #[serde(default)]
    pub interfaces: Vec<String>,
    /// Source networks of the zone, e.g. ["10.20.0.0/16"]. With interfaces too, a packet must
    /// match both.
    #[serde(default)]
    pub subnets: Vec<IpNet>,
    /// What hosts of the zone may reach on this machine.
    #[serde(default)]
    pub services: Vec<Service>,
    /// New connections per source address allowed from this zone (e.g. "50/second"), so a flood
    /// on the portal cannot starve the office.
    #[serde(default)]
    pub new_connections: Option<Rate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Portal,
    Office,
    Replication,
    Ssh,
    /// `/metrics` is served by the office listener: this opens the office port.
    Metrics,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Portal => "portal",
            Service::Office => "office",
            Service::Replication => "replication",
            Service::Ssh => "ssh",
            Service::Metrics => "metrics",
        }
    }
}

/// Where this machine may open connections to; anything else outbound is dropped.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Outbound {
    /// The upstream replication receiver, "IP:port".
    #[serde(default)]
    pub upstream: Vec<SocketAddr>,
    #[serde(default)]
    pub dns: Vec<IpAddr>,
    #[serde(default)]
    pub ntp: Vec<IpAddr>,
    /// The SMS carrier gateway, "IP:port".
    #[serde(default)]
    pub sms_gateway: Vec<SocketAddr>,
}

/// "N/second", "N/minute" or "N/hour".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: &'static str,
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Rate, String> {
        let bad = || format!("\"{s}\" 不是速率，写成 \"50/second\"、\"10/minute\" 或 \"100/hour\"");
        let (n, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "second" => "second",
            "minute" => "minute",
            "hour" => "hour",
            _ => return Err(bad()),
        };
        if count == 0 {
            return Err(bad());
        }
        Ok(Rate { count, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, self.per)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
