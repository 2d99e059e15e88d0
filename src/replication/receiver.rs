//! The receiving end (county, province): who may send what, and applying a batch whole or not
//! at all. Plain functions over a transaction; the HTTP side is in `listener.rs`.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use super::pki::{self, SiteIdentity};
use super::wire::{Acked, Batch, Change, Hello, Reported, MAX_CHANGES};
use super::ReplicationError;
use crate::site::Tier;
use crate::store::{Blobs, WriteTx};

/// Longest entity name, key and single payload a change may carry.
const MAX_NAME: usize = 128;
const MAX_PAYLOAD: usize = 1 << 20;

/// The site that receives, and its CA.
pub struct Receiver {
    pub site_id: String,
    pub tier: Tier,
    pub ca: CertificateDer<'static>,
    pub blobs: Blobs,
}

/// A client whose certificate passed the TLS handshake.
#[derive(Debug, Clone)]
pub struct Client {
    pub identity: SiteIdentity,
    pub cert_pem: String,
}

impl Receiver {
    /// Records that `client` made contact (registering it the first time) and returns what this
    /// site holds of every origin the client may send.
    pub fn hello(
        &self,
        tx: &mut WriteTx,
        client: &Client,
        hello: &Hello,
    ) -> Result<Acked, ReplicationError> {
        self.register_child(tx, client)?;
        tx.local(
            "UPDATE repl_sites SET last_contact = ?2, reported_seq = max(reported_seq, ?3)
             WHERE site_id = ?1",
            params![client.identity.site, tx.now().to_string(), hello.high_water],
        )?;
        note_reported(tx, &client.identity.site, &hello.reported)?;
        acked_for(tx, &client.identity.site)
    }

