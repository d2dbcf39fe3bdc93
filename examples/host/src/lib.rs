//! A marketplace that pays its sellers through Dots: the host side of an integration, and
//! `tests/journey.rs`, its own test against the sandbox kit (`dots_sandbox::kit`).
//!
//! The marketplace's sign-in is out of scope: a seller is named in the path
//! (`/sellers/{seller}/…`) where a real app would take them from its session. What it shows:
//!
//! - **A flow for one of its own users**, made on the server with
//!   [`dots_proxy::start_or_reuse_flow`] under a `host:<seller>` identity, so once the seller
//!   has a Dots user every step opens signed in (the host vouches for them).
//! - **What happened, from the proxy's event log**: the seller's Dots user from `user_bound`,
//!   a failed withdrawal from `transfer_updated`. Each seller's events are read in order from
//!   the log after the last one handled, so a notification missed (a restart, a lagging
//!   listener) is never an event missed.
//! - **Paying once per reference**: [`dots_proxy::payments::pay`]; when Dots cannot take the
//!   payment now, the seller's reward is answered `503 try_again`, and the same reference
//!   later pays exactly once.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dots_api::{BrowserFlow, StartFlowRequest, StreamEvent, TransferStatus, TransferType};
use dots_proxy::hub::HubMessage;
use dots_proxy::identity::Caller;
use dots_proxy::json_body::AppJson;
use dots_proxy::launch::Launched;
use dots_proxy::{AppState, ProxyError, UpstreamError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the marketplace knows of a seller.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Seller {
    /// Their Dots user, once onboarding made one.
    pub dots_user_id: Option<String>,
    /// Withdrawals that failed (they should pick another payout method).
    pub failed_withdrawals: u32,
    /// The last event of theirs handled.
    #[serde(skip)]
    last_event: i64,
}

#[derive(Clone)]
struct Marketplace {
    proxy: AppState,
    sellers: Arc<Mutex<HashMap<String, Seller>>>,
}

/// Starts the marketplace with `config` (the proxy's settings) and serves it in the
/// background until the handle is aborted or dropped with its runtime; returns its address.
pub async fn spawn(
    config: &dots_proxy::config::Config,
) -> Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>), Box<dyn std::error::Error>> {
    let proxy = dots_proxy::launch::launch(config).await?;
    let app = app(&proxy);
    Ok((proxy.addr, tokio::spawn(proxy.serve_until_stopped(app))))
}

/// The marketplace's routes merged with the proxy's (browser API, Dots' webhooks), and the
/// task that follows the sellers' events.
pub fn app(proxy: &Launched) -> Router {
    let market = Marketplace {
        proxy: proxy.state.clone(),
        sellers: Arc::default(),
    };
    tokio::spawn(follow_events(market.clone()));
    Router::new()
        .route("/sellers/{seller}", get(seller))
        .route("/sellers/{seller}/flows", post(start_flow))
        .route("/sellers/{seller}/rewards", post(reward))
        .with_state(market)
        .merge(proxy.router.clone())
}

fn identity(seller: &str) -> String {
    format!("host:{seller}")
}

async fn seller(State(market): State<Marketplace>, Path(seller): Path<String>) -> Response {
    match market.sellers.lock().unwrap().get(&seller) {
        Some(known) => Json(known.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such seller"})),
        )
            .into_response(),
    }
}

/// A flow for the seller, the same body as the proxy's `POST /api/flows` (`{"steps": [...]}`).
async fn start_flow(
    State(market): State<Marketplace>,
    Path(seller): Path<String>,
    AppJson(request): AppJson<StartFlowRequest>,
) -> Result<Json<BrowserFlow>, ProxyError> {
    let caller = Caller {
        identity: identity(&seller),
        via_cookie: false,
    };
    let flow = dots_proxy::start_or_reuse_flow(&market.proxy, &caller, None, request).await?;
    market.sellers.lock().unwrap().entry(seller).or_default();
    Ok(Json(flow))
}

#[derive(Deserialize)]
struct Reward {
    cents: i64,
    /// The marketplace's own id of what is paid for (an order): paid once, however often sent.
    reference: String,
}

