//! The core of `<dots-flow>`: dots-flow's engine (the one `<DotsFlow/>` and `use_dots_flow`
//! run on: no second implementation of the flow's logic) rendered into the element's shadow
//! root with the component's markup (`dots_flow::markup`), without Leptos: a page that is not
//! a Leptos app does not pay for Leptos' reactive system and renderer. The engine's events
//! become DOM events. The ES module `js/dots-flow.js` defines the element itself (its
//! attributes, properties and lifecycle) and drives this core; `scripts/build-element.sh`
//! puts both in `pkg/element/`.

use dots_flow::engine::{Change, EngineOptions, FlowEngine};
use dots_flow::{
    markup, BrowserFlow, Credentials, FlowError, FlowEvent, FlowSource, FlowStatus, FlowStyle,
    PayoutFeeParty, Step, StepName, StyleVariable, Theme,
};
use js_sys::{Array, Object, Reflect, JSON};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement, HtmlIFrameElement};

/// What restarts the flow when it changes (the engine is told these once).
#[derive(Clone)]
struct Settings {
    endpoint: String,
    credentials: Credentials,
    min_height: Option<f64>,
    max_height: Option<f64>,
    require_auth: bool,
    hide_go_to_dashboard: bool,
    flow: Option<BrowserFlow>,
    metadata: Option<serde_json::Value>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            endpoint: FlowSource::DEFAULT_ENDPOINT.to_owned(),
            credentials: Credentials::SameOrigin,
            min_height: None,
            max_height: None,
            require_auth: false,
            hide_go_to_dashboard: false,
            flow: None,
            metadata: None,
        }
    }
}

/// What the view shows: the engine's state as it changes, and the element's own settings.
#[derive(Default)]
struct Model {
    steps: Vec<Step>,
    status: FlowStatus,
    flow: Option<BrowserFlow>,
    height: f64,
    error: Option<FlowError>,
    completed: Vec<StepName>,
    theme: Option<Theme>,
    variables: Vec<(StyleVariable, String)>,
    style: Option<FlowStyle>,
    title: Option<String>,
    labels: markup::Labels,
}

/// The component's markup (see `dots_flow::markup`), built once; the frame is made afresh
/// for each flow start and after an error.
struct View {
    root: HtmlElement,
    announcement: Element,
    error: Element,
    error_message: Element,
    retry: Element,
    frame: Option<HtmlIFrameElement>,
    /// What was last written where a rewrite has effects (a `src` reloads the frame, a live
    /// region's text is read out again).
    written: [String; 3],
}

struct Shared {
    host: HtmlElement,
    model: RefCell<Model>,
    view: RefCell<View>,
    settings: RefCell<Settings>,
    engine: RefCell<Option<FlowEngine>>,
    /// The retry button's click listener.
    on_retry: Closure<dyn FnMut()>,
}

/// One `<dots-flow>` element's core.
#[wasm_bindgen]
pub struct DotsFlowCore(Rc<Shared>);

fn document() -> Document {
    web_sys::window()
        .and_then(|w| w.document())
        .expect_throw("a page has a document")
}

/// A new element `tag` with `class`.
fn element(document: &Document, tag: &str, class: &str) -> Element {
    let element = document.create_element(tag).expect_throw("a known tag");
    element.set_class_name(class);
    element
}

/// Dispatches `name` on `host`: a `CustomEvent` that bubbles out of the shadow root.
fn dispatch(host: &HtmlElement, name: &str, detail: &JsValue) {
    let init = web_sys::CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_detail(detail);
    if let Ok(event) = web_sys::CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = host.dispatch_event(&event);
    }
}

/// A plain object with these fields (`None` values left out).
fn object(fields: &[(&str, Option<JsValue>)]) -> JsValue {
    let object = Object::new();
    for (key, value) in fields {
        if let Some(value) = value {
            let _ = Reflect::set(&object, &JsValue::from_str(key), value);
        }
    }
    object.into()
}

fn text(value: &str) -> Option<JsValue> {
    Some(JsValue::from_str(value))
}

fn names(steps: &[StepName]) -> JsValue {
    steps
        .iter()
        .map(|s| JsValue::from_str(s.as_str()))
        .collect::<Array>()
        .into()
}

