//! The sandbox's data, per app (the `Api-App-Id` header picks the app; none is the default app).
//!
//! Every operation takes the sandbox clock's `now` so that expiry and verification delays can
//! be driven by tests, and returns the webhook events it causes for the caller to deliver.

use dots_api::{
    AddPayoutMethodRequest, BackgroundCheck, BackgroundCheckStatus, Compliance, ComplianceRequest,
    CreateFlowRequest, CreateTransferRequest, CreateUserRequest, Flow, FlowId, OfacStatus,
    PayoutMethod, PhoneNumber, StatusChange, Step, StepName, TaxIdVerification, Timestamp,
    Transaction, Transfer, TransferId, TransferStatus, TransferType, User, UserId, UserStatus,
    W9Summary, WebhookEvent,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::error::SandboxError;

/// What a new sandbox app holds in its wallet: $100, as in Dots' sandbox.
pub const APP_STARTING_BALANCE_CENTS: i64 = 10_000;
/// How long a pre-authenticated flow link stays valid.
pub const PREAUTH_LINK_TTL_SECS: i64 = 15 * 60;
/// How long a page opened in time keeps working without a call (the sandbox's assumption:
/// Dots documents only when a link can be opened, not how long an open page lasts).
pub const PAGE_SESSION_IDLE_SECS: i64 = 30 * 60;
/// Most open pages remembered per flow (the oldest is forgotten first).
const PAGE_SESSIONS_PER_FLOW: usize = 8;
/// The verification code the sandbox accepts (it sends no SMS).
pub const VERIFICATION_CODE: &str = "123456";
/// Seconds (sandbox clock) before a submitted TIN is verified.
pub const TIN_VERIFICATION_DELAY_SECS: i64 = 3;
/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_WINDOW_SECS: i64 = 24 * 60 * 60;

/// A webhook the sandbox will deliver.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Svix event type, e.g. `flow.updated`.
    pub event_type: &'static str,
    /// The JSON payload.
    pub payload: Value,
}

impl Event {
    fn flow_updated(id: &FlowId) -> Self {
        Self {
            event_type: "flow.updated",
            payload: WebhookEvent::FlowUpdated {
                flow_id: id.clone(),
            }
            .to_json(),
        }
    }

    fn user_updated(kind: &'static str, id: &UserId) -> Self {
        Self {
            event_type: kind,
            payload: WebhookEvent::UserUpdated {
                user_id: id.clone(),
            }
            .to_json(),
        }
    }

    fn transfer(transfer: &Transfer) -> Vec<Self> {
        let terminal = match transfer.status {
            TransferStatus::Failed => Some("transfer.failed"),
            TransferStatus::Completed => Some("transfer.completed"),
            _ => None,
        };
        let mut events = vec![Self {
            event_type: "transfer.updated",
            payload: WebhookEvent::TransferUpdated {
                transfer_id: transfer.id.clone(),
            }
            .to_json(),
        }];
        if let Some(kind) = terminal {
            events.push(Self {
                event_type: kind,
                payload: WebhookEvent::TransferFinished {
                    transfer: Box::new(transfer.clone()),
                }
                .to_json(),
            });
        }
        events
    }
}

/// A flow plus what the hosted page needs.
#[derive(Clone, Debug)]
pub struct FlowRecord {
    /// The flow as the API returns it.
    pub flow: Flow,
    /// The app it belongs to.
    pub app: String,
    /// The steps with their options, as requested.
    pub requested: Vec<Step>,
    /// Sign-in required even though a user was given.
    pub require_auth: bool,
    /// Hide the "Go to dashboard" button at the end.
    pub hide_dashboard: bool,
    /// Unix seconds after which a pre-authenticated link no longer works.
    pub expires_at: Option<i64>,
    /// The page's user is known (pre-authenticated, or signed in through onboarding).
    pub signed_in: bool,
    /// The user being signed in by the onboarding step, before the code is verified.
    pub pending_user: Option<UserId>,
    /// Payout settings changed on this page since the last save (manage-payouts).
    pub payouts_changed: bool,
    /// Pages opened while the link worked: (token, last use in unix seconds).
    pub page_sessions: Vec<(String, i64)>,
}

