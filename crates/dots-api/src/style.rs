//! Flow Styles: the `?styles=` query Dots flows read — a theme plus 19 variables — as a typed
//! value, with the exact encoding Dots documents (JSON, then URL-encoded like JavaScript's
//! `encodeURIComponent`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// The flow's overall theme (logo colour, date-picker icon, ...).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Light (Dots' default).
    #[default]
    Light,
    /// Dark.
    Dark,
}

impl Theme {
    /// `light` or `dark`.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

macro_rules! variables {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal),+ $(,)?) => {
        /// One of the 19 Flow Styles variables.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum StyleVariable {
            $($(#[$doc])* #[serde(rename = $wire)] $variant,)+
        }

        impl StyleVariable {
            /// All 19, in Dots' documented order.
            pub const ALL: [StyleVariable; 19] = [$(StyleVariable::$variant,)+];

            /// The name Dots uses, e.g. `buttonBackgroundColor`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(StyleVariable::$variant => $wire,)+
                }
            }

            /// Parses Dots' name.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $($wire => Some(StyleVariable::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

variables! {
    /// Background of the flow.
    BackgroundColor = "backgroundColor",
    /// Titles and labels.
    PrimaryTextColor = "primaryTextColor",
    /// Sub-labels and button texts.
    SecondaryTextColor = "secondaryTextColor",
    /// Minor texts (default-method marker, dashboard link).
    TertiaryTextColor = "tertiaryTextColor",
    /// Highlights and hovers.
    PrimaryColor = "primaryColor",
    /// Rail tab background.
    TabBackgroundColor = "tabBackgroundColor",
    /// Rail tab background on hover.
    TabHoverBackgroundColor = "tabHoverBackgroundColor",
    /// Rail tab border.
    TabBorderColor = "tabBorderColor",
    /// Rail tab border on hover.
    TabHoverBorderColor = "tabHoverBorderColor",
    /// Action button background.
    ButtonBackgroundColor = "buttonBackgroundColor",
    /// Action button text.
    ButtonTextColor = "buttonTextColor",
    /// Action button text on hover.
    ButtonHoverTextColor = "buttonHoverTextColor",
    /// Action button background on hover.
    ButtonHoverBackgroundColor = "buttonHoverBackgroundColor",
    /// Disabled button background.
    ButtonDisabledBackgroundColor = "buttonDisabledBackgroundColor",
    /// Disabled button text.
    ButtonDisabledTextColor = "buttonDisabledTextColor",
    /// Input background.
    InputBackgroundColor = "inputBackgroundColor",
    /// Input border.
    InputBorderColor = "inputBorderColor",
    /// Input placeholder.
    InputPlaceholderColor = "inputPlaceholderColor",
    /// Radius of buttons, tabs, icons and inputs (e.g. `8px`).
    BorderRadius = "borderRadius",
}

/// A Flow Styles configuration: a theme and any of the 19 variables.
///
/// ```
/// use dots_api::{FlowStyle, StyleVariable, Theme};
///
/// let style = FlowStyle::dark().with(StyleVariable::ButtonBackgroundColor, "#c88bc4");
/// assert_eq!(style.theme, Theme::Dark);
/// let link = style.apply_to_link("https://my.senddotssandbox.com/flow/5f0f");
/// assert!(link.starts_with("https://my.senddotssandbox.com/flow/5f0f?styles=%7B%22theme%22%3A%22dark%22"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowStyle {
    /// The theme.
    #[serde(default)]
    pub theme: Theme,
    /// The variables that are set; the others keep the flow's defaults.
    #[serde(default)]
    pub variables: StyleVariables,
}

/// The Flow Styles variables that are set, each once, in Dots' documented order (which is also
/// the order they are written in `?styles=`). A slot per variable rather than a map: a browser
/// bundle that themes carries no tree-map code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StyleVariables([Option<String>; 19]);

impl StyleVariables {
    /// The value of `variable`, if set.
    pub fn get(&self, variable: StyleVariable) -> Option<&str> {
        self.0[variable as usize].as_deref()
    }

    /// Sets `variable`, returning its previous value.
    pub fn insert(&mut self, variable: StyleVariable, value: String) -> Option<String> {
        self.0[variable as usize].replace(value)
    }

