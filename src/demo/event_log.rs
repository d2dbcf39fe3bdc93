//! The event log: every typed event of every embedded flow and every server event, with
//! timestamps, filterable by kind.

use dots_flow::FlowEvent;
use leptos::prelude::*;

#[derive(Clone, Debug)]
pub struct LogEntry {
    pub seq: usize,
    pub at: String,
    pub source: String,
    pub kind: String,
    pub detail: String,
}

/// The shared log.
#[derive(Clone, Copy)]
pub struct Log(RwSignal<Vec<LogEntry>>);

impl Log {
    pub fn new() -> Self {
        Self(RwSignal::new(Vec::new()))
    }

    pub fn push(&self, source: &str, kind: &str, detail: String) {
        let at = String::from(js_sys::Date::new_0().to_iso_string());
        let at = at.get(11..23).unwrap_or(&at).to_owned();
        self.0.update(|entries| {
            let seq = entries.len() + 1;
            entries.push(LogEntry {
                seq,
                at,
                source: source.to_owned(),
                kind: kind.to_owned(),
                detail,
            });
        });
    }

    /// Logs a component event under `source` (which flow it came from).
    pub fn flow_event(&self, source: &str, event: &FlowEvent) {
        let (kind, detail) = describe(event);
        self.push(source, kind, detail);
    }
}

pub fn describe(event: &FlowEvent) -> (&'static str, String) {
    match event {
        FlowEvent::Created { id, .. } => ("created", format!("flow {id}")),
        FlowEvent::Ready => ("ready", "frame loaded".to_owned()),
        FlowEvent::Height(h) => ("height", format!("{h}px")),
        FlowEvent::StepCompleted(done) => {
            ("step", format!("{} {}", done.step, done.status.as_str()))
        }
        FlowEvent::FlowCompleted { id } => ("flow-completed", format!("flow {id}")),
        FlowEvent::ServerConfirmed { completed_steps } => (
            "confirmed",
            completed_steps
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        FlowEvent::Server(event) => (
            "server-confirmed",
            format!("{} {}", event.kind(), event.data()),
        ),
        FlowEvent::LinkRefreshed { id } => ("refreshed", format!("new link, flow {id}")),
        FlowEvent::Expired => ("expired", "link expired".to_owned()),
        FlowEvent::Unknown(json) => ("message", json.clone()),
        FlowEvent::Error(err) => ("error", err.to_string()),
        _ => ("other", format!("{event:?}")),
    }
}

#[component]
pub fn EventLog(log: Log) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let kinds = Memo::new(move |_| {
        let mut kinds: Vec<String> = log.0.with(|e| e.iter().map(|e| e.kind.clone()).collect());
        kinds.sort();
        kinds.dedup();
        kinds
    });
    let shown = move || {
        let filter = filter.get();
        log.0.with(|entries| {
            entries
                .iter()
                .rev()
                .filter(|e| filter.is_empty() || e.kind == filter)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    view! {
        <section class="demo-card" aria-labelledby="log-title">
            <div class="demo-row">
                <h2 id="log-title">"Event log"</h2>
                <label class="demo-inline">
                    "Kind "
                    <select id="log-filter" on:change=move |ev| filter.set(event_target_value(&ev))>
                        <option value="">"all"</option>
                        <For each=move || kinds.get() key=|k| k.clone() let:kind>
                            <option value=kind.clone()>{kind.clone()}</option>
                        </For>
                    </select>
                </label>
            </div>
            // Focusable, so keyboard users can scroll it; not a live region (every height message would
            // be read out): the component's own live region announces what matters.
            <ol id="event-log" class="demo-log" tabindex="0" aria-label="Event log">
                <For
                    each=shown
                    key=|entry| entry.seq
                    children=move |entry: LogEntry| {
                        let LogEntry { at, source, kind, detail, .. } = entry;
                        let (kind_attr, source_attr) = (kind.clone(), source.clone());
                        view! {
                            <li data-kind=kind_attr data-source=source_attr>
                                <time>{at}</time>
                                <span class="demo-log__source">{source}</span>
                                <span class="demo-log__kind">{kind}</span>
                                <span class="demo-log__detail">{detail}</span>
                            </li>
                        }
                    }
                />
            </ol>
        </section>
    }
}
