//! What `<DotsFlow/>` shows, as plain functions of its state: its Leptos view and the
//! `<dots-flow>` element's renderer (which has no Leptos) both build their markup from these,
//! so the two say and look the same. The structure, with `style/dots-flow.css`'s classes:
//!
//! ```text
//! div.dots-flow [data-status] [data-theme] [lang] (style: root_style)
//!   p.dots-flow__status [role=status]            announcement()
//!   div.dots-flow__skeleton [aria-hidden=true]   SKELETON_BARS (shown by CSS while loading)
//!   div.dots-flow__error [role=alert]            only while shows_retry()
//!     p.dots-flow__error-message                   error_text()
//!     button.dots-flow__retry [type=button]        Label::Retry
//!   iframe.dots-flow__frame                      only while !shows_retry()
//!     [allow] [src] [title] [referrerpolicy] (style: FRAME_STYLE)
//! ```
//!
//! Every word in it comes from [`Labels`]: English unless the app gives its own.

use dots_api::{BrowserFlow, FlowStyle, Step, StepName, StyleVariable, Theme};
use std::borrow::Cow;

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

/// The frame's accessible title when the app gives none (English; [`Label::Title`]).
pub const DEFAULT_TITLE: &str = "Payout setup";
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

/// One text of [`Labels`]. `{title}` in a template is the flow's title (the `title` prop, else
/// [`Label::Title`]), `{step}` a step's name ([`Labels::step`]) and `{message}` what the server
/// or the browser said (the server's own words, usually English); a template may leave them
/// out or put them anywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Label {
    /// The texts' language (a BCP 47 tag such as `en` or `es-MX`), written on the component's
    /// root as `lang` so screen readers speak them in it. English: `en`.
    Lang,
    /// The frame's accessible title when the app gives none. English: "Payout setup".
    Title,
    /// Announced while the flow loads (`{title}`).
    Loading,
    /// Announced once the flow shows (`{title}`).
    Ready,
    /// Announced when a step is done (`{step}`, `{title}`).
    StepCompleted,
    /// Announced when every step is done (`{title}`).
    Completed,
    /// The error panel when the link expired and could not be renewed.
    Expired,
    /// The error panel's button.
    Retry,
    /// The error panel when the server could not be reached (`{message}`: the browser's words).
    Unreachable,
    /// The error panel when the server refused (`{message}`: the server's words).
    Rejected,
    /// The error panel when the server's answer was not a flow (`{message}`).
    Unreadable,
    /// The error panel when the flow's link is not an http(s) URL (`{message}`: the link).
    InvalidLink,
    /// The error panel when the flow did not load in time.
    Timeout,
    /// The error panel when the app's steps break one of Dots' rules (`{message}`).
    InvalidSteps,
    /// The error panel for any other failure.
    Error,
    /// The sign-in step (Dots' `onboarding` and its other namings), as people call it.
    SignIn,
    /// The `compliance` step: tax information.
    Compliance,
    /// The `id-verification` step.
    IdVerification,
    /// The `background-check` step.
    BackgroundCheck,
    /// The `manage-payments` step.
    ManagePayments,
    /// The `manage-payouts` step: payout methods.
    ManagePayouts,
    /// The `payout` step: a withdrawal.
    Payout,
    /// The `redirect` step.
    Redirect,
    /// The `pdf-form-fill` step.
    PdfFormFill,
}

impl Label {
    /// Every label, in order (`Label::ALL[i] as usize == i`).
    pub const ALL: [Label; 24] = [
        Label::Lang,
        Label::Title,
        Label::Loading,
        Label::Ready,
        Label::StepCompleted,
        Label::Completed,
        Label::Expired,
        Label::Retry,
        Label::Unreachable,
        Label::Rejected,
        Label::Unreadable,
        Label::InvalidLink,
        Label::Timeout,
        Label::InvalidSteps,
        Label::Error,
        Label::SignIn,
        Label::Compliance,
        Label::IdVerification,
        Label::BackgroundCheck,
        Label::ManagePayments,
        Label::ManagePayouts,
        Label::Payout,
        Label::Redirect,
        Label::PdfFormFill,
    ];

    /// Its name in JavaScript (the `<dots-flow>` element's `labels` property): `retry`,
    /// `stepCompleted`, `steps.compliance`, …
    pub const fn js_name(self) -> &'static str {
        JS_NAMES[self as usize]
    }
}

const JS_NAMES: [&str; 24] = [
    "lang",
    "title",
    "loading",
    "ready",
    "stepCompleted",
    "completed",
    "expired",
    "retry",
    "unreachable",
    "rejected",
    "unreadable",
    "invalidLink",
    "timeout",
    "invalidSteps",
    "error",
    "steps.signIn",
    "steps.compliance",
    "steps.idVerification",
    "steps.backgroundCheck",
    "steps.managePayments",
    "steps.managePayouts",
    "steps.payout",
    "steps.redirect",
    "steps.pdfFormFill",
];

