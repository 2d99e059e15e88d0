//! Hot backups for real: archives of a real site, restored and opened again; kill -9 in the
//! middle; a full disk; hostile archives.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{govbox, text, Demo, Web, ADMIN_PW};
use govbox::auth::{self, DeptKind};
use govbox::backup;
use govbox::site::SiteConfig;
use govbox::store;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A site on disk (no server), with a backup dir and optionally a copy dir.
struct Site {
    dir: tempfile::TempDir,
    cfg: SiteConfig,
}

impl Site {
    fn new(id: &str, copy: bool) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let copy_line = if copy {
            format!("[backup]\ncopy_dir = \"{}\"\n", p.join("copy").display())
        } else {
            String::new()
        };
        let text = format!(
            "[site]\nid = \"{id}\"\nname = \"测试县\"\ntier = \"county\"\nparent = \"t-province\"\n\
             [listen]\nportal = \"127.0.0.1:0\"\noffice = \"127.0.0.1:0\"\nreplication = \"127.0.0.1:0\"\n\
             [storage]\ndata_dir = \"{}\"\nbackup_dir = \"{}\"\n{copy_line}",
            p.join("data").display(),
            p.join("backups").display()
        );
        std::fs::write(p.join("site.toml"), &text).unwrap();
        let cfg = SiteConfig::load(&p.join("site.toml")).unwrap();
        govbox::provision::ensure_data_dir(&cfg).unwrap();
        govbox::provision::open_store(&cfg).unwrap().close();
        Site { dir, cfg }
    }

    fn config(&self) -> String {
        self.dir.path().join("site.toml").display().to_string()
    }

    fn store(&self) -> store::Store {
        store::open(&self.cfg.db_path(), &self.cfg.site.id).unwrap()
    }

    fn add_departments(&self, n: usize) {
        let s = self.store();
        for _ in 0..n {
            let name = format!("科室{}", rand::random::<u32>());
            s.write_blocking(move |tx| {
                auth::create_department(tx, &name, Some(1), DeptKind::Office)
            })
            .unwrap();
        }
        s.close();
    }

    /// A blob of `bytes` random (incompressible) bytes, named by its SHA-256 as the store does.
    fn add_blob(&self, bytes: usize) -> PathBuf {
        let mut data = vec![0u8; bytes];
        rand::thread_rng().fill_bytes(&mut data);
        let dir = self.cfg.storage.data_dir.join("blobs");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(hex::encode(Sha256::digest(&data)));
        std::fs::write(&path, data).unwrap();
        path
    }

    fn archives(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("backups"))
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.retain(|p| p.to_string_lossy().ends_with(".tar.zst"));
        v.sort();
        v
    }

    fn count(&self, sql: &str) -> i64 {
        let c = rusqlite::Connection::open(self.cfg.db_path()).unwrap();
        c.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

#[test]
fn restore_round_trip_keeps_seq_above_everything_handed_out() {
    let site = Site::new("rt-county", true);
    site.add_departments(3);
    let created = backup::create(&site.cfg, None).unwrap();
    assert_eq!(
        created.manifest.seq,
        site.count("SELECT max(seq) FROM changes")
    );
    let copy = created.copy.expect("copied to the second location");
    assert!(copy.exists());
    let mode = std::fs::metadata(&created.path).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o077,
        0,
        "archives are owner-only"
    );
    site.add_departments(2);
    let before_restore = site.count("SELECT max(seq) FROM changes");

    let out = govbox(&[
        "backup",
        "restore",
        created.path.to_str().unwrap(),
        "--config",
        &site.config(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        site.count("SELECT count(*) FROM departments"),
        4,
        "top + 3, not the 2 added later"
    );
    assert_eq!(
        site.count("SELECT max(seq) FROM changes"),
        created.manifest.seq
    );
    let aside: Vec<_> = std::fs::read_dir(site.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("data.pre-restore-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "the current data is kept aside");
    // The next change gets a seq above everything the site ever handed out.
    site.add_departments(1);
    assert!(site.count("SELECT max(seq) FROM changes") > before_restore);
    let list = govbox(&["backup", "list", "--config", &site.config()]);
    assert!(
        text(&list).matches("已校验").count() >= 2,
        "{}",
        text(&list)
    );
}

#[test]
fn a_served_site_is_backed_up_and_restores_only_when_stopped() {
    let temp = tempfile::tempdir().unwrap();
    let mut demo = Demo::start_in(temp.path());
    // The demo's site file names DIR/backups, so backup commands work on it as they are.
    let cfg = demo.config_str();
    let out = govbox(&["backup", "create", "--config", &cfg]);
    assert!(out.status.success(), "{}", text(&out));
    let archive = std::fs::read_dir(temp.path().join("backups"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".tar.zst"))
        .unwrap();
    let list = govbox(&["backup", "list", "--config", &cfg]);
    assert!(
        text(&list).contains(archive.to_str().unwrap()) && text(&list).contains("已校验"),
        "{}",
        text(&list)
    );
    let busy = govbox(&[
        "backup",
        "restore",
        archive.to_str().unwrap(),
        "--config",
        &cfg,
    ]);
    assert_eq!(busy.status.code(), Some(2), "{}", text(&busy));
    assert!(text(&busy).contains("停止服务"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut web = Web::new(&demo.office);
        web.login("admin", ADMIN_PW).await;
        let r = web
            .post(
                "/api/departments",
                serde_json::json!({"name": "备份后新建", "parent_id": 1, "kind": "unit"}),
            )
            .await;
        assert_eq!(r.status(), 201);
    });
    assert!(demo.stop().success());
    let out = govbox(&[
        "backup",
        "restore",
        archive.to_str().unwrap(),
        "--config",
        &cfg,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let again = Demo::start_in(temp.path());
    rt.block_on(async {
        let mut web = Web::new(&again.office);
        assert_eq!(
            web.login("admin", ADMIN_PW).await.status(),
            200,
            "the restored site serves"
        );
        let depts: serde_json::Value = web.get("/api/departments").await.json().await.unwrap();
        assert!(!depts
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "备份后新建"));
    });
}

#[test]
fn kill_9_during_create_leaves_no_archive_under_a_real_name() {
    let site = Site::new("kill-county", false);
    for _ in 0..6 {
        site.add_blob(16 << 20);
    }
    let mut child = Command::new(common::bin())
        .args(["backup", "create", "--config", &site.config()])
        .spawn()
        .unwrap();
    let backups = site.dir.path().join("backups");
    let start = Instant::now();
    loop {
        let partial = std::fs::read_dir(&backups)
            .map(|r| {
                r.flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            })
            .unwrap_or(false);
        if partial || start.elapsed() > Duration::from_secs(30) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        site.archives().is_empty(),
        "no archive under a real name: {:?}",
        site.archives()
    );
    let out = govbox(&["backup", "create", "--config", &site.config()]);
    assert!(
        out.status.success(),
        "the next create works: {}",
        text(&out)
    );
    assert_eq!(site.archives().len(), 1);
    let leftovers: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial") || n.starts_with(".govbox-staging-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_backup_under_write_load_holds_exactly_the_changes_up_to_its_seq() {
    let site = Site::new("load-county", false);
    let store = site.store();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let name = format!("负载{i}");
                store
                    .write_blocking(move |tx| {
                        auth::create_department(tx, &name, Some(1), DeptKind::Office)
                    })
                    .unwrap();
                i += 1;
            }
            i
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let created = backup::create(&site.cfg, None).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().unwrap();
    store.close();
    let live_max = site.count("SELECT max(seq) FROM changes");
    assert!(
        live_max > created.manifest.seq,
        "writes went on after the snapshot ({written} written)"
    );

    let other = Site::new("load-county", false);
    backup::restore(&other.cfg, &created.path, false).unwrap();
    let seq = created.manifest.seq;
    assert_eq!(
        other.count("SELECT count(*) FROM changes"),
        seq,
        "every change up to the seq, no gap"
    );
    assert_eq!(
        other.count("SELECT max(seq) FROM changes"),
        seq,
        "none after it"
    );
    assert_eq!(
        other.count("SELECT count(*) FROM departments"),
        other.count("SELECT count(*) FROM changes WHERE entity = 'department'"),
        "each business row with its change row"
    );
    let audit = govbox(&["audit", "verify", "--config", &other.config()]);
    assert!(audit.status.success(), "{}", text(&audit));
}

/// Writes a tar.zst with the given raw members (name, entry type, data).
fn hostile(path: &Path, members: &[(&[u8], tar::EntryType, &[u8])]) {
    let f = std::fs::File::create(path).unwrap();
    let enc = zstd::Encoder::new(f, 1).unwrap();
    let mut tar = tar::Builder::new(enc);
    for (name, kind, data) in members {
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        if *kind == tar::EntryType::Symlink {
            h.set_link_name("/etc/passwd").unwrap();
        }
        h.set_cksum();
        tar.append(&h, *data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
}

#[test]
fn corrupted_and_hostile_archives_are_refused_naming_the_member() {
    let site = Site::new("bad-county", false);
    site.add_departments(2);
    site.add_blob(4096);
    let good = backup::create(&site.cfg, None).unwrap().path;
    let bytes = std::fs::read(&good).unwrap();
    let work = tempfile::tempdir().unwrap();
    let cases_dir = work.path().join("cases");
    std::fs::create_dir_all(&cases_dir).unwrap();
    let case = |name: &str, data: &[u8]| {
        let p = cases_dir.join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;

    // A manifest that lies about the database's checksum, with otherwise genuine members.
    let extracted = tempfile::tempdir().unwrap();
    let mut a = tar::Archive::new(zstd::Decoder::new(std::fs::File::open(&good).unwrap()).unwrap());
    a.unpack(extracted.path()).unwrap();
    let manifest_text = std::fs::read_to_string(extracted.path().join("manifest.json")).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_str(&manifest_text).unwrap();
    manifest["members"][0]["sha256"] = serde_json::json!("0".repeat(64));
    let db = std::fs::read(extracted.path().join("govbox.db")).unwrap();
    let lying = cases_dir.join("lying.tar.zst");
    hostile(
        &lying,
        &[
            (b"govbox.db", tar::EntryType::Regular, &db),
            (
                b"manifest.json",
                tar::EntryType::Regular,
                manifest.to_string().as_bytes(),
            ),
        ],
    );

    let traversal = cases_dir.join("traversal.tar.zst");
    hostile(
        &traversal,
        &[(b"../escaped", tar::EntryType::Regular, b"x")],
    );
    let absolute = cases_dir.join("absolute.tar.zst");
    let target = work.path().join("absolute-target");
    hostile(
        &absolute,
        &[(
            target.to_str().unwrap().as_bytes(),
            tar::EntryType::Regular,
            b"x",
        )],
    );
    let symlink = cases_dir.join("symlink.tar.zst");
    hostile(&symlink, &[(b"govbox.db", tar::EntryType::Symlink, b"")]);
    let device = cases_dir.join("device.tar.zst");
    hostile(&device, &[(b"govbox.db", tar::EntryType::Char, b"")]);
    let no_manifest = cases_dir.join("nomanifest.tar.zst");
    hostile(
        &no_manifest,
        &[(b"govbox.db", tar::EntryType::Regular, &db)],
    );

    let matrix: Vec<(PathBuf, &str)> = vec![
        (case("truncated.tar.zst", &bytes[..bytes.len() * 2 / 3]), ""),
        (case("flipped.tar.zst", &flipped), ""),
        (case("empty.tar.zst", b""), ""),
        (
            case("garbage.tar.zst", b"this is not an archive at all"),
            "",
        ),
        (lying, "govbox.db"),
        (traversal, "../escaped"),
        (absolute, "absolute-target"),
        (symlink, "govbox.db"),
        (device, "govbox.db"),
        (no_manifest, "manifest.json"),
    ];
    for (archive, member) in &matrix {
        let out = govbox(&[
            "backup",
            "verify",
            archive.to_str().unwrap(),
            "--config",
            &site.config(),
        ]);
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(1), "{}: {shown}", archive.display());
        assert!(shown.contains("成员"), "{}: {shown}", archive.display());
        assert!(
            shown.contains(member),
            "{} should name {member}: {shown}",
            archive.display()
        );
        let restore = govbox(&[
            "backup",
            "restore",
            archive.to_str().unwrap(),
            "--config",
            &site.config(),
        ]);
        assert_ne!(restore.status.code(), Some(0), "{}", archive.display());
    }
    assert!(!work.path().join("escaped").exists() && !cases_dir.join("../escaped").exists());
    assert!(
        !target.exists(),
        "nothing written outside the scratch directory"
    );
    assert_eq!(
        site.count("SELECT count(*) FROM departments"),
        3,
        "refused restores changed nothing"
    );
    let ok = govbox(&[
        "backup",
        "verify",
        good.to_str().unwrap(),
        "--config",
        &site.config(),
    ]);
    assert!(ok.status.success(), "{}", text(&ok));
}

/// Mounts a small tmpfs; unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn new(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(st.success(), "mount tmpfs (needs root)");
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_gives_a_clear_error_and_earlier_backups_stay_intact() {
    let site = Site::new("full-county", false);
    let _disk = Tmpfs::new(&site.dir.path().join("backups"), "3m");
    let first = backup::create(&site.cfg, None).unwrap().path;
    site.add_blob(5 << 20);
    let out = govbox(&["backup", "create", "--config", &site.config()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("磁盘空间不足"), "{}", text(&out));
    assert_eq!(
        site.archives(),
        vec![first.clone()],
        "no new archive, the old one is there"
    );
    let leftovers: Vec<String> = std::fs::read_dir(site.dir.path().join("backups"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial") || n.starts_with(".govbox-staging-"))
        .collect();
    assert!(leftovers.is_empty(), "space given back: {leftovers:?}");
    let ok = govbox(&[
        "backup",
        "verify",
        first.to_str().unwrap(),
        "--config",
        &site.config(),
    ]);
    assert!(ok.status.success(), "{}", text(&ok));
}

#[test]
fn prune_keeps_the_policy_and_the_newest_verified_backup() {
    let site = Site::new("prune-county", false);
    let dir = site.dir.path().join("backups");
    std::fs::create_dir_all(&dir).unwrap();
    // Ten daily backups; only an old one verified.
    let mut names = Vec::new();
    for day in 1..=10 {
        let name = format!("govbox-prune-county-202611{day:02}T020000Z.tar.zst");
        std::fs::write(dir.join(&name), b"x").unwrap();
        names.push(name);
    }
    std::fs::write(
        dir.join(format!("{}.verified.json", names[2])),
        r#"{"at":"2026-11-03T03:00:00.000Z","ok":true,"error":null}"#,
    )
    .unwrap();
    let cfg = std::fs::read_to_string(site.config()).unwrap()
        + "[backup]\nkeep_hourly = 0\nkeep_daily = 3\nkeep_weekly = 0\nkeep_monthly = 0\n";
    std::fs::write(site.config(), cfg).unwrap();
    let dry = govbox(&["backup", "prune", "--dry-run", "--config", &site.config()]);
    assert!(text(&dry).contains("将删除 6 个备份"), "{}", text(&dry));
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        11,
        "a dry run deletes nothing"
    );
    let out = govbox(&["backup", "prune", "--config", &site.config()]);
    assert!(out.status.success(), "{}", text(&out));
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tar.zst"))
        .collect();
    left.sort();
    assert_eq!(
        left,
        vec![
            names[2].clone(),
            names[7].clone(),
            names[8].clone(),
            names[9].clone()
        ]
    );
}

#[test]
fn drills_restore_the_newest_backup_and_are_recorded() {
    let site = Site::new("drill-county", false);
    site.add_departments(1);
    backup::create(&site.cfg, None).unwrap();
    let out = govbox(&["backup", "drill", "--config", &site.config()]);
    assert!(out.status.success(), "{}", text(&out));
    let d = backup::last_drill(&site.cfg).unwrap();
    assert!(d.ok && d.seconds >= 0.0);
    let list = govbox(&["backup", "list", "--config", &site.config()]);
    assert!(text(&list).contains("最近一次恢复演练"), "{}", text(&list));
}

/// The weekly drill and the hourly backup are separate timers and may overlap: the backup's
/// clean-up of crashed runs must leave a running drill's (or verify's) scratch directory alone,
/// and still remove one nobody holds any more.
#[test]
fn a_backup_removes_only_the_scratch_of_drills_that_are_no_longer_running() {
    let site = Site::new("overlap-county", false);
    backup::create(&site.cfg, None).unwrap();
    let backups = site.dir.path().join("backups");
    let hold = |arg| {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(backups.join(".govbox-scratch.lock"))
            .unwrap();
        nix::fcntl::Flock::lock(f, arg).unwrap()
    };
    // What a drill has while it extracts: the shared lock and its half-filled directory.
    let running = hold(nix::fcntl::FlockArg::LockShared);
    let scratch = backups.join(".govbox-drill-inprogress");
    std::fs::create_dir(&scratch).unwrap();
    std::fs::write(scratch.join("govbox.db"), b"half written").unwrap();
    backup::create(&site.cfg, None).unwrap();
    assert!(
        scratch.join("govbox.db").exists(),
        "a running drill lost its files"
    );
    // The drill dies by kill -9: its lock goes with it, its directory stays behind.
    drop(running);
    let out = govbox(&["backup", "create", "--config", &site.config()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!scratch.exists(), "a dead drill's scratch was left behind");
    assert_eq!(site.archives().len(), 3);
    // Cleaning up never keeps a drill from starting afterwards.
    let drill = govbox(&["backup", "drill", "--config", &site.config()]);
    assert!(drill.status.success(), "{}", text(&drill));
}

#[test]
fn list_says_when_there_is_nothing_to_list_and_why() {
    let site = Site::new("empty-county", false);
    let empty = govbox(&["backup", "list", "--config", &site.config()]);
    assert!(empty.status.success(), "{}", text(&empty));
    assert!(text(&empty).contains("还没有备份"), "{}", text(&empty));
    let text_of = std::fs::read_to_string(site.config()).unwrap();
    let without: String = text_of
        .lines()
        .filter(|l| !l.starts_with("backup_dir"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(site.config(), without).unwrap();
    let nowhere = govbox(&["backup", "list", "--config", &site.config()]);
    assert!(nowhere.status.success(), "{}", text(&nowhere));
    assert!(
        text(&nowhere).contains("storage.backup_dir") && text(&nowhere).contains("修正"),
        "{}",
        text(&nowhere)
    );
}

#[test]
fn scheduled_runs_skip_until_the_interval_has_passed() {
    let site = Site::new("timer-county", false);
    let first = govbox(&["backup", "create", "--if-due", "--config", &site.config()]);
    assert!(first.status.success(), "{}", text(&first));
    assert_eq!(site.archives().len(), 1, "no backup yet: due");
    let second = govbox(&["backup", "create", "--if-due", "--config", &site.config()]);
    assert!(text(&second).contains("跳过"), "{}", text(&second));
    assert_eq!(site.archives().len(), 1);
    std::thread::sleep(Duration::from_millis(1100));
    let manual = govbox(&["backup", "create", "--config", &site.config()]);
    assert!(manual.status.success());
    assert_eq!(site.archives().len(), 2, "by hand it always runs");
}

/// Cores this thread may run on.
fn cores_allowed() -> usize {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).unwrap();
    (0..nix::sched::CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap())
        .count()
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_backup_keeps_off_one_core_while_the_server_serves() {
    let all = cores_allowed();
    let temp = tempfile::tempdir().unwrap();
    let mut demo = Demo::start_in(temp.path());
    let data_dir = SiteConfig::load(&demo.config()).unwrap().storage.data_dir;
    let Some(give_way) = backup::GiveWay::start(&data_dir) else {
        assert_eq!(all, 1, "only a single core gives nothing to leave free");
        return;
    };
    // Started as if the server were serving: narrowed from the first tick.
    wait_for("narrowed at the start", Duration::from_secs(1), || {
        cores_allowed() == all - 1
    });
    wait_for(
        "every core back once the server idles",
        backup::GiveWay::HOLD * 4,
        || cores_allowed() == all,
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (stop, url) = (stop.clone(), format!("{}/healthz", demo.office));
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let client = reqwest::Client::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = client.get(&url).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            });
        })
    };
    wait_for(
        "narrowed while the office serves",
        Duration::from_secs(1),
        || cores_allowed() == all - 1,
    );
    // And it stays narrowed for as long as requests keep coming.
    for _ in 0..20 {
        std::thread::sleep(backup::GiveWay::HOLD / 10);
        assert_eq!(cores_allowed(), all - 1);
    }
    drop(give_way);
    assert_eq!(cores_allowed(), all, "dropping gives every core back");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    load.join().unwrap();
    assert!(demo.stop().success());
    assert!(
        backup::GiveWay::start(&data_dir).is_none(),
        "no server, nobody to give way to"
    );
}
