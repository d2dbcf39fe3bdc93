//! `dots-proxy check` as a person about to go live runs it: the real binary, configured only
//! through the environment, against a standalone sandbox over real HTTP, with good and bad
//! settings. Exit 0 only when all is well; each problem named.

use dots_sandbox::{spawn, SandboxConfig};
use std::process::Command;

const KEY: &str = "check-api-key";

struct Run {
    code: i32,
    out: String,
}

fn run(vars: &[(&str, &str)], args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dots-proxy"));
    command.env_clear().arg("check").args(args);
    command.env("RUST_LOG", "warn");
    command.env(
        "DOTS_PROXY_DATA_DIR",
        std::env::temp_dir().join("dots-check-test-data"),
    );
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().expect("dots-proxy runs");
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !out.contains(KEY) && !err.contains(KEY),
        "the key is never printed"
    );
    Run {
        code: output.status.code().unwrap_or(-1),
        out,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_good_and_bad_settings_by_name() {
    let sandbox = spawn(SandboxConfig {
        api_key: KEY.into(),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let api = sandbox.api_base();
    // A flow, so there is a link to compare with the frame origins.
    let created = reqwest::Client::new()
        .post(format!("{api}/v2/flows"))
        .basic_auth(dots_sandbox::DEFAULT_CLIENT_ID, Some(KEY))
        .json(&serde_json::json!({"steps": ["compliance"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let bare_secret = dots_sandbox::DEFAULT_WEBHOOK_SECRET.trim_start_matches("whsec_");
    let good = [
        ("DOTS_ENV", "sandbox"),
        ("DOTS_API_BASE", api.as_str()),
        ("DOTS_CLIENT_ID", dots_sandbox::DEFAULT_CLIENT_ID),
        ("DOTS_API_KEY", KEY),
        ("DOTS_WEBHOOK_SECRET", bare_secret),
    ];
    let vars = good.to_vec();
    let ok =
        tokio::task::block_in_place(|| run(&vars, &["--public-url", "https://pay.example.com"]));
    assert_eq!(ok.code, 0, "{}", ok.out);
    for needle in [
        "credentials",
        "accepted by Dots",
        "without the `whsec_` prefix",
        &sandbox.origin(),
        "is inside them",
        "register https://pay.example.com/webhooks/dots in Svix",
        "all well",
    ] {
        assert!(ok.out.contains(needle), "`{needle}` in:\n{}", ok.out);
    }

    // A wrong key, no webhook secret, no public URL, frame origins that leave Dots' links out.
    let mut bad: Vec<(&str, &str)> = good
        .iter()
        .copied()
        .filter(|(name, _)| *name != "DOTS_WEBHOOK_SECRET")
        .map(|(name, value)| {
            if name == "DOTS_API_KEY" {
                (name, "wrong-key")
            } else {
                (name, value)
            }
        })
        .collect();
    bad.push(("DOTS_PROXY_FRAME_ORIGINS", "https://*.dots.dev"));
    let vars = bad.clone();
    let refused = tokio::task::block_in_place(|| run(&vars, &[]));
    assert_eq!(refused.code, 1, "{}", refused.out);
    for needle in [
        "PROBLEM  credentials      refused: check DOTS_CLIENT_ID, DOTS_API_KEY and DOTS_ENV (Dots answered 401",
        "PROBLEM  webhook secret   none (DOTS_WEBHOOK_SECRET)",
        "PROBLEM  webhook URL",
        "3 problem(s)",
    ] {
        assert!(refused.out.contains(needle), "`{needle}` in:\n{}", refused.out);
    }

    // The right key again, the frame origins still wrong: the link is named outside them.
    let mut outside: Vec<(&str, &str)> = good.to_vec();
    outside.push(("DOTS_PROXY_FRAME_ORIGINS", "https://*.dots.dev"));
    let outside =
        tokio::task::block_in_place(|| run(&outside, &["--public-url", "https://pay.example.com"]));
    assert_eq!(outside.code, 1, "{}", outside.out);
    assert!(
        outside.out.contains(&format!(
            "PROBLEM  flow links       Dots' flow links come from {}, outside the frame origins",
            sandbox.origin()
        )),
        "{}",
        outside.out
    );

    // A setting the server would refuse to start with is named the same way.
    let broken = tokio::task::block_in_place(|| {
        run(
            &[("DOTS_ENV", "production"), ("DOTS_CLIENT_ID", "id-only")],
            &[],
        )
    });
    assert_eq!(broken.code, 1, "{}", broken.out);
    assert!(
        broken.out.contains("PROBLEM  DOTS_API_KEY"),
        "{}",
        broken.out
    );

    // Dots unreachable: said so, not "refused".
    let gone = tokio::task::block_in_place(|| {
        run(
            &[
                ("DOTS_ENV", "sandbox"),
                ("DOTS_API_BASE", "http://127.0.0.1:9/api"),
                ("DOTS_CLIENT_ID", "id"),
                ("DOTS_API_KEY", KEY),
            ],
            &[],
        )
    });
    assert_eq!(gone.code, 1);
    assert!(gone.out.contains("could not be reached"), "{}", gone.out);
}