impl FlowRecord {
    /// Whether the link has expired at `now`.
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }

    /// The options of `step`, if the flow has it.
    pub fn options_of(&self, step: &StepName) -> Option<&Step> {
        self.requested.iter().find(|s| &s.name == step)
    }
}

/// A user plus the sandbox's private bookkeeping.
#[derive(Clone, Debug)]
pub struct UserRecord {
    /// The user as the API returns it.
    pub user: User,
    /// Connected payout methods.
    pub payout_methods: Vec<PayoutMethod>,
    /// The submitted TIN and when (Unix seconds), while verification is pending.
    pub tin_submitted: Option<(String, i64)>,
    /// A manage-payments bank account, if connected.
    pub payment_account: Option<PayoutMethod>,
}

struct App {
    flows: Vec<FlowRecord>,
    /// Position of each flow in `flows`, by id (flows are only ever appended).
    flow_index: HashMap<String, usize>,
    users: Vec<UserRecord>,
    transfers: Vec<Transfer>,
    wallet: i64,
    idempotency: HashMap<String, (TransferId, i64)>,
}

impl Default for App {
    fn default() -> Self {
        Self {
            flows: Vec::new(),
            flow_index: HashMap::new(),
            users: Vec::new(),
            transfers: Vec::new(),
            wallet: APP_STARTING_BALANCE_CENTS,
            idempotency: HashMap::new(),
        }
    }
}

#[derive(Default)]
struct Data {
    apps: HashMap<String, App>,
    flow_app: HashMap<String, String>,
    next_transaction: i64,
}

/// Everything the sandbox knows, behind one lock (the sandbox is not a performance target).
#[derive(Default)]
pub struct Store {
    data: Mutex<Data>,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The user's TIN verification outcome under the sandbox rule: a TIN ending in `0000`
/// mismatches, any other matches.
pub fn tin_outcome(tin: &str) -> TaxIdVerification {
    if tin.ends_with("0000") {
        TaxIdVerification::Mismatched
    } else {
        TaxIdVerification::Matched
    }
}

/// OFAC screening under the sandbox rule: last name `Sanctioned` needs ID verification,
/// `Flagged` is flagged, anyone else is unflagged.
pub fn ofac_outcome(last_name: &str) -> OfacStatus {
    match last_name.trim().to_ascii_lowercase().as_str() {
        "sanctioned" => OfacStatus::IdVerificationRequired,
        "flagged" => OfacStatus::Flagged,
        _ => OfacStatus::Unflagged,
    }
}

fn refresh(record: &mut UserRecord, now: i64) {
    if let Some((tin, at)) = &record.tin_submitted {
        if now >= at + TIN_VERIFICATION_DELAY_SECS {
            record.user.compliance_mut().tax_id_verification = Some(tin_outcome(tin));
            record.tin_submitted = None;
        }
    }
    let compliance = record.user.compliance_mut();
    compliance.flagged = compliance
        .flags
        .ofac_status
        .as_ref()
        .is_some_and(|status| *status != OfacStatus::Unflagged);
    compliance.flags.ofac = compliance.flagged;
    let wallet = record.user.wallet_mut();
    wallet.withdrawable_amount = wallet.amount;
}

impl Data {
    fn app(&mut self, app: &str) -> &mut App {
        self.apps.entry(app.to_owned()).or_default()
    }

    fn next_transaction(&mut self) -> i64 {
        self.next_transaction += 1;
        self.next_transaction
    }

    fn flow_mut(&mut self, id: &str) -> Option<&mut FlowRecord> {
        let app = self.flow_app.get(id)?.clone();
        self.apps.get_mut(&app)?.flow_mut(id)
    }
}

impl App {
    fn flow(&self, id: &str) -> Option<&FlowRecord> {
        self.flows.get(*self.flow_index.get(id)?)
    }

    fn flow_mut(&mut self, id: &str) -> Option<&mut FlowRecord> {
        self.flows.get_mut(*self.flow_index.get(id)?)
    }

    fn push_flow(&mut self, record: FlowRecord) {
        self.flow_index
            .insert(record.flow.id.as_str().to_owned(), self.flows.len());
        self.flows.push(record);
    }

