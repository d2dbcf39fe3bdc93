//! A test kit for a host's own integration tests: the sandbox in-process on a free port, a
//! [`Person`] who uses the hosted flow pages, and the control plane as methods.
//!
//! ```no_run
//! use dots_sandbox::kit::{Person, TestDots};
//! use dots_api::StepName;
//!
//! # async fn journey() {
//! let dots = TestDots::start().await;
//! // Configure your proxy (or `dots_proxy`) with these, and its webhook URL:
//! let (base, id, key, secret) =
//!     (dots.api_base(), dots.client_id(), dots.api_key(), dots.webhook_secret());
//! dots.send_webhooks_to("http://127.0.0.1:3000/webhooks/dots");
//! # let link = String::new();
//! // ... your app creates a flow; its `link` goes to the person:
//! let mut person = dots.person(&link);
//! person.sign_in("5555550100").await.unwrap();
//! person.complete(StepName::Compliance).await.unwrap();
//! dots.webhooks_settled().await;
//! # }
//! ```
//!
//! The person acts through the HTTP calls the hosted page's own script makes (the same
//! handlers, the same checks), so what a test does here a person could do in the browser.
//! The sandbox's rules decide outcomes (see [`crate::store`]): the code is always
//! [`VERIFICATION_CODE`], a TIN ending in `0000` mismatches ([`TIN_MISMATCH`]), the last
//! names [`OFAC_FLAGGED`] and [`OFAC_ID_VERIFICATION`] are OFAC hits, and a payout method
//! whose email or number contains `fail` makes payouts to it fail ([`FAILING_PAYPAL`]).

use dots_api::webhook::WebhookSecret;
use dots_api::{StepName, Transfer, User};
use serde_json::{json, Value};
use std::time::Duration;

use crate::faults::{FaultKind, FaultRule, Operation};
use crate::webhooks::{Attempt, HeldEvent, ReleaseOrder};
use crate::{RunningSandbox, SandboxConfig, SandboxState};

pub use crate::store::VERIFICATION_CODE;

/// A TIN the sandbox's check reports `mismatched` (it ends in `0000`).
pub const TIN_MISMATCH: &str = "123450000";
/// A TIN the sandbox's check reports `matched`.
pub const TIN_MATCH: &str = "123456789";
/// A last name OFAC screening flags (`flagged`).
pub const OFAC_FLAGGED: &str = "Flagged";
/// A last name OFAC screening sends to ID verification (`id_verification_required`).
pub const OFAC_ID_VERIFICATION: &str = "Sanctioned";
/// A last name whose background check comes back `consider`.
pub const BACKGROUND_CONSIDER: &str = "Consider";
/// A PayPal address payouts to which fail (`transfer.failed`).
pub const FAILING_PAYPAL: &str = "fail@example.com";

/// The Dots sandbox running in this process on a free loopback port; stops when dropped.
pub struct TestDots {
    sandbox: RunningSandbox,
    http: reqwest::Client,
}

impl TestDots {
    /// Starts a sandbox with the default credentials and secret, and no webhook endpoint.
    ///
    /// # Panics
    /// When no loopback port can be bound (a test cannot go on without it).
    pub async fn start() -> Self {
        Self::start_with(SandboxConfig::default()).await
    }

    /// Starts a sandbox with `config` (its `addr` is used as given; port 0 picks a free one).
    ///
    /// # Panics
    /// When `config.addr` cannot be bound.
    pub async fn start_with(config: SandboxConfig) -> Self {
        let addr = config.addr;
        let sandbox = crate::spawn(config)
            .await
            .unwrap_or_else(|err| panic!("the Dots sandbox cannot listen on {addr}: {err}"));
        Self {
            sandbox,
            http: reqwest::Client::new(),
        }
    }

    /// The API base URL to configure the proxy with (`DOTS_API_BASE`), e.g.
    /// `http://127.0.0.1:41234/api`.
    pub fn api_base(&self) -> String {
        self.sandbox.api_base()
    }

    /// The sandbox's origin, where flow links point (`http://127.0.0.1:41234`): what a page's
    /// `frame-src` must allow.
    pub fn origin(&self) -> String {
        self.sandbox.origin()
    }

    /// The client id it accepts (`DOTS_CLIENT_ID`).
    pub fn client_id(&self) -> String {
        self.sandbox.state().config().client_id.clone()
    }

    /// The API key it accepts (`DOTS_API_KEY`).
    pub fn api_key(&self) -> String {
        self.sandbox.state().config().api_key.clone()
    }

