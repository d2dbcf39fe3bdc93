//! Browser tests of `use_dots_events` and of `<DotsFlow/>` hearing the server (issue 15), in
//! headless Chromium with real `EventSource`s. A stream is a `blob:` URL of
//! `text/event-stream` text (the test server cannot hold a stream open); the browser's
//! `EventSource` constructor is wrapped to count and inspect the connections the hooks make.
#![cfg(target_arch = "wasm32")]

use dots_flow::{
    use_dots_events_with_options, BrowserFlow, DotsFlow, FlowEvent, FlowId, FlowSource, Step,
    StepName, StreamEvent, StreamState, UseDotsEventsOptions, UseDotsEventsReturn,
};
use leptos::prelude::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod support;
use support::*;

/// A stream that sends `body` (SSE text) and then ends; `retry: 60000` keeps the browser from
/// reconnecting during a test.
fn stream_of(body: &str) -> String {
    let parts = js_sys::Array::of1(&JsValue::from_str(&format!("retry: 60000\n\n{body}")));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/event-stream");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).unwrap();
    web_sys::Url::create_object_url_with_blob(&blob).unwrap()
}

/// Wraps `EventSource` once; returns every one made since the page loaded.
fn event_sources() -> js_sys::Array {
    js_sys::Function::new_no_args(
        "if (!window.__made) {
           const Original = window.EventSource;
           window.__made = [];
           window.EventSource = class extends Original {
             constructor(url, init) { super(url, init); window.__made.push(this); }
           };
         }
         return window.__made;",
    )
    .call0(&JsValue::NULL)
    .unwrap()
    .unchecked_into()
}

fn made_for(url_start: &str) -> Vec<web_sys::EventSource> {
    event_sources()
        .iter()
        .map(|s| s.unchecked_into::<web_sys::EventSource>())
        .filter(|s| s.url().starts_with(url_start))
        .collect()
}

type Heard = Arc<Mutex<Vec<StreamEvent>>>;

/// Mounts one hook per URL; returns what each heard, their handles and the mount.
fn follow(
    urls: Vec<RwSignal<Option<String>>>,
    retry_after: Duration,
) -> (
    Vec<Heard>,
    Arc<Mutex<Vec<UseDotsEventsReturn>>>,
    leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
) {
    let heard: Vec<Heard> = urls.iter().map(|_| Heard::default()).collect();
    let handles = Arc::new(Mutex::new(Vec::new()));
    let (h, out) = (heard.clone(), handles.clone());
    let mount = leptos::mount::mount_to(container(), move || {
        for (url, heard) in urls.iter().zip(&h) {
            let heard = heard.clone();
            let hook = use_dots_events_with_options(
                *url,
                UseDotsEventsOptions {
                    on_event: Some(Callback::new(move |e| heard.lock().unwrap().push(e))),
                    retry_after,
                    ..UseDotsEventsOptions::default()
                },
            );
            out.lock().unwrap().push(hook);
        }
        view! { <p>"following"</p> }.into_any()
    });
    (heard, handles, mount)
}

const EVENTS: &str =
    "id: 1\nevent: step_completed\ndata: {\"flow_id\":\"f1\",\"step\":\"compliance\"}\n\n\
id: 2\nevent: something_new\ndata: {}\n\n\
id: 3\nevent: user_bound\ndata: {\"user_id\":\"u1\"}\n\n\
id: 4\nevent: flow_completed\ndata: {\"flow_id\":\"f1\",\"completed_steps\":[\"compliance\"]}\n\n\
id: 5\nevent: transfer_updated\ndata: not json\n\n";

fn expected() -> Vec<StreamEvent> {
    vec![
        StreamEvent::StepCompleted {
            flow_id: FlowId::from("f1"),
            step: StepName::Compliance,
        },
        StreamEvent::FlowCompleted {
            flow_id: FlowId::from("f1"),
            completed_steps: vec![StepName::Compliance],
        },
    ]
}

#[wasm_bindgen_test]
async fn events_arrive_typed_in_order_and_hooks_on_one_stream_share_one_connection() {
    event_sources();
    let url = stream_of(EVENTS);
    let first = RwSignal::new(Some(url.clone()));
    let second = RwSignal::new(Some(url.clone()));
    let (heard, handles, mount) = follow(vec![first, second], Duration::from_secs(30));
    wait_until("both hooks heard the stream", || {
        heard.iter().all(|h| h.lock().unwrap().len() == 2)
    })
    .await;
    for h in &heard {
        assert_eq!(
            *h.lock().unwrap(),
            expected(),
            "typed, in order; an unknown kind, a missing field and junk data are skipped"
        );
    }
    let hooks = handles.lock().unwrap().clone();
    assert_eq!(hooks[0].last_event_id.get_untracked().as_deref(), Some("4"));
    assert_eq!(
        made_for(&url).len(),
        1,
        "two hooks on one stream: one connection"
    );

    // A third hook joining late, resuming after event 1: what it missed is replayed from what
    // the shared stream kept, without a new connection.
    let late = Heard::default();
    let l = late.clone();
    let resume_after_1 = format!("{url}?last_event_id=1");
    let _late_mount = leptos::mount::mount_to(container(), move || {
        use_dots_events_with_options(
            Signal::stored(Some(resume_after_1.clone())),
            UseDotsEventsOptions {
                on_event: Some(Callback::new(move |e| l.lock().unwrap().push(e))),
                ..UseDotsEventsOptions::default()
            },
        );
        view! { <p>"late"</p> }.into_any()
    });
    wait_until("the late hook heard the replay", || {
        !late.lock().unwrap().is_empty()
    })
    .await;
    settle().await;
    assert_eq!(*late.lock().unwrap(), expected()[1..].to_vec());
    assert_eq!(made_for(&url).len(), 1, "still one connection");

    drop(mount);
    settle().await;
    assert_ne!(
        made_for(&url)[0].ready_state(),
        web_sys::EventSource::CLOSED,
        "the late hook still follows it"
    );
    drop(_late_mount);
    settle().await;
    assert_eq!(
        made_for(&url)[0].ready_state(),
        web_sys::EventSource::CLOSED,
        "closed once nobody follows it"
    );
}

