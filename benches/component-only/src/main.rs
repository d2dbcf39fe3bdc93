use dots_flow::{DotsFlow, Step};
use leptos::prelude::*;

fn main() {
    console_error_panic_hook::set_once();
    // `--features prefetch`: the flow is asked for as the page starts (a hover on "Set up
    // payouts"), and the component mounts a moment later (the click), for the time-to-iframe
    // benchmark. Without it, the smallest real use, for the size measurement.
    #[cfg(feature = "prefetch")]
    {
        use dots_flow::{prefetch_flow, FlowSource, StartFlowRequest};
        let source = prefetch_flow(
            FlowSource::default(),
            StartFlowRequest::new(vec![Step::compliance()]),
        );
        set_timeout(
            move || {
                leptos::mount::mount_to_body(move || {
                    view! { <DotsFlow steps=vec![Step::compliance()] source=source.clone()/> }
                })
            },
            std::time::Duration::from_millis(150),
        );
        return;
    }
    #[allow(unreachable_code)]
    leptos::mount::mount_to_body(|| view! { <DotsFlow steps=vec![Step::compliance()]/> });
}
