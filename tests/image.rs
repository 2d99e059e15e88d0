//! The appliance image, booted. `image/build.sh` builds it; these tests take its disk image
//! (`GOVBOX_IMAGE`), look inside, and boot it two ways:
//! - a copy of its root partition with systemd-nspawn: the image's systemd as PID 1, in a network
//!   namespace with an "external" and an "internal" host, the boot partition's files (plus a
//!   site file, as the county IT staff put it there) bound at /boot. Fast; shows the first boot
//!   with a bad and then a good site file, the firewall and a second boot.
//! - the whole disk in a UEFI virtual machine (qemu, emulated, with OVMF): the firmware, systemd-
//!   boot, the kernel and initrd, the FAT boot partition mounted, the root partition grown over a
//!   larger disk, provisioning and the portal. What a container cannot show.
//!
//! Not run by a plain `cargo test` (the image takes minutes to build): tests/run.sh builds the
//! image and runs them with `GOVBOX_IMAGE=target/image/govbox.raw cargo test --test image --
//! --ignored`. Needs root, systemd-nspawn (systemd-container), qemu-system-x86, ovmf, mtools,
//! iproute2 and loop devices.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::text;

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", text(&out));
    out
}

fn image() -> PathBuf {
    let path = std::env::var_os("GOVBOX_IMAGE")
        .expect("GOVBOX_IMAGE: the disk image image/build.sh made (see tests/run.sh)");
    let path = PathBuf::from(path);
    assert!(
        path.is_file(),
        "GOVBOX_IMAGE={} is not a file",
        path.display()
    );
    path
}

/// (byte offset, byte length) of the boot and root partitions, found by their GPT names.
fn partitions(raw: &Path) -> ((u64, u64), (u64, u64)) {
    let out = run(Command::new("sfdisk").arg("--json").arg(raw));
    let table: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let table = &table["partitiontable"];
    assert_eq!(table["label"], "gpt");
    let sector = table["sectorsize"].as_u64().unwrap_or(512);
    let find = |name: &str| {
        let p = table["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no partition named {name}"));
        (
            p["start"].as_u64().unwrap() * sector,
            p["size"].as_u64().unwrap() * sector,
        )
    };
    let (boot, root) = (find("govbox-boot"), find("govbox-root"));
    let esp = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
    let root_x86_64 = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";
    let types: Vec<&str> = table["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, [esp, root_x86_64], "partition types");
    (boot, root)
}

/// A loop mount, unmounted on drop (also when the test fails).
struct Mount(PathBuf);