    /// The secret webhooks are signed with, `whsec_...` (`DOTS_WEBHOOK_SECRET`).
    pub fn webhook_secret(&self) -> String {
        self.state().webhooks().settings().secret.to_whsec()
    }

    /// The settings a proxy needs to talk to this sandbox as to a remote Dots, as environment
    /// variables: `DOTS_ENV=sandbox`, `DOTS_API_BASE`, `DOTS_CLIENT_ID`, `DOTS_API_KEY`,
    /// `DOTS_WEBHOOK_SECRET` (for a host started as a process).
    pub fn proxy_env(&self) -> Vec<(&'static str, String)> {
        self.proxy_settings()
            .into_iter()
            .map(|(variable, _, value)| (variable, value))
            .collect()
    }

    /// [`TestDots::proxy_env`] as command-line arguments (`--dots-env=sandbox`,
    /// `--dots-api-base=…`, …), for `dots_proxy::Config::try_parse_from`.
    pub fn proxy_args(&self) -> Vec<String> {
        self.proxy_settings()
            .into_iter()
            .map(|(_, flag, value)| format!("--{flag}={value}"))
            .collect()
    }

    /// Each proxy setting: its environment variable, its flag, its value.
    fn proxy_settings(&self) -> [(&'static str, &'static str, String); 5] {
        [
            ("DOTS_ENV", "dots-env", "sandbox".to_owned()),
            ("DOTS_API_BASE", "dots-api-base", self.api_base()),
            ("DOTS_CLIENT_ID", "dots-client-id", self.client_id()),
            ("DOTS_API_KEY", "dots-api-key", self.api_key()),
            (
                "DOTS_WEBHOOK_SECRET",
                "webhook-secret",
                self.webhook_secret(),
            ),
        ]
    }

    /// Sends every webhook to `url` (replacing earlier endpoints), e.g. the proxy's
    /// `http://127.0.0.1:PORT/webhooks/dots`.
    pub fn send_webhooks_to(&self, url: impl Into<String>) {
        let webhooks = self.state().webhooks();
        let mut settings = webhooks.settings();
        settings.endpoints = vec![url.into()];
        webhooks.configure(settings);
    }

    /// Signs webhooks with `secret` from now on (to test a rotation).
    pub fn sign_webhooks_with(&self, secret: WebhookSecret) {
        let webhooks = self.state().webhooks();
        let mut settings = webhooks.settings();
        settings.secret = secret;
        webhooks.configure(settings);
    }

    /// The sandbox's state, for anything the kit does not wrap.
    pub fn state(&self) -> &SandboxState {
        self.sandbox.state()
    }

    /// The person who opens a flow: give the flow's `link` (or its id).
    pub fn person(&self, flow: &str) -> Person {
        Person {
            http: self.http.clone(),
            origin: self.origin(),
            flow_id: flow_id_of(flow),
            page_session: None,
            first_name: "Test".to_owned(),
            last_name: "Person".to_owned(),
        }
    }

    /// Moves the sandbox's clock forward (link expiry, TIN checks, idempotency windows).
    ///
    /// # Panics
    /// Beyond the clock's range (100 years ahead in all).
    pub fn advance_clock(&self, by: Duration) {
        let seconds = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.state()
            .clock()
            .advance(seconds)
            .expect("the sandbox clock moves at most 100 years ahead");
    }

    /// Makes the next `times` calls of `operation` meet `fault` (then they answer normally
    /// again): `FaultKind::Status { status: 500, retry_after: None }`, `FaultKind::Drop`,
    /// `FaultKind::Latency { latency_ms }`, `FaultKind::Malformed`, ...
    pub fn fail_next(&self, operation: Operation, times: u32, fault: FaultKind) {
        self.state()
            .faults()
            .add(FaultRule::next(operation, times, fault));
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.state().faults().clear();
    }

    /// Keeps webhooks back from now on, until [`TestDots::release_webhooks`] (or the reversed
    /// or dropping variants).
    pub fn hold_webhooks(&self) {
        self.state().webhooks().hold();
    }

    /// The events held back, oldest first.
    pub fn held_webhooks(&self) -> Vec<HeldEvent> {
        self.state().webhooks().held()
    }

    /// Sends the held webhooks in the order they happened (and stops holding); how many.
    pub fn release_webhooks(&self) -> usize {
        self.state()
            .webhooks()
            .release(ReleaseOrder::AsHappened, self.state().clone())
    }

