//! The sandbox over real HTTP, as a Dots client sees it.

use dots_api::{ApiError, Flow, FlowList, StepName};
use dots_sandbox::{spawn, SandboxConfig, DEFAULT_API_KEY, DEFAULT_CLIENT_ID};
use serde_json::json;

async fn sandbox() -> (dots_sandbox::RunningSandbox, reqwest::Client) {
    let sandbox = spawn(SandboxConfig::default())
        .await
        .expect("sandbox starts");
    (sandbox, reqwest::Client::new())
}

/// `POST /v2/flows` with the default credentials; panics unless it succeeds.
async fn create_flow(
    sandbox: &dots_sandbox::RunningSandbox,
    http: &reqwest::Client,
    body: serde_json::Value,
) -> Flow {
    http.post(format!("{}/v2/flows", sandbox.api_base()))
        .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_API_KEY))
        .json(&body)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .expect("create succeeds")
        .json()
        .await
        .unwrap()
}

/// `GET /v2/flows/{id}` with the default credentials.
async fn retrieve_flow(
    sandbox: &dots_sandbox::RunningSandbox,
    http: &reqwest::Client,
    id: &str,
) -> Flow {
    http.get(format!("{}/v2/flows/{id}", sandbox.api_base()))
        .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_API_KEY))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn create_and_retrieve_a_flow_with_basic_auth() {
    let (sandbox, http) = sandbox().await;
    let created = create_flow(
        &sandbox,
        &http,
        json!({"steps": ["compliance", {"name": "manage-payouts", "hide_continue_button": true}]}),
    )
    .await;
    assert_eq!(
        created.steps,
        vec![StepName::Compliance, StepName::ManagePayouts]
    );
    assert!(
        created.completed_steps.is_empty(),
        "a new flow has nothing completed"
    );
    assert_eq!(
        created.link,
        format!("http://{}/flow/{}", sandbox.addr(), created.id),
        "the link points at the sandbox's hosted page"
    );

    let fetched = retrieve_flow(&sandbox, &http, created.id.as_str()).await;
    assert_eq!(fetched, created, "retrieve returns what create returned");
}

#[tokio::test]
async fn wrong_or_missing_credentials_get_401_in_dots_shape() {
    let (sandbox, http) = sandbox().await;
    for auth in [
        None,
        Some((DEFAULT_CLIENT_ID, "wrong-key")),
        Some(("someone", DEFAULT_API_KEY)),
    ] {
        let mut request = http
            .post(format!("{}/v2/flows", sandbox.api_base()))
            .json(&json!({"steps": ["payout"]}));
        if let Some((id, key)) = auth {
            request = request.basic_auth(id, Some(key));
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            401,
            "credentials {auth:?} must be refused"
        );
        let body: ApiError = response.json().await.expect("Dots error shape");
        assert!(!body.success);
    }
    let (list, _) = sandbox.state().store().list_flows(100, None, None);
    assert!(list.is_empty(), "nothing was created by refused requests");
}

#[tokio::test]
async fn validation_errors_are_400_and_name_the_field() {
    let (sandbox, http) = sandbox().await;
    let cases = [
        (json!({"steps": ["compliance", "compliance"]}), "steps[1]"),
        (
            json!({"steps": [{"name": "redirect", "redirect_url": "ftp://x.example"}]}),
            "steps[0].redirect_url",
        ),
        (
            json!({"steps": [{"name": "pdf-form-fill"}]}),
            "steps[0].template_id",
        ),
        (json!({"steps": ["teleport"]}), "steps[0].name"),
        (json!({"steps": "compliance"}), "steps"),
        (json!({"metadata": {}}), "steps"),
    ];
    for (body, field) in cases {
        let response = http
            .post(format!("{}/v2/flows", sandbox.api_base()))
            .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_API_KEY))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body} must be rejected");
        let error: ApiError = response.json().await.unwrap();
        assert!(
            error.message.contains(field),
            "the message for {body} names `{field}`: {}",
            error.message
        );
        assert_eq!(error.error_code.as_deref(), Some("invalid-input"));
    }
}

#[tokio::test]
async fn the_hosted_page_completes_steps_and_retrieve_reflects_them() {
    let (sandbox, http) = sandbox().await;
    let flow = create_flow(
        &sandbox,
        &http,
        json!({"steps": ["id-verification", "payout"]}),
    )
    .await;

    let page = http.get(&flow.link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(flow.id.as_str()),
        "the page embeds its flow id"
    );
    assert!(
        html.contains("/flow-assets/flow.js"),
        "the page loads its script"
    );
    let script = http
        .get(format!("http://{}/flow-assets/flow.js", sandbox.addr()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        script.contains("postMessage"),
        "the script posts to the parent"
    );

    let done = http
        .post(format!("{}/steps/payout/complete", flow.link))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let missing = http
        .post(format!("{}/steps/compliance/complete", flow.link))
        .send()
        .await
        .unwrap();
    assert_eq!(
        missing.status(),
        404,
        "a step the flow lacks cannot be completed"
    );

    let fetched = retrieve_flow(&sandbox, &http, flow.id.as_str()).await;
    assert_eq!(fetched.completed_steps, vec![StepName::Payout]);
    assert!(!fetched.is_complete());
}

#[tokio::test]
async fn list_paginates_newest_first() {
    let (sandbox, http) = sandbox().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let flow = create_flow(&sandbox, &http, json!({"steps": ["payout"]})).await;
        ids.push(flow.id);
    }
    ids.reverse();
    let page = |query: String| {
        let http = http.clone();
        let url = format!("{}/v2/flows?{query}", sandbox.api_base());
        async move {
            http.get(url)
                .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_API_KEY))
                .send()
                .await
                .unwrap()
                .json::<FlowList>()
                .await
                .unwrap()
        }
    };
    let first = page("limit=2".into()).await;
    assert_eq!(
        first.data.iter().map(|f| &f.id).collect::<Vec<_>>(),
        vec![&ids[0], &ids[1]]
    );
    assert!(first.has_more);
    let last = page(format!("limit=2&starting_after={}", ids[3])).await;
    assert_eq!(
        last.data.iter().map(|f| &f.id).collect::<Vec<_>>(),
        vec![&ids[4]]
    );
    assert!(!last.has_more);
    let before = page(format!("limit=2&ending_before={}", ids[4])).await;
    assert_eq!(
        before.data.iter().map(|f| &f.id).collect::<Vec<_>>(),
        vec![&ids[2], &ids[3]]
    );
    assert!(before.has_more);
}