impl Mount {
    fn new(source: &Path, at: &Path, options: &str) -> Mount {
        std::fs::create_dir_all(at).unwrap();
        run(Command::new("mount")
            .args(["-o", options])
            .arg(source)
            .arg(at));
        Mount(at.to_path_buf())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The names of the compilers and toolchains an appliance must not carry.
const COMPILERS: [&str; 11] = [
    "gcc", "g++", "cc", "c++", "cpp", "clang", "tcc", "rustc", "cargo", "as", "ld",
];

#[test]
#[ignore = "needs the built image: tests/run.sh runs it with GOVBOX_IMAGE"]
fn the_image_holds_govbox_its_enabled_units_nftables_and_no_compiler() {
    let raw = image();
    let ((boot_at, _), (root_at, root_len)) = partitions(&raw);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let _mount = Mount::new(
        &raw,
        &root,
        &format!("loop,ro,offset={root_at},sizelimit={root_len}"),
    );

    // The image's binary is a release build of this source: same version, same schema.
    let version = |bin: &Path| text(&run(Command::new(bin).arg("version")));
    assert_eq!(
        version(&root.join("usr/local/bin/govbox")),
        version(Path::new(common::bin()))
    );
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("units");
    for e in std::fs::read_dir(&units).unwrap().flatten() {
        let name = e.file_name();
        assert_eq!(
            std::fs::read(root.join("etc/systemd/system").join(&name)).unwrap(),
            std::fs::read(e.path()).unwrap(),
            "{name:?} in the image is the repository's"
        );
    }
    for (target, unit) in [
        ("multi-user.target.wants", "govbox-firstboot.service"),
        ("multi-user.target.wants", "govbox.service"),
        ("sysinit.target.wants", "govbox-firewall.service"),
        ("timers.target.wants", "govbox-backup.timer"),
        ("timers.target.wants", "govbox-backup-drill.timer"),
        ("local-fs.target.wants", "boot.mount"),
    ] {
        let link = root.join("etc/systemd/system").join(target).join(unit);
        assert_eq!(
            std::fs::read_link(&link).unwrap_or_else(|e| panic!("{unit} not enabled: {e}")),
            Path::new("/etc/systemd/system").join(unit)
        );
    }

    let status = std::fs::read_to_string(root.join("var/lib/dpkg/status")).unwrap();
    let installed: Vec<&str> = status
        .split("\n\n")
        .filter(|p| p.contains("\nStatus: install ok installed"))
        .filter_map(|p| p.lines().next()?.strip_prefix("Package: "))
        .collect();
    for wanted in ["systemd", "nftables", "linux-image-amd64", "passwd"] {
        assert!(installed.contains(&wanted), "{wanted} is installed");
    }
    // gcc, gcc-12, clang-14, llvm-14, binutils, ... but not gcc-12-base or libgcc-s1.
    let toolchain = |p: &str| {
        let base = p.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '.');
        COMPILERS.contains(&base) || base == "binutils" || base == "llvm"
    };
    let found: Vec<&str> = installed.iter().copied().filter(|p| toolchain(p)).collect();
    assert!(
        found.is_empty(),
        "compiler packages in the image: {found:?}"
    );
    for name in COMPILERS {
        for dir in ["usr/bin", "usr/local/bin", "bin"] {
            let p = root.join(dir).join(name);
            assert!(
                p.symlink_metadata().is_err(),
                "{} in the image",
                p.display()
            );
        }
    }
    assert_eq!(
        std::fs::read(root.join("etc/machine-id")).unwrap(),
        b"",
        "each machine makes its own machine-id"
    );
    assert!(
        !root.join("etc/govbox").exists(),
        "the image is not provisioned"
    );
    let host_keys: Vec<_> = std::fs::read_dir(root.join("etc/ssh"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("ssh_host_"))
        .map(|e| e.file_name())
        .collect();
    assert!(
        host_keys.is_empty(),
        "SSH host keys in the image: {host_keys:?}"
    );

    let at = format!("{}@@{boot_at}", raw.display());
    let listing = text(&run(
        Command::new("mdir").args(["-/", "-b", "-i", &at, "::/"])
    ));
    for want in [
        "::/EFI/BOOT/BOOTX64.EFI",
        "::/loader/loader.conf",
        "::/loader/entries/govbox.conf",
        "::/vmlinuz",
        "::/initrd.img",
        "::/govbox/README.txt",
    ] {
        assert!(
            listing.lines().any(|l| l.eq_ignore_ascii_case(want)),
            "{want} on the boot partition: {listing}"
        );
    }
    let entry = text(&run(Command::new("mtype").args([
        "-i",
        &at,
        "::/loader/entries/govbox.conf",
    ])));
    assert!(entry.contains("root=LABEL=govbox-root"), "{entry}");
    let label = text(&run(Command::new("blkid")
        .args([
            "-p",
            "-O",
            &root_at.to_string(),
            "-s",
            "LABEL",
            "-o",
            "value",
        ])
        .arg(&raw)));
    assert_eq!(label.trim(), "govbox-root");
}

/// Runs `f` on a thread that has entered the network namespace `ns`.
fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    in_netns(PathBuf::from(format!("/var/run/netns/{ns}")), f)
}

/// Runs `f` on a thread that has entered the network namespace at `path`.
fn in_netns<T: Send + 'static>(path: PathBuf, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        let fd = std::fs::File::open(&path).unwrap();
        nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
    .join()
    .unwrap()
}

/// Two hosts, each in a network namespace of its own: `ext` on the machine's ext0 (external
/// zone, by interface) and `int` on int0 (internal zone, by subnet). Each boot links them to
/// the machine afresh (see `Machine::boot`). Removed on drop.
struct Net {
    prefix: String,
}

