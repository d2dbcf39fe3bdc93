//! Mounting: no stolen focus, 320 px, and nothing left behind after a hundred mounts.

use super::*;

#[wasm_bindgen_test]
async fn mounting_never_steals_focus_and_fits_320px() {
    let document = web_sys::window().unwrap().document().unwrap();
    let input: HtmlElement = document.create_element("input").unwrap().unchecked_into();
    document.body().unwrap().append_child(&input).unwrap();
    input.focus().unwrap();
    let container = container();
    container.style().set_property("width", "320px").unwrap();
    let source = fixed_source(frame_link(), Arc::default());
    let _handle = leptos::mount::mount_to(container.clone(), move || {
        view! { <DotsFlow steps=vec![Step::payout()] source=source/> }
    });
    wait_until("the iframe", || frame_in(&container).is_some()).await;
    let frame_window = frame_in(&container).unwrap().content_window().unwrap();
    post(
        &page_origin(),
        Some(&frame_window),
        &json(r#"{"height": 640}"#),
    );
    settle().await;
    let active = document.active_element().unwrap();
    assert!(
        active == input.clone().unchecked_into::<web_sys::Element>(),
        "focus stays where the user put it"
    );
    let frame = frame_in(&container).unwrap();
    let width = frame.client_width() as f64;
    assert!(
        (width - 320.0).abs() < 1.0,
        "the frame takes the 320px width: {width}"
    );
    assert!(
        root_of(&container).scroll_width() <= 320,
        "no horizontal overflow"
    );
}

/// How many message listeners of mounted components read an event right now.
fn live_listeners(source: &web_sys::Window) -> usize {
    let reads = Arc::new(AtomicUsize::new(0));
    let event = counting_message(
        &page_origin(),
        source,
        &json(r#"{"height": 1}"#),
        reads.clone(),
    );
    web_sys::window().unwrap().dispatch_event(&event).unwrap();
    reads.load(Ordering::SeqCst)
}

#[wasm_bindgen_test]
async fn a_hundred_mounts_and_unmounts_leave_nothing_behind() {
    // Components other tests left mounted on this page, if any.
    let baseline = live_listeners(&web_sys::window().unwrap());
    let container = container();
    let source_window = {
        let source = fixed_source(frame_link(), Arc::default());
        let handle = leptos::mount::mount_to(container.clone(), move || {
            view! { <DotsFlow steps=vec![Step::payout()] source=source/> }
        });
        wait_until("the iframe", || frame_in(&container).is_some()).await;
        let w = frame_in(&container).unwrap().content_window().unwrap();
        drop(handle);
        w
    };
    for _ in 0..100 {
        let source = fixed_source(frame_link(), Arc::default());
        let handle = leptos::mount::mount_to(container.clone(), move || {
            view! { <DotsFlow steps=vec![Step::payout()] source=source/> }
        });
        leptos::task::tick().await;
        drop(handle);
    }
    settle().await;
    assert!(
        frame_in(&container).is_none(),
        "no frame is left in the page"
    );
    assert_eq!(
        live_listeners(&source_window),
        baseline,
        "no listener of the 101 unmounted components runs"
    );
}
