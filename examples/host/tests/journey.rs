//! The marketplace's own integration test, written against the public sandbox kit only: a
//! seller onboards, is paid once, withdraws; a payment Dots cannot take now is paid once later;
//! a failed withdrawal reaches the marketplace.

use clap::Parser;
use dots_api::StepName;
use dots_sandbox::kit::{eventually, Person, TestDots, FAILING_PAYPAL};
use dots_sandbox::{FaultKind, Operation};
use serde_json::{json, Value};

/// The marketplace, configured for a local Dots as for a remote one.
struct Market(String);

async fn start() -> (TestDots, Market) {
    let dots = TestDots::start().await;
    let dir = std::env::temp_dir().join(dots.origin().replace([':', '/'], "_"));
    let data_dir = format!("--data-dir={}", dir.display());
    let ours = ["market", "--addr=127.0.0.1:0", &data_dir].map(String::from);
    let args = ours.into_iter().chain(dots.proxy_args());
    let config = dots_proxy::config::Config::try_parse_from(args).unwrap();
    let (addr, _) = dots_host_example::spawn(&config).await.unwrap();
    dots.send_webhooks_to(format!("http://{addr}/webhooks/dots"));
    (dots, Market(format!("http://{addr}")))
}

impl Market {
    async fn call(&self, path: &str, body: Option<Value>) -> (u16, Value) {
        let (http, url) = (reqwest::Client::new(), format!("{}{path}", self.0));
        let request = body.map_or_else(|| http.get(&url), |body| http.post(&url).json(&body));
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or_default())
    }

    /// The seller opens a flow of `steps`: the person in it.
    async fn flow(&self, dots: &TestDots, seller: &str, steps: Value) -> Person {
        let path = format!("/sellers/{seller}/flows");
        let (status, flow) = self.call(&path, Some(json!({ "steps": steps }))).await;
        assert_eq!(status, 200, "{flow}");
        dots.person(flow["link"].as_str().unwrap())
    }

    /// The marketplace's view of a seller once `done` holds (it follows events as they commit).
    async fn seller_when(&self, seller: &str, done: impl Fn(&Value) -> bool) -> Value {
        let path = format!("/sellers/{seller}");
        let known = async || Some(self.call(&path, None).await.1).filter(&done);
        eventually(&format!("{seller} as expected"), known).await
    }

    async fn reward(&self, seller: &str, cents: i64, reference: &str) -> (u16, Value) {
        let body = json!({ "cents": cents, "reference": reference });
        self.call(&format!("/sellers/{seller}/rewards"), Some(body))
            .await
    }

    async fn onboard(&self, dots: &TestDots, seller: &str) -> Value {
        let mut person = self.flow(dots, seller, json!(["compliance"])).await;
        person.sign_in("5555550142").await.unwrap();
        person.complete(StepName::Compliance).await.unwrap();
        let known = self.seller_when(seller, |s| s["dots_user_id"].is_string());
        known.await["dots_user_id"].take()
    }
}

#[tokio::test]
async fn a_seller_onboards_is_paid_once_and_withdraws() {
    let (dots, market) = start().await;
    let user = market.onboard(&dots, "ana").await;
    assert_eq!(user, dots.users()[0].id.as_str(), "Dots' user");

    let (status, paid) = market.reward("ana", 2500, "order-1").await;
    assert_eq!(status, 200, "{paid}");
    let (_, again) = market.reward("ana", 2500, "order-1").await;
    assert_eq!(again["transfer_id"], paid["transfer_id"], "paid once");
    assert_eq!(dots.transfers().len(), 1, "Dots made one transfer");

    // Signed in already: the marketplace vouches for its seller.
    let steps = json!(["manage-payouts", "payout"]);
    let mut person = market.flow(&dots, "ana", steps).await;
    person.complete(StepName::ManagePayouts).await.unwrap();
    let withdrawal = person.withdraw().await.unwrap();
    assert_eq!(withdrawal.amount, 2500, "the whole wallet");
    assert_eq!(withdrawal.status.as_str(), "completed");
}

#[tokio::test]
async fn a_payment_dots_cannot_take_now_is_paid_once_later_and_a_failed_withdrawal_is_seen() {
    let (dots, market) = start().await;
    market.onboard(&dots, "bo").await;
    dots.fail_next(Operation::CreateTransfer, 1, FaultKind::status(500));
    let (status, answer) = market.reward("bo", 900, "order-7").await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"], "try_again");
    assert!(dots.transfers().is_empty(), "nothing was paid");
    let (status, _) = market.reward("bo", 900, "order-7").await;
    assert_eq!(status, 200, "the retry paid");
    assert_eq!(dots.transfers().len(), 1, "once");

    let steps = json!(["manage-payouts", "payout"]);
    let mut person = market.flow(&dots, "bo", steps).await;
    person.save_paypal(FAILING_PAYPAL).await.unwrap();
    person.complete(StepName::ManagePayouts).await.unwrap();
    let failed = person.withdraw().await.unwrap_err();
    assert_eq!(failed.status, 400, "the page says it failed: {failed}");
    let seller = market.seller_when("bo", |s| s["failed_withdrawals"] != 0);
    let seller = seller.await;
    assert_eq!(seller["failed_withdrawals"], 1, "heard once: {seller}");
}