/// (host, the machine's interface, the machine's address, the host's address)
const LINKS: [(&str, &str, &str, &str); 2] = [
    ("ext", "ext0", "192.0.2.1/24", "192.0.2.2/24"),
    ("int", "int0", "10.20.0.1/24", "10.20.0.2/24"),
];
const APP_EXT: &str = "192.0.2.1";
const APP_INT: &str = "10.20.0.1";

impl Net {
    fn new() -> Net {
        static N: AtomicU32 = AtomicU32::new(0);
        let net = Net {
            prefix: format!(
                "gbi{}x{}",
                std::process::id() % 10_000,
                N.fetch_add(1, Ordering::SeqCst)
            ),
        };
        for (host, ..) in LINKS {
            let h = net.ns(host);
            run(Command::new("ip").args(["netns", "add", &h]));
            run(Command::new("ip").args(["-n", &h, "link", "set", "lo", "up"]));
        }
        net
    }

    fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// GET `url` from host `host`: (status, body), or None when nothing answers.
    fn get(&self, host: &str, url: &str) -> Option<(u16, String)> {
        let url = url.to_string();
        in_ns(&self.ns(host), move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(3))
                    .build()
                    .unwrap();
                let r = client.get(&url).send().await.ok()?;
                let status = r.status().as_u16();
                Some((status, r.text().await.ok()?))
            })
        })
    }

    /// Signs in on the office from host `host`; the HTTP status of `/api/me` afterwards.
    fn login(&self, host: &str, base: &str, password: &str) -> u16 {
        let (base, password) = (base.to_string(), password.to_string());
        in_ns(&self.ns(host), move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut web = common::Web::new(&base);
                web.login("admin", &password).await.status().as_u16()
            })
        })
    }

    fn reaches(&self, host: &str, addr: &str, port: u16) -> bool {
        let addr: std::net::SocketAddr = format!("{addr}:{port}").parse().unwrap();
        in_ns(&self.ns(host), move || {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(800)).is_ok()
        })
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for (host, ..) in LINKS {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.ns(host)])
                .status();
        }
    }
}

/// One boot of the root partition in `root` with systemd-nspawn; its console goes to a file.
/// `stop` shuts the machine down cleanly; drop kills it if it is still running.
struct Machine {
    child: Child,
    name: String,
    console: PathBuf,
    /// The machine's systemd, as the host sees it.
    init: u32,
}

impl Machine {
    fn boot(root: &Path, boot: &Path, net: &Net, console: PathBuf) -> Machine {
        let tag = console.file_stem().unwrap().to_string_lossy().into_owned();
        let name = format!("{}-{tag}", net.prefix);
        let log = std::fs::File::create(&console).unwrap();
        let mut cmd = Command::new("systemd-nspawn");
        cmd.args(["--boot", "--quiet", "--register=no", "--keep-unit"])
            .args(["--console=read-only", "--machine", &name])
            // A network namespace of nspawn's own, with the interfaces the site file names
            // (veth pairs whose outer ends go to the hosts' namespaces below). nspawn's
            // --network-namespace-path would leave the host's /sys/class/net in the machine,
            // and --network-interface needs udev on the host; neither works here.
            .arg("--private-network");
        for (host, iface, ..) in LINKS {
            cmd.arg(format!(
                "--network-veth-extra={}:{iface}",
                veth(net, &tag, host)
            ));
        }
        let child = cmd
            .arg(format!("--bind={}:/boot", boot.display()))
            .arg("--directory")
            .arg(root)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut m = Machine {
            child,
            name,
            console,
            init: 0,
        };
        m.init = m.wait_for_init();
        for (host, iface, app_addr, host_addr) in LINKS {
            let outer = veth(net, &tag, host);
            let h = net.ns(host);
            run(Command::new("ip").args(["link", "set", &outer, "netns", &h]));
            run(Command::new("ip").args(["-n", &h, "addr", "add", host_addr, "dev", &outer]));
            run(Command::new("ip").args(["-n", &h, "link", "set", &outer, "up"]));
            m.inside(&["ip", "addr", "add", app_addr, "dev", iface]);
            m.inside(&["ip", "link", "set", iface, "up"]);
        }
        m
    }

