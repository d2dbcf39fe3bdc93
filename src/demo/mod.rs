//! The demo: the payout journey of Dots' "Create a Flow" guide, one card per other step kind, a
//! theme editor, an event log and a fault switch, on one page.

mod api;
mod event_log;
mod theme_editor;

use dots_flow::{
    use_dots_events_with_options, DotsFlow, FlowEvent, FlowStatus, FlowStyle, Step, StreamEvent,
    UseDotsEventsOptions,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;

use api::{money, Wallets};
use event_log::{EventLog, Log};
use theme_editor::ThemeEditor;

/// A fresh payment reference (letters and digits; unique enough for one page's payments).
fn new_reference() -> String {
    let random = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
    format!("pay-{:x}-{random:x}", js_sys::Date::now() as u64)
}

/// The kinds of step a card can try on its own.
fn step_cards() -> Vec<(&'static str, &'static str, Step)> {
    vec![
        (
            "compliance",
            "Tax information again (the sandbox always shows it, as Dots' own sandbox does).",
            Step::compliance(),
        ),
        (
            "id-verification",
            "A sample ID and selfie; the frame gets camera permission.",
            Step::id_verification(),
        ),
        (
            "background-check",
            "Consent, then a simulated check.",
            Step::background_check(),
        ),
        (
            "manage-payouts",
            "With hide_continue_button: the user stays on the step.",
            Step::manage_payouts().hide_continue_button(true),
        ),
        (
            "manage-payments",
            "Connect a bank account for payments to the app.",
            Step::manage_payments(),
        ),
        (
            "redirect",
            "Completes, then sends the whole page to a URL.",
            Step::redirect("https://example.com/"),
        ),
        (
            "pdf-form-fill",
            "Fill and sign a PDF form template.",
            Step::pdf_form_fill("tpl_demo_w9"),
        ),
    ]
}

/// The demo page.
#[component]
pub fn Demo() -> impl IntoView {
    let log = Log::new();
    let style = RwSignal::new(None::<FlowStyle>);
    // The component's texts: English, or Spanish (the `lang-es` feature's built-in table).
    let spanish = RwSignal::new(false);
    let labels = Signal::derive(move || {
        if spanish.get() {
            dots_flow::Labels::spanish()
        } else {
            dots_flow::Labels::default()
        }
    });
    // The demo's own titles for its flows, in the same language.
    let titled = move |english: &'static str, spanish_title: &'static str| {
        Signal::derive(move || {
            if spanish.get() {
                spanish_title
            } else {
                english
            }
            .to_owned()
        })
    };
    let onboarding_status = RwSignal::new(FlowStatus::Loading);
    let wallets = RwSignal::new(Wallets::default());
    let payment = RwSignal::new(None::<Result<String, String>>);
    let amount = RwSignal::new(2500i64);
    let payout_started = RwSignal::new(false);
    let payout_status = RwSignal::new(FlowStatus::Loading);
    let trying = RwSignal::new(None::<usize>);
    let fault_note = RwSignal::new(String::new());

    let refresh_wallets = move || {
        spawn_local(async move {
            if let Ok(state) = api::get::<Wallets>("/api/demo/state").await {
                wallets.update(|w| {
                    w.user_id = state.user_id;
                    w.user_wallet = state.user_wallet;
                    w.app_wallet = state.app_wallet;
                });
            }
        });
    };
    refresh_wallets();
    // The session's event stream, opened once the first flow exists (so it is that flow's
    // session's): every event goes to the log; a bound user or a transfer moves the wallets.
    let server_stream = RwSignal::new(None::<String>);
    let start_listening = move || {
        if server_stream.get_untracked().is_none() {
            server_stream.set(Some("/api/events".to_owned()));
        }
    };
    use_dots_events_with_options(
        server_stream,
        UseDotsEventsOptions {
            on_event: Some(Callback::new(move |event: StreamEvent| {
                log.push("server", event.kind(), event.data());
                if matches!(
                    event,
                    StreamEvent::UserBound { .. } | StreamEvent::TransferUpdated { .. }
                ) {
                    refresh_wallets();
                }
            })),
            ..UseDotsEventsOptions::default()
        },
    );

    // One reference per intended payment: a double click or a retry after an error sends the
    // same one (and the server pays a reference once); a new one only after it was paid or
    // when the amount changes.
    let reference = StoredValue::new(new_reference());
    let paying = RwSignal::new(false);
    let pay = move |_| {
        if paying.get_untracked() {
            return;
        }
        paying.set(true);
        payment.set(Some(Ok("sending…".to_owned())));
        spawn_local(async move {
            let result = api::post::<Wallets>(
                "/api/demo/pay",
                &json!({"amount_cents": amount.get_untracked(), "reference": reference.get_value()}),
            )
            .await;
            paying.set(false);
            match result {
                Ok(answer) => {
                    reference.set_value(new_reference());
                    let status = answer
                        .transfer
                        .as_ref()
                        .and_then(|t| t["status"].as_str().map(str::to_owned))
                        .unwrap_or_default();
                    log.push(
                        "host",
                        "transfer",
                        format!("{} {status}", money(amount.get_untracked())),
                    );
                    payment.set(Some(Ok(status)));
                    wallets.set(answer);
                }
                Err(err) => {
                    log.push("host", "error", err.clone());
                    payment.set(Some(Err(err)));
                }
            }
        });
    };

    let fault = move |kind: &'static str, note: &'static str| {
        move |_| {
            spawn_local(async move {
                match api::post::<serde_json::Value>("/api/demo/faults", &json!({"fault": kind}))
                    .await
                {
                    Ok(_) => fault_note.set(note.to_owned()),
                    Err(err) => fault_note.set(format!("could not switch: {err}")),
                }
            });
        }
    };

    // Raw postMessages from the flows' origin, next to the component's typed events.
    let flow_origin = RwSignal::new(None::<String>);
    let raw = window_event_listener(leptos::ev::message, move |event: web_sys::MessageEvent| {
        if flow_origin.try_get_untracked().flatten().as_deref() != Some(event.origin().as_str()) {
            return;
        }
        let data = event.data();
        let text = data
            .as_string()
            .or_else(|| {
                js_sys::JSON::stringify(&data)
                    .ok()
                    .and_then(|s| s.as_string())
            })
            .unwrap_or_default();
        log.push("frame", "raw", text);
    });
    on_cleanup(move || raw.remove());
    let note_origin = move |event: &FlowEvent| {
        if let FlowEvent::Created { link, .. } = event {
            if let Some(origin) = dots_flow::link_origin(link) {
                flow_origin.set(Some(origin));
            }
        }
    };

    let user_id = move || wallets.with(|w| w.user_id.clone());
    let wallet_text = move |cents: Option<i64>| cents.map(money).unwrap_or_else(|| "—".to_owned());

    view! {
        <header class="demo-header">
            <h1>"dots-flow demo"</h1>
            <p>
                "Dots' payout journey with the Leptos component, the proxy and the local Dots sandbox. "
                "Sign in with any phone number; the sandbox code is 123456."
            </p>
            <label class="demo-language">
                "The component's language "
                <select
                    id="language"
                    on:change=move |ev| spanish.set(event_target_value(&ev) == "es")
                >
                    <option value="en" selected=move || !spanish.get()>"English"</option>
                    <option value="es" selected=move || spanish.get()>"Español"</option>
                </select>
            </label>
        </header>
        <main class="demo-layout">
            <div class="demo-main">
                <section class="demo-card" aria-labelledby="step1">
                    <h2 id="step1">"1 · Onboard a user"</h2>
                    <p class="demo-muted">
                        "A flow with the compliance step; without a user, Dots starts with sign-in. Status: "
                        <strong id="flow-status">{move || onboarding_status.get().as_str()}</strong>
                    </p>
                    <DotsFlow
                        steps=vec![Step::compliance()]
                        style=style
                        title=titled("Dots onboarding", "Alta en Dots")
                        labels=labels
                        status=onboarding_status
                        on_event=move |event: FlowEvent| {
                            if matches!(event, FlowEvent::Created { .. }) {
                                start_listening();
                            }
                            note_origin(&event);
                            log.flow_event("onboarding", &event);
                        }
                    />
                </section>

                <section class="demo-card" aria-labelledby="step2">
                    <h2 id="step2">"2 · The new user"</h2>
                    <p class="demo-muted">"The proxy learns the user from Dots' webhook and tells the page over its event stream."</p>
                    <dl class="demo-facts">
                        <dt>"Dots user"</dt>
                        <dd id="user-id">{move || user_id().unwrap_or_else(|| "not onboarded yet".to_owned())}</dd>
                    </dl>
                </section>

                <section class="demo-card" aria-labelledby="step3">
                    <h2 id="step3">"3 · Host backend pays the user"</h2>
                    <p class="demo-muted">
                        "The demo's server side holds the admin token and sends Dots the negative amount with an idempotency key."
                    </p>
                    <div class="demo-row demo-wrap">
                        <label class="demo-inline">
                            "Amount "
                            <select id="amount" on:change=move |ev| {
                                amount.set(event_target_value(&ev).parse().unwrap_or(2500));
                                reference.set_value(new_reference());
                            }>
                                <option value="2500">"$25.00"</option>
                                <option value="1000">"$10.00"</option>
                                <option value="9900">"$99.00"</option>
                            </select>
                        </label>
                        <button
                            type="button"
                            class="demo-button demo-button--primary"
                            id="pay-user"
                            disabled=move || user_id().is_none() || paying.get()
                            on:click=pay
                        >
                            "Pay the user"
                        </button>
                    </div>
                    <dl class="demo-facts">
                        <dt>"Transfer"</dt>
                        <dd id="transfer-status">
                            {move || match payment.get() {
                                None => "none yet".to_owned(),
                                Some(Ok(status)) => status,
                                Some(Err(err)) => format!("failed: {err}"),
                            }}
                        </dd>
                        <dt>"User wallet"</dt>
                        <dd id="user-wallet">{move || wallet_text(wallets.with(|w| w.user_wallet))}</dd>
                        <dt>"App wallet"</dt>
                        <dd id="app-wallet">{move || wallet_text(wallets.with(|w| w.app_wallet))}</dd>
                    </dl>
                </section>

                <section class="demo-card" aria-labelledby="step4">
                    <h2 id="step4">"4 · The user withdraws"</h2>
                    <p class="demo-muted">
                        "A payout flow for the same user. Money moves only after the user signs in again (same phone number, code 123456): this browser's session alone is not enough. Status: "
                        <strong id="payout-status">
                            {move || if payout_started.get() { payout_status.get().as_str() } else { "not started" }}
                        </strong>
                    </p>
                    <Show
                        when=move || payout_started.get()
                        fallback=move || {
                            view! {
                                <button
                                    type="button"
                                    class="demo-button demo-button--primary"
                                    id="start-payout"
                                    disabled=move || user_id().is_none()
                                    on:click=move |_| payout_started.set(true)
                                >
                                    "Start the payout flow"
                                </button>
                            }
                        }
                    >
                        <DotsFlow
                            steps=vec![Step::payout()]
                            style=style
                            title=titled("Dots payout", "Retiro con Dots")
                            labels=labels
                            status=payout_status
                            on_event=move |event: FlowEvent| log.flow_event("payout", &event)
                            on_flow_complete=move |_| refresh_wallets()
                        />
                    </Show>
                </section>

                <section class="demo-card" aria-labelledby="steps-title">
                    <h2 id="steps-title">"Every other step"</h2>
                    <div class="demo-steps">
                        {step_cards()
                            .into_iter()
                            .enumerate()
                            .map(|(index, (name, about, _))| {
                                view! {
                                    <div class="demo-step">
                                        <h3>{name}</h3>
                                        <p class="demo-muted">{about}</p>
                                        <button
                                            type="button"
                                            class="demo-button"
                                            data-try=name
                                            on:click=move |_| trying.set(Some(index))
                                        >
                                            "Try it"
                                        </button>
                                    </div>
                                }
                            })
                            .collect_view()}
                    </div>
                    {move || {
                        trying
                            .get()
                            .map(|index| {
                                let (name, _, step) = step_cards().remove(index);
                                let source = name.to_owned();
                                view! {
                                    <div class="demo-try" data-trying=name>
                                        <DotsFlow
                                            steps=vec![step]
                                            style=style
                                            title=format!("Dots {name}")
                                            labels=labels
                                            on_event=move |event: FlowEvent| log.flow_event(&source, &event)
                                        />
                                    </div>
                                }
                            })
                    }}
                </section>
            </div>
            <aside class="demo-side">
                <ThemeEditor style=style/>
                <section class="demo-card" aria-labelledby="faults-title">
                    <h2 id="faults-title">"Fault switch"</h2>
                    <p class="demo-muted">"Make the local Dots misbehave to see loading, retry and refresh."</p>
                    <div class="demo-row demo-wrap">
                        <button type="button" class="demo-button" data-fault="slow" on:click=fault("slow", "The next flow takes 3 s to create.")>"Slow upstream"</button>
                        <button type="button" class="demo-button" data-fault="errors" on:click=fault("errors", "The next flow creation fails with 502: use “Try again”.")>"Upstream error"</button>
                        <button type="button" class="demo-button" data-fault="expire" on:click=fault("expire", "The sandbox clock jumped 16 minutes: links not opened yet have expired at Dots; an open flow keeps working (the sandbox's assumption), and new flows get fresh links.")>"Expire links"</button>
                        <button type="button" class="demo-button" data-fault="first-load-heights" on:click=fault("first-load-heights", "Flow pages now tell their height once, when they first load (as Dots' guide says). Start a new flow: after each step the frame grows to the window and scrolls inside.")>"Heights on first load only"</button>
                        <button type="button" class="demo-button" data-fault="clear" on:click=fault("clear", "Faults cleared; flow pages tell every height again.")>"Clear"</button>
                    </div>
                    <p class="demo-muted" id="fault-note" role="status">{move || fault_note.get()}</p>
                </section>
                <EventLog log=log/>
            </aside>
        </main>
    }
}
