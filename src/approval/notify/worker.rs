//! Delivers the outbox through the configured gateway, one message at a time.
//!
//! A message is marked sent only after the gateway answered 2xx. If the process dies between
//! that answer and the mark, the message is sent again after restart: delivery is at least
//! once, and the outbox `id` travels with every POST so a gateway can drop the duplicate.

use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::watch;

use super::{mark_failed, mark_sent, next_due, next_pending_at, NotifyError, OutboxRow};
use crate::site::{SmsGateway, SmsSection};
use crate::store::Store;

/// How often an idle worker looks for due messages.
const POLL: Duration = Duration::from_millis(500);
/// An idle worker reads the outbox only when a commit may have queued a message, when the
/// earliest retry falls due, or at least this often (for a message queued by another
/// process): an appliance nobody uses stays idle, and a backup sees its server idle.
const REREAD: Duration = Duration::from_secs(30);

/// What the last read of an outbox with nothing due found.
struct Idle {
    commits: u64,
    next_at: Option<String>,
    read_at: Instant,
}

impl Idle {
    fn still(&self, commits: u64, now: &str) -> bool {
        self.commits == commits
            && self.next_at.as_deref().is_none_or(|t| t > now)
            && self.read_at.elapsed() < REREAD
    }
}

pub struct Worker {
    store: Store,
    cfg: SmsSection,
    http: Option<(reqwest::Client, String)>,
}

impl Worker {
    /// Checks the gateway settings (reads `ca_file`) so a bad one stops start-up, not sends.
    pub fn new(store: Store, cfg: &SmsSection) -> Result<Worker, NotifyError> {
        let http = match (cfg.gateway, &cfg.url) {
            (SmsGateway::Http, Some(url)) => {
                let mut b = reqwest::Client::builder()
                    .timeout(Duration::from_secs(cfg.timeout_seconds.into()))
                    .connect_timeout(Duration::from_secs(cfg.timeout_seconds.into()));
                if let Some(ca) = &cfg.ca_file {
                    let pem = std::fs::read(ca).map_err(|e| {
                        NotifyError::Gateway(format!("sms.ca_file {}: {e}", ca.display()))
                    })?;
                    let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                        NotifyError::Gateway(format!("sms.ca_file {}: {e}", ca.display()))
                    })?;
                    b = b.add_root_certificate(cert);
                }
                let client = b
                    .build()
                    .map_err(|e| NotifyError::Gateway(format!("sms.url: {e}")))?;
                Some((client, url.clone()))
            }
            _ => None,
        };
        Ok(Worker {
            store,
            cfg: cfg.clone(),
            http,
        })
    }

    /// Runs until `stop` turns true. A send in flight when it does is abandoned unmarked and
    /// repeated after restart.
    pub fn spawn(self, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run(stop))
    }

    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut idle: Option<Idle> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            let now = crate::clock::now_utc();
            let commits = self.store.commits();
            if idle.as_ref().is_some_and(|i| i.still(commits, &now)) {
                tokio::select! {
                    () = tokio::time::sleep(POLL) => continue,
                    _ = stop.changed() => return,
                }
            }
            let due = self
                .store
                .read(move |c| -> Result<_, NotifyError> {
                    Ok(match next_due(c, &now)? {
                        Some(msg) => (Some(msg), None),
                        None => (None, next_pending_at(c)?),
                    })
                })
                .await;
            let wait = match due {
                Ok((Some(msg), _)) => {
                    idle = None;
                    tokio::select! {
                        () = self.attempt(msg) => continue,
                        _ = stop.changed() => return,
                    }
                }
                Ok((None, next_at)) => {
                    idle = Some(Idle {
                        commits,
                        next_at,
                        read_at: Instant::now(),
                    });
                    POLL
                }
                Err(e) => {
                    log::error!("sms outbox: {e}");
                    POLL * 10
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn attempt(&self, msg: OutboxRow) {
        let id = msg.id;
        match self.send(&msg).await {
            Ok(()) => {
                if let Err(e) = self.store.write(move |tx| mark_sent(tx, id)).await {
                    log::error!("sms {id} was delivered but could not be marked sent (it will be sent again): {e}");
                }
            }
            Err(why) => {
                let attempts = u32::try_from(msg.attempts)
                    .unwrap_or(u32::MAX)
                    .saturating_add(1);
                let delay = backoff(attempts, self.cfg.retry_max_seconds);
                let retry_at = jiff::Timestamp::now()
                    .checked_add(jiff::SignedDuration::try_from(delay).unwrap_or_default())
                    .map(crate::clock::format_utc)
                    .unwrap_or_else(|_| crate::clock::now_utc());
                let max = self.cfg.max_attempts;
                let err = why.clone();
                match self
                    .store
                    .write(move |tx| mark_failed(tx, id, &err, &retry_at, max))
                    .await
                {
                    Ok(true) => {
                        log::warn!("sms {id} failed after {attempts} attempts, giving up: {why}")
                    }
                    Ok(false) => {
                        log::info!("sms {id} attempt {attempts} failed, retry in {delay:?}: {why}")
                    }
                    Err(e) => log::error!("sms {id}: recording a failed attempt: {e}"),
                }
            }
        }
    }

    async fn send(&self, msg: &OutboxRow) -> Result<(), String> {
        let Some((client, url)) = &self.http else {
            log::info!(
                "sms (journal gateway, not sent) #{} to {} [{}]: {}",
                msg.id,
                msg.phone,
                msg.reference,
                msg.text
            );
            return Ok(());
        };
        let body = serde_json::json!({
            "phone": msg.phone, "text": msg.text, "reference": msg.reference, "id": msg.id,
        });
        match client.post(url).json(&body).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("短信网关答复 HTTP {}", r.status().as_u16())),
            Err(e) if e.is_timeout() => Err(format!(
                "短信网关 {} 秒内没有答复",
                self.cfg.timeout_seconds
            )),
            Err(e) if e.is_connect() => Err(format!("无法连接短信网关: {e}")),
            Err(e) => Err(format!("发送失败: {e}")),
        }
    }
}

/// Exponential from 1 s, capped, with "equal jitter": between half and all of the step, so
/// retries keep growing yet townships that lost the gateway together do not retry in step.
pub fn backoff(attempts: u32, cap_seconds: u32) -> Duration {
    let step_ms = 1000u64
        .saturating_mul(1u64 << attempts.saturating_sub(1).min(30))
        .min(u64::from(cap_seconds) * 1000);
    let half = step_ms / 2;
    Duration::from_millis(half + rand::thread_rng().gen_range(0..=half))
}