    /// Unsets `variable`, returning its value.
    pub fn remove(&mut self, variable: &StyleVariable) -> Option<String> {
        self.0[*variable as usize].take()
    }

    /// How many are set.
    pub fn len(&self) -> usize {
        self.0.iter().filter(|v| v.is_some()).count()
    }

    /// Whether none is set.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }

    /// The set ones, in Dots' documented order.
    pub fn iter(&self) -> impl Iterator<Item = (StyleVariable, &str)> {
        StyleVariable::ALL
            .into_iter()
            .zip(&self.0)
            .filter_map(|(variable, value)| Some((variable, value.as_deref()?)))
    }
}

impl FromIterator<(StyleVariable, String)> for StyleVariables {
    fn from_iter<I: IntoIterator<Item = (StyleVariable, String)>>(items: I) -> Self {
        let mut variables = StyleVariables::default();
        for (variable, value) in items {
            variables.insert(variable, value);
        }
        variables
    }
}

impl Serialize for StyleVariables {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for StyleVariables {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(
            BTreeMap::<StyleVariable, String>::deserialize(deserializer)?
                .into_iter()
                .collect(),
        )
    }
}

impl FlowStyle {
    /// Dots' light theme with its own colours.
    pub fn light() -> Self {
        Self::default()
    }

    /// A complete dark palette (the one in Dots' styling guide).
    pub fn dark() -> Self {
        use StyleVariable::*;
        const DARK: [(StyleVariable, &str); 19] = [
            (BackgroundColor, "#000000"),
            (PrimaryTextColor, "#ffffff"),
            (SecondaryTextColor, "#9ca3af"),
            (TertiaryTextColor, "#9ca3af"),
            (PrimaryColor, "#c88bc4"),
            (TabBackgroundColor, "#111827"),
            (TabHoverBackgroundColor, "#374151"),
            (TabBorderColor, "#e5e7eb"),
            (TabHoverBorderColor, "#7dd3fc"),
            (ButtonBackgroundColor, "#c88bc4"),
            (ButtonTextColor, "#ffffff"),
            (ButtonHoverTextColor, "#ffffff"),
            (ButtonHoverBackgroundColor, "#a672a2"),
            (ButtonDisabledBackgroundColor, "#1f2937"),
            (ButtonDisabledTextColor, "#d1d5db"),
            (InputBackgroundColor, "#111827"),
            (InputBorderColor, "#c88bc4"),
            (InputPlaceholderColor, "#4b5563"),
            (BorderRadius, "8px"),
        ];
        Self {
            theme: Theme::Dark,
            variables: DARK.map(|(k, v)| (k, v.to_owned())).into_iter().collect(),
        }
    }

    /// A light theme whose accents (buttons, highlights, focused inputs) use `color`.
    pub fn brand(color: &str) -> Self {
        use StyleVariable::*;
        Self::light()
            .with(PrimaryColor, color)
            .with(ButtonBackgroundColor, color)
            .with(ButtonHoverBackgroundColor, color)
            .with(TabHoverBorderColor, color)
            .with(InputBorderColor, color)
    }

    /// Sets a variable (an empty value unsets it).
    pub fn with(mut self, variable: StyleVariable, value: impl Into<String>) -> Self {
        self.set(variable, value);
        self
    }

    /// Sets a variable in place (an empty value unsets it).
    pub fn set(&mut self, variable: StyleVariable, value: impl Into<String>) {
        let value = value.into();
        if value.trim().is_empty() {
            self.variables.remove(&variable);
        } else {
            self.variables.insert(variable, value);
        }
    }

    /// Sets the theme.
    pub fn with_theme(mut self, theme: Theme) -> Self {
        self.theme = theme;
        self
    }

    /// A variable's value, if set.
    pub fn get(&self, variable: StyleVariable) -> Option<&str> {
        self.variables.get(variable)
    }