/// The component's events as the element's: `dots-ready`, `dots-height`,
/// `dots-step-complete`, `dots-error`, `dots-expired` (`dots-flow-complete` carries the flow,
/// from its own callback).
fn redispatch(host: &HtmlElement, event: FlowEvent) {
    match event {
        FlowEvent::Ready => dispatch(host, "dots-ready", &JsValue::NULL),
        FlowEvent::Height(height) => dispatch(
            host,
            "dots-height",
            &object(&[("height", Some(JsValue::from_f64(height)))]),
        ),
        FlowEvent::StepCompleted(done) => {
            let detail = object(&[
                ("step", text(done.step.as_str())),
                ("status", text(done.status.as_str())),
            ]);
            dispatch(host, "dots-step-complete", &detail)
        }
        FlowEvent::Error(error) => dispatch(host, "dots-error", &error_detail(&error)),
        FlowEvent::Expired => dispatch(host, "dots-expired", &JsValue::NULL),
        _ => {}
    }
}

/// `dots-error`'s detail: `{kind, message, field?, status?, code?}`.
fn error_detail(error: &FlowError) -> JsValue {
    let message = text(&error.to_string());
    match error {
        FlowError::InvalidSteps(invalid) => object(&[
            ("kind", text("invalid-steps")),
            ("message", message),
            ("field", text(&invalid.field)),
        ]),
        FlowError::BackendUnreachable(_) => {
            object(&[("kind", text("backend-unreachable")), ("message", message)])
        }
        FlowError::BackendRejected {
            status,
            code,
            field,
            dots_code,
            ..
        } => object(&[
            ("kind", text("backend-rejected")),
            ("message", message),
            ("field", field.as_deref().and_then(text)),
            ("status", Some(JsValue::from_f64(f64::from(*status)))),
            ("code", text(code)),
            ("dotsCode", dots_code.as_deref().and_then(text)),
        ]),
        FlowError::InvalidResponse(_) => {
            object(&[("kind", text("invalid-response")), ("message", message)])
        }
        FlowError::InvalidLink(_) => {
            object(&[("kind", text("invalid-link")), ("message", message)])
        }
        FlowError::FrameTimeout => object(&[("kind", text("frame-timeout")), ("message", message)]),
        _ => object(&[("kind", text("error")), ("message", message)]),
    }
}

/// A number of CSS pixels (`"300"`, `"300px"`), read by the browser's `parseFloat`: Rust's
/// float parser (its tables included) costs the element 14 KiB gzip for two attributes.
fn css_pixels(value: &str) -> Option<f64> {
    let n = js_sys::Number::parse_float(value);
    (n.is_finite() && n >= 0.0).then_some(n)
}

/// An object's own enumerable keys.
fn keys(value: &JsValue) -> Vec<String> {
    Object::keys(value.unchecked_ref::<Object>())
        .iter()
        .filter_map(|key| key.as_string())
        .collect()
}

/// A `TypeError` naming what is wrong, for a property set to something it cannot take.
fn type_error(field: &str, message: &str) -> JsValue {
    js_sys::TypeError::new(&format!("<dots-flow> {field}: {message}")).into()
}

/// A JS value as JSON (objects, arrays, strings, numbers, booleans and null), walked rather than
/// parsed (no JSON reader in the wasm); `None` for what JSON cannot hold.
fn to_json(value: &JsValue) -> Option<serde_json::Value> {
    use serde_json::Value;
    if value.is_null() || value.is_undefined() {
        return Some(Value::Null);
    }
    if let Some(b) = value.as_bool() {
        return Some(Value::Bool(b));
    }
    if let Some(n) = value.as_f64() {
        return serde_json::Number::from_f64(n).map(Value::Number);
    }
    if let Some(s) = value.as_string() {
        return Some(Value::String(s));
    }
    if Array::is_array(value) {
        let mut items = Vec::new();
        for item in Array::from(value).iter() {
            items.push(to_json(&item)?);
        }
        return Some(Value::Array(items));
    }
    if !value.is_object() {
        return None;
    }
    let mut map = serde_json::Map::new();
    for key in keys(value) {
        let item = Reflect::get(value, &JsValue::from_str(&key)).ok()?;
        map.insert(key, to_json(&item)?);
    }
    Some(Value::Object(map))
}

