//! Users over real HTTP: found-or-created by phone, verification, compliance, OFAC, payout methods.

mod common;

use common::Sandbox;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn users_are_found_or_created_by_phone_number() {
    let sb = Sandbox::start().await;
    let first = sb.create_user("4155550100", "Lovelace").await;
    assert_eq!(first["status"], "unverified");
    assert_eq!(first["compliance"]["tax_id_verification"], "unsubmitted");
    assert_eq!(first["compliance"]["flags"]["ofac_status"], "unflagged");
    assert_eq!(first["wallet"]["amount"], 0);
    let (status, again) = sb
        .api(
            Method::POST,
            "/v2/users",
            Some(json!({"first_name": "Other", "last_name": "Name",
            "email": "x@example.com", "country_code": "1", "phone_number": "4155550100"})),
        )
        .await;
    assert_eq!(
        status, 201,
        "an existing phone number finds the user (201 either way, as v2.yaml lists)"
    );
    assert_eq!(again["id"], first["id"]);
    let (status, _) = sb
        .api(
            Method::POST,
            "/v2/users",
            Some(json!({"first_name": "B", "last_name": "C",
            "email": "y@example.com", "country_code": "1", "phone_number": "4155550101"})),
        )
        .await;
    assert_eq!(status, 201, "a new phone number creates a user");
    let (status, list) = sb.api(Method::GET, "/v2/users?limit=1", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["has_more"], true);
}

#[tokio::test]
async fn create_user_validation_names_the_field() {
    let sb = Sandbox::start().await;
    for (body, field) in [
        (
            json!({"first_name": "A", "last_name": "B", "email": "nope", "country_code": "1", "phone_number": "1"}),
            "email",
        ),
        (
            json!({"first_name": "A", "last_name": "B", "email": "a@b.co", "country_code": "1", "phone_number": "12-3"}),
            "phone_number",
        ),
        (
            json!({"first_name": "", "last_name": "B", "email": "a@b.co", "country_code": "1", "phone_number": "1"}),
            "first_name",
        ),
        (
            json!({"last_name": "B", "email": "a@b.co", "country_code": "1", "phone_number": "1"}),
            "first_name",
        ),
    ] {
        let (status, error) = sb.api(Method::POST, "/v2/users", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            error["message"].as_str().unwrap().contains(field),
            "{body}: {error}"
        );
    }
}