    /// The JSON Dots expects: `{"theme": ..., "variables": {...}}`.
    pub fn to_json(&self) -> String {
        // A map of strings always serializes; no panic path (and its formatting) in the wasm.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The value of the `styles` query parameter: the JSON, URL-encoded.
    pub fn to_query_value(&self) -> String {
        encode_uri_component(&self.to_json())
    }

    /// `link` with `styles=` added to its query (before any `#fragment`), replacing an existing
    /// `styles` parameter.
    pub fn apply_to_link(&self, link: &str) -> String {
        link_with_styles(link, &self.to_query_value())
    }
}

/// `link` with `styles=query_value` in its query (before any `#fragment`), replacing an
/// existing `styles` parameter; `query_value` is a [`FlowStyle::to_query_value`] (for callers
/// that encode the JSON another way, e.g. with the browser's own `JSON.stringify` and
/// `encodeURIComponent`).
pub fn link_with_styles(link: &str, query_value: &str) -> String {
    // `split_once` rather than slicing at found indices: no panic path (and its formatting)
    // in a browser bundle.
    let (base, fragment) = match link.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (link, None),
    };
    let (path, query) = base.split_once('?').unwrap_or((base, ""));
    let mut out = String::with_capacity(link.len() + query_value.len() + 9);
    out.push_str(path);
    out.push('?');
    for param in query.split('&') {
        if !param.is_empty() && !param.starts_with("styles=") && param != "styles" {
            out.push_str(param);
            out.push('&');
        }
    }
    out.push_str("styles=");
    out.push_str(query_value);
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// Percent-encodes like JavaScript's `encodeURIComponent`: everything but
/// `A-Z a-z 0-9 - _ . ! ~ * ' ( )`, as UTF-8 bytes.
pub fn encode_uri_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Decodes `%XX` escapes (the inverse of [`encode_uri_component`]); `None` if malformed.
pub fn decode_uri_component(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nineteen_variables_with_dots_names() {
        assert_eq!(StyleVariable::ALL.len(), 19);
        for v in StyleVariable::ALL {
            assert_eq!(StyleVariable::parse(v.as_str()), Some(v));
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                serde_json::json!(v.as_str())
            );
        }
        assert_eq!(
            FlowStyle::dark().variables.len(),
            19,
            "the dark preset sets every variable"
        );
    }

    #[test]
    fn encodes_exactly_like_encode_uri_component() {
        // Expected values computed with JavaScript's encodeURIComponent.
        assert_eq!(
            encode_uri_component(r#"{"a":"b c"}"#),
            "%7B%22a%22%3A%22b%20c%22%7D"
        );
        assert_eq!(encode_uri_component("#ff00ff"), "%23ff00ff");
        assert_eq!(encode_uri_component("-_.!~*'()"), "-_.!~*'()");
        assert_eq!(encode_uri_component("é"), "%C3%A9");
        assert_eq!(decode_uri_component("%C3%A9%20x").as_deref(), Some("é x"));
        assert_eq!(decode_uri_component("%G1"), None);
    }

    #[test]
    fn the_query_round_trips() {
        let style = FlowStyle::brand("#ff6600").with(StyleVariable::BorderRadius, "12px");
        let decoded = decode_uri_component(&style.to_query_value()).unwrap();
        assert_eq!(serde_json::from_str::<FlowStyle>(&decoded).unwrap(), style);
        assert_eq!(
            style.to_json(),
            r##"{"theme":"light","variables":{"primaryColor":"#ff6600","tabHoverBorderColor":"#ff6600","buttonBackgroundColor":"#ff6600","buttonHoverBackgroundColor":"#ff6600","inputBorderColor":"#ff6600","borderRadius":"12px"}}"##
        );
    }

    #[test]
    fn applies_to_links_with_queries_and_fragments() {
        let style = FlowStyle::light();
        let q = style.to_query_value();
        assert_eq!(
            style.apply_to_link("https://x.test/flow/1"),
            format!("https://x.test/flow/1?styles={q}")
        );
        assert_eq!(
            style.apply_to_link("https://x.test/flow/1?a=1#top"),
            format!("https://x.test/flow/1?a=1&styles={q}#top")
        );
        assert_eq!(
            style.apply_to_link("https://x.test/flow/1?styles=old&b=2"),
            format!("https://x.test/flow/1?b=2&styles={q}"),
            "an existing styles parameter is replaced"
        );
    }

    #[test]
    fn empty_values_unset() {
        let style = FlowStyle::dark().with(StyleVariable::BackgroundColor, "  ");
        assert_eq!(style.get(StyleVariable::BackgroundColor), None);
        assert_eq!(style.variables.len(), 18);
    }
}