/// The options a step object may carry, read by name (the component validates which apply).
const STEP_KEYS: [&str; 8] = [
    "name",
    "redirect_url",
    "template_id",
    "hide_continue_button",
    "require_default_payout_method",
    "require_auto_payout_method",
    "auto_payout_enabled",
    "payout_fee_party",
];

/// One step from a name or an object `{name, ...options}`; an unknown key, or a value of the
/// wrong type, is an error naming it (`steps[1].hide_continue_buton`).
fn read_step(value: &JsValue, index: usize) -> Result<Step, JsValue> {
    let field = format!("steps[{index}]");
    if let Some(name) = value.as_string() {
        return Ok(Step::new(StepName::parse(&name)));
    }
    if !value.is_object() || Array::is_array(value) {
        return Err(type_error(
            &field,
            "a step is a name or an object with `name`",
        ));
    }
    for key in keys(value) {
        if !STEP_KEYS.contains(&key.as_str()) {
            return Err(type_error(&format!("{field}.{key}"), "unknown step option"));
        }
    }
    let get = |key: &str| {
        Reflect::get(value, &JsValue::from_str(key))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    };
    let string = |key: &str| match get(key) {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(Some)
            .ok_or_else(|| type_error(&format!("{field}.{key}"), "must be a string")),
    };
    let flag = |key: &str| match get(key) {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| type_error(&format!("{field}.{key}"), "must be true or false")),
    };
    let name = string("name")?.ok_or_else(|| type_error(&format!("{field}.name"), "missing"))?;
    let mut step = Step::new(StepName::parse(&name));
    step.options.redirect_url = string("redirect_url")?;
    step.options.template_id = string("template_id")?;
    step.options.hide_continue_button = flag("hide_continue_button")?;
    step.options.require_default_payout_method = flag("require_default_payout_method")?;
    step.options.require_auto_payout_method = flag("require_auto_payout_method")?;
    step.options.auto_payout_enabled = flag("auto_payout_enabled")?;
    step.options.payout_fee_party = match string("payout_fee_party")?.as_deref() {
        None => None,
        Some("platform") => Some(PayoutFeeParty::Platform),
        Some("user") => Some(PayoutFeeParty::User),
        Some(_) => {
            return Err(type_error(
                &format!("{field}.payout_fee_party"),
                "must be `platform` or `user`",
            ))
        }
    };
    Ok(step)
}

/// Flow Styles variables from an object of `{variableName: value}` (Dots' names).
fn read_variables(value: &JsValue) -> Result<Vec<(StyleVariable, String)>, JsValue> {
    if value.is_null() || value.is_undefined() {
        return Ok(Vec::new());
    }
    if !value.is_object() || Array::is_array(value) {
        return Err(type_error("styles", "an object of Flow Styles variables"));
    }
    let mut variables = Vec::new();
    for key in keys(value) {
        let variable = StyleVariable::parse(&key)
            .ok_or_else(|| type_error(&format!("styles.{key}"), "not a Flow Styles variable"))?;
        let item = Reflect::get(value, &JsValue::from_str(&key)).unwrap_or(JsValue::NULL);
        let item = item
            .as_string()
            .ok_or_else(|| type_error(&format!("styles.{key}"), "must be a string"))?;
        variables.push((variable, item));
    }
    Ok(variables)
}

/// Starts (again) with a fresh engine: a given flow is framed by this start only.
fn start(shared: &Rc<Shared>) {
    // The old engine stops first (its listener, timers and stream go with it).
    drop(shared.engine.borrow_mut().take());
    let settings = shared.settings.borrow().clone();
    shared.settings.borrow_mut().flow = None;
    let defaults = EngineOptions::default();
    let options = EngineOptions {
        source: FlowSource::from(settings.endpoint).with_credentials(settings.credentials),
        metadata: settings.metadata,
        require_auth: settings.require_auth,
        hide_go_to_dashboard_on_complete: settings.hide_go_to_dashboard,
        min_height: settings.min_height.unwrap_or(defaults.min_height),
        max_height: settings.max_height.unwrap_or(defaults.max_height),
        ..defaults
    };
    let (for_frame, for_sink) = (Rc::downgrade(shared), Rc::downgrade(shared));
    let engine = FlowEngine::new(
        options,
        settings.flow,
        move || for_frame.upgrade()?.view.borrow().frame.clone(),
        move |change| {
            if let Some(shared) = for_sink.upgrade() {
                changed(&shared, change);
            }
        },
    );
    // A fresh frame (a browsing context of its own) for the new flow.
    if let Some(old) = shared.view.borrow_mut().frame.take() {
        old.remove();
    }
    let steps = {
        let mut model = shared.model.borrow_mut();
        model.height = engine.height();
        model.steps.clone()
    };
    *shared.engine.borrow_mut() = Some(engine.clone());
    render(shared);
    if !engine.adopt(steps.clone()) {
        engine.start(steps);
    }
}