    fn user_mut(&mut self, id: &str) -> Option<&mut UserRecord> {
        self.users.iter_mut().find(|u| u.user.id.as_str() == id)
    }

    /// The user, or the API's 404.
    fn user(&mut self, id: &str) -> Result<&mut UserRecord, SandboxError> {
        self.user_mut(id)
            .ok_or_else(|| SandboxError::not_found("user"))
    }
}

impl Store {
    fn data(&self) -> MutexGuard<'_, Data> {
        self.data
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets everything.
    pub fn reset(&self) {
        *self.data() = Data::default();
    }

    // ---- flows ----------------------------------------------------------------------------

    /// Stores a new flow for a validated request. `origin` is the sandbox's public origin.
    /// A flow without a user lists its sign-in step(s) first, under the names `sign_in` gives.
    pub fn create_flow(
        &self,
        app: &str,
        request: CreateFlowRequest,
        origin: &str,
        now_ms: i64,
        sign_in: crate::SignInStep,
    ) -> Result<Flow, SandboxError> {
        let mut data = self.data();
        if let Some(user_id) = &request.user_id {
            if data.app(app).user_mut(user_id.as_str()).is_none() {
                return Err(SandboxError::invalid("user_id", "no such user"));
            }
        }
        let id = FlowId(new_id());
        let listed = if request.user_id.is_none() {
            sign_in.listed()
        } else {
            &[]
        };
        let steps = listed
            .iter()
            .map(|name| StepName::parse(name))
            .chain(request.steps.iter().map(|s| s.name.clone()))
            .collect();
        let mut flow = Flow::new(id.clone(), format!("{origin}/flow/{id}"), steps);
        flow.created = Some(Timestamp::from_unix_ms(now_ms));
        flow.updated = flow.created;
        flow.user_id = request.user_id.clone();
        flow.metadata = request.metadata.clone();
        let require_auth = request.require_auth.unwrap_or(false);
        let preauth = request.user_id.is_some() && !require_auth;
        data.flow_app.insert(id.to_string(), app.to_owned());
        data.app(app).push_flow(FlowRecord {
            flow: flow.clone(),
            app: app.to_owned(),
            requested: request.steps,
            require_auth,
            hide_dashboard: request.hide_go_to_dashboard_on_complete.unwrap_or(false),
            expires_at: preauth.then(|| now_ms.div_euclid(1000) + PREAUTH_LINK_TTL_SECS),
            signed_in: preauth,
            pending_user: None,
            payouts_changed: false,
            page_sessions: Vec::new(),
        });
        Ok(flow)
    }

    /// Restores objects as another Dots (or this sandbox, before a restart) gave them: flows,
    /// users and transfers keep their ids and fields; a flow with a user counts as signed in,
    /// and its requested steps are its steps without the sign-in. Objects whose id exists are
    /// left as they are. Returns how many were added.
    pub fn import(
        &self,
        app: &str,
        flows: Vec<Flow>,
        users: Vec<User>,
        transfers: Vec<Transfer>,
    ) -> usize {
        let mut data = self.data();
        let mut added = 0;
        for flow in flows {
            if data.flow_app.contains_key(flow.id.as_str()) {
                continue;
            }
            data.flow_app.insert(flow.id.to_string(), app.to_owned());
            let requested = flow
                .steps
                .iter()
                .filter(|s| !s.is_sign_in())
                .cloned()
                .map(Step::new)
                .collect();
            data.app(app).push_flow(FlowRecord {
                signed_in: flow.user_id.is_some(),
                flow,
                app: app.to_owned(),
                requested,
                require_auth: false,
                hide_dashboard: false,
                expires_at: None,
                pending_user: None,
                payouts_changed: false,
                page_sessions: Vec::new(),
            });
            added += 1;
        }
        let target = data.app(app);
        for user in users {
            if target.user_mut(user.id.as_str()).is_some() {
                continue;
            }
            target.users.push(UserRecord {
                user,
                payout_methods: Vec::new(),
                tin_submitted: None,
                payment_account: None,
            });
            added += 1;
        }
        for transfer in transfers {
            if target.transfers.iter().any(|t| t.id == transfer.id) {
                continue;
            }
            target.transfers.push(transfer);
            added += 1;
        }
        added
    }