    /// Applies a batch in the caller's transaction. Any error means the caller rolls back:
    /// nothing of a refused batch stays.
    pub fn apply(
        &self,
        tx: &mut WriteTx,
        client: &Client,
        batch: &Batch,
    ) -> Result<Acked, ReplicationError> {
        let sender = &client.identity.site;
        self.register_child(tx, client)?;
        let total: usize = batch.origins.iter().map(|o| o.changes.len()).sum();
        if total > MAX_CHANGES {
            return Err(ReplicationError::TooLarge(format!(
                "一批最多 {MAX_CHANGES} 条变更，收到 {total} 条"
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for group in &batch.origins {
            if !seen.insert(group.origin.as_str()) {
                return Err(ReplicationError::Protocol(format!(
                    "来源站点 {} 在一批中出现了两次",
                    group.origin
                )));
            }
            self.authorize(tx, sender, &group.origin, batch)?;
            let last: i64 = tx.conn().query_row(
                "SELECT last_seq FROM repl_sites WHERE site_id = ?1",
                [&group.origin],
                |r| r.get(0),
            )?;
            if group.after > last {
                return Err(ReplicationError::Stale {
                    message: format!(
                        "本站只收到站点 {} 的变更到 {last}，发送方以为是 {}（接收端从旧备份恢复过？）：请从 {} 开始重发",
                        group.origin,
                        group.after,
                        last + 1
                    ),
                    expected: BTreeMap::from([(group.origin.clone(), last)]),
                });
            }
            let mut prev: Option<i64> = None;
            for c in &group.changes {
                if prev.is_some_and(|p| c.seq != p + 1) {
                    return Err(gap(&group.origin, prev.unwrap_or(0) + 1, c.seq, last));
                }
                prev = Some(c.seq);
            }
            let fresh: Vec<&Change> = group.changes.iter().filter(|c| c.seq > last).collect();
            let Some(first) = fresh.first() else {
                continue;
            };
            if first.seq != last + 1 {
                match group.skip_to {
                    Some(s) if s > last && first.seq == s + 1 && group.after == last => {
                        tx.local(
                            "INSERT OR IGNORE INTO repl_gaps(origin_site, from_seq, to_seq, noted_at)
                             VALUES (?1, ?2, ?3, ?4)",
                            params![group.origin, last + 1, s, tx.now().to_string()],
                        )?;
                        log::warn!(
                            "site {} declared seqs {}..={s} lost at the origin (restored from an older backup)",
                            group.origin,
                            last + 1
                        );
                    }
                    _ => return Err(gap(&group.origin, last + 1, first.seq, last)),
                }
            }
            for c in &fresh {
                self.check_change(c)?;
            }
            for c in &fresh {
                apply_one(tx, &group.origin, c)?;
            }
            let newest = fresh.last().map_or(last, |c| c.seq);
            let newest_at = fresh.last().map(|c| c.at.clone());
            tx.local(
                "UPDATE repl_sites SET last_seq = ?2, last_change_at = coalesce(?3, last_change_at)
                 WHERE site_id = ?1",
                params![group.origin, newest, newest_at],
            )?;
        }
        note_reported(tx, sender, &batch.reported)?;
        tx.local(
            "UPDATE repl_sites SET last_contact = ?2 WHERE site_id = ?1",
            params![sender, tx.now().to_string()],
        )?;
        acked_for(tx, sender)
    }

    /// Hashes among `hashes` that this site does not hold.
    pub fn missing_blobs(&self, hashes: &[String]) -> Result<Vec<String>, ReplicationError> {
        if hashes.len() > MAX_CHANGES {
            return Err(ReplicationError::TooLarge(
                "一次最多查询 10000 个附件".into(),
            ));
        }
        if let Some(bad) = hashes.iter().find(|h| !crate::store::valid_hash(h)) {
            return Err(ReplicationError::Protocol(format!("{bad:?} 不是 SHA-256")));
        }
        Ok(hashes
            .iter()
            .filter(|h| !self.blobs.has(h))
            .cloned()
            .collect())
    }

    /// A direct child: its certificate names this site as parent and sits one tier below.
    fn register_child(&self, tx: &mut WriteTx, client: &Client) -> Result<(), ReplicationError> {
        let id = &client.identity;
        let expected_tier = match self.tier {
            Tier::Province => Tier::County,
            Tier::County => Tier::Township,
            Tier::Township => {
                return Err(ReplicationError::Forbidden(
                    "乡镇站点不接收其他站点的数据".into(),
                ))
            }
        };
        if id.parent != self.site_id || id.tier != expected_tier {
            return Err(ReplicationError::Forbidden(format!(
                "站点 {} ({}，上级 {}) 不是本站 {} 的下级",
                id.site,
                id.tier.as_str(),
                if id.parent.is_empty() {
                    "无"
                } else {
                    &id.parent
                },
                self.site_id
            )));
        }
        register(tx, id, &id.site, &client.cert_pem)
    }

    /// The sender may send its own changes and those of sites registered below it; a site not
    /// yet known here is accepted when the batch carries its certificate, signed by our CA,
    /// naming the sender as its parent.
    fn authorize(
        &self,
        tx: &mut WriteTx,
        sender: &str,
        origin: &str,
        batch: &Batch,
    ) -> Result<(), ReplicationError> {
        if origin == sender {
            return Ok(());
        }
        let via: Option<String> = tx
            .conn()
            .query_row(
                "SELECT via FROM repl_sites WHERE site_id = ?1",
                [origin],
                |r| r.get(0),
            )
            .optional()?;
        let forbidden = || {
            ReplicationError::Forbidden(format!(
                "站点 {sender} 无权发送站点 {origin} 的数据（{origin} 不是它的下级）"
            ))
        };
        match via {
            Some(v) if v == sender => Ok(()),
            Some(_) => Err(forbidden()),
            None => {
                let pem = batch.certs.get(origin).ok_or_else(forbidden)?;
                let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| {
                    ReplicationError::BadCertificate(format!("{origin} 的证书: {e}"))
                })?;
                let id = pki::verify_site_cert(&self.ca, &der)?;
                if id.site != origin || id.parent != sender {
                    return Err(forbidden());
                }
                register(tx, &id, sender, pem)
            }
        }
    }

    fn check_change(&self, c: &Change) -> Result<(), ReplicationError> {
        let bad = |what: String| ReplicationError::Protocol(format!("变更 {}: {what}", c.seq));
        if c.entity.is_empty() || c.entity.len() > MAX_NAME || c.key.len() > MAX_NAME {
            return Err(bad("实体名或键为空或过长".into()));
        }
        if !matches!(c.op.as_str(), "insert" | "update" | "delete") {
            return Err(bad(format!("未知操作 {:?}", c.op)));
        }
        if c.payload.get().len() > MAX_PAYLOAD {
            return Err(ReplicationError::TooLarge(format!(
                "变更 {} 的内容超过 1 MiB",
                c.seq
            )));
        }
        if crate::clock::parse_utc(&c.at).is_none() {
            return Err(bad(format!("时间 {:?} 无法解析", c.at)));
        }
        for h in &c.blobs {
            if !self.blobs.has(h) {
                return Err(ReplicationError::Conflict(format!(
                    "变更 {} 引用的附件 {h} 还没有上传：先上传附件再发送变更",
                    c.seq
                )));
            }
        }
        Ok(())
    }
}

/// What a relay says of the sites it relays; only its own sites, and only forward in time.
fn note_reported(
    tx: &mut WriteTx,
    sender: &str,
    reported: &BTreeMap<String, Reported>,
) -> Result<(), ReplicationError> {
    for (site, r) in reported {
        // Normalised to our stored form, and never later than now: a relay's clock running
        // ahead must not silence the alarm for a site that went quiet.
        let now = jiff::Timestamp::now();
        let contact = r
            .last_contact
            .as_deref()
            .and_then(crate::clock::parse_utc)
            .map(|t| crate::clock::format_utc(t.min(now)));
        tx.local(
            "UPDATE repl_sites SET reported_seq = max(reported_seq, ?3),
                    last_contact = CASE WHEN ?4 IS NOT NULL AND (last_contact IS NULL OR ?4 > last_contact)
                                        THEN ?4 ELSE last_contact END
             WHERE site_id = ?1 AND via = ?2 AND site_id != ?2",
            params![site, sender, r.seq, contact],
        )?;
    }
    Ok(())
}

fn gap(origin: &str, want: i64, got: i64, last: i64) -> ReplicationError {
    ReplicationError::Stale {
        message: format!("站点 {origin} 的变更序号不连续：应为 {want}，收到 {got}"),
        expected: BTreeMap::from([(origin.to_string(), last)]),
    }
}

fn register(
    tx: &mut WriteTx,
    id: &SiteIdentity,
    via: &str,
    cert_pem: &str,
) -> Result<(), ReplicationError> {
    let now = tx.now().to_string();
    tx.local(
        "INSERT INTO repl_sites(site_id, tier, parent, via, cert_pem, registered_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(site_id) DO UPDATE SET cert_pem = excluded.cert_pem, tier = excluded.tier
         WHERE repl_sites.via = excluded.via",
        params![id.site, id.tier.as_str(), id.parent, via, cert_pem, now],
    )?;
    let registered_via: String = tx.conn().query_row(
        "SELECT via FROM repl_sites WHERE site_id = ?1",
        [&id.site],
        |r| r.get(0),
    )?;
    if registered_via != via {
        return Err(ReplicationError::Forbidden(format!(
            "站点 {} 已登记在 {registered_via} 之下，不能再经 {via} 发送",
            id.site
        )));
    }
    Ok(())
}

fn apply_one(tx: &mut WriteTx, origin: &str, c: &Change) -> Result<(), ReplicationError> {
    tx.local(
        "INSERT INTO received_changes(origin_site, seq, entity, key, op, payload, at, blobs)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            origin,
            c.seq,
            c.entity,
            c.key,
            c.op,
            c.payload.get(),
            c.at,
            c.blobs.join(" ")
        ],
    )?;
    if c.op == "delete" {
        tx.local(
            "DELETE FROM replica_rows WHERE origin_site = ?1 AND entity = ?2 AND key = ?3",
            params![origin, c.entity, c.key],
        )?;
    } else {
        tx.local(
            "INSERT INTO replica_rows(origin_site, entity, key, payload, seq, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(origin_site, entity, key)
             DO UPDATE SET payload = excluded.payload, seq = excluded.seq, at = excluded.at",
            params![origin, c.entity, c.key, c.payload.get(), c.seq, c.at],
        )?;
    }
    Ok(())
}

/// The sender's own seq and that of every site it relays.
fn acked_for(tx: &WriteTx, sender: &str) -> Result<Acked, ReplicationError> {
    let mut stmt = tx.conn().prepare_cached(
        "SELECT site_id, last_seq FROM repl_sites WHERE site_id = ?1 OR via = ?1",
    )?;
    let acked = stmt
        .query_map([sender], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<BTreeMap<String, i64>, _>>()?;
    Ok(Acked { acked })
}