#[wasm_bindgen_test]
async fn a_refused_stream_is_opened_again_later_and_no_more_once_unmounted() {
    event_sources();
    let url = format!(
        "{}/no-such-stream-{}",
        page_origin(),
        js_sys::Math::random()
    );
    let signal = RwSignal::new(Some(url.clone()));
    let (_, handles, mount) = follow(vec![signal], Duration::from_millis(50));
    wait_until("opened again after the refusal", || {
        made_for(&url).len() >= 3
    })
    .await;
    let hook = handles.lock().unwrap()[0];
    assert_ne!(hook.state.get_untracked(), StreamState::Open);
    drop(mount);
    let after_unmount = made_for(&url).len();
    sleep(400).await;
    assert_eq!(
        made_for(&url).len(),
        after_unmount,
        "no more attempts once unmounted"
    );
    assert!(made_for(&url)
        .iter()
        .all(|s| s.ready_state() == web_sys::EventSource::CLOSED));
}

#[wasm_bindgen_test]
async fn a_new_url_replaces_the_stream_and_none_closes_it() {
    event_sources();
    let one = stream_of(EVENTS);
    let signal = RwSignal::new(Some(one.clone()));
    let (heard, _, _mount) = follow(vec![signal], Duration::from_secs(30));
    wait_until("the first stream", || heard[0].lock().unwrap().len() == 2).await;
    // (A `blob:` URL with a query finds no blob, so this stream is only looked at, not read.)
    let two = stream_of("");
    signal.set(Some(two.clone()));
    wait_until("the second stream", || !made_for(&two).is_empty()).await;
    assert_eq!(
        made_for(&one)[0].ready_state(),
        web_sys::EventSource::CLOSED
    );
    assert!(
        made_for(&two)[0].url().contains("last_event_id=4"),
        "the new stream resumes after the last event heard: {}",
        made_for(&two)[0].url()
    );
    signal.set(None);
    settle().await;
    assert_eq!(
        made_for(&two)[0].ready_state(),
        web_sys::EventSource::CLOSED
    );
}

#[wasm_bindgen_test]
async fn the_component_completes_from_the_servers_stream_without_a_frame_message() {
    event_sources();
    // The flow answer names a stream on which the server confirms the step: the component
    // reports it (and the flow's completion) though the frame posted no step message; events
    // of another flow of the same user are ignored.
    let link = frame_link();
    let events = stream_of(
        "id: 7\nevent: step_completed\ndata: {\"flow_id\":\"someone-elses\",\"step\":\"payout\"}\n\n\
         id: 8\nevent: step_completed\ndata: {\"flow_id\":\"fl-heard\",\"step\":\"compliance\"}\n\n\
         id: 9\nevent: flow_completed\ndata: {\"flow_id\":\"fl-heard\",\"completed_steps\":[\"compliance\"]}\n\n",
    );
    let answer_events = events.clone();
    let source = FlowSource::fetcher(move |request| {
        let (link, events) = (link.clone(), answer_events.clone());
        async move {
            let mut flow = BrowserFlow::new(
                FlowId::from("fl-heard"),
                link,
                request.steps.iter().map(|s| s.name.clone()).collect(),
                Vec::new(),
            );
            flow.events = Some(events);
            Ok(flow)
        }
    });
    let steps_heard = Arc::new(Mutex::new(Vec::new()));
    let completed = Arc::new(Mutex::new(Vec::new()));
    let all = Arc::new(Mutex::new(Vec::new()));
    let (s, c, a) = (steps_heard.clone(), completed.clone(), all.clone());
    let root = container();
    let _mount = leptos::mount::mount_to(root.clone(), move || {
        view! {
            <DotsFlow
                steps=vec![Step::compliance()]
                source=source
                on_step_complete=move |done| s.lock().unwrap().push(done)
                on_flow_complete=move |flow: BrowserFlow| c.lock().unwrap().push(flow.id)
                on_event=move |event| a.lock().unwrap().push(event)
            />
        }
        .into_any()
    });
    wait_until("completed from the stream", || {
        status_of(&root) == "completed"
    })
    .await;
    settle().await;
    let steps: Vec<StepName> = steps_heard
        .lock()
        .unwrap()
        .iter()
        .map(|d| d.step.clone())
        .collect();
    assert_eq!(steps, [StepName::Compliance], "once, and only this flow's");
    assert_eq!(*completed.lock().unwrap(), [FlowId::from("fl-heard")]);
    assert!(all
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, FlowEvent::Server(StreamEvent::StepCompleted { .. }))));
    assert_eq!(
        made_for(&events)[0].ready_state(),
        web_sys::EventSource::CLOSED,
        "a completed flow stops following the stream"
    );

    // The frame's own message for the step comes after the server's: reported once.
    let window = frame_in(&root).unwrap().content_window().unwrap();
    post(
        &page_origin(),
        Some(&window),
        &json(r#"{"step": "compliance", "status": "completed"}"#),
    );
    settle().await;
    assert_eq!(
        steps_heard.lock().unwrap().len(),
        1,
        "the server's word and the frame's message are one completion"
    );
}