    /// A flow of `app`.
    pub fn flow(&self, app: &str, id: &str) -> Option<Flow> {
        let data = self.data();
        Some(data.apps.get(app)?.flow(id)?.flow.clone())
    }

    /// A flow by id, whatever its app (the hosted page knows only the id).
    pub fn flow_record(&self, id: &str) -> Option<FlowRecord> {
        self.data().flow_mut(id).map(|r| r.clone())
    }

    /// Flows of `app`, newest first.
    pub fn flows(&self, app: &str) -> Vec<Flow> {
        let data = self.data();
        data.apps
            .get(app)
            .map(|a| a.flows.iter().rev().map(|r| r.flow.clone()).collect())
            .unwrap_or_default()
    }

    /// Marks `step` of flow `id` completed, with the step's side effects already applied.
    /// Returns the flow and the events, or `None` if the flow lacks the step.
    pub fn complete_step(
        &self,
        id: &str,
        step: &StepName,
        now_ms: i64,
    ) -> Option<(Flow, Vec<Event>)> {
        let mut data = self.data();
        let record = data.flow_mut(id)?;
        if !record.flow.steps.contains(step) {
            return None;
        }
        let mut events = Vec::new();
        if !record.flow.completed_steps.contains(step) {
            record.flow.completed_steps.push(step.clone());
            record.flow.updated = Some(Timestamp::from_unix_ms(now_ms));
            events.push(Event::flow_updated(&record.flow.id));
        }
        Some((record.flow.clone(), events))
    }

    /// A page of flow `id` is being opened at `now`: while the link works it gets a session
    /// token that keeps it working past the link's expiry (until it idles out); an expired
    /// link gets none.
    pub fn open_page(&self, id: &str, now: i64) -> Option<String> {
        let mut data = self.data();
        let record = data.flow_mut(id)?;
        if record.expired(now) {
            return None;
        }
        let token = new_id();
        if record.page_sessions.len() >= PAGE_SESSIONS_PER_FLOW {
            record.page_sessions.remove(0);
        }
        record.page_sessions.push((token.clone(), now));
        Some(token)
    }

    /// Whether `token` is a live page session of flow `id` at `now` (its use is noted).
    pub fn touch_page(&self, id: &str, token: &str, now: i64) -> bool {
        let mut data = self.data();
        let Some(record) = data.flow_mut(id) else {
            return false;
        };
        match record
            .page_sessions
            .iter_mut()
            .find(|(t, used)| t == token && now - *used < PAGE_SESSION_IDLE_SECS)
        {
            Some((_, used)) => {
                *used = now;
                true
            }
            None => false,
        }
    }

    /// Notes that payout settings changed on this flow's page (manage-payouts).
    pub fn mark_payouts_changed(&self, id: &str) {
        if let Some(record) = self.data().flow_mut(id) {
            record.payouts_changed = true;
        }
    }

    /// Whether payout settings changed since the last save; clears the mark.
    pub fn take_payouts_changed(&self, id: &str) -> bool {
        self.data()
            .flow_mut(id)
            .map(|r| std::mem::take(&mut r.payouts_changed))
            .unwrap_or(false)
    }

    // ---- onboarding (the hosted page's sign-in) --------------------------------------------

    /// Starts signing in on a flow page: finds or creates the user by phone number.
    pub fn start_onboarding(
        &self,
        flow_id: &str,
        request: CreateUserRequest,
    ) -> Result<UserId, SandboxError> {
        request.validate()?;
        let mut data = self.data();
        let record = data
            .flow_mut(flow_id)
            .ok_or_else(|| SandboxError::not_found("flow"))?;
        let app = record.app.clone();
        let required = record.flow.user_id.clone();
        let (user, _) = create_user_in(data.app(&app), request);
        if let Some(required) = required {
            if required != user.id {
                return Err(SandboxError::invalid(
                    "phone_number",
                    "this flow belongs to another phone number",
                ));
            }
        }
        let record = data.flow_mut(flow_id).expect("flow exists");
        record.pending_user = Some(user.id.clone());
        Ok(user.id)
    }

