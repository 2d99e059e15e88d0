//! The firewall for real: nftables inside network namespaces made by the test, one appliance
//! and a host per zone, connected by veth links; connections are attempted from each host.
//! Needs root, `ip` (iproute2) and `nft` (nftables), which tests/run.sh installs.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::{bin, text};

fn sh(cmd: &[&str]) {
    let out = Command::new(cmd[0]).args(&cmd[1..]).output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", text(&out));
}

/// Runs `f` on a thread that has entered the network namespace `ns`.
fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let fd = std::fs::File::open(&path).unwrap();
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
    .join()
    .unwrap()
}

/// An appliance namespace and one host namespace per zone; removed on drop, also on failure.
struct Lab {
    prefix: String,
    dir: tempfile::TempDir,
}

const PORTAL: u16 = 8080;
const OFFICE: u16 = 8081;
const REPLICATION: u16 = 8443;
const SSH: u16 = 2222;

/// (host suffix, appliance interface, appliance address, host address)
const LINKS: [(&str, &str, &str, &str); 4] = [
    ("ext", "ext0", "192.0.2.1/24", "192.0.2.2/24"),
    ("int", "int0", "10.20.0.1/24", "10.20.0.2/24"),
    ("down", "down0", "10.30.0.1/24", "10.30.0.2/24"),
    ("mgmt", "mgmt0", "10.99.0.1/24", "10.99.0.2/24"),
];

impl Lab {
    fn new() -> Lab {
        static N: AtomicU32 = AtomicU32::new(0);
        let prefix = format!(
            "gbfw{}x{}",
            std::process::id() % 100_000,
            N.fetch_add(1, Ordering::SeqCst)
        );
        let lab = Lab {
            prefix,
            dir: tempfile::tempdir().unwrap(),
        };
        let a = lab.ns("app");
        sh(&["ip", "netns", "add", &a]);
        sh(&["ip", "-n", &a, "link", "set", "lo", "up"]);
        for (host, iface, app_addr, host_addr) in LINKS {
            let h = lab.ns(host);
            sh(&["ip", "netns", "add", &h]);
            sh(&["ip", "-n", &h, "link", "set", "lo", "up"]);
            let peer = format!("{}{host}", &lab.prefix[..4]);
            sh(&[
                "ip", "link", "add", iface, "netns", &a, "type", "veth", "peer", "name", &peer,
                "netns", &h,
            ]);
            sh(&["ip", "-n", &a, "addr", "add", app_addr, "dev", iface]);
            sh(&["ip", "-n", &a, "link", "set", iface, "up"]);
            sh(&["ip", "-n", &h, "addr", "add", host_addr, "dev", &peer]);
            sh(&["ip", "-n", &h, "link", "set", &peer, "up"]);
        }
        // Listeners standing in for the portal, office, replication receiver and sshd.
        in_ns(&a, || {
            for port in [PORTAL, OFFICE, REPLICATION, SSH] {
                let l = TcpListener::bind(("0.0.0.0", port)).unwrap();
                std::thread::spawn(move || {
                    for c in l.incoming() {
                        drop(c)
                    }
                });
            }
        });
        std::fs::write(
            lab.config(),
            SITE.replace("DATA", lab.dir.path().join("data").to_str().unwrap()),
        )
        .unwrap();
        lab
    }

    fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("site.toml")
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("data/firewall")
    }

    /// `govbox ARGS` inside the appliance namespace.
    fn govbox(&self, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.ns("app"), bin()])
            .args(args)
            .arg("--config")
            .arg(self.config())
            .output()
            .unwrap()
    }

    fn nft(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns("app"), "nft"])
            .args(args)
            .output()
            .unwrap();
        text(&out)
    }

    /// Whether a TCP connection from host `host` to the appliance's `port` is accepted.
    fn reaches(&self, host: &str, port: u16) -> bool {
        let (_, _, app_addr, _) = LINKS.iter().find(|l| l.0 == host).unwrap();
        let ip = app_addr.split('/').next().unwrap();
        let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
        in_ns(&self.ns(host), move || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(600)).is_ok()
        })
    }

    fn matrix(&self) -> Vec<(&'static str, u16, bool)> {
        let mut out = Vec::new();
        for (host, ..) in LINKS {
            for port in [PORTAL, OFFICE, REPLICATION, SSH] {
                out.push((host, port, self.reaches(host, port)));
            }
        }
        out
    }

    fn wait_until(&self, what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("{what} did not happen within {limit:?}");
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("pkill")
            .args([
                "-f",
                &format!("firewall watch --state-dir {}", self.state().display()),
            ])
            .status();
        for n in ["app", "ext", "int", "down", "mgmt"] {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.ns(n)])
                .status();
        }
    }
}