/// The engine changed something: the model and the view follow, then the page hears of it.
fn changed(shared: &Shared, change: Change) {
    let host = &shared.host;
    {
        let mut model = shared.model.borrow_mut();
        match change {
            Change::Status(now) => {
                model.status = now;
                let _ = host.set_attribute("status", now.as_str());
            }
            Change::Flow(now) => model.flow = now,
            Change::Height(now) => model.height = now,
            Change::Error(now) => model.error = now,
            Change::Completed(now) => model.completed = now,
            Change::Event(event) => {
                drop(model);
                redispatch(host, event);
                return;
            }
            Change::Finished(flow) => {
                drop(model);
                let flow = object(&[
                    ("id", text(flow.id.as_str())),
                    ("link", text(&flow.link)),
                    ("steps", Some(names(&flow.steps))),
                    ("completed_steps", Some(names(&flow.completed_steps))),
                ]);
                dispatch(host, "dots-flow-complete", &object(&[("flow", Some(flow))]));
                return;
            }
        }
    }
    render(shared);
}

/// Writes the model into the view (only what differs where a rewrite would show).
fn render(shared: &Shared) {
    let model = shared.model.borrow();
    let mut view = shared.view.borrow_mut();
    let view = &mut *view;
    let style = model.style.as_ref();
    let root = &view.root;
    let _ = root.set_attribute("data-status", model.status.as_str());
    let _ = root.set_attribute("data-theme", markup::theme_name(style));
    // Through the CSSOM, as the component does: no `style-src 'unsafe-inline'` needed.
    let css = markup::root_style(model.height, style);
    if view.written[0] != css {
        root.style().set_css_text(&css);
        view.written[0] = css;
    }
    let labels = &model.labels;
    let title = model
        .title
        .as_deref()
        .unwrap_or(labels.get(markup::Label::Title));
    let said = markup::announcement(model.status, model.completed.last(), title, labels);
    if view.written[1] != said {
        view.announcement.set_text_content(Some(&said));
        view.written[1] = said;
    }
    if markup::shows_retry(model.status) {
        if let Some(frame) = view.frame.take() {
            frame.remove();
        }
        view.error_message
            .set_text_content(Some(&markup::error_text(
                model.status,
                model.error.as_ref(),
                labels,
            )));
        view.retry
            .set_text_content(Some(labels.get(markup::Label::Retry)));
        let _ = root.append_child(&view.error);
        return;
    }
    view.error.remove();
    let frame = match &view.frame {
        Some(frame) => frame.clone(),
        None => {
            let frame: HtmlIFrameElement =
                element(&document(), "iframe", "dots-flow__frame").unchecked_into();
            frame.set_referrer_policy(markup::REFERRER_POLICY);
            frame.style().set_css_text(markup::FRAME_STYLE);
            let _ = root.append_child(&frame);
            view.written[2].clear();
            view.frame = Some(frame.clone());
            frame
        }
    };
    // `allow` before `src`: it applies to the navigation.
    let _ = frame.set_attribute("allow", markup::frame_allow(&model.steps));
    frame.set_title(title);
    match markup::frame_src(model.flow.as_ref(), style) {
        Some(src) if view.written[2] != src => {
            frame.set_src(&src);
            view.written[2] = src;
        }
        Some(_) => {}
        None => {
            let _ = frame.remove_attribute("src");
            view.written[2].clear();
        }
    }
}

