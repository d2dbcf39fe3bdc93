//! The theme editor: light/dark, presets, the 19 Flow Styles variables (colour pickers and a
//! radius slider); every embedded flow re-themes live; "Copy as Rust" shows the code.

use dots_flow::{FlowStyle, StyleVariable, Theme};
use leptos::prelude::*;

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

/// A colour for `<input type=color>` (which takes `#rrggbb` only).
fn picker_value(value: Option<&str>) -> String {
    match value {
        Some(v) if v.len() == 7 && v.starts_with('#') => v.to_owned(),
        _ => "#ffffff".to_owned(),
    }
}

#[component]
pub fn ThemeEditor(style: RwSignal<Option<FlowStyle>>) -> impl IntoView {
    let current = move || style.get().unwrap_or_default();
    let set_variable = move |variable: StyleVariable, value: String| {
        style.update(|s| {
            let mut next = s.clone().unwrap_or_default();
            next.set(variable, value);
            *s = Some(next);
        })
    };
    let radius = move || {
        current()
            .get(StyleVariable::BorderRadius)
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
                            <label class="demo-variable">
                                <input
                                    type="color"
                                    data-variable=name
                                    prop:value=move || picker_value(current().get(variable))
                                    on:change=move |ev| set_variable(variable, event_target_value(&ev))
                                />
                                <span>{name}</span>
                            </label>
                        }
                    })
                    .collect_view()}
                <label class="demo-variable demo-variable--wide">
                    <span>"borderRadius " {move || format!("{}px", radius())}</span>
                    <input
                        type="range"
                        min="0"
                        max="24"
                        data-variable="borderRadius"
                        prop:value=move || radius().to_string()
                        on:change=move |ev| set_variable(StyleVariable::BorderRadius, format!("{}px", event_target_value(&ev)))
                    />
                </label>
            </div>
            <div class="demo-row">
                <button type="button" class="demo-button" id="copy-rust" on:click=copy>"Copy as Rust"</button>
                <span class="demo-muted">{move || if copied.get() { "Copied." } else { "" }}</span>
            </div>
            <pre id="rust-code" class="demo-code">{move || as_rust(&current())}</pre>
        </section>
    }
}
