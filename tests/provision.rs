//! `govbox provision` into a temporary root: the whole tree, idempotence, all-or-nothing on bad
//! input, units that systemd accepts, and a provisioned site that serves.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{bin, govbox, text};
use sha2::{Digest, Sha256};

const EXAMPLE: &str = include_str!("../provisioning/examples/county.toml");

/// A temporary root with the host's passwd and group, as an image build starts.
fn new_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    for f in ["passwd", "group"] {
        std::fs::copy(format!("/etc/{f}"), root.path().join("etc").join(f)).unwrap();
    }
    root
}

fn provision(site: &Path, root: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "provision",
        "--site",
        site.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    govbox(&args)
}

/// (mode, uid, gid, content hash or link target) of every path under `root`.
fn tree(root: &Path) -> BTreeMap<PathBuf, (u32, u32, u32, String)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let what = if m.file_type().is_symlink() {
                std::fs::read_link(&p).unwrap().display().to_string()
            } else if m.is_dir() {
                stack.push(p.clone());
                String::new()
            } else {
                hex::encode(Sha256::digest(std::fs::read(&p).unwrap()))
            };
            out.insert(
                p.strip_prefix(root).unwrap().to_path_buf(),
                (m.mode() & 0o7777, m.uid(), m.gid(), what),
            );
        }
    }
    out
}

fn govbox_ids(root: &Path) -> (u32, u32) {
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    let line = passwd
        .lines()
        .find(|l| l.starts_with("govbox:"))
        .expect("govbox user");
    let f: Vec<&str> = line.split(':').collect();
    (f[2].parse().unwrap(), f[3].parse().unwrap())
}

#[test]
fn provisions_the_whole_tree_once_and_then_changes_nothing() {
    let root = new_root();
    let work = tempfile::tempdir().unwrap();
    let site = work.path().join("site.toml");
    std::fs::write(&site, EXAMPLE).unwrap();
    let out = provision(&site, root.path(), &[]);
    assert!(out.status.success(), "{}", text(&out));
    let (uid, gid) = govbox_ids(root.path());
    assert!((100..1000).contains(&uid), "a system uid: {uid}");
    let t = tree(root.path());
    let expect: &[(&str, u32, u32, u32)] = &[
        ("etc/govbox", 0o755, 0, 0),
        ("etc/govbox/site.toml", 0o640, 0, gid),
        ("etc/govbox/pki", 0o750, 0, gid),
        ("etc/govbox/pki/site.key", 0o640, 0, gid),
        ("etc/govbox/initial-admin-password", 0o600, 0, 0),
        ("var/lib/govbox", 0o750, uid, gid),
        ("var/lib/govbox/govbox.db", 0o640, uid, gid),
        ("srv/backup/govbox", 0o750, uid, gid),
        ("var/lib/govbox/firewall/confirmed.nft", 0o600, 0, 0),
        ("etc/systemd/system/govbox.service", 0o644, 0, 0),
        (
            "etc/systemd/system/govbox.service.d/paths.conf",
            0o644,
            0,
            0,
        ),
    ];
    for (path, mode, u, g) in expect {
        let (m, fu, fg, _) = t
            .get(Path::new(path))
            .unwrap_or_else(|| panic!("{path} missing"));
        assert_eq!((*m, *fu, *fg), (*mode, *u, *g), "{path}: mode/owner");
    }
    assert_eq!(
        std::fs::read_to_string(root.path().join("etc/govbox/site.toml")).unwrap(),
        EXAMPLE
    );
    for (link, unit) in [
        ("multi-user.target.wants/govbox.service", "govbox.service"),
        (
            "timers.target.wants/govbox-backup.timer",
            "govbox-backup.timer",
        ),
        (
            "timers.target.wants/govbox-backup-drill.timer",
            "govbox-backup-drill.timer",
        ),
        (
            "sysinit.target.wants/govbox-firewall.service",
            "govbox-firewall.service",
        ),
    ] {
        let target = std::fs::read_link(root.path().join("etc/systemd/system").join(link)).unwrap();
        assert_eq!(target, Path::new("/etc/systemd/system").join(unit));
    }
    let paths = std::fs::read_to_string(
        root.path()
            .join("etc/systemd/system/govbox.service.d/paths.conf"),
    )
    .unwrap();
    assert!(
        paths.contains("ReadWritePaths=/var/lib/govbox /srv/backup/govbox"),
        "{paths}"
    );
    let csr = std::fs::read_to_string(root.path().join("etc/govbox/pki/site.csr")).unwrap();
    assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
    let ruleset =
        std::fs::read_to_string(root.path().join("var/lib/govbox/firewall/confirmed.nft")).unwrap();
    assert!(ruleset.contains("table inet govbox {"));

    let again = provision(&site, root.path(), &[]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("没有任何改动"), "{}", text(&again));
    assert_eq!(tree(root.path()), t, "a second run changes nothing");
}