    /// Sends the held webhooks newest first (and stops holding); how many.
    pub fn release_webhooks_reversed(&self) -> usize {
        self.state()
            .webhooks()
            .release(ReleaseOrder::Reversed, self.state().clone())
    }

    /// Forgets the held webhooks, as if lost (and stops holding); how many.
    pub fn drop_held_webhooks(&self) -> usize {
        self.state().webhooks().drop_held()
    }

    /// Waits until no webhook delivery is under way (each delivered, or out of retries).
    /// Retries wait as configured (`PUT /_sandbox/webhooks`; 5 s first by default).
    ///
    /// # Panics
    /// After 60 s.
    pub async fn webhooks_settled(&self) {
        let webhooks = self.state().webhooks();
        let settled = async || (webhooks.in_flight() == 0).then_some(());
        poll(Duration::from_secs(60), settled, || {
            format!(
                "webhook deliveries still under way after 60 s: {:?}",
                self.webhook_attempts().last()
            )
        })
        .await;
    }

    /// Every webhook delivery attempt, oldest first, with the endpoint's answer.
    pub fn webhook_attempts(&self) -> Vec<Attempt> {
        self.state().webhooks().attempts()
    }

    /// The webhook attempts that delivered (a 2xx answer), oldest first.
    pub fn delivered_webhooks(&self) -> Vec<Attempt> {
        self.webhook_attempts()
            .into_iter()
            .filter(|attempt| attempt.delivered)
            .collect()
    }

    /// The transfers Dots made (the default app's), newest first.
    pub fn transfers(&self) -> Vec<Transfer> {
        self.state().store().transfers("")
    }

    /// The users Dots has (the default app's).
    pub fn users(&self) -> Vec<User> {
        self.state()
            .store()
            .users("", None, self.state().clock().now())
    }

    /// The API requests Dots received (method, path, `X-Request-Id`), oldest first.
    pub fn requests(&self) -> Vec<crate::Received> {
        self.state().received()
    }

    /// The app's wallet, in cents (it starts at $100).
    pub fn wallet(&self) -> i64 {
        self.state().store().app_wallet("")
    }

    /// Adds `cents` to the app's wallet.
    ///
    /// # Panics
    /// When `cents` is not positive or the wallet cannot hold that much.
    pub fn refill_wallet(&self, cents: i64) {
        assert!(cents > 0, "refill_wallet takes a positive number of cents");
        self.state()
            .store()
            .refill("", cents)
            .expect("the wallet cannot hold that much");
    }
}

/// Polls `check` every 10 ms until it gives `Some`: for what your app does after a webhook
/// reached it ([`TestDots::webhooks_settled`] waits for the delivery, not for your app's work
/// after it).
///
/// # Panics
/// After 10 s, naming `what`.
pub async fn eventually<T>(what: &str, check: impl AsyncFnMut() -> Option<T>) -> T {
    poll(Duration::from_secs(10), check, || {
        format!("still not so after 10 s: {what}")
    })
    .await
}

