//! Validation and rendering of the ruleset: one `table inet govbox`, nothing else touched.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::net::SocketAddr;
use std::path::Path;

use ipnet::IpNet;

use super::config::{FirewallConfig, Rate, Service, Zone};
use super::FirewallError;
use crate::site::{ConfigError, SiteConfig};

/// Checks the policy against the listeners (and, when given, the machine's interfaces).
pub fn validate(
    site: &SiteConfig,
    file: &Path,
    interfaces: Option<&[String]>,
) -> Result<(), FirewallError> {
    let fw = &site.firewall;
    let err = |key: String, problem: String, fix: &str| {
        FirewallError::Config(ConfigError {
            file: file.to_path_buf(),
            key,
            problem,
            fix: fix.to_string(),
        })
    };
    if fw.is_empty() {
        return Err(FirewallError::NotConfigured(file.to_path_buf()));
    }
    if !fw.log_drops.is_empty() {
        fw.log_drops.parse::<Rate>().map_err(|e| {
            err(
                "firewall.log_drops".into(),
                e,
                "写 \"10/minute\"，或 \"\" 关闭丢包日志",
            )
        })?;
    }
    let listeners = [
        ("listen.portal", Some(site.listen.portal)),
        ("listen.office", Some(site.listen.office)),
        ("listen.replication", site.listen.replication),
    ];
    if let Some((key, _)) = listeners
        .iter()
        .find(|(_, a)| a.is_some_and(|a| a.port() == fw.ssh_port))
    {
        return Err(err(
            "firewall.ssh_port".into(),
            format!("SSH 端口 {} 与 `{key}` 相同", fw.ssh_port),
            "写 sshd 实际使用的端口",
        ));
    }
    for (zone, z) in fw.zones.iter() {
        let base = format!("firewall.zones.{zone}");
        if z.interfaces.is_empty() && z.subnets.is_empty() {
            return Err(err(
                base,
                "该区域既没有网卡也没有网段，匹配不到任何流量".into(),
                "写 interfaces = [\"eth1\"] 或 subnets = [\"10.20.0.0/16\"]",
            ));
        }
        for (i, name) in z.interfaces.iter().enumerate() {
            let key = format!("{base}.interfaces[{i}]");
            let ok = !name.is_empty()
                && name.len() <= 15
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '+'));
            if !ok {
                return Err(err(
                    key,
                    format!("\"{name}\" 不是合法的网卡名"),
                    "用 `ip link` 查看网卡名",
                ));
            }
            if let Some(known) = interfaces {
                if !known.iter().any(|k| k == name) {
                    return Err(err(
                        key,
                        format!("本机没有网卡 \"{name}\"（现有: {}）", known.join(", ")),
                        "用 `ip link` 查看网卡名并改正",
                    ));
                }
            }
        }
        for (i, service) in z.services.iter().enumerate() {
            let key = format!("{base}.services[{i}]");
            if zone == "external" && *service != Service::Portal {
                return Err(err(
                    key,
                    format!(
                        "外网区域只能访问门户，不能开放 {}（政务内网与政务外网隔离）",
                        service.name()
                    ),
                    "external 区域只写 services = [\"portal\"]",
                ));
            }
            if *service == Service::Ssh {
                continue;
            }
            let (listen_key, addr) = listener_of(site, *service);
            let Some(addr) = addr else {
                return Err(err(
                    key,
                    format!("本站点没有设置 `{listen_key}`，无法开放 {}", service.name()),
                    "删除该服务，或在 [listen] 中设置对应的监听地址",
                ));
            };
            if addr.port() == 0 || addr.ip().is_loopback() {
                return Err(err(
                    key,
                    format!("`{listen_key}` = \"{addr}\" 在该区域不可达（回环地址或端口 0）"),
                    "让监听地址使用该区域可达的地址和固定端口，或删除该服务",
                ));
            }
        }
    }
    let zones: Vec<(&str, &Zone)> = fw.zones.iter().collect();
    for (a, (za, zone_a)) in zones.iter().enumerate() {
        for (zb, zone_b) in zones.iter().skip(a + 1) {
            for (i, na) in zone_a.subnets.iter().enumerate() {
                for (j, nb) in zone_b.subnets.iter().enumerate() {
                    if overlaps(na, nb) {
                        return Err(err(
                            format!("firewall.zones.{zb}.subnets[{j}]"),
                            format!("网段 {nb} 与 `firewall.zones.{za}.subnets[{i}]` 的 {na} 重叠"),
                            "一个网段只能属于一个区域；把重叠部分从其中一个区域删除",
                        ));
                    }
                }
            }
            let interface_only = |z: &Zone| z.subnets.is_empty();
            if interface_only(zone_a) && interface_only(zone_b) {
                if let Some(name) = zone_a
                    .interfaces
                    .iter()
                    .find(|n| zone_b.interfaces.contains(n))
                {
                    return Err(err(
                        format!("firewall.zones.{zb}.interfaces"),
                        format!("网卡 \"{name}\" 同时属于区域 {za} 和 {zb}"),
                        "同一网卡上的两个区域要用 subnets 区分",
                    ));
                }
            }
        }
    }
    let management = fw.zones.management.as_ref();
    if !management.is_some_and(|m| m.services.contains(&Service::Ssh)) {
        return Err(err(
            "firewall.zones.management".into(),
            "管理区域不能通过 SSH 访问本机：应用后会把管理人员锁在外面".into(),
            "设置 [firewall.zones.management]，写明管理网段 subnets 并包含 services = [\"ssh\"]",
        ));
    }
    if let Some((zone, _)) = zones
        .iter()
        .find(|(name, z)| *name != "management" && z.services.contains(&Service::Ssh))
    {
        return Err(err(
            format!("firewall.zones.{zone}.services"),
            "SSH 只应对管理区域开放".into(),
            "从该区域删除 \"ssh\"",
        ));
    }
    Ok(())
}

fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn listener_of(site: &SiteConfig, service: Service) -> (&'static str, Option<SocketAddr>) {
    match service {
        Service::Portal => ("listen.portal", Some(site.listen.portal)),
        Service::Office | Service::Metrics => ("listen.office", Some(site.listen.office)),
        Service::Replication => ("listen.replication", site.listen.replication),
        Service::Ssh => ("firewall.ssh_port", None),
    }
}

fn port_of(site: &SiteConfig, fw: &FirewallConfig, service: Service) -> u16 {
    match service {
        Service::Ssh => fw.ssh_port,
        s => listener_of(site, s).1.map_or(0, |a| a.port()),
    }
}

/// The ruleset as `nft -f` takes it. Same input, same bytes: no time stamps, fixed order.
pub fn render(site: &SiteConfig, file: &Path) -> Result<String, FirewallError> {
    validate(site, file, None)?;
    let fw = &site.firewall;
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "# govbox firewall of site {} ({}), rendered from {}.\n\
         # Edit site.toml and run `govbox firewall apply`, not this text.",
        site.site.id,
        site.site.tier.as_str(),
        file.display()
    );
    // Declaring, deleting and redefining the table in one file makes `nft -f` replace it in a
    // single transaction; no other table is named.
    let _ = writeln!(
        w,
        "table inet govbox {{}}\ndelete table inet govbox\ntable inet govbox {{"
    );
    let _ = writeln!(w, "\tchain refuse {{");
    if !fw.log_drops.is_empty() {
        let _ = writeln!(
            w,
            "\t\tlimit rate {} log prefix \"govbox drop: \" level info comment \"firewall.log_drops\"",
            fw.log_drops
        );
    }
    let _ = writeln!(w, "\t\tdrop\n\t}}\n");

    let _ = writeln!(w, "\tchain input {{");
    let _ = writeln!(
        w,
        "\t\ttype filter hook input priority filter; policy drop;"
    );
    let _ = writeln!(
        w,
        "\t\tct state established,related accept comment \"replies\""
    );
    let _ = writeln!(w, "\t\tct state invalid drop comment \"invalid\"");
    let _ = writeln!(w, "\t\tiifname \"lo\" accept comment \"loopback\"");
    let _ = writeln!(
        w,
        "\t\tmeta l4proto ipv6-icmp accept comment \"IPv6 neighbour discovery\""
    );
    let _ = writeln!(
        w,
        "\t\tmeta l4proto icmp limit rate 20/second accept comment \"ping, path MTU\""
    );
    for (zone, z) in fw.zones.iter() {
        let services: BTreeSet<Service> = z.services.iter().copied().collect();
        let ports: BTreeSet<u16> = services.iter().map(|s| port_of(site, fw, *s)).collect();
        let names: Vec<&str> = services.iter().map(|s| s.name()).collect();
        for m in zone_matches(z) {
            if let Some(rate) = z.new_connections {
                let _ = writeln!(
                    w,
                    "\t\t{m} ct state new limit rate over {rate} drop comment \"firewall.zones.{zone}.new_connections\""
                );
            }
            if !ports.is_empty() {
                let _ = writeln!(
                    w,
                    "\t\t{m} tcp dport {} accept comment \"firewall.zones.{zone}.services: {}\"",
                    set(ports.iter()),
                    names.join(", ")
                );
            }
            let _ = writeln!(
                w,
                "\t\t{m} jump refuse comment \"firewall.zones.{zone}: anything else\""
            );
        }
    }
    let _ = writeln!(w, "\t\tjump refuse comment \"no zone\"\n\t}}\n");

    let _ = writeln!(w, "\tchain forward {{");
    let _ = writeln!(
        w,
        "\t\ttype filter hook forward priority filter; policy drop;"
    );
    let _ = writeln!(w, "\t}}\n");

    let _ = writeln!(w, "\tchain output {{");
    let _ = writeln!(
        w,
        "\t\ttype filter hook output priority filter; policy drop;"
    );
    let _ = writeln!(
        w,
        "\t\tct state established,related accept comment \"replies\""
    );
    let _ = writeln!(w, "\t\toifname \"lo\" accept comment \"loopback\"");
    let _ = writeln!(
        w,
        "\t\tmeta l4proto {{ icmp, ipv6-icmp }} accept comment \"ICMP\""
    );
    let o = &fw.outbound;
    for (key, targets) in [("upstream", &o.upstream), ("sms_gateway", &o.sms_gateway)] {
        for t in targets {
            let _ = writeln!(
                w,
                "\t\t{} daddr {} tcp dport {} accept comment \"firewall.outbound.{key}\"",
                family(&t.ip()),
                t.ip(),
                t.port()
            );
        }
    }
    for (key, hosts, ports) in [("dns", &o.dns, "53"), ("ntp", &o.ntp, "123")] {
        for h in hosts {
            let _ = writeln!(
                w,
                "\t\t{} daddr {h} udp dport {ports} accept comment \"firewall.outbound.{key}\"",
                family(h)
            );
            if key == "dns" {
                let _ = writeln!(
                    w,
                    "\t\t{} daddr {h} tcp dport 53 accept comment \"firewall.outbound.dns\"",
                    family(h)
                );
            }
        }
    }
    let _ = writeln!(
        w,
        "\t\tjump refuse comment \"outbound not allowed\"\n\t}}\n}}"
    );
    Ok(out)
}

