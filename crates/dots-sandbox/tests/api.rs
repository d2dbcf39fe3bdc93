//! Flows over real HTTP, as a Dots client sees them.

mod common;

use common::Sandbox;
use dots_api::{ApiError, Flow, FlowList, StepName};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn create_and_retrieve_a_flow_with_basic_auth() {
    let sb = Sandbox::start().await;
    let created: Flow = serde_json::from_value(
        sb.create_flow(json!({"steps": ["compliance", {"name": "manage-payouts", "hide_continue_button": true}]}))
            .await,
    )
    .unwrap();
    assert_eq!(
        created.steps,
        vec![StepName::Compliance, StepName::ManagePayouts]
    );
    assert!(
        created.completed_steps.is_empty(),
        "a new flow has nothing completed"
    );
    assert!(created.user_id.is_none());
    assert_eq!(
        created.link,
        format!("{}/flow/{}", sb.running.origin(), created.id),
        "the link points at the sandbox's hosted page"
    );
    let (status, fetched) = sb
        .api(Method::GET, &format!("/v2/flows/{}", created.id), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_value::<Flow>(fetched).unwrap(),
        created,
        "retrieve returns what create returned"
    );
}

#[tokio::test]
async fn wrong_or_missing_credentials_get_401_in_dots_shape() {
    let sb = Sandbox::start().await;
    for auth in [
        None,
        Some((dots_sandbox::DEFAULT_CLIENT_ID, "wrong-key")),
        Some(("someone", dots_sandbox::DEFAULT_API_KEY)),
    ] {
        let mut request = sb
            .http
            .post(format!("{}/v2/flows", sb.running.api_base()))
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
    assert!(
        sb.running.state().store().flows("").is_empty(),
        "nothing was created by refused requests"
    );
}

#[tokio::test]
async fn validation_errors_are_400_and_name_the_field() {
    let sb = Sandbox::start().await;
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
        (
            json!({"steps": ["payout"], "user_id": "00000000-0000-0000-0000-000000000000"}),
            "user_id",
        ),
        (
            json!({"steps": [{"name": "payout", "payout_fee_party": "nobody"}]}),
            "steps[0].payout_fee_party",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = sb.api(Method::POST, "/v2/flows", Some(body.clone())).await;
        assert_eq!(status, 400, "{body} must be rejected");
        let error: ApiError = serde_json::from_value(error).unwrap();
        assert!(
            error.message.contains(field),
            "the message for {body} names `{field}`: {}",
            error.message
        );
        assert_eq!(error.error_code.as_deref(), Some("invalid-input"));
    }
}

#[tokio::test]
async fn onboarding_binds_a_user_to_a_flow_created_without_one() {
    let sb = Sandbox::start().await;
    let flow = sb.create_flow(json!({"steps": ["payout"]})).await;
    let id = flow["id"].as_str().unwrap();
    let (status, _) = sb
        .raw(
            Method::POST,
            &format!("/flow/{id}/steps/payout/complete"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 401, "no step before signing in");
    let (status, _) = sb
        .raw(
            Method::POST,
            &format!("/flow/{id}/onboarding/verify"),
            Some(json!({"code": "123456"})),
        )
        .await;
    assert_eq!(status, 400, "a code before a phone number is refused");
    let session = sb.sign_in_on_page(id, "5550001111").await;
    assert_eq!(session["signed_in"], true);
    let (_, flow) = sb.api(Method::GET, &format!("/v2/flows/{id}"), None).await;
    let user_id = flow["user_id"].as_str().expect("the flow gets a user_id");
    let (status, user) = sb
        .api(Method::GET, &format!("/v2/users/{user_id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        user["status"], "verified",
        "signing in verifies the phone number"
    );
}

#[tokio::test]
async fn a_wrong_code_does_not_sign_in() {
    let sb = Sandbox::start().await;
    let flow = sb.create_flow(json!({"steps": ["payout"]})).await;
    let id = flow["id"].as_str().unwrap();
    let (status, _) = sb
        .raw(Method::POST, &format!("/flow/{id}/onboarding/start"),
             Some(json!({"first_name": "A", "last_name": "B", "email": "a@b.co", "country_code": "1", "phone_number": "5551112222"})))
        .await;
    assert_eq!(status, 200);
    let (status, _) = sb
        .raw(
            Method::POST,
            &format!("/flow/{id}/onboarding/verify"),
            Some(json!({"code": "000000"})),
        )
        .await;
    assert_eq!(status, 400);
    let (_, flow) = sb.api(Method::GET, &format!("/v2/flows/{id}"), None).await;
    assert!(
        flow["user_id"].is_null(),
        "no user bound after a wrong code"
    );
}

#[tokio::test]
async fn preauthenticated_links_expire_after_15_minutes_of_sandbox_time() {
    let sb = Sandbox::start().await;
    let user = sb.create_user("5552223333", "Lovelace").await;
    let user_id = user["id"].as_str().unwrap();
    let flow = sb
        .create_flow(json!({"steps": ["payout"], "user_id": user_id}))
        .await;
    let id = flow["id"].as_str().unwrap();
    let (status, session) = sb
        .raw(Method::GET, &format!("/flow/{id}/session"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        session["signed_in"], true,
        "a user_id without require_auth pre-authenticates"
    );

    let (status, _) = sb
        .raw(
            Method::POST,
            "/_sandbox/clock/advance",
            Some(json!({"seconds": 14 * 60})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = sb
        .raw(Method::GET, &format!("/flow/{id}/session"), None)
        .await;
    assert_eq!(status, 200, "still valid at 14 minutes");
    sb.raw(
        Method::POST,
        "/_sandbox/clock/advance",
        Some(json!({"seconds": 61})),
    )
    .await;
    let (status, body) = sb
        .raw(Method::GET, &format!("/flow/{id}/session"), None)
        .await;
    assert_eq!(status, 410, "expired after 15 minutes: {body}");
    let (page, token) = open_page(&sb, id).await;
    assert!(token.is_none(), "an expired link opens no page session");
    assert!(
        page.contains(r#""expired":true"#),
        "the page renders its expired state"
    );
    // Issue 12: whoever holds the old link must not read the user's data from the page.
    assert!(
        page.contains(r#""user":null"#),
        "no user in an expired page"
    );
    assert!(
        !page.contains("Lovelace") && !page.contains("wallet"),
        "nothing of the user in an expired page"
    );

    let with_auth = sb
        .create_flow(json!({"steps": ["payout"], "user_id": user_id, "require_auth": true}))
        .await;
    let (_, session) = sb
        .raw(
            Method::GET,
            &format!("/flow/{}/session", with_auth["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(
        session["signed_in"], false,
        "require_auth makes the user sign in"
    );
}

#[tokio::test]
async fn require_auth_only_accepts_the_flows_own_user() {
    let sb = Sandbox::start().await;
    let user = sb.create_user("5553334444", "Lovelace").await;
    let flow = sb
        .create_flow(json!({"steps": ["payout"], "user_id": user["id"], "require_auth": true}))
        .await;
    let id = flow["id"].as_str().unwrap();
    let (status, body) = sb
        .raw(Method::POST, &format!("/flow/{id}/onboarding/start"),
             Some(json!({"first_name": "Eve", "last_name": "X", "email": "eve@example.com", "country_code": "1", "phone_number": "5559990000"})))
        .await;
    assert_eq!(
        status, 400,
        "another phone number cannot claim this flow: {body}"
    );
    sb.sign_in_on_page(id, "5553334444").await;
}

#[tokio::test]
async fn list_paginates_newest_first_and_is_scoped_per_app() {
    let sb = Sandbox::start().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            sb.create_flow(json!({"steps": ["payout"]})).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids.reverse();
    let page = |query: String| {
        let sb = &sb;
        async move {
            let (status, body) = sb
                .api(Method::GET, &format!("/v2/flows?{query}"), None)
                .await;
            assert_eq!(status, 200, "{body}");
            serde_json::from_value::<FlowList>(body).unwrap()
        }
    };
    let ids_of = |list: &FlowList| {
        list.data
            .iter()
            .map(|f| f.id.to_string())
            .collect::<Vec<_>>()
    };
    let first = page("limit=2".into()).await;
    assert_eq!(ids_of(&first), ids[0..2]);
    assert!(first.has_more);
    let last = page(format!("limit=2&starting_after={}", ids[3])).await;
    assert_eq!(ids_of(&last), ids[4..5]);
    assert!(!last.has_more);
    let before = page(format!("limit=2&ending_before={}", ids[4])).await;
    assert_eq!(ids_of(&before), ids[2..4]);
    assert!(before.has_more);
    let (status, error) = sb.api(Method::GET, "/v2/flows?limit=101", None).await;
    assert_eq!(status, 400);
    assert!(error["message"].as_str().unwrap().contains("limit"));

    let (status, other) = sb.as_app("app-2").api(Method::GET, "/v2/flows", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        other["data"].as_array().unwrap().len(),
        0,
        "another app sees none of these flows"
    );
    let (status, _) = sb
        .as_app("app-2")
        .api(Method::GET, &format!("/v2/flows/{}", ids[0]), None)
        .await;
    assert_eq!(status, 404, "nor can it retrieve one");
}

/// The page session token embedded in a served page, if any.
async fn open_page(sb: &Sandbox, id: &str) -> (String, Option<String>) {
    let html = sb
        .http
        .get(format!("{}/flow/{id}", sb.running.origin()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = html
        .split(r#""page_session":""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned);
    (html, token)
}

async fn page_call(sb: &Sandbox, id: &str, token: Option<&str>) -> u16 {
    let mut request = sb
        .http
        .get(format!("{}/flow/{id}/session", sb.running.origin()));
    if let Some(token) = token {
        request = request.header("x-sandbox-page-session", token);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_page_opened_in_time_keeps_working_past_the_links_expiry() {
    // Issue 13 (the sandbox's model, an assumption: Dots documents only the link's lifetime):
    // the link cannot be *opened* after 15 minutes, but a page opened in time keeps working
    // until it idles out, so a user halfway through a form never loses it.
    let sb = Sandbox::start().await;
    let user = sb.create_user("5552224444", "Lovelace").await;
    let flow = sb
        .create_flow(json!({"steps": [{"name": "pdf-form-fill", "template_id": "t"}], "user_id": user["id"]}))
        .await;
    let id = flow["id"].as_str().unwrap();
    let (_, token) = open_page(&sb, id).await;
    let token = token.expect("a page opened in time gets a session");
    let advance = |seconds: i64| {
        sb.raw(
            Method::POST,
            "/_sandbox/clock/advance",
            Some(json!({ "seconds": seconds })),
        )
    };
    advance(16 * 60).await;
    assert_eq!(
        page_call(&sb, id, None).await,
        410,
        "the link itself expired"
    );
    assert_eq!(
        page_call(&sb, id, Some("not-a-session")).await,
        410,
        "a made-up token is nothing"
    );
    assert_eq!(
        page_call(&sb, id, Some(&token)).await,
        200,
        "the open page still works"
    );
    let complete = sb
        .http
        .post(format!(
            "{}/flow/{id}/steps/pdf-form-fill/complete",
            sb.running.origin()
        ))
        .header("x-sandbox-page-session", &token)
        .json(&json!({"signature": "Ada Lovelace"}))
        .send()
        .await
        .unwrap();
    assert_eq!(complete.status(), 200, "the open page finishes its step");
    let (html, late) = open_page(&sb, id).await;
    assert!(late.is_none(), "an expired link opens no session");
    assert!(html.contains(r#""expired":true"#));
    // Each call keeps it alive; 30 idle minutes end it.
    advance(29 * 60).await;
    assert_eq!(page_call(&sb, id, Some(&token)).await, 200);
    advance(30 * 60).await;
    assert_eq!(
        page_call(&sb, id, Some(&token)).await,
        410,
        "an idle page ends"
    );
}
