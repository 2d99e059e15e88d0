//! Replication over real mutual TLS between real `govbox serve` processes.

mod replication_support;

use std::time::Duration;

use replication_support::*;

/// Township → county → province, each its own process and CA-signed certificate.
struct Chain {
    _ca: Ca,
    province: Site,
    county: Site,
    township: Site,
}

fn chain() -> Chain {
    let ca = Ca::new();
    let p_addr = format!("127.0.0.1:{}", free_port());
    let c_addr = format!("127.0.0.1:{}", free_port());
    let mut province = Site::new(&ca, "p1", "province", None, Some(p_addr.clone()), None);
    let mut county = Site::new(
        &ca,
        "c1",
        "county",
        Some("p1"),
        Some(c_addr.clone()),
        Some(format!("https://{p_addr}")),
    );
    let mut township = Site::new(
        &ca,
        "t1",
        "township",
        Some("c1"),
        None,
        Some(format!("https://{c_addr}")),
    );
    province.start();
    county.start();
    township.start();
    Chain {
        _ca: ca,
        province,
        county,
        township,
    }
}

#[test]
fn chain_of_100k_changes_converges_at_the_province_with_origins_kept_apart() {
    let c = chain();
    let n: usize = std::env::var("GOVBOX_TEST_CHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    c.county.load(1_000, "county");
    c.township.load(n, "town");
    let limit = Duration::from_secs(600);
    wait_converged(&c.township.db(), "t1", &c.county.db(), limit);
    wait_converged(&c.township.db(), "t1", &c.province.db(), limit);
    wait_converged(&c.county.db(), "c1", &c.province.db(), limit);

    let st = c.province.status();
    let children = st["children"].as_array().unwrap();
    let t1 = children.iter().find(|x| x["site"] == "t1").unwrap();
    assert_eq!(t1["via"], "c1", "the township is relayed by its county");
    assert!(t1["alarm"].is_null(), "{t1}");
    let county = c.county.status();
    assert_eq!(county["sender"]["lag_changes"], 0, "{county}");
    assert_eq!(county["sender"]["relay_pending"], 0, "{county}");
    let town = c.township.status();
    assert_eq!(town["sender"]["lag_changes"], 0, "{town}");
    let metrics = blocking_get(&format!("{}/metrics", c.county.office.as_ref().unwrap()));
    assert!(
        metrics.contains("govbox_replication_lag_changes 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("govbox_replication_child_alarm{site=\"t1\"} 0"),
        "{metrics}"
    );
}

#[test]
fn kill_9_of_sender_and_receiver_20_times_loses_and_duplicates_nothing() {
    use rand::Rng;
    let ca = Ca::new();
    let c_addr = format!("127.0.0.1:{}", free_port());
    let mut county = Site::new(&ca, "c1", "county", Some("p1"), Some(c_addr.clone()), None);
    let mut town = Site::new(
        &ca,
        "t1",
        "township",
        Some("c1"),
        None,
        Some(format!("https://{c_addr}")),
    );
    county.start();
    town.start();
    // The office keeps writing whatever happens to the replication processes.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let db = town.db();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut round = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                load_into(&db, "t1", 300, &format!("r{round}"));
                round += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let mut rng = rand::thread_rng();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..600)));
        let victim = if rng.gen_bool(0.5) {
            &mut town
        } else {
            &mut county
        };
        victim.kill9();
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..300)));
        victim.start();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert!(own_log(&town.db()).len() > 3_000, "the writer kept writing");
    wait_converged(&town.db(), "t1", &county.db(), Duration::from_secs(180));
}

#[test]
fn blobs_travel_up_before_the_changes_that_refer_to_them() {
    let c = chain();
    let data = format!("附件内容 {}", "x".repeat(100_000)).into_bytes();
    let hash = govbox::store::Blobs::new(&c.township.dir.path().join("data"))
        .put(&data)
        .unwrap();
    let st = govbox::store::open(&c.township.db(), "t1").unwrap();
    let h = hash.clone();
    st.write_blocking(move |tx| -> Result<(), govbox::store::StoreError> {
        tx.exec(
            "INSERT INTO departments(parent_id, name, kind, created_at) VALUES (NULL, '档案室', 'office', ?1)",
            [tx.now().to_string()],
        )?;
        tx.change_with_blobs(
            "attachment",
            "a1",
            govbox::store::Op::Insert,
            &serde_json::json!({"blob": h}),
            &[&h],
        )?;
        Ok(())
    })
    .unwrap();
    st.close();
    wait_converged(
        &c.township.db(),
        "t1",
        &c.province.db(),
        Duration::from_secs(60),
    );
    for site in [&c.county, &c.province] {
        let got = std::fs::read(site.dir.path().join("data/blobs").join(&hash)).unwrap();
        assert!(got == data, "{}: blob content differs", site.id);
    }
}