#[tokio::test]
async fn verification_uses_the_documented_sandbox_code() {
    let sb = Sandbox::start().await;
    let user = sb.create_user("4155550102", "Lovelace").await;
    let id = user["id"].as_str().unwrap();
    let (status, _) = sb
        .api(
            Method::POST,
            &format!("/v2/users/{id}/send-verification-token"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 202);
    let (status, _) = sb
        .api(
            Method::POST,
            &format!("/v2/users/{id}/verify"),
            Some(json!({"token": "654321"})),
        )
        .await;
    assert_eq!(status, 400, "a wrong code is refused");
    let (status, _) = sb
        .api(
            Method::POST,
            &format!("/v2/users/{id}/verify"),
            Some(json!({"token": "123456"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, user) = sb.api(Method::GET, &format!("/v2/users/{id}"), None).await;
    assert_eq!(user["status"], "verified");
    let (status, _) = sb.api(Method::GET, "/v2/users?status=verified", None).await;
    assert_eq!(status, 200);
    let (status, _) = sb.api(Method::GET, "/v2/users?status=sleeping", None).await;
    assert_eq!(status, 400);
}

fn w9(tin: &str) -> serde_json::Value {
    json!({"w9": {"entity_type": "individual", "date_of_birth": "1990-04-01", "tin": tin,
        "address": {"line_1": "1 Main St", "city": "San Francisco", "state": "CA", "country": "US", "postcode": "94107"}}})
}

#[tokio::test]
async fn tin_goes_pending_then_matched_or_mismatched_by_the_sandbox_rule() {
    let sb = Sandbox::start().await;
    let good = sb.create_user("4155550103", "Lovelace").await;
    let bad = sb.create_user("4155550104", "Lovelace").await;
    for (user, tin) in [(&good, "123456789"), (&bad, "123450000")] {
        let id = user["id"].as_str().unwrap();
        let (status, body) = sb
            .api(
                Method::PUT,
                &format!("/v2/users/{id}/compliance"),
                Some(w9(tin)),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (_, user) = sb.api(Method::GET, &format!("/v2/users/{id}"), None).await;
        assert_eq!(user["compliance"]["tax_id_verification"], "pending");
        assert_eq!(user["compliance"]["w9"]["tax_id_collected"], true);
    }
    sb.raw(
        Method::POST,
        "/_sandbox/clock/advance",
        Some(json!({"seconds": 5})),
    )
    .await;
    let (_, good) = sb
        .api(
            Method::GET,
            &format!("/v2/users/{}", good["id"].as_str().unwrap()),
            None,
        )
        .await;
    let (_, bad) = sb
        .api(
            Method::GET,
            &format!("/v2/users/{}", bad["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(good["compliance"]["tax_id_verification"], "matched");
    assert_eq!(
        bad["compliance"]["tax_id_verification"], "mismatched",
        "a TIN ending in 0000 mismatches"
    );

    let id = good["id"].as_str().unwrap();
    let (status, error) = sb
        .api(
            Method::PUT,
            &format!("/v2/users/{id}/compliance"),
            Some(w9("12345")),
        )
        .await;
    assert_eq!(status, 400);
    assert!(error["message"].as_str().unwrap().contains("w9.tin"));
}

#[tokio::test]
async fn ofac_screening_follows_the_sandbox_rule() {
    let sb = Sandbox::start().await;
    let clear = sb.create_user("4155550105", "Lovelace").await;
    let sanctioned = sb.create_user("4155550106", "Sanctioned").await;
    assert_eq!(clear["compliance"]["flags"]["ofac_status"], "unflagged");
    assert_eq!(
        sanctioned["compliance"]["flags"]["ofac_status"],
        "id_verification_required"
    );
    assert_eq!(sanctioned["compliance"]["flags"]["ofac"], true);
    assert_eq!(sanctioned["compliance"]["flagged"], true);

    // ID verification on a flow page moves the review along.
    let flow = sb
        .create_flow(json!({"steps": ["id-verification"], "user_id": sanctioned["id"]}))
        .await;
    let id = flow["id"].as_str().unwrap();
    let (status, body) = sb
        .raw(
            Method::POST,
            &format!("/flow/{id}/steps/id-verification/complete"),
            Some(json!({"document": "sample-id"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, user) = sb
        .api(
            Method::GET,
            &format!("/v2/users/{}", sanctioned["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(user["compliance"]["flags"]["ofac_status"], "in_review");
    assert_eq!(user["compliance"]["id_verified"], true);
}

#[tokio::test]
async fn payout_methods_are_validated_added_and_listed() {
    let sb = Sandbox::start().await;
    let user = sb.create_user("4155550107", "Lovelace").await;
    let id = user["id"].as_str().unwrap();
    let (status, error) = sb
        .api(
            Method::PUT,
            &format!("/v2/users/{id}/payout-methods"),
            Some(json!({"platform": "ach", "routing_number": "123456789"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("account_number"));
    let (status, method) = sb
        .api(
            Method::PUT,
            &format!("/v2/users/{id}/payout-methods"),
            Some(json!({"platform": "paypal", "email": "ada@example.com"})),
        )
        .await;
    assert_eq!(status, 200, "{method}");
    assert_eq!(method["platform"], "paypal");
    let (status, list) = sb
        .api(Method::GET, &format!("/v2/users/{id}/payout-methods"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (_, user) = sb.api(Method::GET, &format!("/v2/users/{id}"), None).await;
    assert_eq!(
        user["default_payout_method"], "paypal",
        "the first method becomes the default"
    );
    let (status, _) = sb
        .api(
            Method::GET,
            "/v2/users/00000000-0000-0000-0000-000000000000",
            None,
        )
        .await;
    assert_eq!(status, 404);
}