#[wasm_bindgen]
impl DotsFlowCore {
    /// A core for `host`, rendering into `container` (inside the element's shadow root).
    /// Nothing is asked for until [`DotsFlowCore::start`].
    #[wasm_bindgen(constructor)]
    pub fn new(host: HtmlElement, container: HtmlElement) -> DotsFlowCore {
        let document = document();
        let root: HtmlElement = element(&document, "div", "dots-flow").unchecked_into();
        let announcement = element(&document, "p", "dots-flow__status");
        let _ = announcement.set_attribute("role", "status");
        let skeleton = element(&document, "div", "dots-flow__skeleton");
        let _ = skeleton.set_attribute("aria-hidden", "true");
        for class in markup::SKELETON_BARS {
            let _ = skeleton.append_child(&element(&document, "div", class));
        }
        let error = element(&document, "div", "dots-flow__error");
        let _ = error.set_attribute("role", "alert");
        let error_message = element(&document, "p", "dots-flow__error-message");
        let button = element(&document, "button", "dots-flow__retry");
        let _ = button.set_attribute("type", "button");
        let _ = error.append_child(&error_message);
        let _ = error.append_child(&button);
        let _ = root.append_child(&announcement);
        let _ = root.append_child(&skeleton);
        let _ = container.append_child(&root);
        let shared = Rc::new_cyclic(|me: &Weak<Shared>| {
            let me = me.clone();
            Shared {
                host,
                model: RefCell::new(Model::default()),
                view: RefCell::new(View {
                    root,
                    announcement,
                    error,
                    error_message,
                    retry: button.clone(),
                    frame: None,
                    written: Default::default(),
                }),
                settings: RefCell::new(Settings::default()),
                engine: RefCell::new(None),
                on_retry: Closure::new(move || {
                    if let Some(shared) = me.upgrade() {
                        start(&shared);
                    }
                }),
            }
        });
        let _ = button
            .add_event_listener_with_callback("click", shared.on_retry.as_ref().unchecked_ref());
        DotsFlowCore(shared)
    }

    /// Starts with a fresh flow (again: a restart). A flow given with
    /// [`DotsFlowCore::set_flow`] is framed by the next start only: a restart (`retry()`, new
    /// metadata, a restarting attribute) asks for a fresh one.
    pub fn start(&self) {
        start(&self.0);
    }