#[test]
fn a_restored_township_continues_above_what_the_county_holds() {
    let ca = Ca::new();
    let c_addr = format!("127.0.0.1:{}", free_port());
    let mut county = Site::new(&ca, "c1", "county", Some("p1"), Some(c_addr.clone()), None);
    let mut town = Site::new(
        &ca,
        "t1",
        "township",
        Some("c1"),
        None,
        Some(format!("https://{c_addr}")),
    );
    county.start();
    town.start();
    town.load(100, "a");
    wait_converged(&town.db(), "t1", &county.db(), Duration::from_secs(60));
    let backups = town.dir.path().join("backups");
    run(&[
        "backup",
        "create",
        "--config",
        &town.config(),
        "--to",
        backups.to_str().unwrap(),
    ]);
    town.load(100, "b");
    wait_converged(&town.db(), "t1", &county.db(), Duration::from_secs(60));
    let acked = own_log(&town.db()).last().unwrap().0;
    town.stop();
    // The disk died: nothing of the newer data is left on the township.
    std::fs::remove_dir_all(town.dir.path().join("data")).unwrap();
    let archive = std::fs::read_dir(&backups)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".tar.zst"))
        .unwrap();
    run(&[
        "backup",
        "restore",
        "--config",
        &town.config(),
        archive.to_str().unwrap(),
    ]);
    let restored = own_log(&town.db()).last().unwrap().0;
    assert!(restored < acked);
    // The office works before the link is back: these take seqs the county already holds
    // from before the disk died, and must be moved above them at the first contact.
    county.stop();
    town.load(10, "pre");
    let pre = own_log(&town.db())
        .iter()
        .filter(|r| r.0 > restored)
        .count() as i64;
    assert!(pre > 0 && restored + pre <= acked, "the new seqs collide");
    town.start();
    county.start();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while town.status()["sender"]["acked_seq"] != acked + pre {
        assert!(std::time::Instant::now() < deadline, "{}", town.status());
        std::thread::sleep(Duration::from_millis(200));
    }
    town.load(10, "c");
    let log = own_log(&town.db());
    let new: Vec<_> = log.iter().filter(|r| r.0 > restored).collect();
    assert!(!new.is_empty());
    assert!(
        new.iter().all(|r| r.0 > acked),
        "a seq the county holds was reused"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = received_log(&county.db(), "t1");
        if got.last().map(|r| r.0) == log.last().map(|r| r.0) {
            let (old, fresh): (Vec<_>, Vec<_>) = got.into_iter().partition(|r| r.0 <= acked);
            assert_eq!(old.len() as i64, acked, "the county keeps what it had");
            assert!(
                fresh.iter().eq(new.iter().copied()),
                "and gets the new changes"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn certificates_decide_who_may_send_what() {
    let ca = Ca::new();
    let c_addr = format!("127.0.0.1:{}", free_port());
    let mut county = Site::new(&ca, "c1", "county", Some("p1"), Some(c_addr), None);
    let t1 = Site::new(&ca, "t1", "township", Some("c1"), None, None);
    let t2 = Site::new(&ca, "t2", "township", Some("c1"), None, None);
    let other_county = Site::new(
        &ca,
        "c2",
        "county",
        Some("p1"),
        Some(format!("127.0.0.1:{}", free_port())),
        None,
    );
    let foreign_town = Site::new(&ca, "tx", "township", Some("c2"), None, None);
    county.start();
    let as_t1 = Peer::as_site(&t1, &county);
    let (s, v) = as_t1.batch(&batch_of("t1", 0, 1, 3)).await;
    assert_eq!((s, &v["acked"]["t1"]), (200, &serde_json::json!(3)), "{v}");

    // t1 pushing t2's changes: refused, with or without t2's certificate in the batch.
    let (s, v) = as_t1.batch(&batch_of("t2", 0, 1, 3)).await;
    assert_eq!((s, v["code"].as_str()), (403, Some("wrong_site")), "{v}");
    let mut with_cert = batch_of("t2", 0, 1, 3);
    with_cert["certs"] = serde_json::json!({
        "t2": std::fs::read_to_string(t2.pki().join("site.crt")).unwrap()
    });
    let (s, _) = as_t1.batch(&with_cert).await;
    assert_eq!(s, 403);
    // A batch mixing its own changes with someone else's is refused whole.
    let mut mixed = batch_of("t1", 3, 4, 5);
    mixed["origins"]
        .as_array_mut()
        .unwrap()
        .push(batch_of("t2", 0, 1, 1)["origins"][0].clone());
    let (s, _) = as_t1.batch(&mixed).await;
    assert_eq!(s, 403);
    assert_eq!(received_count(&county.db(), "t1"), 3);
    assert_eq!(received_count(&county.db(), "t2"), 0);

    // Sites of our CA that are not below this county.
    for stranger in [&other_county, &foreign_town] {
        let p = Peer::as_site(stranger, &county);
        let (s, v) = p
            .post("hello", br#"{"high_water":0}"#.to_vec(), false)
            .await
            .unwrap();
        assert_eq!(s, 403, "{}: {v}", stranger.id);
    }

    // No certificate, another CA's certificate, an expired one: refused at the handshake.
    let ca_pem = std::fs::read(county.pki().join("ca.crt")).unwrap();
    let none = Peer::new(Vec::new(), &ca_pem, &county);
    assert!(none.post("hello", b"{}".to_vec(), false).await.is_err());
    let other_ca = Ca::new();
    let impostor = Site::new(&other_ca, "t1", "township", Some("c1"), None, None);
    let p = Peer::new(identity_of(&impostor), &ca_pem, &county);
    assert!(p
        .post("hello", br#"{"high_water":0}"#.to_vec(), false)
        .await
        .is_err());
    let p = Peer::new(expired_identity(&ca, "t3", "c1"), &ca_pem, &county);
    assert!(p
        .post("hello", br#"{"high_water":0}"#.to_vec(), false)
        .await
        .is_err());
    assert_eq!(received_count(&county.db(), "t3"), 0);
}

fn identity_of(site: &Site) -> Vec<u8> {
    let mut id = std::fs::read(site.pki().join("site.key")).unwrap();
    id.extend(std::fs::read(site.pki().join("site.crt")).unwrap());
    id
}

/// A certificate of our own CA, for a real township, that expired last year.
fn expired_identity(ca: &Ca, site: &str, parent: &str) -> Vec<u8> {
    let ca_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(ca.path().join("ca.key")).unwrap())
            .unwrap();
    let ca_cert = rcgen::CertificateParams::from_ca_cert_pem(
        &std::fs::read_to_string(ca.path().join("ca.crt")).unwrap(),
    )
    .unwrap()
    .self_signed(&ca_key)
    .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(vec![site.to_string()]).unwrap();
    p.subject_alt_names.push(rcgen::SanType::URI(
        format!("urn:govbox:site:{site}:township:{parent}")
            .try_into()
            .unwrap(),
    ));
    p.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2025, 1, 1);
    let cert = p.signed_by(&key, &ca_cert, &ca_key).unwrap();
    let mut id = key.serialize_pem().into_bytes();
    id.extend(cert.pem().into_bytes());
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn replayed_malformed_oversized_and_out_of_order_batches_change_nothing() {
    let ca = Ca::new();
    let c_addr = format!("127.0.0.1:{}", free_port());
    let mut county = Site::new(&ca, "c1", "county", Some("p1"), Some(c_addr), None);
    let t1 = Site::new(&ca, "t1", "township", Some("c1"), None, None);
    county.start();
    let p = Peer::as_site(&t1, &county);
    let first = batch_of("t1", 0, 1, 3);
    assert_eq!(p.batch(&first).await.0, 200);
    let before = received_log(&county.db(), "t1");
    // A replay: acknowledged as before, nothing applied twice.
    let (s, v) = p.batch(&first).await;
    assert_eq!((s, &v["acked"]["t1"]), (200, &serde_json::json!(3)));
    assert!(received_log(&county.db(), "t1") == before);

    let refused = [
        // A gap: 4 is missing.
        (batch_of("t1", 3, 5, 6), 409, "out_of_order"),
        // The sender thinks more was acknowledged than was.
        (batch_of("t1", 7, 8, 9), 409, "out_of_order"),
        // Not contiguous inside the batch.
        (
            {
                let mut b = batch_of("t1", 3, 4, 6);
                b["origins"][0]["changes"].as_array_mut().unwrap().remove(1);
                b
            },
            409,
            "out_of_order",
        ),
        // A valid change followed by one with an unknown operation: neither is applied.
        (
            {
                let mut b = batch_of("t1", 3, 4, 5);
                b["origins"][0]["changes"][1]["op"] = "drop_table".into();
                b
            },
            400,
            "malformed",
        ),
        // An unknown field, a wrong type.
        (
            serde_json::json!({"origins": [], "evil": 1}),
            400,
            "malformed",
        ),
        (serde_json::json!({"origins": "t1"}), 400, "malformed"),
        // A change referring to a blob never uploaded.
        (
            {
                let mut b = batch_of("t1", 3, 4, 4);
                b["origins"][0]["changes"][0]["blobs"] = serde_json::json!(["a".repeat(64)]);
                b
            },
            409,
            "missing_blob",
        ),
    ];
    for (batch, status, code) in refused {
        let (s, v) = p.batch(&batch).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (status, Some(code)),
            "{batch}: {v}"
        );
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(received_log(&county.db(), "t1") == before, "{batch}");
    }
    // Not JSON, not zstd, a zip bomb, too many changes, a body over the limit.
    let (s, _) = p.post("batch", b"{not json".to_vec(), false).await.unwrap();
    assert_eq!(s, 400);
    let (s, _) = p.post("batch", b"garbage".to_vec(), true).await.unwrap();
    assert_eq!(s, 400);
    let bomb = zstd::bulk::compress(&vec![b' '; 70 << 20], 19).unwrap();
    let (s, _) = p.post("batch", bomb, true).await.unwrap();
    assert_eq!(s, 413);
    let (s, _) = p.batch(&batch_of("t1", 3, 4, 10_004)).await;
    assert_eq!(s, 413);
    // The server stops reading an oversized body and closes: use a connection of its own.
    let huge = vec![b'x'; 17 << 20];
    let (s, _) = Peer::as_site(&t1, &county)
        .post("batch", huge, false)
        .await
        .unwrap();
    assert_eq!(s, 413);
    assert!(received_log(&county.db(), "t1") == before);

    // A blob whose bytes do not match its name is refused; the right bytes are taken.
    let bytes = b"scan of a form".to_vec();
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let put = |body: Vec<u8>| {
        p.http
            .put(format!("{}blobs/{hash}", p.base))
            .body(body)
            .send()
    };
    assert_eq!(put(b"tampered".to_vec()).await.unwrap().status(), 400);
    assert_eq!(put(bytes.clone()).await.unwrap().status(), 204);
    let mut b = batch_of("t1", 3, 4, 4);
    b["origins"][0]["changes"][0]["blobs"] = serde_json::json!([hash]);
    assert_eq!(p.batch(&b).await.0, 200);
    assert_eq!(received_count(&county.db(), "t1"), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silent_site_raises_an_alarm_in_status_metrics_and_the_workbench() {
    let ca = Ca::new();
    let c_addr = format!("127.0.0.1:{}", free_port());
    let mut county = Site::new(&ca, "c1", "county", Some("p1"), Some(c_addr.clone()), None);
    let mut town = Site::new(
        &ca,
        "t1",
        "township",
        Some("c1"),
        None,
        Some(format!("https://{c_addr}")),
    );
    county.start();
    town.start();
    town.load(20, "a");
    wait_converged(&town.db(), "t1", &county.db(), Duration::from_secs(60));
    let st = county.status();
    assert!(st["children"][0]["alarm"].is_null(), "{st}");
    town.stop();
    county.stop();
    // The township has been silent for a long time (here: its last contact moved back).
    let conn = rusqlite::Connection::open(county.db()).unwrap();
    conn.execute(
        "UPDATE repl_sites SET last_contact = '2026-01-01T00:00:00.000Z' WHERE site_id = 't1'",
        [],
    )
    .unwrap();
    drop(conn);
    let pw = county.dir.path().join("pw");
    std::fs::write(&pw, "river-Stone-42\n").unwrap();
    run(&[
        "user",
        "add",
        "boss",
        "--name",
        "管理员",
        "--role",
        "admin@1",
        "--password-file",
        pw.to_str().unwrap(),
        "--config",
        &county.config(),
    ]);
    county.start();
    let st = county.status();
    let alarm = st["children"][0]["alarm"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(alarm.contains("t1"), "{st}");

    let office = county.office.clone().unwrap();
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let metrics = http
        .get(format!("{office}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("govbox_replication_child_alarm{site=\"t1\"} 1"),
        "{metrics}"
    );
    let login = http
        .post(format!("{office}/api/login"))
        .json(&serde_json::json!({"username": "boss", "password": "river-Stone-42"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    // The aggregated view holds the township's rows, apart from the county's own.
    let counts: serde_json::Value = http
        .get(format!("{office}/api/replicas"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let held = replica(&county.db(), "t1");
    let departments = held.keys().filter(|(e, _)| e == "department").count();
    assert_eq!(
        counts,
        serde_json::json!([{"origin_site": "t1", "entity": "department", "rows": departments}])
    );
    let page: Vec<serde_json::Value> = http
        .get(format!(
            "{office}/api/replicas/department?origin=t1&limit=5"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page.len(), 5);
    assert!(page.iter().all(|r| r["origin_site"] == "t1"));
    let last = &page[4];
    let next: Vec<serde_json::Value> = http
        .get(format!(
            "{office}/api/replicas/department?after_origin=t1&after_key={}&limit=1000",
            last["key"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page.len() + next.len(), departments);
    let bad = http
        .get(format!("{office}/api/replicas/department?limit=0"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let home = http
        .get(format!("{office}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("数据上报告警") && home.contains(&alarm),
        "{home}"
    );
}

/// A township in its own network namespace, joined to the host by a veth pair.
struct Link {
    ns: String,
    host_if: String,
}

impl Link {
    fn new() -> Link {
        let id = std::process::id() % 10_000;
        let l = Link {
            ns: format!("gbx-repl-{id}"),
            host_if: format!("gbxh{id}"),
        };
        let peer = format!("gbxn{id}");
        sh(&["ip", "netns", "add", &l.ns]);
        sh(&[
            "ip", "link", "add", &l.host_if, "type", "veth", "peer", "name", &peer,
        ]);
        sh(&["ip", "link", "set", &peer, "netns", &l.ns]);
        sh(&["ip", "addr", "add", "10.231.0.1/24", "dev", &l.host_if]);
        sh(&["ip", "link", "set", &l.host_if, "up"]);
        sh(&[
            "ip",
            "-n",
            &l.ns,
            "addr",
            "add",
            "10.231.0.2/24",
            "dev",
            &peer,
        ]);
        sh(&["ip", "-n", &l.ns, "link", "set", &peer, "up"]);
        sh(&["ip", "-n", &l.ns, "link", "set", "lo", "up"]);
        l
    }

    fn set(&self, up: bool) {
        sh(&[
            "ip",
            "link",
            "set",
            &self.host_if,
            if up { "up" } else { "down" },
        ]);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.host_if])
            .status();
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.ns])
            .status();
    }
}

fn sh(args: &[&str]) {
    let out = std::process::Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_cut_link_and_a_lossy_link_resume_and_converge() {
    let link = Link::new();
    let ca = Ca::new();
    let c_addr = format!("10.231.0.1:{}", free_port());
    let mut county = Site::new(&ca, "c1", "county", Some("p1"), Some(c_addr.clone()), None);
    let mut town = Site::new(
        &ca,
        "t1",
        "township",
        Some("c1"),
        None,
        Some(format!("https://{c_addr}")),
    );
    town.netns = Some(link.ns.clone());
    county.start();
    town.start();
    town.load(2_000, "before");
    wait_converged(&town.db(), "t1", &county.db(), Duration::from_secs(120));

    // The cable is pulled: the township keeps working, nothing arrives, status says why.
    link.set(false);
    let had = received_count(&county.db(), "t1");
    town.load(2_000, "during");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let st = town.status();
        if !st["sender"]["last_error"].is_null() && st["sender"]["lag_changes"] != 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{st}");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(received_count(&county.db(), "t1"), had);
    link.set(true);
    wait_converged(&town.db(), "t1", &county.db(), Duration::from_secs(180));

    // 30% of packets lost each way (nftables in the township's namespace; this kernel has no
    // netem): slower, never wrong.
    let rules = "table inet lossy {
        chain in { type filter hook input priority -10; numgen random mod 100 < 30 drop; }
        chain out { type filter hook output priority -10; numgen random mod 100 < 30 drop; }
    }";
    let rules_file = town.dir.path().join("lossy.nft");
    std::fs::write(&rules_file, rules).unwrap();
    sh(&[
        "ip",
        "netns",
        "exec",
        &link.ns,
        "nft",
        "-f",
        rules_file.to_str().unwrap(),
    ]);
    town.load(3_000, "lossy");
    wait_converged(&town.db(), "t1", &county.db(), Duration::from_secs(300));
    town.kill9();
}
