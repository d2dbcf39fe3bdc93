//! What `<DotsFlow/>` shows, as plain functions of its state: its Leptos view and the
//! `<dots-flow>` element's renderer (which has no Leptos) both build their markup from these,
//! so the two say and look the same. The structure, with `style/dots-flow.css`'s classes:
//!
//! ```text
//! div.dots-flow [data-status] [data-theme] (style: root_style)
//!   p.dots-flow__status [role=status]            announcement()
//!   div.dots-flow__skeleton [aria-hidden=true]   SKELETON_BARS (shown by CSS while loading)
//!   div.dots-flow__error [role=alert]            only while shows_retry()
//!     p.dots-flow__error-message                   error_text()
//!     button.dots-flow__retry [type=button]        RETRY_LABEL
//!   iframe.dots-flow__frame                      only while !shows_retry()
//!     [allow] [src] [title] [referrerpolicy] (style: FRAME_STYLE)
//! ```

use dots_api::{BrowserFlow, FlowStyle, Step, StepName, StyleVariable, Theme};

use crate::events::{FlowError, FlowStatus};

/// Height of the frame before the flow reports its own (CSS pixels).
pub const DEFAULT_HEIGHT: f64 = 480.0;
/// Default lower bound of the frame's height.
pub const DEFAULT_MIN_HEIGHT: f64 = 240.0;
/// Default upper bound of the frame's height.
pub const DEFAULT_MAX_HEIGHT: f64 = 4000.0;
/// Height changes smaller than this are ignored, so a frame that measures itself can never
/// start a resize loop.
pub const HEIGHT_TOLERANCE: f64 = 2.0;

/// The frame's accessible title when the app gives none.
pub const DEFAULT_TITLE: &str = "Payout setup";
/// The retry button's label.
pub const RETRY_LABEL: &str = "Try again";
/// The frame's `referrerpolicy`.
pub const REFERRER_POLICY: &str = "strict-origin-when-cross-origin";
/// The frame's inline style (set through the CSSOM, which a Content-Security-Policy does not
/// govern).
pub const FRAME_STYLE: &str =
    "display:block;width:100%;border:0;height:var(--dots-flow-height,480px)";
/// The skeleton's bars (classes), top to bottom.
pub const SKELETON_BARS: [&str; 3] = [
    "dots-flow__skeleton-bar",
    "dots-flow__skeleton-bar dots-flow__skeleton-bar--short",
    "dots-flow__skeleton-block",
];

/// The component chrome's CSS custom properties driven by Flow Styles variables, so the
/// skeleton and error panel match the themed flow.
pub const CHROME_PROPERTIES: [(StyleVariable, &str); 8] = [
    (StyleVariable::BackgroundColor, "--dots-flow-background"),
    (StyleVariable::PrimaryTextColor, "--dots-flow-text"),
    (StyleVariable::SecondaryTextColor, "--dots-flow-muted"),
    (StyleVariable::TabBackgroundColor, "--dots-flow-skeleton"),
    (
        StyleVariable::TabHoverBackgroundColor,
        "--dots-flow-skeleton-shine",
    ),
    (
        StyleVariable::ButtonBackgroundColor,
        "--dots-flow-button-background",
    ),
    (StyleVariable::ButtonTextColor, "--dots-flow-button-text"),
    (StyleVariable::BorderRadius, "--dots-flow-radius"),
];

/// The chrome's inline custom properties for `style` (values that could break out of a CSS
/// declaration are dropped).
pub fn chrome_css(style: &FlowStyle) -> String {
    let mut css = String::new();
    for (variable, property) in CHROME_PROPERTIES {
        let Some(value) = style.get(variable) else {
            continue;
        };
        let safe = !value
            .chars()
            .any(|c| matches!(c, ';' | '{' | '}' | '<' | '>' | '"' | '\\' | '\n'));
        if safe {
            css.push_str(property);
            css.push(':');
            css.push_str(value);
            css.push(';');
        }
    }
    css
}

/// The root's inline style: the frame's height (whole CSS pixels: integer formatting keeps
/// float printing out of the wasm) and the chrome's themed properties.
pub fn root_style(height: f64, style: Option<&FlowStyle>) -> String {
    let px = (height.round() as i64).to_string();
    let mut css = String::from("--dots-flow-height:");
    css.push_str(&px);
    css.push_str("px;min-height:");
    css.push_str(&px);
    css.push_str("px;");
    if let Some(style) = style {
        css.push_str(&chrome_css(style));
    }
    css
}

/// The root's `data-theme`.
pub fn theme_name(style: Option<&FlowStyle>) -> &'static str {
    style.map_or(Theme::Light, |s| s.theme).as_str()
}

/// Whether the error panel (with its retry button) shows instead of the frame.
pub fn shows_retry(status: FlowStatus) -> bool {
    matches!(status, FlowStatus::Error | FlowStatus::Expired)
}

/// What the polite live region says: the newest news. A finished step outranks loading and
/// ready (a refreshed link reloading the frame is no news to the user); errors and expiry
/// speak through the alert instead.
pub fn announcement(status: FlowStatus, last_completed: Option<&StepName>, title: &str) -> String {
    let (before, after) = match (status, last_completed) {
        (FlowStatus::Completed, _) => (title, ": every step is complete."),
        (FlowStatus::Loading | FlowStatus::Ready, Some(step)) => {
            return ["Step ", step.as_str(), " completed."].concat()
        }
        (FlowStatus::Loading, None) => return ["Loading ", title, "…"].concat(),
        (FlowStatus::Ready, None) => (title, " is ready."),
        _ => return String::new(),
    };
    [before, after].concat()
}

/// The error panel's message.
pub fn error_text(status: FlowStatus, error: Option<&FlowError>) -> String {
    match (status, error) {
        (FlowStatus::Expired, _) => "This link has expired.".to_owned(),
        (_, Some(err)) => err.to_string(),
        (_, None) => "Something went wrong.".to_owned(),
    }
}

/// Whether the steps include `id-verification` (the frame then needs the camera).
pub fn needs_camera(steps: &[Step]) -> bool {
    steps.iter().any(|s| s.name == StepName::IdVerification)
}

/// The frame's `allow`: the camera for an `id-verification` step.
pub fn frame_allow(steps: &[Step]) -> &'static str {
    if needs_camera(steps) {
        "camera"
    } else {
        ""
    }
}

/// The frame's `src`: the flow's link with `?styles=`; `None` until there is a flow.
pub fn frame_src(flow: Option<&BrowserFlow>, style: Option<&FlowStyle>) -> Option<String> {
    let link = &flow?.link;
    let Some(style) = style else {
        return Some(link.clone());
    };
    // In the browser the JSON and its encoding are the browser's own (`JSON.stringify`,
    // `encodeURIComponent`): the same text, without a JSON writer in the wasm.
    #[cfg(target_arch = "wasm32")]
    {
        // (A map of strings always becomes JSON.)
        let json = crate::json::to_text(style).unwrap_or_default();
        let value = String::from(js_sys::encode_uri_component(&json));
        Some(dots_api::link_with_styles(link, &value))
    }
    #[cfg(not(target_arch = "wasm32"))]
    Some(style.apply_to_link(link))
}
