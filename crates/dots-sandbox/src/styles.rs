//! The hosted pages' own Flow Styles defaults: what each of the 19 variables is when a link's
//! `?styles=` leaves it out, per theme. Dots does not publish its defaults, so these are the
//! sandbox's; the page's stylesheet is generated from this table, and the demo's theme editor
//! shows it (one source, so the swatches show what the flow really uses).

use dots_api::{StyleVariable, Theme};
use StyleVariable::*;

/// The light theme's defaults, in Dots' documented order.
const LIGHT: [(StyleVariable, &str); 19] = [
    (BackgroundColor, "#ffffff"),
    (PrimaryTextColor, "#111827"),
    (SecondaryTextColor, "#4b5563"),
    (TertiaryTextColor, "#6b7280"),
    (PrimaryColor, "#4f46e5"),
    (TabBackgroundColor, "#f9fafb"),
    (TabHoverBackgroundColor, "#f3f4f6"),
    (TabBorderColor, "#e5e7eb"),
    (TabHoverBorderColor, "#a5b4fc"),
    (ButtonBackgroundColor, "#4f46e5"),
    (ButtonTextColor, "#ffffff"),
    (ButtonHoverTextColor, "#ffffff"),
    (ButtonHoverBackgroundColor, "#4338ca"),
    (ButtonDisabledBackgroundColor, "#e5e7eb"),
    (ButtonDisabledTextColor, "#9ca3af"),
    (InputBackgroundColor, "#ffffff"),
    (InputBorderColor, "#d1d5db"),
    (InputPlaceholderColor, "#9ca3af"),
    (BorderRadius, "8px"),
];

/// The dark theme's defaults (button colours keep white text at WCAG AA contrast, 4.5:1).
const DARK: [(StyleVariable, &str); 19] = [
    (BackgroundColor, "#0b1020"),
    (PrimaryTextColor, "#f9fafb"),
    (SecondaryTextColor, "#cbd5e1"),
    (TertiaryTextColor, "#94a3b8"),
    (PrimaryColor, "#818cf8"),
    (TabBackgroundColor, "#111827"),
    (TabHoverBackgroundColor, "#1f2937"),
    (TabBorderColor, "#374151"),
    (TabHoverBorderColor, "#818cf8"),
    (ButtonBackgroundColor, "#4f46e5"),
    (ButtonTextColor, "#ffffff"),
    (ButtonHoverTextColor, "#ffffff"),
    (ButtonHoverBackgroundColor, "#4338ca"),
    (ButtonDisabledBackgroundColor, "#1f2937"),
    (ButtonDisabledTextColor, "#6b7280"),
    (InputBackgroundColor, "#111827"),
    (InputBorderColor, "#374151"),
    (InputPlaceholderColor, "#6b7280"),
    (BorderRadius, "8px"),
];

/// The value each variable takes under `theme` when the link's styles leave it out.
pub fn default_styles(theme: Theme) -> &'static [(StyleVariable, &'static str); 19] {
    match theme {
        Theme::Light => &LIGHT,
        Theme::Dark => &DARK,
    }
}

/// The page's custom properties (`--dots-<variable>`) for both themes, to go ahead of its
/// stylesheet.
pub(crate) fn defaults_css() -> String {
    let block = |selector: &str, theme: Theme| {
        let mut css = format!("{selector} {{\n");
        for (variable, value) in default_styles(theme) {
            css.push_str(&format!("  --dots-{}: {value};\n", variable.as_str()));
        }
        css.push_str("}\n");
        css
    };
    block(":root", Theme::Light) + &block(":root[data-theme=\"dark\"]", Theme::Dark)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_has_a_default_in_each_theme_in_documented_order() {
        for theme in [Theme::Light, Theme::Dark] {
            let names: Vec<_> = default_styles(theme).iter().map(|(v, _)| *v).collect();
            assert_eq!(names, StyleVariable::ALL, "{theme:?}: all 19, Dots' order");
        }
    }

    #[test]
    fn the_page_stylesheet_declares_each_default() {
        let css = defaults_css();
        assert!(
            css.contains("  --dots-buttonBackgroundColor: #4f46e5;\n"),
            "{css}"
        );
        assert!(
            css.contains(":root[data-theme=\"dark\"] {\n  --dots-backgroundColor: #0b1020;"),
            "{css}"
        );
        assert_eq!(
            css.matches("--dots-").count(),
            38,
            "19 variables, two themes"
        );
    }
}
