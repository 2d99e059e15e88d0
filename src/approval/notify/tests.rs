use super::*;

fn store() -> (tempfile::TempDir, crate::store::Store) {
    let dir = tempfile::tempdir().unwrap();
    let s = crate::store::open(&dir.path().join("govbox.db"), "t-site").unwrap();
    (dir, s)
}

fn sms(phone: &str, text: &str) -> Sms {
    Sms {
        phone: phone.into(),
        text: text.into(),
        reference: "20261125-t-site-000001".into(),
    }
}

#[test]
fn phones_and_texts_are_checked() {
    for ok in ["13800138000", "19912345678"] {
        assert!(valid_phone(ok), "{ok}");
    }
    for bad in [
        "1380013800",
        "138001380000",
        "12800138000",
        "23800138000",
        "1380013800a",
        "+8613800138000",
        "",
    ] {
        assert!(!valid_phone(bad), "{bad}");
    }
    assert!(check(&sms("13800138000", "您的办件已办结")).is_ok());
    assert!(matches!(
        check(&sms("110", "x")),
        Err(NotifyError::BadPhone(_))
    ));
    assert!(matches!(
        check(&sms("13800138000", "  ")),
        Err(NotifyError::BadText(_))
    ));
    let long = "字".repeat(MAX_TEXT_CHARS + 1);
    let e = check(&sms("13800138000", &long)).unwrap_err().to_string();
    assert!(e.contains("501"), "{e}");
    assert!(check(&sms("13800138000", &"字".repeat(MAX_TEXT_CHARS))).is_ok());
}

#[test]
fn enqueue_is_local_and_a_refused_message_writes_nothing() {
    let (_d, s) = store();
    let id = s
        .write_blocking(|tx| enqueue(tx, &sms("13800138000", "测试")))
        .unwrap();
    let (changes, rows): (i64, Vec<OutboxRow>) = s
        .read_blocking(|c| -> Result<_, NotifyError> {
            let n = c.query_row(
                "SELECT count(*) FROM changes WHERE entity LIKE 'sms%'",
                [],
                |r| r.get(0),
            )?;
            Ok((n, list(c, None, 10)?))
        })
        .unwrap();
    assert_eq!(changes, 0, "the outbox is never replicated");
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].id, rows[0].status.as_str()), (id, "pending"));
    assert!(s
        .write_blocking(|tx| enqueue(tx, &sms("1234", "x")))
        .is_err());
    assert_eq!(s.read_blocking(|c| list(c, None, 10)).unwrap().len(), 1);
    assert!(matches!(
        s.read_blocking(|c| list(c, Some("bogus"), 10)),
        Err(NotifyError::BadStatus(_))
    ));
}

#[test]
fn attempts_end_in_sent_or_failed() {
    let (_d, s) = store();
    let a = s
        .write_blocking(|tx| enqueue(tx, &sms("13800138000", "a")))
        .unwrap();
    let b = s
        .write_blocking(|tx| enqueue(tx, &sms("13800138001", "b")))
        .unwrap();
    let far = "2999-01-01T00:00:00.000Z";
    let due = s.read_blocking(move |c| next_due(c, far)).unwrap().unwrap();
    assert_eq!(due.id, a);
    let later = "2998-01-01T00:00:00.000Z";
    assert!(!s
        .write_blocking(move |tx| mark_failed(tx, a, "HTTP 500", later, 2))
        .unwrap());
    // a is now due only in 2998: b comes first.
    assert_eq!(
        s.read_blocking(move |c| next_due(c, "2997-01-01T00:00:00.000Z"))
            .unwrap()
            .unwrap()
            .id,
        b
    );
    assert!(s
        .write_blocking(move |tx| mark_failed(tx, a, "HTTP 500", later, 2))
        .unwrap());
    s.write_blocking(move |tx| mark_sent(tx, b)).unwrap();
    assert!(s
        .read_blocking(move |c| next_due(c, far))
        .unwrap()
        .is_none());
    let rows = s.read_blocking(|c| list(c, None, 10)).unwrap();
    let get = |id| rows.iter().find(|r| r.id == id).unwrap();
    assert_eq!(
        (
            get(a).status.as_str(),
            get(a).attempts,
            get(a).last_error.as_str()
        ),
        ("failed", 2, "HTTP 500")
    );
    assert_eq!((get(b).status.as_str(), get(b).attempts), ("sent", 1));
    assert!(get(b).sent_at.is_some());
}

#[test]
fn backoff_grows_with_jitter_up_to_the_cap() {
    use std::time::Duration;
    for _ in 0..50 {
        let d1 = worker::backoff(1, 600);
        let d3 = worker::backoff(3, 600);
        assert!(d1 >= Duration::from_millis(500) && d1 <= Duration::from_secs(1));
        assert!(d3 >= Duration::from_secs(2) && d3 <= Duration::from_secs(4));
        assert!(worker::backoff(40, 600) <= Duration::from_secs(600));
        assert!(worker::backoff(40, 600) >= Duration::from_secs(300));
    }
}

#[test]
fn sms_settings_are_validated_naming_the_key() {
    let base =
        "[site]\nid = \"t-town\"\nname = \"t\"\ntier = \"township\"\nparent = \"t-county\"\n\
                [listen]\nportal = \"127.0.0.1:1\"\noffice = \"127.0.0.1:2\"\n\
                [storage]\ndata_dir = \"/tmp/x\"\n";
    let parse = |extra: &str| {
        crate::site::SiteConfig::parse(std::path::Path::new("site.toml"), &format!("{base}{extra}"))
    };
    let cfg = parse("").unwrap();
    assert_eq!(cfg.sms.gateway, crate::site::SmsGateway::Journal);
    let cfg =
        parse("[sms]\ngateway = \"http\"\nurl = \"http://10.0.0.9:8088/sms\"\nmax_attempts = 3\n")
            .unwrap();
    assert_eq!(cfg.sms.max_attempts, 3);
    for (extra, key) in [
        ("[sms]\ngateway = \"http\"\n", "sms.url"),
        ("[sms]\nurl = \"http://x/\"\n", "sms.url"),
        ("[sms]\ngateway = \"http\"\nurl = \"ftp://x/\"\n", "sms.url"),
        ("[sms]\ngateway = \"carrier-pigeon\"\n", "sms.gateway"),
        ("[sms]\ntimeout_seconds = 0\n", "sms.timeout_seconds"),
        ("[sms]\nmax_attempts = 0\n", "sms.max_attempts"),
        (
            "[sms]\nretry_max_seconds = 100000\n",
            "sms.retry_max_seconds",
        ),
        (
            "[sms]\ngateway = \"http\"\nurl = \"http://x/\"\nca_file = \"/ca.pem\"\n",
            "sms.ca_file",
        ),
        ("[sms]\nbogus = 1\n", "sms.bogus"),
    ] {
        let e = parse(extra).unwrap_err();
        assert_eq!(e.key, key, "{extra}: {e}");
    }
}
