//! Timers for the framework-free parts (the engine, the stream follower): what Leptos'
//! `set_timeout_with_handle` and `set_interval_with_handle` do, without Leptos.

use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

fn millis(after: Duration) -> i32 {
    after.as_millis().min(i32::MAX as u128) as i32
}

/// A pending `setTimeout`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeout(i32);

impl Timeout {
    /// Cancels it (nothing happens if it already ran).
    pub(crate) fn clear(self) {
        if let Some(window) = web_sys::window() {
            window.clear_timeout_with_handle(self.0);
        }
    }
}

/// Calls `f` once, `after` from now (the closure is freed when it runs).
pub(crate) fn set_timeout(f: impl FnOnce() + 'static, after: Duration) -> Option<Timeout> {
    let f = Closure::once_into_js(f);
    web_sys::window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(f.unchecked_ref(), millis(after))
        .ok()
        .map(Timeout)
}

/// A running `setInterval`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Interval(i32);

impl Interval {
    /// Stops it.
    pub(crate) fn clear(self) {
        if let Some(window) = web_sys::window() {
            window.clear_interval_with_handle(self.0);
        }
    }
}

/// Calls `f` every `every` until cleared.
pub(crate) fn set_interval(f: impl Fn() + 'static, every: Duration) -> Option<Interval> {
    let f = Closure::<dyn Fn()>::new(f).into_js_value();
    web_sys::window()?
        .set_interval_with_callback_and_timeout_and_arguments_0(f.unchecked_ref(), millis(every))
        .ok()
        .map(Interval)
}
