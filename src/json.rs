//! Reading JSON with the browser's own parser.
//!
//! The component only *reads* a handful of fields (a flow's id, link and steps; an error's
//! code; a message's height or step). `JSON.parse` plus property reads does that without
//! shipping a JSON deserializer in every app's wasm: this was about 15 KiB of the gzipped
//! bundle. It *writes* JSON (a request, the `?styles=` value) with `JSON.stringify` too, from
//! the JS value serde-wasm-bindgen makes of it: serde_json's writer brought `std::io`'s error
//! machinery and float printing into the wasm.

use dots_api::MessageFields;
use js_sys::{Array, Object, Reflect, JSON};
use wasm_bindgen::{JsCast, JsValue};

/// `value` as JSON text: in the browser written by `JSON.stringify` (maps as plain objects;
/// `None` if the value holds what JSON cannot: a number beyond 2^53, say); natively by
/// serde_json.
pub fn to_text<T: serde::Serialize>(value: &T) -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    {
        let js = value
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .ok()?;
        JSON::stringify(&js).ok()?.as_string()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        serde_json::to_string(value).ok()
    }
}

/// Why a request's metadata could not be written (see [`to_text`]).
pub const UNWRITABLE: &str =
    "metadata holds what a browser cannot write as JSON exactly (a whole number beyond 2^53)";

/// A parsed JSON object (never an array or `null`).
#[derive(Clone, Debug)]
pub struct JsonObject(Object);

impl JsonObject {
    /// `value` if it is a plain object (arrays and `null` are not).
    pub fn from_value(value: JsValue) -> Option<Self> {
        (value.is_object() && !Array::is_array(&value)).then(|| Self(value.unchecked_into()))
    }

    /// Parses `text`; `None` unless it is a JSON object.
    pub fn parse(text: &str) -> Option<Self> {
        Self::from_value(JSON::parse(text).ok()?)
    }

    /// The object's own field `key` (inherited properties do not count).
    fn field(&self, key: &str) -> Option<JsValue> {
        let key = JsValue::from_str(key);
        if !Object::has_own(&self.0, &key) {
            return None;
        }
        Reflect::get(&self.0, &key).ok()
    }

    /// Field `key` if it is a string.
    pub fn string(&self, key: &str) -> Option<String> {
        self.field(key)?.as_string()
    }

    /// Field `key` if it is a string; absent or `null` is `Ok(None)`, anything else `Err`.
    pub fn optional_string(&self, key: &str) -> Result<Option<String>, ()> {
        match self.field(key) {
            None => Ok(None),
            Some(value) if value.is_null() || value.is_undefined() => Ok(None),
            Some(value) => value.as_string().map(Some).ok_or(()),
        }
    }

    /// Field `key` if it is a number; absent or `null` is `Ok(None)`, anything else `Err`.
    pub fn optional_number(&self, key: &str) -> Result<Option<f64>, ()> {
        match self.field(key) {
            None => Ok(None),
            Some(value) if value.is_null() || value.is_undefined() => Ok(None),
            Some(value) => value.as_f64().map(Some).ok_or(()),
        }
    }

    /// Field `key` if it is an array of strings.
    pub fn strings(&self, key: &str) -> Option<Vec<String>> {
        let value = self.field(key)?;
        if !Array::is_array(&value) {
            return None;
        }
        Array::from(&value)
            .iter()
            .map(|item| item.as_string())
            .collect()
    }

    /// The object as JSON text.
    pub fn to_json(&self) -> String {
        JSON::stringify(&self.0)
            .ok()
            .and_then(|text| text.as_string())
            .unwrap_or_default()
    }
}

impl MessageFields for JsonObject {
    fn has(&self, key: &str) -> bool {
        self.field(key).is_some()
    }

    fn text(&self, key: &str) -> Option<String> {
        self.string(key)
    }

    fn number(&self, key: &str) -> Option<f64> {
        self.field(key)?.as_f64()
    }

    fn texts(&self, key: &str) -> Option<Vec<String>> {
        self.strings(key)
    }
}