    /// Finishes signing in with the code. Binds the user to the flow (`flow.updated`).
    pub fn finish_onboarding(
        &self,
        flow_id: &str,
        code: &str,
        now_ms: i64,
    ) -> Result<(Flow, Vec<Event>), SandboxError> {
        let mut data = self.data();
        let record = data
            .flow_mut(flow_id)
            .ok_or_else(|| SandboxError::not_found("flow"))?;
        let user_id = record
            .pending_user
            .clone()
            .ok_or_else(|| SandboxError::invalid("phone_number", "enter a phone number first"))?;
        if code.trim() != VERIFICATION_CODE {
            return Err(SandboxError::bad_request(
                "Incorrect token",
                "invalid-input",
            ));
        }
        record.signed_in = true;
        record.pending_user = None;
        let mut events = Vec::new();
        if record.flow.user_id.is_none() {
            record.flow.user_id = Some(user_id.clone());
            // The sign-in step(s) the flow lists are done.
            let sign_in: Vec<StepName> = record
                .flow
                .steps
                .iter()
                .filter(|s| s.is_sign_in())
                .cloned()
                .collect();
            for step in sign_in {
                if !record.flow.completed_steps.contains(&step) {
                    record.flow.completed_steps.push(step);
                }
            }
            record.flow.updated = Some(Timestamp::from_unix_ms(now_ms));
            events.push(Event::flow_updated(&record.flow.id));
        }
        let flow = record.flow.clone();
        let app = record.app.clone();
        if let Some(user) = data.app(&app).user_mut(user_id.as_str()) {
            user.user.status = Some(UserStatus::Verified);
            user.user.verified = Some(true);
        }
        Ok((flow, events))
    }

    // ---- users ----------------------------------------------------------------------------

    /// Finds (by phone number) or creates a user. `true` when created.
    pub fn create_user(&self, app: &str, request: CreateUserRequest) -> (User, bool) {
        let mut data = self.data();
        create_user_in(data.app(app), request)
    }

    /// A user of `app`, with pending verifications brought up to `now`.
    pub fn user(&self, app: &str, id: &str, now: i64) -> Option<User> {
        self.user_record(app, id, now).map(|record| record.user)
    }

    /// A user of `app` with the sandbox's bookkeeping (for hosted pages).
    pub fn user_record(&self, app: &str, id: &str, now: i64) -> Option<UserRecord> {
        let mut data = self.data();
        let record = data.app(app).user_mut(id)?;
        refresh(record, now);
        Some(record.clone())
    }

    /// Users of `app`, newest first, optionally with one status.
    pub fn users(&self, app: &str, status: Option<&str>, now: i64) -> Vec<User> {
        let mut data = self.data();
        let users = &mut data.app(app).users;
        users.iter_mut().for_each(|u| refresh(u, now));
        users
            .iter()
            .rev()
            .filter(|u| {
                status.is_none_or(|s| u.user.status.as_ref().is_some_and(|us| us.as_str() == s))
            })
            .map(|u| u.user.clone())
            .collect()
    }

    /// Marks a user verified if `token` is the sandbox code.
    pub fn verify_user(&self, app: &str, id: &str, token: &str) -> Result<(), SandboxError> {
        let mut data = self.data();
        let user = data.app(app).user(id)?;
        if token.trim() != VERIFICATION_CODE {
            return Err(SandboxError::bad_request(
                "Incorrect token",
                "invalid-input",
            ));
        }
        user.user.status = Some(UserStatus::Verified);
        user.user.verified = Some(true);
        Ok(())
    }

    /// Whether `app` has user `id`.
    pub fn has_user(&self, app: &str, id: &str) -> bool {
        self.data().app(app).user_mut(id).is_some()
    }

    /// Records compliance information; the TIN becomes `pending`.
    pub fn submit_compliance(
        &self,
        app: &str,
        id: &str,
        request: &ComplianceRequest,
        now: i64,
    ) -> Result<(), SandboxError> {
        request.validate()?;
        let mut data = self.data();
        let record = data.app(app).user(id)?;
        let compliance = record.user.compliance_mut();
        if let Some(w9) = &request.w9 {
            compliance.tax_id_collected = true;
            compliance.address_collected = true;
            compliance.date_of_birth_collected = true;
            compliance.tax_id_verification = Some(TaxIdVerification::Pending);
            compliance.w9 = Some(W9Summary {
                entity_type: Some(w9.entity_type.clone()),
                business_name: w9.business_name.clone(),
                tax_id_collected: true,
                address_collected: true,
            });
            record.tin_submitted = Some((w9.tin.clone(), now));
        }
        if request.w8ben.is_some() {
            compliance.w8_ben_collected = true;
            compliance.date_of_birth_collected = true;
        }
        Ok(())
    }