const SITE: &str = r#"
[site]
id = "lab-county"
name = "实验县"
tier = "county"
parent = "lab-province"

[listen]
portal = "0.0.0.0:8080"
office = "0.0.0.0:8081"
replication = "0.0.0.0:8443"

[storage]
data_dir = "DATA"

[firewall]
ssh_port = 2222

[firewall.zones.external]
interfaces = ["ext0"]
services = ["portal"]
new_connections = "100/second"

[firewall.zones.internal]
subnets = ["10.20.0.0/24"]
services = ["office", "portal"]

[firewall.zones.downstream]
subnets = ["10.30.0.0/24"]
services = ["replication"]

[firewall.zones.management]
subnets = ["10.99.0.0/24"]
services = ["ssh", "metrics"]
"#;

/// What site.toml allows: external → portal; internal → office and portal; downstream →
/// replication; management → ssh and metrics (the office port).
fn allowed(host: &str, port: u16) -> bool {
    matches!(
        (host, port),
        ("ext", PORTAL)
            | ("int", OFFICE)
            | ("int", PORTAL)
            | ("down", REPLICATION)
            | ("mgmt", SSH)
            | ("mgmt", OFFICE)
    )
}

#[test]
fn each_zone_reaches_exactly_its_services_and_other_tables_survive() {
    let lab = Lab::new();
    assert!(
        lab.matrix().iter().all(|(_, _, ok)| *ok),
        "without a firewall everything is reachable"
    );
    lab.nft(&["add", "table", "inet", "other"]);
    lab.nft(&[
        "add",
        "chain",
        "inet",
        "other",
        "keep",
        "{ type filter hook input priority 10; policy accept; }",
    ]);

    let check = lab.govbox(&["firewall", "check"]);
    assert!(check.status.success(), "{}", text(&check));
    let apply = lab.govbox(&["firewall", "apply", "--confirm-within", "60"]);
    assert!(apply.status.success(), "{}", text(&apply));
    for (host, port, ok) in lab.matrix() {
        assert_eq!(ok, allowed(host, port), "{host} → port {port}");
    }
    let confirm = lab.govbox(&["firewall", "confirm"]);
    assert!(confirm.status.success(), "{}", text(&confirm));
    let status = lab.govbox(&["firewall", "status"]);
    assert!(status.status.success(), "{}", text(&status));
    assert!(text(&status).contains("一致"));

    // Someone edits the loaded table by hand: status says so and exits non-zero.
    lab.nft(&[
        "add", "rule", "inet", "govbox", "input", "tcp", "dport", "9999", "accept",
    ]);
    let drift = lab.govbox(&["firewall", "status"]);
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift));
    assert!(text(&drift).contains("手工改动"));

    let unload = lab.govbox(&["firewall", "unload"]);
    assert!(unload.status.success(), "{}", text(&unload));
    assert!(lab.reaches("ext", OFFICE));
    let tables = lab.nft(&["list", "tables"]);
    assert!(tables.contains("table inet other"), "{tables}");
    assert!(!tables.contains("table inet govbox"), "{tables}");
}