/// Polls `check` every 10 ms until it gives `Some`, for at most `within`; then panics with
/// `failure()`.
async fn poll<T>(
    within: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
    failure: impl Fn() -> String,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(done) = check().await {
            return done;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", failure());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The flow id in a link (`http://host/flow/<id>?styles=…`) or the id itself.
fn flow_id_of(flow: &str) -> String {
    let path = flow.split(['?', '#']).next().unwrap_or_default();
    match path.rsplit_once("/flow/") {
        Some((_, id)) => id.trim_end_matches('/').to_owned(),
        None => path.to_owned(),
    }
}

/// What the hosted page refused, as it would show it to the person.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the flow page answered {status}: {message}")]
pub struct PageError {
    /// The HTTP status: 400 invalid data (the message names the field), 401 not signed in,
    /// 404 no such flow or step, 410 the link expired.
    pub status: u16,
    /// Dots' message.
    pub message: String,
}

/// What a completed step answered.
#[derive(Clone, Debug, PartialEq)]
pub struct StepDone {
    /// `completed`, or `completed-saved` (payout settings saved unchanged).
    pub status: String,
    /// The transfer a `payout` step made.
    pub transfer: Option<Transfer>,
}

/// A person using a flow's hosted pages, as in the browser. Made by [`TestDots::person`].
pub struct Person {
    http: reqwest::Client,
    origin: String,
    flow_id: String,
    page_session: Option<String>,
    first_name: String,
    last_name: String,
}

impl Person {
    /// Names the person (before signing in): the last name decides OFAC screening and the
    /// background check ([`OFAC_FLAGGED`], [`OFAC_ID_VERIFICATION`], [`BACKGROUND_CONSIDER`]).
    pub fn named(mut self, first_name: &str, last_name: &str) -> Self {
        self.first_name = first_name.to_owned();
        self.last_name = last_name.to_owned();
        self
    }

    /// The flow's id.
    pub fn flow_id(&self) -> &str {
        &self.flow_id
    }

    /// Opens the page (as loading the link does) and returns what it shows: the flow's steps,
    /// completed steps, whether signed in, the user. A link opened in time keeps working past
    /// its expiry, as the open page would.
    pub async fn open(&mut self) -> Result<Value, PageError> {
        let response = self
            .http
            .get(format!("{}/flow/{}", self.origin, self.flow_id))
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status().as_u16();
        let html = response.text().await.map_err(unreachable)?;
        if status != 200 {
            return Err(PageError {
                status,
                message: "the flow page did not open".to_owned(),
            });
        }
        let state = page_state(&html).ok_or_else(|| PageError {
            status,
            message: "the flow page carries no flow state".to_owned(),
        })?;
        if state["expired"] == true {
            return Err(PageError {
                status: 410,
                message: "This link has expired".to_owned(),
            });
        }
        self.page_session = state["page_session"].as_str().map(str::to_owned);
        Ok(state)
    }

    /// Signs in with a US phone number (the sandbox's code, [`VERIFICATION_CODE`]), as the
    /// onboarding step does; with a pre-authenticated link there is nothing to do, but signing
    /// in again is harmless.
    pub async fn sign_in(&mut self, phone_number: &str) -> Result<(), PageError> {
        self.sign_in_with_code(phone_number, VERIFICATION_CODE)
            .await
    }

    /// Signs in with `code` (anything but [`VERIFICATION_CODE`] is refused, 400).
    pub async fn sign_in_with_code(
        &mut self,
        phone_number: &str,
        code: &str,
    ) -> Result<(), PageError> {
        self.ensure_open().await?;
        let digits: String = phone_number.chars().filter(char::is_ascii_digit).collect();
        // An address from the name, whatever its letters (`José` → `jos`), else `person`.
        let mut local: String = self.first_name.to_lowercase();
        local.retain(|c| c.is_ascii_alphanumeric());
        if local.is_empty() {
            local.push_str("person");
        }
        let email = format!("{local}.{digits}@example.com");
        self.call(
            "/onboarding/start",
            json!({
                "first_name": self.first_name,
                "last_name": self.last_name,
                "email": email,
                "country_code": "1",
                "phone_number": digits,
            }),
        )
        .await?;
        self.call("/onboarding/verify", json!({ "code": code }))
            .await
            .map(drop)
    }

    /// Completes `step` with valid data, as a person filling the page in correctly (a W-9 with
    /// [`TIN_MATCH`], a sample ID, consent, a signature; for `manage-payouts` and
    /// `manage-payments` a PayPal account unless one is saved).
    pub async fn complete(&mut self, step: StepName) -> Result<StepDone, PageError> {
        let data = match &step {
            StepName::Compliance => self.w9(TIN_MATCH),
            StepName::IdVerification => json!({ "document": "sample-id.jpg" }),
            StepName::BackgroundCheck => json!({ "consent": true }),
            StepName::ManagePayments => {
                json!({ "platform": "paypal", "email": "payments@example.com" })
            }
            StepName::ManagePayouts => {
                let mut state = self.view().await?;
                if state["user"]["payout_methods"]
                    .as_array()
                    .is_none_or(Vec::is_empty)
                {
                    // The page answers an added method with its state after it.
                    let paypal = json!({ "platform": "paypal", "email": "payouts@example.com" });
                    state = self.add_payout_method(paypal).await?;
                }
                match state["user"]["default_payout_method"].as_str() {
                    Some(_) => json!({}),
                    None => json!({ "default_payout_method": "paypal" }),
                }
            }
            StepName::PdfFormFill => {
                json!({ "signature": format!("{} {}", self.first_name, self.last_name) })
            }
            _ => json!({}),
        };
        self.complete_with(step, data).await
    }

    /// Completes `step` with `data`, the body the page would send (e.g. [`Person::w9`] with
    /// [`TIN_MISMATCH`]); the page's refusal comes back as the error.
    pub async fn complete_with(
        &mut self,
        step: StepName,
        data: Value,
    ) -> Result<StepDone, PageError> {
        self.ensure_open().await?;
        let answer = self
            .call(&format!("/steps/{}/complete", step.as_str()), data)
            .await?;
        Ok(StepDone {
            status: answer["status"].as_str().unwrap_or_default().to_owned(),
            transfer: serde_json::from_value(answer["result"]["transfer"].clone()).ok(),
        })
    }

    /// The W-9 body the compliance step sends, for this person with `tin`.
    pub fn w9(&self, tin: &str) -> Value {
        json!({ "w9": {
            "entity_type": "individual",
            "first_name": self.first_name,
            "last_name": self.last_name,
            "date_of_birth": "1990-04-12",
            "tin": tin,
            "address": {
                "line_1": "1 Main St", "city": "Springfield", "state": "IL",
                "postcode": "62701", "country": "US"
            }
        }})
    }

    /// Saves a PayPal payout method (as the payout settings page does); [`FAILING_PAYPAL`]
    /// makes later payouts fail.
    pub async fn save_paypal(&mut self, email: &str) -> Result<(), PageError> {
        self.save_payout_method(json!({ "platform": "paypal", "email": email }))
            .await
    }

    /// Saves a payout method with the page's body (`{"platform": "ach", "routing_number":
    /// ..., "account_number": ..., "account_type": "checking"}`, `venmo` with
    /// `phone_number`, ...).
    pub async fn save_payout_method(&mut self, body: Value) -> Result<(), PageError> {
        self.add_payout_method(body).await.map(drop)
    }

    /// Adds a payout method; the page's state after it.
    async fn add_payout_method(&mut self, body: Value) -> Result<Value, PageError> {
        self.ensure_open().await?;
        self.call("/payout-methods", body).await
    }

    /// Withdraws the whole wallet to the default payout method (the `payout` step); a payout
    /// that fails is the page's error (400), with the failed transfer in Dots' records.
    pub async fn withdraw(&mut self) -> Result<Transfer, PageError> {
        let done = self.complete_with(StepName::Payout, json!({})).await?;
        done.transfer.ok_or_else(|| PageError {
            status: 200,
            message: "the payout step answered without a transfer".to_owned(),
        })
    }

    /// What the open page shows now (the flow's steps, completed steps, the user with their
    /// payout methods and wallet), as the page reads it after each action.
    pub async fn view(&mut self) -> Result<Value, PageError> {
        self.ensure_open().await?;
        let request = self.page_request(reqwest::Method::GET, "/session");
        answer(request.send().await.map_err(unreachable)?).await
    }

    async fn ensure_open(&mut self) -> Result<(), PageError> {
        if self.page_session.is_none() {
            self.open().await?;
        }
        Ok(())
    }

    /// A call of the page's script: `POST /flow/{id}{path}` with its session header.
    async fn call(&self, path: &str, body: Value) -> Result<Value, PageError> {
        let request = self.page_request(reqwest::Method::POST, path).json(&body);
        answer(request.send().await.map_err(unreachable)?).await
    }

    /// A request to `/flow/{id}{path}` carrying the page's session token, as the page's
    /// script sends it.
    fn page_request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(
            method,
            format!("{}/flow/{}{path}", self.origin, self.flow_id),
        );
        match &self.page_session {
            Some(session) => request.header(crate::page::PAGE_SESSION_HEADER, session),
            None => request,
        }
    }
}

/// A page call's JSON answer, or what it refused.
async fn answer(response: reqwest::Response) -> Result<Value, PageError> {
    let status = response.status().as_u16();
    let json: Value = response.json().await.unwrap_or(Value::Null);
    if !(200..300).contains(&status) {
        return Err(PageError {
            status,
            message: json["message"]
                .as_str()
                .unwrap_or("the page refused")
                .to_owned(),
        });
    }
    Ok(json)
}

fn unreachable(err: reqwest::Error) -> PageError {
    PageError {
        status: 0,
        message: format!("the flow page could not be reached: {err}"),
    }
}

/// The flow state a served page carries (its `<script id="flow-state">`).
fn page_state(html: &str) -> Option<Value> {
    let start = html.find(r#"id="flow-state">"#)? + r#"id="flow-state">"#.len();
    let end = start + html[start..].find("</script>")?;
    serde_json::from_str(&html[start..end]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_or_an_id_names_the_flow() {
        assert_eq!(flow_id_of("http://127.0.0.1:9/flow/abc?styles=x"), "abc");
        assert_eq!(flow_id_of("https://x.dots.dev/flow/abc/"), "abc");
        assert_eq!(flow_id_of("abc"), "abc");
    }
}