    /// The process id of the machine's systemd, once nspawn has started it.
    fn wait_for_init(&mut self) -> u32 {
        let pid = self.child.id();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            for init in children.split_whitespace() {
                let comm =
                    std::fs::read_to_string(format!("/proc/{init}/comm")).unwrap_or_default();
                if comm.trim() == "systemd" {
                    return init.parse().unwrap();
                }
            }
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!("nspawn exited ({st}):\n{}", self.console());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the machine's systemd did not start:\n{}", self.console());
    }

    /// Waits for the machine's boot to finish, whatever its outcome, and says how it went
    /// (`running`, `degraded`, ...). A power button pressed while units are still starting
    /// can leave systemd-networkd's stop job waiting out its 90 s timeout; an operator who
    /// reads the console first does not meet that.
    fn settle(&self) -> String {
        self.in_machine(&["timeout", "120", "systemctl", "is-system-running", "--wait"])
    }

    /// systemd's word on `unit` in the machine (`active`, `failed`, `inactive`, ...).
    fn unit_state(&self, unit: &str) -> String {
        self.in_machine(&["systemctl", "is-active", unit])
    }

    /// What `cmd`, run with the machine's own files and processes, printed; its exit status is
    /// the answer's, not a failure (`is-active` exits 3 for a unit that is not running).
    fn in_machine(&self, cmd: &[&str]) -> String {
        let out = Command::new("nsenter")
            .args(["-t", &self.init.to_string(), "-m", "-p", "--"])
            .args(cmd)
            .output()
            .unwrap();
        text(&out).trim().to_string()
    }

    /// The machine's network namespace (its init's), for commands run inside it.
    fn netns(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.init))
    }

    /// Runs `cmd` in the machine's network namespace.
    fn inside(&self, cmd: &[&str]) -> Output {
        run(Command::new("nsenter")
            .arg(format!("--net={}", self.netns().display()))
            .args(cmd))
    }

    fn console(&self) -> String {
        std::fs::read_to_string(&self.console).unwrap_or_default()
    }

    /// Waits until `ok` holds; on timeout fails with the console, the journal and why.
    fn wait(&mut self, root: &Path, what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if ok() {
                return;
            }
            if let Some(st) = self.child.try_wait().unwrap() {
                panic!(
                    "the machine stopped ({st}) before {what}:\n{}",
                    self.console()
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!(
            "{what}: not within {limit:?}\n--- console ---\n{}\n--- journal ---\n{}",
            self.console(),
            journal(root)
        );
    }

    /// Halts the machine the way a power button does (nspawn turns SIGTERM into an orderly
    /// shutdown of the container's systemd) and waits for it to be off.
    fn stop(&mut self) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let st =
            common::wait_timeout(&mut self.child, Duration::from_secs(90)).unwrap_or_else(|| {
                panic!(
                    "the machine did not shut down:\n{}\n--- journal ---\n{}",
                    self.console(),
                    journal(Path::new(&format!("/proc/{}/root", self.init)))
                )
            });
        assert!(st.success(), "shutdown: {st}\n{}", self.console());
    }
}

/// The outer end of the machine's veth to `host` (at most 15 characters, unique per boot).
fn veth(net: &Net, tag: &str, host: &str) -> String {
    format!("{}{}{}", net.prefix, &tag[..1], &host[..1])
}