#[test]
fn an_unconfirmed_apply_reverts_by_itself_even_when_the_applying_shell_is_killed() {
    let lab = Lab::new();
    lab.nft(&["add", "table", "inet", "other"]);
    // The shell that runs apply stays around, as an SSH session would, and is killed -9.
    let mut shell = Command::new("ip")
        .args(["netns", "exec", &lab.ns("app"), "sh", "-c"])
        .arg(format!(
            "{} firewall apply --confirm-within 10 --config {}; sleep 60",
            bin(),
            lab.config().display()
        ))
        .process_group(0)
        .spawn()
        .unwrap();
    let pending = lab.state().join("pending.json");
    lab.wait_until("the ruleset to load", Duration::from_secs(20), || {
        pending.exists() && !lab.reaches("ext", OFFICE)
    });
    let group = nix::unistd::Pid::from_raw(shell.id() as i32);
    nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL).unwrap();
    let _ = shell.wait();
    assert!(
        lab.reaches("ext", PORTAL) && !lab.reaches("ext", OFFICE),
        "still applied after the kill"
    );
    lab.wait_until("the automatic revert", Duration::from_secs(25), || {
        !pending.exists() && lab.reaches("ext", OFFICE)
    });
    let tables = lab.nft(&["list", "tables"]);
    assert!(
        !tables.contains("inet govbox") && tables.contains("inet other"),
        "{tables}"
    );
    let late = lab.govbox(&["firewall", "confirm"]);
    assert_eq!(
        late.status.code(),
        Some(2),
        "nothing left to confirm: {}",
        text(&late)
    );
}

#[test]
fn rollback_restores_the_previous_ruleset_and_boot_undoes_an_unconfirmed_apply() {
    let lab = Lab::new();
    let first = lab.govbox(&["firewall", "apply", "--confirm-within", "60"]);
    assert!(first.status.success(), "{}", text(&first));
    assert!(lab.govbox(&["firewall", "confirm"]).status.success());
    let confirmed = lab.nft(&["list", "table", "inet", "govbox"]);

    // A second policy that also opens the office to the downstream zone.
    let wider = std::fs::read_to_string(lab.config()).unwrap().replace(
        "services = [\"replication\"]",
        "services = [\"replication\", \"office\"]",
    );
    std::fs::write(lab.config(), wider).unwrap();
    assert!(lab
        .govbox(&["firewall", "apply", "--confirm-within", "60"])
        .status
        .success());
    assert!(lab.reaches("down", OFFICE));
    let busy = lab.govbox(&["firewall", "apply", "--confirm-within", "60"]);
    assert_eq!(
        busy.status.code(),
        Some(2),
        "a second apply waits for the first: {}",
        text(&busy)
    );
    let rollback = lab.govbox(&["firewall", "rollback"]);
    assert!(rollback.status.success(), "{}", text(&rollback));
    assert!(!lab.reaches("down", OFFICE));
    assert_eq!(lab.nft(&["list", "table", "inet", "govbox"]), confirmed);

    // Apply again, then "reboot" before confirming: every process dies, the kernel forgets
    // the rules, and the boot unit runs `firewall boot`.
    assert!(lab
        .govbox(&["firewall", "apply", "--confirm-within", "60"])
        .status
        .success());
    let _ = Command::new("pkill")
        .args([
            "-9",
            "-f",
            &format!("firewall watch --state-dir {}", lab.state().display()),
        ])
        .status();
    lab.nft(&["delete", "table", "inet", "govbox"]);
    let boot = lab.govbox(&["firewall", "boot"]);
    assert!(boot.status.success(), "{}", text(&boot));
    assert_eq!(
        lab.nft(&["list", "table", "inet", "govbox"]),
        confirmed,
        "the confirmed ruleset is back"
    );
    assert!(!lab.state().join("pending.json").exists());
    let boot_again = lab.govbox(&["firewall", "boot"]);
    assert!(boot_again.status.success());
    assert!(!lab.reaches("down", OFFICE) && lab.reaches("down", REPLICATION));
}

