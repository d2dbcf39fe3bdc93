//! Arbitrary bytes as a flow message: as a string (JSON text) and, when they parse, as JSON.
#![no_main]

use dots_api::FlowMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = FlowMessage::parse_str(&text);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Some(FlowMessage::Height(h)) = FlowMessage::parse(&value) {
            assert!(h.is_finite() && h >= 0.0);
        }
    }
});