    /// The user's payout methods.
    pub fn payout_methods(&self, app: &str, id: &str) -> Option<Vec<PayoutMethod>> {
        let mut data = self.data();
        Some(data.app(app).user_mut(id)?.payout_methods.clone())
    }

    /// Adds (or replaces, per platform) a payout method. Emits `user.updated.payout_method`.
    pub fn add_payout_method(
        &self,
        app: &str,
        id: &str,
        request: &AddPayoutMethodRequest,
    ) -> Result<(PayoutMethod, Vec<Event>), SandboxError> {
        request.validate()?;
        let mut data = self.data();
        let record = data.app(app).user(id)?;
        let mut method = PayoutMethod::new(request.platform.clone());
        match request.platform.as_str() {
            "ach" | "cash_app" => {
                let account = request.account_number.clone().unwrap_or_default();
                let mask: String = account
                    .chars()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                method.id = Some(format!("acc_{}", &new_id()[..12]));
                method.description = Some(format!(
                    "{} ••{mask}",
                    request.account_type.as_deref().unwrap_or("account")
                ));
                method.mask = Some(mask);
                method.cash_tag = request.cash_tag.clone();
            }
            "paypal" => method.email = request.email.clone(),
            _ => {
                method.phone_number = request.phone_number.clone();
                method.description = request.handle.clone();
            }
        }
        record
            .payout_methods
            .retain(|m| m.platform != method.platform);
        record.payout_methods.push(method.clone());
        if request.is_default == Some(true) || record.user.default_payout_method.is_none() {
            record.user.default_payout_method = Some(method.platform.clone());
        }
        let events = vec![Event::user_updated(
            "user.updated.payout_method",
            &record.user.id,
        )];
        Ok((method, events))
    }

    /// Makes `platform` the default payout method.
    pub fn set_default_payout_method(
        &self,
        app: &str,
        id: &str,
        platform: &str,
    ) -> Result<Vec<Event>, SandboxError> {
        let mut data = self.data();
        let record = data.app(app).user(id)?;
        if !record.payout_methods.iter().any(|m| m.platform == platform) {
            return Err(SandboxError::invalid(
                "default_payout_method",
                "must be a connected payout method",
            ));
        }
        if record.user.default_payout_method.as_deref() == Some(platform) {
            return Ok(Vec::new());
        }
        record.user.default_payout_method = Some(platform.to_owned());
        Ok(vec![Event::user_updated(
            "user.updated.payout_method",
            &record.user.id,
        )])
    }

    /// Connects a bank account for payments (manage-payments).
    pub fn connect_payment_account(
        &self,
        app: &str,
        id: &str,
        request: &AddPayoutMethodRequest,
    ) -> Result<(), SandboxError> {
        if request.platform != "ach" {
            return Err(SandboxError::invalid(
                "platform",
                "payments use a US bank account (`ach`)",
            ));
        }
        request.validate()?;
        let mut data = self.data();
        let record = data.app(app).user(id)?;
        let mut account = PayoutMethod::new("ach");
        let number = request.account_number.clone().unwrap_or_default();
        account.mask = Some(
            number
                .chars()
                .skip(number.len().saturating_sub(4))
                .collect(),
        );
        record.payment_account = Some(account);
        Ok(())
    }

    /// Simulated ID verification: the user is verified; OFAC review moves to `in_review`.
    pub fn verify_identity(&self, app: &str, id: &str) -> Result<Vec<Event>, SandboxError> {
        let mut data = self.data();
        let record = data.app(app).user(id)?;
        record.user.compliance_mut().id_verified = true;
        if record.user.compliance_mut().flags.ofac_status
            == Some(OfacStatus::IdVerificationRequired)
        {
            record.user.compliance_mut().flags.ofac_status = Some(OfacStatus::InReview);
        }
        Ok(vec![Event::user_updated(
            "user.updated.ide_verified",
            &record.user.id,
        )])
    }

