//! Flows complete on the server even when their webhooks never come.
//!
//! Dots retries a webhook for a while, then gives up; a proxy that was down longer than that,
//! or a webhook endpoint never registered, would leave flows whose user is never bound once
//! the browser is gone. So a background sweep re-reads from Dots the unfinished flows created
//! in the last hours (a batch at a time, the longest unseen first) and applies what it finds
//! through the same code as a `flow.updated` webhook (`routes::webhooks::apply_flow`): binding
//! and step events happen exactly once, whichever of the two arrives first. A flow found
//! finished is not swept again; a Dots that fails during a sweep costs nothing but a later
//! try. On PostgreSQL one instance sweeps at a time (an advisory lock held by a transaction).

use std::time::Duration;
use tokio::time::Instant;

use crate::routes::webhooks::{apply_flow, Applied};
use crate::AppState;

/// How the sweep runs.
#[derive(Clone, Copy, Debug)]
pub struct ReconcileSettings {
    /// Time between sweeps (each jittered by ±20 %).
    pub every: Duration,
    /// How far back unfinished flows are looked at (by creation).
    pub within: Duration,
    /// How many flows one sweep looks at, at most.
    pub batch: u32,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(60),
            within: Duration::from_secs(24 * 3600),
            batch: 50,
        }
    }
}

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Whether this instance had the turn (on PostgreSQL another may have it).
    pub ran: bool,
    /// Flows looked at.
    pub checked: usize,
    /// Flows found finished (now or from what was stored).
    pub finished: usize,
    /// Flows Dots could not tell about this time (tried again later).
    pub failed: usize,
}

/// Runs one sweep now.
pub async fn sweep_once(state: &AppState, settings: &ReconcileSettings) -> Sweep {
    let db = state.db();
    let turn = match db.sweep_turn().await {
        Ok(Some(turn)) => turn,
        Ok(None) => return Sweep::default(),
        Err(err) => {
            tracing::warn!(%err, "reconciliation: no turn to sweep; will try again");
            return Sweep::default();
        }
    };
    let mut sweep = Sweep {
        ran: true,
        ..Sweep::default()
    };
    let since = crate::db::now_ms() - settings.within.as_millis() as i64;
    let flows = match db.unfinished_flows(since, i64::from(settings.batch)).await {
        Ok(flows) => flows,
        Err(err) => {
            tracing::warn!(%err, "reconciliation: cannot list flows; will try again");
            return sweep;
        }
    };
    for stored in flows {
        sweep.checked += 1;
        // Finished by what is stored already (a flow of an earlier version): no call to Dots.
        if dots_api::StepName::all_done(&stored.steps, &stored.completed_steps)
            && stored.user_id.is_some()
        {
            sweep.finished += 1;
            let _ = db.mark_swept(&stored.id, true).await;
            continue;
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        match apply_flow(state, None, &stored.id, deadline).await {
            Ok(Applied::Recorded { finished }) => {
                sweep.finished += usize::from(finished);
                let _ = db.mark_swept(&stored.id, finished).await;
            }
            Ok(Applied::Nothing) => {
                let _ = db.mark_swept(&stored.id, false).await;
            }
            Err(err) => {
                // Unfinished, to the back of the line: a flow Dots can never tell about (gone
                // from Dots, say) must not hold the front of every batch until it ages out.
                let _ = db.mark_swept(&stored.id, false).await;
                sweep.failed += 1;
                tracing::warn!(flow_id = %stored.id, %err, "reconciliation: Dots could not tell; will try again");
            }
        }
    }
    drop(turn);
    metrics::counter!("dots_proxy_reconcile_sweeps_total").increment(1);
    for (result, n) in [
        ("checked", sweep.checked),
        ("finished", sweep.finished),
        ("failed", sweep.failed),
    ] {
        metrics::counter!("dots_proxy_reconcile_flows_total", "result" => result)
            .increment(n as u64);
    }
    if sweep.checked > 0 {
        tracing::info!(
            checked = sweep.checked,
            finished = sweep.finished,
            failed = sweep.failed,
            "reconciliation sweep"
        );
    }
    sweep
}

/// Sweeps every `settings.every` (jittered) for as long as the runtime runs.
pub fn spawn(state: AppState, settings: ReconcileSettings) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(jittered(settings.every)).await;
            sweep_once(&state, &settings).await;
        }
    })
}

/// `every` ± 20 %, so instances started together do not sweep in step.
fn jittered(every: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let factor = 0.8 + (random % 1000) as f64 / 2500.0;
    every.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_fifth() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(10));
            assert!(
                d >= Duration::from_secs(8) && d <= Duration::from_secs(12),
                "{d:?}"
            );
        }
    }
}