/// English, built in.
const ENGLISH: [&str; 24] = [
    "en",
    DEFAULT_TITLE,
    "Loading {title}…",
    "{title} is ready.",
    "{step} completed.",
    "{title}: every step is complete.",
    "This link has expired.",
    "Try again",
    "Could not reach the server: {message}",
    "{message}",
    "Unexpected answer from the server: {message}",
    "The flow link is not a valid http(s) URL: {message}",
    "The payout form did not load in time.",
    "Invalid flow steps: {message}",
    "Something went wrong.",
    "Sign-in",
    "Tax information",
    "Identity verification",
    "Background check",
    "Payment methods",
    "Payout method",
    "Payout",
    "Redirect",
    "Form",
];

/// Every text the component shows or announces, in one language: English unless changed
/// ([`Labels::default`]). An app replaces any of them with its own words or a translation
/// and gives the whole to `<DotsFlow labels=…/>` (or to the `<dots-flow>` element's `labels`
/// property):
///
/// ```
/// use dots_flow::{Label, Labels};
/// let french = Labels::default()
///     .with(Label::Lang, "fr")
///     .with(Label::Title, "Configuration des paiements")
///     .with(Label::Loading, "Chargement : {title}…")
///     .with(Label::Retry, "Réessayer")
///     .with(Label::Compliance, "Informations fiscales");
/// assert_eq!(french.get(Label::Retry), "Réessayer");
/// assert_eq!(french.get(Label::Ready), "{title} is ready."); // not translated: English
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labels {
    texts: [Cow<'static, str>; 24],
}

impl Default for Labels {
    /// English.
    fn default() -> Self {
        Labels {
            texts: ENGLISH.map(Cow::Borrowed),
        }
    }
}

impl Labels {
    /// The text of `label`.
    pub fn get(&self, label: Label) -> &str {
        &self.texts[label as usize]
    }

    /// Sets the text of `label`.
    pub fn set(&mut self, label: Label, text: impl Into<Cow<'static, str>>) -> &mut Self {
        self.texts[label as usize] = text.into();
        self
    }

    /// These labels with the text of `label` set.
    pub fn with(mut self, label: Label, text: impl Into<Cow<'static, str>>) -> Self {
        self.set(label, text);
        self
    }

    /// The language of the texts ([`Label::Lang`]).
    pub fn lang(&self) -> &str {
        self.get(Label::Lang)
    }

    /// What `step` is called (a step Dots adds later: its wire name).
    pub fn step<'a>(&'a self, step: &'a StepName) -> &'a str {
        let label = match step {
            StepName::Compliance => Label::Compliance,
            StepName::IdVerification => Label::IdVerification,
            StepName::BackgroundCheck => Label::BackgroundCheck,
            StepName::ManagePayments => Label::ManagePayments,
            StepName::ManagePayouts => Label::ManagePayouts,
            StepName::Payout => Label::Payout,
            StepName::Redirect => Label::Redirect,
            StepName::PdfFormFill => Label::PdfFormFill,
            step if step.is_sign_in() => Label::SignIn,
            step => return step.as_str(),
        };
        self.get(label)
    }

    /// Sets the text of the label at `index` in [`Label::ALL`] (how the `<dots-flow>`
    /// element reads its `labels` property: by position, which keeps names out of its wasm);
    /// an index past the end changes nothing.
    pub fn set_at(&mut self, index: usize, text: String) {
        if let Some(slot) = self.texts.get_mut(index) {
            *slot = Cow::Owned(text);
        }
    }
}

/// Spanish, for [`Labels::spanish`].
#[cfg(feature = "lang-es")]
const SPANISH: [&str; 24] = [
    "es",
    "Configuración de pagos",
    "Cargando {title}…",
    "{title} está lista.",
    "{step}: completado.",
    "{title}: todos los pasos están completos.",
    "Este enlace ha caducado.",
    "Reintentar",
    "No se pudo contactar con el servidor: {message}",
    "El servidor rechazó la solicitud: {message}",
    "Respuesta inesperada del servidor: {message}",
    "El enlace del flujo no es una URL http(s) válida: {message}",
    "El formulario de pagos no se cargó a tiempo.",
    "Pasos del flujo no válidos: {message}",
    "Algo salió mal.",
    "Inicio de sesión",
    "Información fiscal",
    "Verificación de identidad",
    "Verificación de antecedentes",
    "Métodos de pago",
    "Método de cobro",
    "Retiro",
    "Redirección",
    "Formulario",
];

#[cfg(feature = "lang-es")]
impl Labels {
    /// Spanish (the `lang-es` feature: no build has it unless it asks).
    pub fn spanish() -> Self {
        Labels {
            texts: SPANISH.map(Cow::Borrowed),
        }
    }
}

/// `template` with each `{key}` of `values` replaced (other braces are left as they are).
/// (Walked by `char`, never sliced by index: no panic path, nothing of `core::fmt`.)
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template.chars();
    'outer: while let Some(c) = rest.next() {
        if c == '{' {
            let after = rest.as_str();
            for (key, value) in values {
                if let Some(tail) = after.strip_prefix(key).and_then(|t| t.strip_prefix('}')) {
                    out.push_str(value);
                    rest = tail.chars();
                    continue 'outer;
                }
            }
        }
        out.push(c);
    }
    out
}

