//! The card sweep on a timer in the service. It runs once right at start (the catch-up after
//! downtime), then every `sweep_interval_seconds`. Each run is one write transaction, so a
//! stop in the middle leaves either all of a run's cards or none.

use std::time::Duration;

use tokio::sync::watch;

use super::{cards, Rules, SupervisionError};
use crate::approval::calendar::Calendar;
use crate::site::SupervisionSection;
use crate::store::Store;

pub async fn sweep_now(
    store: &Store,
    rules: Rules,
) -> Result<cards::SweepOutcome, SupervisionError> {
    let today = super::today();
    store
        .write(move |tx| {
            let cal = Calendar::load(tx.conn())?;
            cards::sweep(tx, &cal, &rules, today)
        })
        .await
}

pub fn spawn(
    store: Store,
    cfg: &SupervisionSection,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let rules = Rules::from(cfg);
    let every = Duration::from_secs(cfg.sweep_interval_seconds.into());
    tokio::spawn(async move {
        loop {
            match sweep_now(&store, rules).await {
                Ok(o) if o.yellow + o.red + o.reminders > 0 => log::info!(
                    "supervision sweep: {} yellow, {} red cards, {} reminders",
                    o.yellow,
                    o.red,
                    o.reminders
                ),
                Ok(_) => {}
                Err(e) => log::error!("supervision sweep failed: {e}"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    })
}
