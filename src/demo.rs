//! The demo UI: an embedded flow next to a live event log and the server's view of the flow.

use dots_flow::{BrowserFlow, DotsFlow, FlowEvent, FlowStatus, Step, StepName};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[derive(Clone, Debug)]
struct LogEntry {
    seq: usize,
    at: String,
    kind: &'static str,
    detail: String,
}

fn describe(event: &FlowEvent) -> (&'static str, String) {
    match event {
        FlowEvent::Created { id, .. } => ("created", format!("flow {id}")),
        FlowEvent::Ready => ("ready", "frame loaded".to_owned()),
        FlowEvent::Height(h) => ("height", format!("{h}px")),
        FlowEvent::StepCompleted(done) => {
            ("step", format!("{} {}", done.step, done.status.as_str()))
        }
        FlowEvent::FlowCompleted { id } => ("flow-completed", format!("flow {id}")),
        FlowEvent::Unknown(value) => ("message", value.to_string()),
        FlowEvent::Error(err) => ("error", err.to_string()),
        _ => ("other", format!("{event:?}")),
    }
}

fn now() -> String {
    let iso = String::from(js_sys::Date::new_0().to_iso_string());
    iso.get(11..23).unwrap_or(&iso).to_owned()
}

/// Asks the proxy for the flow's progress as the server sees it.
async fn server_view(id: &str) -> Result<BrowserFlow, String> {
    let response = gloo_net::http::Request::get(&format!("/api/flows/{id}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("HTTP {}", response.status()));
    }
    response.json().await.map_err(|e| e.to_string())
}

/// The demo page.
#[component]
pub fn Demo() -> impl IntoView {
    let log = RwSignal::new(Vec::<LogEntry>::new());
    let flow_id = RwSignal::new(None::<String>);
    let server_completed = RwSignal::new(None::<Result<Vec<StepName>, String>>);
    let status = RwSignal::new(FlowStatus::Loading);

    let refresh = move || {
        if let Some(id) = flow_id.get_untracked() {
            spawn_local(async move {
                let view = server_view(&id).await.map(|f| f.completed_steps);
                server_completed.set(Some(view));
            });
        }
    };

    let on_event = move |event: FlowEvent| {
        match &event {
            FlowEvent::Created { id, .. } => flow_id.set(Some(id.to_string())),
            FlowEvent::Ready => status.set(FlowStatus::Ready),
            FlowEvent::StepCompleted(_) => refresh(),
            FlowEvent::FlowCompleted { .. } => status.set(FlowStatus::Completed),
            FlowEvent::Error(_) => status.set(FlowStatus::Error),
            _ => {}
        }
        let (kind, detail) = describe(&event);
        log.update(|entries| {
            let seq = entries.len() + 1;
            entries.push(LogEntry {
                seq,
                at: now(),
                kind,
                detail,
            });
        });
    };

    let steps = vec![Step::new(StepName::Compliance), Step::manage_payouts()];

    view! {
        <header class="demo-header">
            <h1>"dots-flow demo"</h1>
            <p>"A Dots flow embedded with the Leptos component, served by the local Dots sandbox."</p>
        </header>
        <main class="demo-layout">
            <section class="demo-card demo-flow" aria-labelledby="flow-title">
                <h2 id="flow-title">"Onboarding flow"</h2>
                <p class="demo-muted">
                    "Steps: compliance, manage-payouts. Status: "
                    <strong id="flow-status">{move || status.get().as_str()}</strong>
                </p>
                <DotsFlow steps=steps title="Dots onboarding" on_event=on_event/>
            </section>
            <aside class="demo-side">
                <section class="demo-card" aria-labelledby="server-title">
                    <h2 id="server-title">"Server view"</h2>
                    <p class="demo-muted">"What the proxy reports for this flow (GET /api/flows/{id})."</p>
                    <dl class="demo-facts">
                        <dt>"Flow id"</dt>
                        <dd id="flow-id">{move || flow_id.get().unwrap_or_else(|| "…".to_owned())}</dd>
                        <dt>"Completed steps"</dt>
                        <dd id="server-completed">
                            {move || match server_completed.get() {
                                None => "none yet".to_owned(),
                                Some(Ok(steps)) if steps.is_empty() => "none yet".to_owned(),
                                Some(Ok(steps)) => steps.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                                Some(Err(err)) => format!("error: {err}"),
                            }}
                        </dd>
                    </dl>
                    <button type="button" class="demo-button" on:click=move |_| refresh()>"Refresh"</button>
                </section>
                <section class="demo-card" aria-labelledby="log-title">
                    <h2 id="log-title">"Event log"</h2>
                    <ol id="event-log" class="demo-log" aria-live="polite">
                        <For each=move || log.get() key=|entry| entry.seq let:entry>
                            <li data-kind=entry.kind>
                                <time>{entry.at}</time>
                                <span class="demo-log__kind">{entry.kind}</span>
                                <span class="demo-log__detail">{entry.detail}</span>
                            </li>
                        </For>
                    </ol>
                </section>
            </aside>
        </main>
    }
}