    /// Simulated background check: last name `Consider` → `consider` with criminal activity,
    /// anyone else passes.
    pub fn run_background_check(
        &self,
        app: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<Vec<Event>, SandboxError> {
        let mut data = self.data();
        let record = data.app(app).user(id)?;
        let consider = record
            .user
            .last_name
            .trim()
            .eq_ignore_ascii_case("consider");
        record.user.compliance_mut().background_check = Some(BackgroundCheck {
            status: if consider {
                BackgroundCheckStatus::Consider
            } else {
                BackgroundCheckStatus::Pass
            },
            updated: Some(Timestamp::from_unix_ms(now_ms)),
        });
        record.user.compliance_mut().has_criminal_activity = consider;
        Ok(vec![Event::user_updated(
            "user.updated.background_check",
            &record.user.id,
        )])
    }

    // ---- transfers ------------------------------------------------------------------------

    /// Adds `cents` to an app's wallet; returns the new balance, or `None` (and changes
    /// nothing) if the balance would overflow.
    pub fn refill(&self, app: &str, cents: i64) -> Option<i64> {
        let mut data = self.data();
        let app = data.app(app);
        app.wallet = app.wallet.checked_add(cents)?;
        Some(app.wallet)
    }

    /// The app's wallet balance in cents.
    pub fn app_wallet(&self, app: &str) -> i64 {
        self.data().app(app).wallet
    }

    /// Creates a balance transfer between the app and a user, honouring idempotency keys.
    pub fn create_transfer(
        &self,
        app: &str,
        request: CreateTransferRequest,
        now_ms: i64,
    ) -> Result<(Transfer, Vec<Event>), SandboxError> {
        request.validate()?;
        let now = now_ms.div_euclid(1000);
        let mut data = self.data();
        let transaction_id = data.next_transaction();
        let app_data = data.app(app);
        if let Some(key) = &request.idempotency_key {
            if let Some((id, at)) = app_data.idempotency.get(key) {
                if now - at < IDEMPOTENCY_WINDOW_SECS {
                    let existing = app_data.transfers.iter().find(|t| &t.id == id).cloned();
                    if let Some(existing) = existing {
                        return Ok((existing, Vec::new()));
                    }
                }
            }
        }
        let wallet = app_data.wallet;
        let user = app_data
            .user_mut(request.user_id.as_str())
            .ok_or_else(|| SandboxError::invalid("user_id", "no such user"))?;
        let amount = request.amount;
        // Checked before anything moves: at i64::MIN, `-amount` and the balances overflow.
        let out_of_range = || SandboxError::invalid("amount", "is out of range");
        let app_after = wallet.checked_add(amount).ok_or_else(out_of_range)?;
        let user_after = user
            .user
            .wallet_mut()
            .amount
            .checked_sub(amount)
            .ok_or_else(out_of_range)?;
        amount.checked_neg().ok_or_else(out_of_range)?;
        if amount < 0 && app_after < 0 {
            return Err(SandboxError::bad_request(
                "The app wallet has insufficient funds for this transfer",
                "transaction-insufficient-funds",
            ));
        }
        if amount > 0 && user_after < 0 {
            return Err(SandboxError::bad_request(
                "The user's wallet has insufficient funds for this transfer",
                "transaction-insufficient-funds",
            ));
        }
        user.user.wallet_mut().amount = user_after;
        user.user.wallet_mut().withdrawable_amount = user_after;
        let (source, destination) = if amount < 0 {
            ("App", "User")
        } else {
            ("User", "App")
        };
        let created = Timestamp::from_unix_ms(now_ms);
        let id = TransferId(new_id());
        let mut transfer = Transfer::new(
            id.clone(),
            created,
            request.user_id.clone(),
            TransferStatus::Completed,
            TransferType::Balance,
            amount,
        );
        transfer.metadata = request.metadata.clone();
        transfer.status_history = vec![StatusChange::new(TransferStatus::Completed, created)];
        let mut line = Transaction::new(transaction_id, amount.abs(), created, "balance");
        line.source_name = source.to_owned();
        line.destination_name = destination.to_owned();
        line.transfer_id = Some(id.clone());
        transfer.transactions = vec![line];
        app_data.wallet = app_after;
        if let Some(key) = request.idempotency_key {
            app_data.idempotency.insert(key, (id, now));
        }
        app_data.transfers.push(transfer.clone());
        let events = Event::transfer(&transfer);
        Ok((transfer, events))
    }

    /// Withdraws the user's whole wallet to their default payout method (the payout step).
    /// A method whose email or number contains `fail` fails the payout (sandbox rule).
    pub fn payout(
        &self,
        app: &str,
        user_id: &str,
        now_ms: i64,
    ) -> Result<(Transfer, Vec<Event>), SandboxError> {
        let mut data = self.data();
        let transaction_id = data.next_transaction();
        let app_data = data.app(app);
        let user = app_data.user(user_id)?;
        let platform = user.user.default_payout_method.clone().ok_or_else(|| {
            SandboxError::invalid("default_payout_method", "add a payout method first")
        })?;
        let method = user
            .payout_methods
            .iter()
            .find(|m| m.platform == platform)
            .cloned();
        let amount = user.user.wallet_mut().amount;
        if amount <= 0 {
            return Err(SandboxError::bad_request(
                "There is nothing to withdraw",
                "transaction-insufficient-funds",
            ));
        }
        let fails = method.as_ref().is_some_and(|m| {
            [&m.email, &m.phone_number, &m.cash_tag, &m.description]
                .iter()
                .any(|v| v.as_deref().is_some_and(|v| v.contains("fail")))
        });
        let status = if fails {
            TransferStatus::Failed
        } else {
            TransferStatus::Completed
        };
        if !fails {
            user.user.wallet_mut().amount = 0;
            user.user.wallet_mut().withdrawable_amount = 0;
        }
        let created = Timestamp::from_unix_ms(now_ms);
        let id = TransferId(new_id());
        let mut transfer = Transfer::new(
            id.clone(),
            created,
            UserId::from(user_id),
            status.clone(),
            TransferType::Payout,
            amount,
        );
        transfer.status_history = vec![
            StatusChange::new(TransferStatus::Pending, created),
            StatusChange::new(status.clone(), created),
        ];
        transfer.external_data =
            Some(json!({"platform": platform, "account_id": method.and_then(|m| m.id)}));
        let mut line = Transaction::new(transaction_id, amount, created, "payout");
        line.source_name = "User".to_owned();
        line.destination_name = platform.clone();
        line.transfer_id = Some(id);
        transfer.transactions = vec![line];
        app_data.transfers.push(transfer.clone());
        let events = Event::transfer(&transfer);
        Ok((transfer, events))
    }

    /// A transfer of `app`.
    pub fn transfer(&self, app: &str, id: &str) -> Option<Transfer> {
        self.data()
            .app(app)
            .transfers
            .iter()
            .find(|t| t.id.as_str() == id)
            .cloned()
    }

    /// Transfers of `app`, newest first.
    pub fn transfers(&self, app: &str) -> Vec<Transfer> {
        self.data()
            .app(app)
            .transfers
            .iter()
            .rev()
            .cloned()
            .collect()
    }
}

fn create_user_in(app: &mut App, request: CreateUserRequest) -> (User, bool) {
    if let Some(existing) = app.users.iter().find(|u| {
        u.user.phone_number.as_ref().is_some_and(|phone| {
            phone.country_code == request.country_code && phone.phone_number == request.phone_number
        })
    }) {
        return (existing.user.clone(), false);
    }
    let ofac_status = ofac_outcome(&request.last_name);
    let mut compliance = Compliance::default();
    compliance.flags.ofac_status = Some(ofac_status);
    compliance.date_of_birth_collected = request.date_of_birth.is_some();
    let mut user = User::new(
        UserId(new_id()),
        request.first_name,
        request.last_name,
        request.email,
        PhoneNumber {
            country_code: request.country_code,
            phone_number: request.phone_number,
        },
    );
    user.compliance = Some(compliance);
    user.metadata = request.metadata;
    let mut record = UserRecord {
        user,
        payout_methods: Vec::new(),
        tin_submitted: None,
        payment_account: None,
    };
    refresh(&mut record, 0);
    let user = record.user.clone();
    app.users.push(record);
    (user, true)
}