#[test]
fn the_provisioned_site_serves_with_the_initial_admin_password() {
    let root = new_root();
    let work = tempfile::tempdir().unwrap();
    let site = work.path().join("site.toml");
    std::fs::write(&site, EXAMPLE).unwrap();
    let pw = work.path().join("pw");
    std::fs::write(&pw, "Provision-Test-2026\n").unwrap();
    let out = provision(
        &site,
        root.path(),
        &["--admin-password-file", pw.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !root
            .path()
            .join("etc/govbox/initial-admin-password")
            .exists(),
        "given, not generated"
    );
    // Serve the provisioned data from outside the root, on loopback ports.
    let served = EXAMPLE
        .replace(
            "\"/var/lib/govbox\"",
            &format!("\"{}\"", root.path().join("var/lib/govbox").display()),
        )
        .replace(
            "\"/srv/backup/govbox\"",
            &format!("\"{}\"", root.path().join("srv/backup/govbox").display()),
        )
        .replace("0.0.0.0:8080", "127.0.0.1:0")
        .replace("10.20.0.5:8081", "127.0.0.1:0")
        .replace("0.0.0.0:8443", "127.0.0.1:0");
    let cfg = work.path().join("served.toml");
    std::fs::write(&cfg, served).unwrap();
    let mut child = Command::new(bin())
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let office = loop {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut reader, &mut line).unwrap() > 0,
            "serve exited"
        );
        if let Some(u) = line.trim().strip_prefix("office: ") {
            break u.trim_end_matches('/').to_string();
        }
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        let mut web = common::Web::new(&office);
        web.login("admin", "Provision-Test-2026").await.status()
    });
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = child.wait();
    assert_eq!(status, 200);
}

#[test]
fn a_bad_site_file_or_password_leaves_nothing_behind() {
    let cases: &[(&str, &str, &str)] = &[
        ("tier = \"county\"", "tier = \"city\"", "site.tier"),
        (
            "office = \"10.20.0.5:8081\"",
            "office = \"10.20.0.5\"",
            "listen.office",
        ),
        (
            "subnets = [\"10.30.0.0/16\"]",
            "subnets = [\"10.20.1.0/24\"]",
            "firewall.zones.internal.subnets[0]",
        ),
        ("[storage]", "[storage]\nsize = 1", "storage.size"),
    ];
    for (from, to, key) in cases {
        let root = new_root();
        let before = tree(root.path());
        let work = tempfile::tempdir().unwrap();
        let site = work.path().join("site.toml");
        std::fs::write(&site, EXAMPLE.replacen(from, to, 1)).unwrap();
        let out = provision(&site, root.path(), &[]);
        assert_eq!(out.status.code(), Some(2), "{to}: {}", text(&out));
        assert!(text(&out).contains(key), "{to}: {}", text(&out));
        assert_eq!(tree(root.path()), before, "{to}: nothing may be written");
    }
    let root = new_root();
    let before = tree(root.path());
    let work = tempfile::tempdir().unwrap();
    let site = work.path().join("site.toml");
    std::fs::write(&site, EXAMPLE).unwrap();
    let pw = work.path().join("pw");
    std::fs::write(&pw, "123\n").unwrap();
    let out = provision(
        &site,
        root.path(),
        &["--admin-password-file", pw.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(tree(root.path()), before);
}

#[test]
fn systemd_accepts_the_units() {
    let dir = tempfile::tempdir().unwrap();
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("units");
    let mut files = Vec::new();
    for e in std::fs::read_dir(units).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path())
            .unwrap()
            .replace("/usr/local/bin/govbox", bin());
        let p = dir.path().join(e.file_name());
        std::fs::write(&p, text).unwrap();
        files.push(p);
    }
    assert!(files.len() >= 7);
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        text(&out)
    );
    let sec = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=30"])
        .arg(dir.path().join("govbox.service"))
        .output()
        .unwrap();
    assert!(sec.status.success(), "exposure above 3.0: {}", text(&sec));
}
