//! The dots-flow demo page (served by `trunk serve`): sets up logging and mounts the demo.

mod demo;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(demo::Demo);
}