/// An apply whose reverter died (OOM, a stray kill) stays loaded past its deadline. The next
/// apply must save the last good ruleset as its way back, not that unconfirmed one, or an
/// unconfirmed second try "reverts" to a ruleset nobody ever confirmed.
#[test]
fn an_apply_after_an_unreverted_timeout_falls_back_to_the_last_confirmed_ruleset() {
    let lab = Lab::new();
    assert!(lab
        .govbox(&["firewall", "apply", "--confirm-within", "60"])
        .status
        .success());
    assert!(lab.govbox(&["firewall", "confirm"]).status.success());
    let confirmed = lab.nft(&["list", "table", "inet", "govbox"]);

    let wider = std::fs::read_to_string(lab.config()).unwrap().replace(
        "services = [\"replication\"]",
        "services = [\"replication\", \"office\"]",
    );
    std::fs::write(lab.config(), wider).unwrap();
    assert!(lab
        .govbox(&["firewall", "apply", "--confirm-within", "60"])
        .status
        .success());
    // The deadline passes with nobody left to revert: a pending record naming another apply
    // makes the running reverter stand down, as if it had been killed.
    std::fs::write(
        lab.state().join("pending.json"),
        r#"{"deadline": 1, "token": "gone"}"#,
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert!(lab.reaches("down", OFFICE), "nothing reverted the change");
    let status = lab.govbox(&["firewall", "status"]);
    assert!(
        text(&status).contains("已超时但没有恢复"),
        "status says nothing will revert it: {}",
        text(&status)
    );

    let again = lab.govbox(&["firewall", "apply", "--confirm-within", "10"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("超时未确认"), "{}", text(&again));
    let pending = lab.state().join("pending.json");
    lab.wait_until("the automatic revert", Duration::from_secs(20), || {
        !pending.exists()
    });
    assert_eq!(
        lab.nft(&["list", "table", "inet", "govbox"]),
        confirmed,
        "back to the confirmed ruleset"
    );
    assert!(!lab.reaches("down", OFFICE) && lab.reaches("down", REPLICATION));
}

/// A `confirm` that has read the pending apply just before the deadline holds the state lock
/// while it finishes; the reverter must wait for it instead of restoring the old rules under it
/// (which left "confirmed" rules that were not loaded). Here the test holds the lock past the
/// deadline in the confirm's place.
#[test]
fn the_reverter_waits_for_a_confirm_in_progress_at_the_deadline() {
    let lab = Lab::new();
    let apply = lab.govbox(&["firewall", "apply", "--confirm-within", "10"]);
    assert!(apply.status.success(), "{}", text(&apply));
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lab.state().join("state.lock"))
        .unwrap();
    let held = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive).unwrap();
    std::thread::sleep(Duration::from_secs(12));
    assert!(
        !lab.reaches("ext", OFFICE),
        "reverted while a confirm held the state"
    );
    drop(held);
    let pending = lab.state().join("pending.json");
    lab.wait_until("the revert after the lock", Duration::from_secs(10), || {
        !pending.exists() && lab.reaches("ext", OFFICE)
    });
    let late = lab.govbox(&["firewall", "confirm"]);
    assert_eq!(late.status.code(), Some(2), "{}", text(&late));
}

#[test]
fn golden_rulesets_load_in_nft() {
    for tier in ["township", "county", "province"] {
        let golden =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/firewall/golden/{tier}.nft"));
        let out = Command::new("nft")
            .arg("-c")
            .arg("-f")
            .arg(&golden)
            .output()
            .unwrap();
        assert!(out.status.success(), "{tier}: {}", text(&out));
    }
}

#[test]
fn bad_policies_exit_2_before_anything_is_loaded() {
    let lab = Lab::new();
    let bad = std::fs::read_to_string(lab.config())
        .unwrap()
        .replace("interfaces = [\"ext0\"]", "interfaces = [\"eth9\"]");
    std::fs::write(lab.config(), bad).unwrap();
    for cmd in ["check", "apply"] {
        let out = lab.govbox(&["firewall", cmd]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            text(&out).contains("firewall.zones.external.interfaces[0]"),
            "{}",
            text(&out)
        );
    }
    assert!(!lab.nft(&["list", "tables"]).contains("govbox"));
    assert!(lab.matrix().iter().all(|(_, _, ok)| *ok));
}
