//! The theme editor: light/dark, presets, the 19 Flow Styles variables (colour pickers and a
//! radius slider); every embedded flow re-themes live; "Copy as Rust" shows the code.
//!
//! A swatch shows the value in effect: the one set, or, marked "not set", the sandbox's own
//! default for the chosen theme (asked once from the demo server).

use dots_flow::{FlowStyle, StyleVariable, Theme};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::collections::BTreeMap;

use super::api;

/// The sandbox's default of each variable, per theme (`/api/demo/style-defaults`).
#[derive(Clone, Debug, Default, serde::Deserialize)]
struct Defaults {
    light: BTreeMap<String, String>,
    dark: BTreeMap<String, String>,
}

impl Defaults {
    fn get(&self, theme: Theme, variable: StyleVariable) -> Option<&str> {
        let table = match theme {
            Theme::Light => &self.light,
            Theme::Dark => &self.dark,
        };
        table.get(variable.as_str()).map(String::as_str)
    }
}

/// A named style preset.
type Preset = fn() -> FlowStyle;

/// The `FlowStyle` as Rust code.
pub fn as_rust(style: &FlowStyle) -> String {
    let mut code = match style.theme {
        Theme::Light => "FlowStyle::light()".to_owned(),
        Theme::Dark => "FlowStyle::light().with_theme(Theme::Dark)".to_owned(),
    };
    for variable in StyleVariable::ALL {
        if let Some(value) = style.get(variable) {
            code.push_str(&format!(
                "\n    .with(StyleVariable::{variable:?}, \"{value}\")"
            ));
        }
    }
    code
}

/// A colour `<input type=color>` can show (it takes `#rrggbb` only).
fn is_picker_colour(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

#[component]
pub fn ThemeEditor(style: RwSignal<Option<FlowStyle>>) -> impl IntoView {
    let current = move || style.get().unwrap_or_default();
    let defaults = RwSignal::new(Defaults::default());
    spawn_local(async move {
        if let Ok(table) = api::get::<Defaults>("/api/demo/style-defaults").await {
            defaults.set(table);
        }
    });
    // What a variable is in effect: the value set, else the default of the chosen theme.
    let effective = move |variable: StyleVariable| {
        let style = current();
        let set = style.get(variable).map(str::to_owned);
        set.or_else(|| defaults.with(|d| d.get(style.theme, variable).map(str::to_owned)))
    };
    let is_set = move |variable: StyleVariable| {
        style.with(|s| s.as_ref().is_some_and(|s| s.get(variable).is_some()))
    };
    let set_variable = move |variable: StyleVariable, value: Option<String>| {
        style.update(|s| {
            let mut next = s.clone().unwrap_or_default();
            match value {
                Some(value) => next.set(variable, value),
                None => {
                    next.variables.remove(&variable);
                }
            }
            *s = Some(next);
        })
    };
    let radius = move || {
        effective(StyleVariable::BorderRadius)
            .and_then(|r| r.trim_end_matches("px").parse::<u32>().ok())
            .unwrap_or(8)
    };
    let copied = RwSignal::new(false);
    let copy = move |_| {
        let code = as_rust(&current());
        let clipboard = window().navigator().clipboard();
        let _ = clipboard.write_text(&code);
        copied.set(true);
    };
    let presets: [(&str, Preset); 4] = [
        ("Light", FlowStyle::light),
        ("Dark", FlowStyle::dark),
        ("Violet", || FlowStyle::brand("#7c3aed")),
        ("Teal", || FlowStyle::brand("#0f766e")),
    ];
    view! {
        <section class="demo-card" aria-labelledby="theme-title">
            <h2 id="theme-title">"Theme"</h2>
            <div class="demo-row demo-wrap">
                <label class="demo-inline">
                    "Theme "
                    <select
                        id="theme-select"
                        prop:value=move || current().theme.as_str()
                        on:change=move |ev| {
                            let theme = if event_target_value(&ev) == "dark" { Theme::Dark } else { Theme::Light };
                            style.update(|s| *s = Some(s.clone().unwrap_or_default().with_theme(theme)));
                        }
                    >
                        <option value="light">"light"</option>
                        <option value="dark">"dark"</option>
                    </select>
                </label>
                {presets
                    .into_iter()
                    .map(|(name, preset)| {
                        view! {
                            <button
                                type="button"
                                class="demo-button"
                                data-preset=name.to_lowercase()
                                on:click=move |_| style.set(Some(preset()))
                            >
                                {name}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <div class="demo-variables">
                {StyleVariable::ALL
                    .into_iter()
                    .filter(|v| *v != StyleVariable::BorderRadius)
                    .map(|variable| {
                        let name = variable.as_str();
                        view! {
                            <div class="demo-variable" data-set=move || is_set(variable).to_string()>
                                <label class="demo-variable__pick">
                                    <input
                                        type="color"
                                        data-variable=name
                                        prop:value=move || {
                                            effective(variable)
                                                .filter(|v| is_picker_colour(v))
                                                .unwrap_or_else(|| "#000000".to_owned())
                                        }
                                        on:change=move |ev| set_variable(variable, Some(event_target_value(&ev)))
                                    />
                                    <span class="demo-variable__text">
                                        <span class="demo-variable__name">{name}</span>
                                        <span class="demo-variable__state" data-state-of=name>
                                            {move || if is_set(variable) {
                                                effective(variable).unwrap_or_default()
                                            } else {
                                                "not set".to_owned()
                                            }}
                                        </span>
                                    </span>
                                </label>
                                <Show when=move || is_set(variable)>
                                    <button
                                        type="button"
                                        class="demo-variable__reset"
                                        aria-label=format!("Reset {name} to the default")
                                        on:click=move |_| set_variable(variable, None)
                                    >
                                        "×"
                                    </button>
                                </Show>
                            </div>
                        }
                    })
                    .collect_view()}
                <label class="demo-variable demo-variable--wide">
                    <span>
                        "borderRadius " {move || format!("{}px", radius())}
                        {move || (!is_set(StyleVariable::BorderRadius)).then_some(" (not set)")}
                    </span>
                    <input
                        type="range"
                        min="0"
                        max="24"
                        data-variable="borderRadius"
                        prop:value=move || radius().to_string()
                        on:change=move |ev| set_variable(StyleVariable::BorderRadius, Some(format!("{}px", event_target_value(&ev))))
                    />
                </label>
            </div>
            <div class="demo-row">
                <button type="button" class="demo-button" id="copy-rust" on:click=copy>"Copy as Rust"</button>
                <span class="demo-muted">{move || if copied.get() { "Copied." } else { "" }}</span>
            </div>
            <pre id="rust-code" class="demo-code" tabindex="0" aria-label="The theme as Rust code">{move || as_rust(&current())}</pre>
        </section>
    }
}
