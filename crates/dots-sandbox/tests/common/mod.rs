//! A sandbox on a free port and a small HTTP client for it.
#![allow(dead_code)]

use dots_sandbox::{spawn, RunningSandbox, SandboxConfig, DEFAULT_API_KEY, DEFAULT_CLIENT_ID};
use reqwest::Method;
use serde_json::{json, Value};

pub struct Sandbox {
    pub running: RunningSandbox,
    pub http: reqwest::Client,
    pub app_id: Option<String>,
}

impl Sandbox {
    pub async fn start() -> Self {
        Self::with_config(SandboxConfig::default()).await
    }

    pub async fn with_config(config: SandboxConfig) -> Self {
        Self {
            running: spawn(config).await.expect("sandbox starts"),
            http: reqwest::Client::new(),
            app_id: None,
        }
    }

    /// The same sandbox acting as another app (`Api-App-Id`).
    pub fn as_app(&self, app: &str) -> SandboxApp<'_> {
        SandboxApp {
            sandbox: self,
            app: Some(app.to_owned()),
        }
    }

    pub fn default_app(&self) -> SandboxApp<'_> {
        SandboxApp {
            sandbox: self,
            app: None,
        }
    }

    /// An authenticated API call; returns status and JSON body (Null if none).
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.default_app().api(method, path, body).await
    }

    /// A call to a sandbox URL outside the API (pages, control plane).
    pub async fn raw(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.running.origin()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the sandbox answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn create_flow(&self, body: Value) -> Value {
        let (status, flow) = self.api(Method::POST, "/v2/flows", Some(body)).await;
        assert_eq!(status, 200, "create flow: {flow}");
        flow
    }

    pub async fn create_user(&self, phone: &str, last_name: &str) -> Value {
        let (status, user) = self
            .api(
                Method::POST,
                "/v2/users",
                Some(json!({
                    "first_name": "Ada", "last_name": last_name, "email": "ada@example.com",
                    "country_code": "1", "phone_number": phone
                })),
            )
            .await;
        assert!(
            status == 201 || status == 200,
            "create user: {status} {user}"
        );
        // The created user answers as Dots' guide captured it (no wallet or compliance yet);
        // the whole user is what a retrieve gives.
        assert!(
            user.get("compliance").is_none() && user["verified"].is_boolean(),
            "{user}"
        );
        let (status, user) = self
            .api(
                Method::GET,
                &format!("/v2/users/{}", user["id"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(status, 200, "{user}");
        user
    }

    /// Signs the flow's page in as onboarding would, through the page's own calls.
    pub async fn sign_in_on_page(&self, flow_id: &str, phone: &str) -> Value {
        let (status, body) = self
            .raw(
                Method::POST,
                &format!("/flow/{flow_id}/onboarding/start"),
                Some(
                    json!({"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com",
                            "country_code": "1", "phone_number": phone}),
                ),
            )
            .await;
        assert_eq!(status, 200, "onboarding start: {body}");
        let (status, session) = self
            .raw(
                Method::POST,
                &format!("/flow/{flow_id}/onboarding/verify"),
                Some(json!({"code": "123456"})),
            )
            .await;
        assert_eq!(status, 200, "onboarding verify: {session}");
        session
    }
}

pub struct SandboxApp<'a> {
    sandbox: &'a Sandbox,
    app: Option<String>,
}

impl SandboxApp<'_> {
    /// An authenticated API request, to send as it is (for raw status, headers and bodies).
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .sandbox
            .http
            .request(method, format!("{}{path}", self.sandbox.running.api_base()))
            .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_API_KEY));
        match &self.app {
            Some(app) => request.header("Api-App-Id", app),
            None => request,
        }
    }

    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the sandbox answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}