    /// An attribute changed (`None`: removed). Returns whether the flow must restart (the
    /// element restarts it once, after applying every change).
    pub fn attribute(&self, name: &str, value: Option<String>) -> bool {
        let mut settings = self.0.settings.borrow_mut();
        match name {
            "steps" => {
                drop(settings);
                let steps = value
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(|name| Step::new(StepName::parse(name)))
                    .collect();
                self.set_steps_if_changed(steps)
            }
            "theme" => {
                drop(settings);
                self.0.model.borrow_mut().theme = match value.as_deref() {
                    Some("dark") => Some(Theme::Dark),
                    Some("light") => Some(Theme::Light),
                    _ => None,
                };
                self.restyle();
                false
            }
            "styles" => {
                drop(settings);
                let parsed = match value.as_deref() {
                    None | Some("") => Ok(Vec::new()),
                    Some(json) => JSON::parse(json)
                        .map_err(|_| type_error("styles", "not JSON"))
                        .and_then(|v| read_variables(&v)),
                };
                match parsed {
                    Ok(variables) => {
                        self.0.model.borrow_mut().variables = variables;
                        self.restyle();
                    }
                    Err(err) => self.report_attribute_error(err),
                }
                false
            }
            "frame-title" => {
                drop(settings);
                self.0.model.borrow_mut().title = value.filter(|t| !t.is_empty());
                render(&self.0);
                false
            }
            "endpoint" => {
                settings.endpoint = value
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| FlowSource::DEFAULT_ENDPOINT.to_owned());
                true
            }
            "credentials" => {
                settings.credentials = match value.as_deref() {
                    Some("include") => Credentials::Include,
                    Some("omit") => Credentials::Omit,
                    _ => Credentials::SameOrigin,
                };
                true
            }
            "min-height" => {
                settings.min_height = value.as_deref().and_then(css_pixels);
                true
            }
            "max-height" => {
                settings.max_height = value.as_deref().and_then(css_pixels);
                true
            }
            "require-auth" => {
                settings.require_auth = value.is_some_and(|v| v != "false");
                true
            }
            "hide-go-to-dashboard" => {
                settings.hide_go_to_dashboard = value.is_some_and(|v| v != "false");
                true
            }
            _ => false,
        }
    }

    /// The `steps` property: an array of step names or step objects with their options.
    /// Returns whether they differ from the current ones (then the flow must restart).
    #[wasm_bindgen(js_name = setSteps)]
    pub fn set_steps(&self, value: JsValue) -> Result<bool, JsValue> {
        if !Array::is_array(&value) {
            return Err(type_error(
                "steps",
                "an array of step names or step objects",
            ));
        }
        let steps = Array::from(&value)
            .iter()
            .enumerate()
            .map(|(i, item)| read_step(&item, i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.set_steps_if_changed(steps))
    }

    /// The `labels` property, as the wrapper sends it: a text (or nothing) per label, in the
    /// order of `Label::ALL` (the wrapper knows their names). Labels left out keep their
    /// English. (The language goes on the wrapper's container: its `lang`.)
    #[wasm_bindgen(js_name = setLabels)]
    pub fn set_labels(&self, texts: Array) {
        let mut labels = markup::Labels::default();
        for (i, text) in texts.iter().enumerate() {
            if let Some(text) = text.as_string() {
                labels.set_at(i, text);
            }
        }
        self.0.model.borrow_mut().labels = labels;
        render(&self.0);
    }

    /// The `styles` property: an object of Flow Styles variables.
    #[wasm_bindgen(js_name = setStyles)]
    pub fn set_styles(&self, value: JsValue) -> Result<(), JsValue> {
        self.0.model.borrow_mut().variables = read_variables(&value)?;
        self.restyle();
        Ok(())
    }

    /// The `flow` property: a flow already created for the steps (the proxy's answer, as the
    /// SSR path passes it), framed by the next start.
    #[wasm_bindgen(js_name = setFlow)]
    pub fn set_flow(&self, value: JsValue) -> Result<(), JsValue> {
        let flow = if value.is_null() || value.is_undefined() {
            None
        } else {
            let json = JSON::stringify(&value)
                .ok()
                .and_then(|s| s.as_string())
                .ok_or_else(|| type_error("flow", "not a JSON object"))?;
            Some(dots_flow::parse_flow(&json).map_err(|why| type_error("flow", &why))?)
        };
        self.0.settings.borrow_mut().flow = flow;
        Ok(())
    }

    /// The `metadata` property: any JSON value attached to the flow. Applied at the next
    /// start.
    #[wasm_bindgen(js_name = setMetadata)]
    pub fn set_metadata(&self, value: JsValue) -> Result<(), JsValue> {
        let metadata = match to_json(&value) {
            Some(serde_json::Value::Null) => None,
            Some(json) => Some(json),
            None => {
                return Err(type_error(
                    "metadata",
                    "not JSON (numbers must be finite; no functions, symbols or bigints)",
                ))
            }
        };
        self.0.settings.borrow_mut().metadata = metadata;
        Ok(())
    }

    /// Stops the flow: every listener, timer and stream of it is gone.
    pub fn stop(&self) {
        drop(self.0.engine.borrow_mut().take());
    }

    /// New steps start a new flow; equal ones change nothing (a framework that renders again
    /// sets the same steps again, often as a new array).
    fn set_steps_if_changed(&self, steps: Vec<Step>) -> bool {
        let mut model = self.0.model.borrow_mut();
        if model.steps == steps {
            return false;
        }
        model.steps = steps;
        true
    }

    fn restyle(&self) {
        {
            let mut model = self.0.model.borrow_mut();
            let style = (model.theme.is_some() || !model.variables.is_empty()).then(|| {
                let mut style = match model.theme {
                    Some(Theme::Dark) => FlowStyle::dark(),
                    _ => FlowStyle::light(),
                };
                for (variable, value) in &model.variables {
                    style.set(*variable, value.clone());
                }
                style
            });
            model.style = style;
        }
        render(&self.0);
    }

    fn report_attribute_error(&self, err: JsValue) {
        let message = err
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_default();
        let detail = object(&[
            ("kind", text("invalid-attribute")),
            ("message", text(&message)),
            ("field", text("styles")),
        ]);
        dispatch(&self.0.host, "dots-error", &detail);
    }
}

impl Drop for DotsFlowCore {
    /// The element let go of its core (it left the page): the flow stops and its markup goes
    /// (a core made when the element comes back renders afresh).
    fn drop(&mut self) {
        drop(self.0.engine.borrow_mut().take());
        self.0.view.borrow().root.remove();
    }
}

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