/// The match prefixes of a zone: one per address family it names (or one by interface).
fn zone_matches(z: &Zone) -> Vec<String> {
    let iif = (!z.interfaces.is_empty()).then(|| {
        format!(
            "iifname {}",
            set(z.interfaces.iter().map(|i| format!("\"{i}\"")))
        )
    });
    let v4: Vec<&IpNet> = z
        .subnets
        .iter()
        .filter(|n| matches!(n, IpNet::V4(_)))
        .collect();
    let v6: Vec<&IpNet> = z
        .subnets
        .iter()
        .filter(|n| matches!(n, IpNet::V6(_)))
        .collect();
    let mut out = Vec::new();
    for (fam, nets) in [("ip", v4), ("ip6", v6)] {
        if nets.is_empty() {
            continue;
        }
        let m = format!("{fam} saddr {}", set(nets.iter()));
        out.push(match &iif {
            Some(i) => format!("{i} {m}"),
            None => m,
        });
    }
    if out.is_empty() {
        out.extend(iif);
    }
    out
}

fn family(ip: &std::net::IpAddr) -> &'static str {
    if ip.is_ipv4() {
        "ip"
    } else {
        "ip6"
    }
}

fn set<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    let items: Vec<String> = items.map(|i| i.to_string()).collect();
    if items.len() == 1 {
        items[0].clone()
    } else {
        format!("{{ {} }}", items.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLES: [&str; 3] = ["township", "county", "province"];

    fn example(tier: &str) -> (SiteConfig, String) {
        let rel = format!("provisioning/examples/{tier}.toml");
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&rel)).unwrap();
        (SiteConfig::parse(Path::new(&rel), &text).unwrap(), text)
    }

    /// The rendered rulesets of the shipped examples, byte for byte. Set GOVBOX_BLESS=1 to
    /// rewrite them after an intended change, and review the diff.
    #[test]
    fn golden_rulesets_of_the_tier_examples() {
        for tier in EXAMPLES {
            let (site, _) = example(tier);
            let rel = format!("provisioning/examples/{tier}.toml");
            let got = render(&site, Path::new(&rel)).unwrap();
            let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("tests/firewall/golden/{tier}.nft"));
            if std::env::var_os("GOVBOX_BLESS").is_some() {
                std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
                std::fs::write(&golden, &got).unwrap();
            }
            let want = std::fs::read_to_string(&golden).unwrap();
            assert_eq!(
                got,
                want,
                "{tier}: rendered ruleset differs from {}",
                golden.display()
            );
        }
    }

    #[test]
    fn render_is_deterministic() {
        for tier in EXAMPLES {
            let (site, text) = example(tier);
            let again = SiteConfig::parse(Path::new("x"), &text).unwrap();
            assert_eq!(
                render(&site, Path::new("x")).unwrap(),
                render(&again, Path::new("x")).unwrap()
            );
        }
    }

    #[test]
    fn the_external_zone_reaches_the_portal_and_nothing_else() {
        let (site, _) = example("county");
        let text = render(&site, Path::new("x")).unwrap();
        let external: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("iifname \"eth0\""))
            .collect();
        assert!(external.iter().any(|l| l.contains("tcp dport 8080 accept")));
        assert!(!external
            .iter()
            .any(|l| l.contains("8081") || l.contains("8443") || l.contains(" 22")));
        assert!(text.contains("ip saddr 10.99.0.0/24 tcp dport { 22, 8081 } accept"));
        assert!(!text.contains("flush ruleset") && !text.contains("table ip "));
    }

    /// Each bad policy is refused before anything is applied, naming the key.
    #[test]
    fn validation_matrix() {
        let (base, text) = example("county");
        let cases: &[(&str, &str, &str)] = &[
            (
                "subnets = [\"10.30.0.0/16\"]",
                "subnets = [\"10.20.5.0/24\"]",
                "firewall.zones.internal.subnets[0]",
            ),
            (
                "interfaces = [\"eth0\"]",
                "interfaces = [\"eth0; drop\"]",
                "firewall.zones.external.interfaces[0]",
            ),
            (
                "services = [\"ssh\", \"metrics\"]",
                "services = [\"metrics\"]",
                "firewall.zones.management",
            ),
            (
                "services = [\"portal\"]\nnew",
                "services = [\"portal\", \"office\"]\nnew",
                "firewall.zones.external.services[1]",
            ),
            (
                "services = [\"replication\"]",
                "services = [\"replication\", \"ssh\"]",
                "firewall.zones.downstream.services",
            ),
            ("ssh_port = 22", "ssh_port = 8081", "firewall.ssh_port"),
            (
                "log_drops = \"10/minute\"",
                "log_drops = \"often\"",
                "firewall.log_drops",
            ),
            (
                "subnets = [\"198.18.0.0/24\"]",
                "subnets = []",
                "firewall.zones.upstream",
            ),
            (
                "office = \"10.20.0.5:8081\"",
                "office = \"127.0.0.1:8081\"",
                "firewall.zones.management.services[1]",
            ),
        ];
        for (from, to, key) in cases {
            assert!(text.contains(from), "fixture lacks {from}");
            let changed = text.replacen(from, to, 1);
            let site = SiteConfig::parse(Path::new("/etc/govbox/site.toml"), &changed).unwrap();
            match validate(&site, Path::new("/etc/govbox/site.toml"), None) {
                Err(FirewallError::Config(e)) => assert_eq!(&e.key, key, "{from} -> {to}: {e}"),
                other => panic!("{from} -> {to}: expected an error naming {key}, got {other:?}"),
            }
        }
        let mut no_replication = base.clone();
        no_replication.listen.replication = None;
        let e = validate(&no_replication, Path::new("f"), None).unwrap_err();
        assert!(
            matches!(e, FirewallError::Config(ref c) if c.key == "firewall.zones.downstream.services[0]"),
            "{e}"
        );
        let unknown = validate(
            &base,
            Path::new("f"),
            Some(&["lo".to_string(), "eth1".to_string()]),
        )
        .unwrap_err();
        assert!(
            matches!(unknown, FirewallError::Config(ref c) if c.key == "firewall.zones.external.interfaces[0]")
        );
        let mut empty = base;
        empty.firewall = FirewallConfig::default();
        assert!(matches!(
            validate(&empty, Path::new("f"), None),
            Err(FirewallError::NotConfigured(_))
        ));
    }

    #[test]
    fn bad_rates_and_services_are_refused_while_parsing() {
        let (_, text) = example("county");
        for (from, to, key) in [
            (
                "new_connections = \"200/second\"",
                "new_connections = \"fast\"",
                "firewall.zones.external.new_connections",
            ),
            (
                "services = [\"portal\"]\nnew",
                "services = [\"telnet\"]\nnew",
                "firewall.zones.external.services",
            ),
            (
                "subnets = [\"10.99.0.0/24\"]",
                "subnets = [\"10.99.0.0/33\"]",
                "firewall.zones.management.subnets",
            ),
            (
                "dns = [\"10.20.0.1\"]",
                "dns = [\"dns.example\"]",
                "firewall.outbound.dns",
            ),
        ] {
            let e = SiteConfig::parse(Path::new("f"), &text.replacen(from, to, 1)).unwrap_err();
            assert!(e.key.starts_with(key), "{to}: {e}");
        }
    }
}