async fn reward(
    State(market): State<Marketplace>,
    Path(seller): Path<String>,
    AppJson(Reward { cents, reference }): AppJson<Reward>,
) -> Result<Response, ProxyError> {
    let user = market
        .sellers
        .lock()
        .unwrap()
        .get(&seller)
        .and_then(|s| s.dots_user_id.clone());
    let Some(user) = user else {
        return Ok((
            StatusCode::CONFLICT,
            Json(json!({"error": "not_onboarded", "message": "the seller has not finished onboarding"})),
        )
            .into_response());
    };
    match dots_proxy::payments::pay(&market.proxy, &user, cents, &reference, None).await {
        Ok(transfer) => Ok(
            Json(json!({"transfer_id": transfer.id, "status": transfer.status})).into_response(),
        ),
        // Dots could not be reached or failed: nothing was paid, the reference is kept, and
        // the same request later pays once.
        Err(ProxyError::Upstream(UpstreamError::Unavailable(_))) => Ok((
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "30")],
            Json(json!({
                "error": "try_again",
                "message": "the payment could not be made now; send the same reference again later"
            })),
        )
            .into_response()),
        Err(other) => Err(other),
    }
}

/// Follows the sellers' events: on each notification (or a resync), reads the seller's events
/// after the last handled one from the log, in order.
async fn follow_events(market: Marketplace) {
    let mut notifications = market.proxy.hub().subscribe();
    loop {
        let sellers: Vec<String> = match notifications.recv().await {
            Ok(HubMessage::Event(row)) => match row.identity.strip_prefix("host:") {
                Some(seller) => vec![seller.to_owned()],
                None => continue,
            },
            Ok(HubMessage::Closing) | Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                return
            }
            // Notifications may have been lost: catch every seller up.
            Ok(HubMessage::Resync) | Err(_) => {
                market.sellers.lock().unwrap().keys().cloned().collect()
            }
        };
        for seller in sellers {
            if let Err(err) = catch_up(&market, &seller).await {
                tracing::warn!(%seller, %err, "marketplace: could not read the event log; next notification retries");
            }
        }
    }
}

/// Events read from the log at a time.
const EVENT_PAGE: i64 = 100;

async fn catch_up(market: &Marketplace, seller: &str) -> Result<(), dots_proxy::db::DbError> {
    // Page by page until the log has nothing newer: one notification may stand for many
    // events (a resync after a restart, a burst).
    loop {
        let after = market
            .sellers
            .lock()
            .unwrap()
            .get(seller)
            .map_or(0, |s| s.last_event);
        let rows = market
            .proxy
            .db()
            .events_after(&identity(seller), after, EVENT_PAGE)
            .await?;
        let more = rows.len() as i64 == EVENT_PAGE;
        let mut sellers = market.sellers.lock().unwrap();
        let known = sellers.entry(seller.to_owned()).or_default();
        for row in rows {
            if row.seq <= known.last_event {
                continue;
            }
            known.last_event = row.seq;
            match StreamEvent::parse(&row.kind, &row.data) {
                Some(StreamEvent::UserBound { user_id, .. }) => {
                    tracing::info!(%seller, %user_id, "marketplace: seller onboarded");
                    known.dots_user_id = Some(user_id.as_str().to_owned());
                }
                Some(StreamEvent::TransferUpdated { status, kind, .. })
                    if status == TransferStatus::Failed && kind == TransferType::Payout =>
                {
                    tracing::info!(%seller, "marketplace: a withdrawal failed; ask for another payout method");
                    known.failed_withdrawals += 1;
                }
                _ => {}
            }
        }
        if !more {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    /// docs/testing.md shows the journey test's first half as it is.
    #[test]
    fn the_testing_chapter_shows_the_journey_as_it_is() {
        let journey = include_str!("../tests/journey.rs");
        let first_half = &journey[..journey.rfind("#[tokio::test]").unwrap()];
        let chapter = include_str!("../../../docs/testing.md");
        assert!(
            chapter.contains(first_half.trim_end()),
            "docs/testing.md's Rust example differs from examples/host/tests/journey.rs"
        );
    }
}