impl Drop for Machine {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // Killing the container's init ends every process in it; nspawn then exits.
            let pid = self.child.id();
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"));
            for init in children.unwrap_or_default().split_whitespace() {
                if let Ok(init) = init.parse() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(init),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
            if common::wait_timeout(&mut self.child, Duration::from_secs(10)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        // nspawn leaves its mount-propagation directory behind when /run is not a tmpfs.
        let _ = std::fs::remove_dir_all(format!("/run/systemd/nspawn/propagate/{}", self.name));
    }
}

/// The machine's journal (persistent, on its root partition), for failure messages.
fn journal(root: &Path) -> String {
    let out = Command::new("journalctl")
        .arg("--directory")
        .arg(root.join("var/log/journal"))
        .args(["--no-pager", "-o", "short-monotonic", "-n", "200"])
        .output();
    out.map(|o| text(&o)).unwrap_or_else(|e| e.to_string())
}

const SITE: &str = r#"
[site]
id = "img-town"
name = "镜像试验镇"
tier = "township"
parent = "img-county"

[listen]
portal = "0.0.0.0:8080"
office = "0.0.0.0:8081"

[storage]
data_dir = "/var/lib/govbox"
backup_dir = "/var/backups/govbox"

[firewall]
ssh_port = 22

[firewall.zones.external]
interfaces = ["ext0"]
services = ["portal"]

[firewall.zones.internal]
subnets = ["10.20.0.0/24"]
services = ["office", "portal"]

[firewall.zones.management]
subnets = ["10.99.0.0/24"]
services = ["ssh", "metrics"]
"#;

#[test]
#[ignore = "needs the built image: tests/run.sh runs it with GOVBOX_IMAGE"]
fn first_boot_refuses_a_bad_site_file_then_provisions_from_the_fixed_one_and_serves() {
    let raw = image();
    let ((boot_at, _), (root_at, root_len)) = partitions(&raw);
    let dir = tempfile::tempdir().unwrap();

    // A copy of the image's partitions: the boot partition's files, as a FAT partition shows
    // them, and the root partition's file system, booted read-write.
    let boot = dir.path().join("boot");
    std::fs::create_dir(&boot).unwrap();
    run(Command::new("mcopy")
        .args([
            "-s",
            "-n",
            "-i",
            &format!("{}@@{boot_at}", raw.display()),
            "::/*",
        ])
        .arg(&boot));
    let root_fs = dir.path().join("root.ext4");
    run(Command::new("dd")
        .arg(format!("if={}", raw.display()))
        .arg(format!("of={}", root_fs.display()))
        .args([
            "bs=4M",
            "iflag=skip_bytes,count_bytes",
            "conv=sparse",
            "status=none",
        ])
        .arg(format!("skip={root_at}"))
        .arg(format!("count={root_len}")));
    let root = dir.path().join("root");
    let _mount = Mount::new(&root_fs, &root, "loop");
    let net = Net::new();
    let portal_ext = format!("http://{APP_EXT}:8080/");
    let office_int = format!("http://{APP_INT}:8081");
    let site_file = boot.join("govbox/site.toml");

    // 1. A site file with a wrong key: first boot says which one, on the console, and leaves
    //    the machine as it was; nothing serves.
    std::fs::write(
        &site_file,
        SITE.replace("office = \"0.0.0.0:8081\"", "office = \"0.0.0.0:80810\""),
    )
    .unwrap();
    let passwd_before = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    {
        let mut m = Machine::boot(&root, &boot, &net, dir.path().join("bad.log"));
        m.wait(
            &root,
            "first boot reports the bad key",
            Duration::from_secs(90),
            || {
                let c = std::fs::read_to_string(dir.path().join("bad.log")).unwrap_or_default();
                c.contains("listen.office") && c.contains("govbox first-boot provisioning")
            },
        );
        let console = m.console();
        assert!(console.contains("配置项 `listen.office`"), "{console}");
        assert_eq!(m.settle(), "degraded", "{}", m.console());
        assert_eq!(m.unit_state("govbox-firstboot.service"), "failed");
        assert_eq!(m.unit_state("govbox.service"), "inactive");
        assert!(net.get("ext", &portal_ext).is_none(), "nothing serves");
        m.stop();
    }
    assert!(!root.join("etc/govbox").exists(), "nothing provisioned");
    assert!(!root.join("var/lib/govbox").exists(), "no data dir");
    assert_eq!(
        std::fs::read_to_string(root.join("etc/passwd")).unwrap(),
        passwd_before,
        "no system user"
    );

    // 2. The fixed file: first boot provisions, the firewall is loaded in the same boot, the
    //    portal answers the external zone, the office only the internal one.
    std::fs::write(&site_file, SITE).unwrap();
    let password;
    {
        let mut m = Machine::boot(&root, &boot, &net, dir.path().join("first.log"));
        m.wait(
            &root,
            "the portal answers",
            Duration::from_secs(120),
            || {
                net.get("ext", &portal_ext)
                    .is_some_and(|(s, body)| s == 200 && body.contains("镜像试验镇"))
            },
        );
        assert_eq!(
            std::fs::read_to_string(root.join("etc/govbox/site.toml")).unwrap(),
            SITE
        );
        password = std::fs::read_to_string(root.join("etc/govbox/initial-admin-password"))
            .unwrap()
            .trim()
            .to_string();
        let health = net.get("int", &format!("{office_int}/healthz"));
        assert_eq!(
            health.map(|h| h.0),
            Some(200),
            "office from the internal zone"
        );
        assert_eq!(
            net.login("int", &office_int, &password),
            200,
            "admin signs in"
        );
        assert!(
            !net.reaches("ext", APP_EXT, 8081),
            "the firewall keeps the external zone off the office"
        );
        let table = text(&m.inside(&["nft", "list", "table", "inet", "govbox"]));
        assert!(table.contains("\"ext0\""), "{table}");
        // sshd runs with host keys made on this machine (the image has none).
        let banner = in_netns(m.netns(), || {
            use std::io::Read;
            let mut c = std::net::TcpStream::connect("127.0.0.1:22").unwrap();
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = [0u8; 64];
            let n = c.read(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        assert!(banner.starts_with("SSH-2.0-OpenSSH"), "{banner}");
        assert!(root.join("etc/ssh/ssh_host_ed25519_key").exists());
        m.stop();
    }

    // 3. A normal boot: the first-boot unit stays off, the same database serves.
    {
        let mut m = Machine::boot(&root, &boot, &net, dir.path().join("second.log"));
        m.wait(
            &root,
            "the portal answers again",
            Duration::from_secs(120),
            || net.get("ext", &portal_ext).is_some_and(|(s, _)| s == 200),
        );
        assert_eq!(net.login("int", &office_int, &password), 200);
        m.stop();
    }
    let firstboot = text(&run(Command::new("journalctl")
        .arg("--directory")
        .arg(root.join("var/log/journal"))
        .args([
            "--boot=0",
            "--unit=govbox-firstboot.service",
            "-o",
            "cat",
            "--no-pager",
        ])));
    assert!(
        firstboot.contains("ConditionPathExists=!/etc/govbox/site.toml"),
        "first boot ran only once: {firstboot}"
    );
}

/// A UEFI virtual machine (qemu, OVMF) booting a copy of the image from its disk; its serial
/// console goes to a file. Killed on drop.
struct Vm {
    child: Child,
    console: PathBuf,
    monitor: PathBuf,
}

impl Vm {
    fn boot(disk: &Path, dir: &Path, ports: (u16, u16)) -> Vm {
        let vars = dir.join("OVMF_VARS.fd");
        std::fs::copy("/usr/share/OVMF/OVMF_VARS_4M.fd", &vars).unwrap();
        let console = dir.join("console.log");
        let monitor = dir.join("monitor.sock");
        let child = Command::new("qemu-system-x86_64")
            // Emulated, not KVM: these machines are VMs themselves, and KVM inside them fails
            // in the firmware. Slower (a minute or two to boot) but the same on every machine.
            .args(["-accel", "tcg,thread=multi", "-smp", "2", "-m", "1024"])
            .args(["-display", "none", "-no-reboot"])
            .arg("-serial")
            .arg(format!("file:{}", console.display()))
            .arg("-monitor")
            .arg(format!("unix:{},server,nowait", monitor.display()))
            .args(["-drive", "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"])
            .arg("-drive")
            .arg(format!("if=pflash,format=raw,file={}", vars.display()))
            .arg("-drive")
            .arg(format!("file={},format=raw,if=virtio", disk.display()))
            .arg("-nic")
            .arg(format!(
                "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:{}-:8080,hostfwd=tcp:127.0.0.1:{}-:8081",
                ports.0, ports.1
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("qemu.log")).unwrap())
            .spawn()
            .unwrap();
        Vm {
            child,
            console,
            monitor,
        }
    }

    fn console(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.console).unwrap_or_default()).into_owned()
    }

    /// The ACPI power button: the machine's systemd shuts down and qemu exits.
    fn power_off(&mut self) {
        use std::io::Write;
        let mut m = std::os::unix::net::UnixStream::connect(&self.monitor).unwrap();
        m.write_all(b"system_powerdown\n").unwrap();
        let st = common::wait_timeout(&mut self.child, Duration::from_secs(180))
            .unwrap_or_else(|| panic!("the VM did not power off:\n{}", self.console()));
        assert!(st.success(), "qemu: {st}");
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(url: &str) -> Option<(u16, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let r = client.get(url).send().await.ok()?;
        let status = r.status().as_u16();
        Some((status, r.text().await.ok()?))
    })
}

/// Blocks of the ext4 file system at `offset` in `disk`.
fn ext4_blocks(disk: &Path, offset: u64) -> u64 {
    let dev = text(&run(Command::new("losetup")
        .args([
            "--find",
            "--show",
            "--read-only",
            "--offset",
            &offset.to_string(),
        ])
        .arg(disk)));
    let out = Command::new("dumpe2fs").args(["-h", dev.trim()]).output();
    let _ = Command::new("losetup").args(["-d", dev.trim()]).status();
    let out = out.unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Block count:"))
        .unwrap_or_else(|| panic!("dumpe2fs: {}", text(&out)))
        .trim()
        .parse()
        .unwrap()
}

#[test]
#[ignore = "needs the built image: tests/run.sh runs it with GOVBOX_IMAGE"]
fn the_image_boots_on_uefi_grows_its_root_over_the_disk_provisions_and_serves() {
    let raw = image();
    let (_, (root_at, root_len)) = partitions(&raw);
    let dir = tempfile::tempdir().unwrap();
    // The image written to a disk 1 GiB larger than itself, the site file put on its boot
    // partition, as the county IT staff do.
    let disk = dir.path().join("disk.raw");
    run(Command::new("cp")
        .arg("--sparse=always")
        .arg(&raw)
        .arg(&disk));
    let size = std::fs::metadata(&disk).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&disk)
        .unwrap()
        .set_len(size + (1 << 30))
        .unwrap();
    let site = dir.path().join("site.toml");
    std::fs::write(
        &site,
        SITE.split("[firewall]")
            .next()
            .unwrap()
            .replace("镜像试验镇", "虚拟机试验镇"),
    )
    .unwrap();
    run(Command::new("mcopy")
        .arg("-i")
        .arg(format!("{}@@1M", disk.display()))
        .arg(&site)
        .arg("::/govbox/site.toml"));

    let ports = (free_port(), free_port());
    let mut vm = Vm::boot(&disk, dir.path(), ports);
    let start = Instant::now();
    let portal = format!("http://127.0.0.1:{}/", ports.0);
    while !get(&portal).is_some_and(|(s, body)| s == 200 && body.contains("虚拟机试验镇")) {
        if let Some(st) = vm.child.try_wait().unwrap() {
            panic!("qemu exited ({st}):\n{}", vm.console());
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "the portal did not answer within 10 minutes:\n{}",
            vm.console()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    eprintln!(
        "the VM serves its portal {:?} after power-on",
        start.elapsed()
    );
    let health = get(&format!("http://127.0.0.1:{}/healthz", ports.1)).expect("office answers");
    assert_eq!(health.0, 200);
    assert!(health.1.contains("\"site\":\"img-town\""), "{}", health.1);
    // systemd's status lines, without their colours.
    let console = vm.console();
    let plain = console
        .replace("\u{1b}[0;1;39m", "")
        .replace("\u{1b}[0m", "");
    for step in [
        "root=LABEL=govbox-root",
        "Finished systemd-repart.service",
        "Mounted boot.mount",
        "站点已配置完成",
        "Started govbox.service",
    ] {
        assert!(plain.contains(step), "{step} on the console:\n{console}");
    }
    vm.power_off();

    let (_, (grown_at, grown_len)) = partitions(&disk);
    assert_eq!(grown_at, root_at);
    assert!(
        grown_len >= root_len + (1 << 30) - (2 << 20),
        "root partition {root_len} → {grown_len} bytes"
    );
    let blocks = ext4_blocks(&disk, root_at);
    assert!(
        blocks * 4096 + (4 << 20) >= grown_len,
        "the file system fills the partition: {blocks} blocks of 4 KiB, {grown_len} bytes"
    );
}
