//! The core of `<dots-flow>`: mounts dots-flow's `<DotsFlow/>` (the same Leptos component, no
//! second implementation) into an element and turns its callbacks into DOM events. The ES module
//! `js/dots-flow.js` defines the element itself (its attributes, properties and lifecycle) and
//! drives this core; `scripts/build-element.sh` puts both in `pkg/element/`.

use dots_flow::{
    BrowserFlow, Credentials, DotsFlow, FlowError, FlowEvent, FlowSource, FlowStatus, FlowStyle,
    PayoutFeeParty, Step, StepName, StyleVariable, Theme,
};
use js_sys::{Array, Object, Reflect, JSON};
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

type Mounted = leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>;

/// What restarts the flow when it changes (the component reads these once, as its Leptos
/// props are read).
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
            endpoint: "/api/flows".to_owned(),
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

/// One `<dots-flow>` element's component.
#[wasm_bindgen]
pub struct DotsFlowCore {
    host: HtmlElement,
    container: HtmlElement,
    owner: Owner,
    steps: RwSignal<Vec<Step>>,
    theme: Option<Theme>,
    variables: Vec<(StyleVariable, String)>,
    style: RwSignal<Option<FlowStyle>>,
    title: RwSignal<Option<String>>,
    settings: Settings,
    mounted: Option<Mounted>,
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
/// parsed (no JSON deserializer in the wasm).
fn to_json(value: &JsValue, field: &str) -> Result<serde_json::Value, JsValue> {
    use serde_json::Value;
    if value.is_null() || value.is_undefined() {
        return Ok(Value::Null);
    }
    if let Some(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = value.as_f64() {
        return serde_json::Number::from_f64(n)
            .map(Value::Number)
            .ok_or_else(|| type_error(field, "numbers must be finite"));
    }
    if let Some(s) = value.as_string() {
        return Ok(Value::String(s));
    }
    if Array::is_array(value) {
        return Array::from(value)
            .iter()
            .enumerate()
            .map(|(i, item)| to_json(&item, &format!("{field}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    if value.is_object() {
        let mut map = serde_json::Map::new();
        for key in keys(value) {
            let item = Reflect::get(value, &JsValue::from_str(&key)).unwrap_or(JsValue::NULL);
            let inner = to_json(&item, &format!("{field}.{key}"))?;
            map.insert(key, inner);
        }
        return Ok(Value::Object(map));
    }
    Err(type_error(field, "not a JSON value"))
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

#[wasm_bindgen]
impl DotsFlowCore {
    /// A core for `host`, rendering into `container` (inside the element's shadow root).
    /// Nothing is shown until [`DotsFlowCore::start`].
    #[wasm_bindgen(constructor)]
    pub fn new(host: HtmlElement, container: HtmlElement) -> DotsFlowCore {
        let owner = Owner::new();
        let (steps, style, title) = owner.with(|| {
            (
                RwSignal::new(Vec::<Step>::new()),
                RwSignal::new(None::<FlowStyle>),
                RwSignal::new(None::<String>),
            )
        });
        DotsFlowCore {
            host,
            container,
            owner,
            steps,
            theme: None,
            variables: Vec::new(),
            style,
            title,
            settings: Settings::default(),
            mounted: None,
        }
    }

    /// Mounts the component (again: a restart with a fresh flow). A flow given with
    /// [`DotsFlowCore::set_flow`] is framed by the next start only: a restart (`retry()`, new
    /// metadata, a restarting attribute) asks for a fresh one.
    pub fn start(&mut self) {
        self.mounted = None;
        let initial = self.settings.flow.take();
        let Settings {
            endpoint,
            credentials,
            min_height,
            max_height,
            require_auth,
            hide_go_to_dashboard,
            flow: _,
            metadata,
        } = self.settings.clone();
        let flow = initial;
        let source = FlowSource::from(endpoint).with_credentials(credentials);
        let (steps, style, title) = (self.steps, self.style, self.title);
        let host = SendWrapper::new(self.host.clone());
        let handle = leptos::mount::mount_to(self.container.clone(), move || {
            let status = RwSignal::new(FlowStatus::Loading);
            let reflect = host.clone();
            Effect::new(move |_| {
                let _ = reflect.set_attribute("status", status.get().as_str());
            });
            let (on_flow, on_other) = (host.clone(), host.clone());
            view! {
                <DotsFlow
                    steps=steps
                    source=source
                    flow=flow
                    metadata=metadata
                    style=style
                    title=title
                    min_height=min_height.unwrap_or(dots_flow::DEFAULT_MIN_HEIGHT)
                    max_height=max_height.unwrap_or(dots_flow::DEFAULT_MAX_HEIGHT)
                    require_auth=require_auth
                    hide_go_to_dashboard_on_complete=hide_go_to_dashboard
                    status=status
                    on_flow_complete=move |flow: BrowserFlow| {
                        let flow = object(&[
                            ("id", text(flow.id.as_str())),
                            ("link", text(&flow.link)),
                            ("steps", Some(names(&flow.steps))),
                            ("completed_steps", Some(names(&flow.completed_steps))),
                        ]);
                        dispatch(&on_flow, "dots-flow-complete", &object(&[("flow", Some(flow))]))
                    }
                    // One callback for the rest (each callback type costs its own code).
                    on_event=move |event: FlowEvent| redispatch(&on_other, event)
                />
            }
            .into_any()
        });
        self.mounted = Some(handle);
    }

    /// An attribute changed (`None`: removed). Returns whether the flow must restart (the
    /// element restarts it once, after applying every change).
    pub fn attribute(&mut self, name: &str, value: Option<String>) -> bool {
        let settings = &mut self.settings;
        match name {
            "steps" => {
                let steps = value
                    .unwrap_or_default()
                    .split_whitespace()
                    .map(|name| Step::new(StepName::parse(name)))
                    .collect();
                self.set_steps_if_changed(steps);
                false
            }
            "theme" => {
                self.theme = match value.as_deref() {
                    Some("dark") => Some(Theme::Dark),
                    Some("light") => Some(Theme::Light),
                    _ => None,
                };
                self.restyle();
                false
            }
            "styles" => {
                let parsed = match value.as_deref() {
                    None | Some("") => Ok(Vec::new()),
                    Some(json) => JSON::parse(json)
                        .map_err(|_| type_error("styles", "not JSON"))
                        .and_then(|v| read_variables(&v)),
                };
                match parsed {
                    Ok(variables) => {
                        self.variables = variables;
                        self.restyle();
                    }
                    Err(err) => self.report_attribute_error(err),
                }
                false
            }
            "frame-title" => {
                let title = value.filter(|t| !t.is_empty());
                if self.title.with_untracked(|t| *t != title) {
                    self.title.set(title);
                }
                false
            }
            "endpoint" => {
                settings.endpoint = value
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| "/api/flows".to_owned());
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
    #[wasm_bindgen(js_name = setSteps)]
    pub fn set_steps(&mut self, value: JsValue) -> Result<(), JsValue> {
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
        self.set_steps_if_changed(steps);
        Ok(())
    }

    /// The `styles` property: an object of Flow Styles variables.
    #[wasm_bindgen(js_name = setStyles)]
    pub fn set_styles(&mut self, value: JsValue) -> Result<(), JsValue> {
        self.variables = read_variables(&value)?;
        self.restyle();
        Ok(())
    }

    /// The `flow` property: a flow already created for the steps (the proxy's answer, as the
    /// SSR path passes it), framed by the next start.
    #[wasm_bindgen(js_name = setFlow)]
    pub fn set_flow(&mut self, value: JsValue) -> Result<(), JsValue> {
        self.settings.flow = if value.is_null() || value.is_undefined() {
            None
        } else {
            let json = JSON::stringify(&value)
                .ok()
                .and_then(|s| s.as_string())
                .ok_or_else(|| type_error("flow", "not a JSON object"))?;
            Some(dots_flow::parse_flow(&json).map_err(|why| type_error("flow", &why))?)
        };
        Ok(())
    }

    /// The `metadata` property: any JSON value attached to the flow. Applied at the next
    /// start.
    #[wasm_bindgen(js_name = setMetadata)]
    pub fn set_metadata(&mut self, value: JsValue) -> Result<(), JsValue> {
        self.settings.metadata = match to_json(&value, "metadata")? {
            serde_json::Value::Null => None,
            json => Some(json),
        };
        Ok(())
    }

    /// Unmounts the component: every listener and timer it had is gone.
    pub fn stop(&mut self) {
        self.mounted = None;
    }

    /// New steps start a new flow; equal ones change nothing (a framework that renders again
    /// sets the same steps again, often as a new array).
    fn set_steps_if_changed(&self, steps: Vec<Step>) {
        if self.steps.with_untracked(|current| *current != steps) {
            self.steps.set(steps);
        }
    }

    fn restyle(&self) {
        let style = (self.theme.is_some() || !self.variables.is_empty()).then(|| {
            let mut style = match self.theme {
                Some(Theme::Dark) => FlowStyle::dark(),
                _ => FlowStyle::light(),
            };
            for (variable, value) in &self.variables {
                style.set(*variable, value.clone());
            }
            style
        });
        if self.style.with_untracked(|current| *current != style) {
            self.style.set(style);
        }
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
        dispatch(&self.host, "dots-error", &detail);
    }
}

impl Drop for DotsFlowCore {
    fn drop(&mut self) {
        self.mounted = None;
        self.owner.cleanup();
    }
}
