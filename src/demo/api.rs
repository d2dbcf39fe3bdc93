//! The demo page's calls to its own server side (the proxy in demo mode).

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// Wallets as the demo server reports them (cents).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Wallets {
    pub user_id: Option<String>,
    pub user_wallet: Option<i64>,
    pub app_wallet: Option<i64>,
    #[serde(default)]
    pub transfer: Option<Value>,
}

async fn read<T: DeserializeOwned>(response: gloo_net::http::Response) -> Result<T, String> {
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if !(200..300).contains(&status) {
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(message);
    }
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    let response = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    read(response).await
}

pub async fn post<T: DeserializeOwned>(url: &str, body: &Value) -> Result<T, String> {
    let response = gloo_net::http::Request::post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| e.to_string())?;
    read(response).await
}

/// Cents as dollars, e.g. `$25.00`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}${}.{:02}", cents.abs() / 100, cents.abs() % 100)
}