/// What the polite live region says: the newest news. A finished step outranks loading and
/// ready (a refreshed link reloading the frame is no news to the user); errors and expiry
/// speak through the alert instead.
pub fn announcement(
    status: FlowStatus,
    last_completed: Option<&StepName>,
    title: &str,
    labels: &Labels,
) -> String {
    let label = match (status, last_completed) {
        (FlowStatus::Completed, _) => Label::Completed,
        (FlowStatus::Loading | FlowStatus::Ready, Some(step)) => {
            let step = labels.step(step);
            return fill(
                labels.get(Label::StepCompleted),
                &[("step", step), ("title", title)],
            );
        }
        (FlowStatus::Loading, None) => Label::Loading,
        (FlowStatus::Ready, None) => Label::Ready,
        _ => return String::new(),
    };
    let template = labels.get(label);
    fill(template, &[("title", title)])
}

/// The error panel's message.
pub fn error_text(status: FlowStatus, error: Option<&FlowError>, labels: &Labels) -> String {
    let (label, message): (Label, String) = match (status, error) {
        (FlowStatus::Expired, _) => (Label::Expired, String::new()),
        (_, Some(FlowError::InvalidSteps(err))) => (Label::InvalidSteps, err.to_string()),
        (_, Some(FlowError::BackendUnreachable(why))) => (Label::Unreachable, why.clone()),
        (_, Some(FlowError::BackendRejected { message, .. })) => (Label::Rejected, message.clone()),
        (_, Some(FlowError::InvalidResponse(why))) => (Label::Unreadable, why.clone()),
        (_, Some(FlowError::InvalidLink(link))) => (Label::InvalidLink, link.clone()),
        (_, Some(FlowError::FrameTimeout)) => (Label::Timeout, String::new()),
        _ => (Label::Error, String::new()),
    };
    fill(labels.get(label), &[("message", &message)])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_known_keys_and_keeps_other_braces() {
        let values = [("title", "Pagos"), ("step", "Información fiscal")];
        assert_eq!(
            fill("{step}: {title}…", &values),
            "Información fiscal: Pagos…"
        );
        assert_eq!(fill("{titl} {title", &values), "{titl} {title");
        assert_eq!(fill("{{title}}", &values), "{Pagos}");
        assert_eq!(fill("Ünïcödé {title}", &values), "Ünïcödé Pagos");
        assert_eq!(fill("", &values), "");
    }

    #[test]
    fn announcements_and_errors_use_the_labels_and_human_step_names() {
        let labels = Labels::default();
        let step = StepName::ManagePayouts;
        assert_eq!(
            announcement(FlowStatus::Ready, Some(&step), "Payouts", &labels),
            "Payout method completed."
        );
        let unknown = StepName::Unknown("teleport".into());
        assert_eq!(
            announcement(FlowStatus::Ready, Some(&unknown), "Payouts", &labels),
            "teleport completed.",
            "a step Dots adds later is called by its wire name"
        );
        let spanish = Labels::default()
            .with(Label::Rejected, "Rechazado: {message}")
            .with(Label::Loading, "Cargando {title}…");
        let err = FlowError::BackendRejected {
            status: 429,
            code: "rate_limited".into(),
            message: "too many flows".into(),
            field: None,
            dots_code: None,
        };
        assert_eq!(
            error_text(FlowStatus::Error, Some(&err), &spanish),
            "Rechazado: too many flows"
        );
        assert_eq!(
            announcement(FlowStatus::Loading, None, "Pagos", &spanish),
            "Cargando Pagos…"
        );
        assert_eq!(
            error_text(FlowStatus::Expired, Some(&err), &labels),
            "This link has expired."
        );
    }

    #[test]
    fn every_label_has_a_name_and_the_element_script_lists_them_in_order() {
        for (i, label) in Label::ALL.iter().enumerate() {
            assert_eq!(*label as usize, i, "{label:?} is at its own index");
        }
        let script = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("crates/dots-flow-element/js/dots-flow.js"),
        )
        .expect("the element's script");
        let list = script
            .split("const LABELS = \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the script's LABELS");
        let names: Vec<&str> = list.split(' ').collect();
        let expected: Vec<&str> = Label::ALL.iter().map(|l| l.js_name()).collect();
        assert_eq!(names, expected);
    }

    #[cfg(feature = "lang-es")]
    #[test]
    fn spanish_leaves_nothing_in_english() {
        let (english, spanish) = (Labels::default(), Labels::spanish());
        for label in Label::ALL {
            assert_ne!(english.get(label), spanish.get(label), "{label:?}");
        }
    }
}
