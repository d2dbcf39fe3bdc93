//! The database layer's contract, run on SQLite always and on PostgreSQL when the test command
//! provides one (`DOTS_PROXY_TEST_POSTGRES_URL`; scripts/test.sh starts a throwaway cluster).

mod common;

use dots_api::StepName;
use dots_proxy::db::{Db, FlowRow, PaymentRow};

async fn contract(db: Db) {
    // Identities and bindings.
    db.touch_identity("session:a").await.unwrap();
    db.touch_identity("session:a").await.unwrap();
    assert_eq!(db.bound_user("session:a").await.unwrap(), None);
    assert!(db.bind_user("session:a", "user-1", "flow-a").await.unwrap());
    assert!(
        !db.bind_user("session:a", "user-2", "flow-a").await.unwrap(),
        "a binding is never replaced"
    );
    assert_eq!(
        db.bound_user("session:a").await.unwrap().as_deref(),
        Some("user-1")
    );
    assert_eq!(
        db.identities_of_user("user-1").await.unwrap(),
        vec!["session:a".to_owned()]
    );

    // Flows.
    let flow = FlowRow {
        id: "flow-1".into(),
        identity: "session:a".into(),
        steps: vec![StepName::Compliance, StepName::Payout],
        completed_steps: vec![],
        user_id: None,
    };
    db.insert_flow(&flow).await.unwrap();
    assert_eq!(db.flow("flow-1").await.unwrap(), Some(flow.clone()));
    assert_eq!(db.flow("flow-2").await.unwrap(), None);

    // What a flow was made from, for reuse while rendering (issue 14).
    let now = dots_proxy::db::now_ms();
    db.record_flow_request("flow-1", "session:a", "key-1", Some(now + 60_000))
        .await
        .unwrap();
    let (found, until) = db
        .reusable_flow("session:a", "key-1", now, 3_600_000)
        .await
        .unwrap()
        .expect("reusable");
    assert_eq!((found.id.as_str(), until), ("flow-1", Some(now + 60_000)));
    for (identity, key, at) in [
        ("session:b", "key-1", now),
        ("session:a", "key-2", now),
        ("session:a", "key-1", now + 60_000),
    ] {
        assert!(
            db.reusable_flow(identity, key, at, 3_600_000)
                .await
                .unwrap()
                .is_none(),
            "{identity} {key} at +{} ms",
            at - now
        );
    }

    // A webhook's effects and its delivery mark commit together (issue 12).
    let done = [StepName::Compliance];
    assert!(!db.delivered("msg_1").await.unwrap());
    let mut tx = db.begin_webhook("msg_1").await.unwrap().expect("a new id");
    assert_eq!(tx.flow("flow-1").await.unwrap(), Some(flow.clone()));
    assert!(tx
        .update_flow_if("flow-1", &[], &done, Some("user-2"), true)
        .await
        .unwrap());
    assert!(
        !tx.update_flow_if("flow-1", &[], &done, None, true)
            .await
            .unwrap(),
        "a stale expectation does not update"
    );
    assert!(tx.bind_user("session:c", "user-2", "flow-c").await.unwrap());
    tx.push("session:c", &common::event("user_bound"))
        .await
        .unwrap();
    drop(tx); // not committed: as if the process died here
    assert!(
        !db.delivered("msg_1").await.unwrap(),
        "a rolled-back delivery is not marked"
    );
    assert_eq!(
        db.flow("flow-1").await.unwrap(),
        Some(flow.clone()),
        "nor its progress"
    );
    assert_eq!(
        db.bound_user("session:c").await.unwrap(),
        None,
        "nor its binding"
    );
    assert!(
        db.events_after("session:c", 0, 10)
            .await
            .unwrap()
            .is_empty(),
        "nor its events"
    );

    let mut tx = db.begin_webhook("msg_1").await.unwrap().expect("retried");
    assert!(tx
        .update_flow_if("flow-1", &[], &done, Some("user-1"), true)
        .await
        .unwrap());
    assert!(tx
        .update_flow_if("flow-1", &done, &done, None, true)
        .await
        .unwrap());
    assert!(tx.bind_user("session:c", "user-2", "flow-c").await.unwrap());
    assert_eq!(
        tx.identities_of_user("user-2").await.unwrap(),
        vec!["session:c".to_owned()],
        "the transaction sees its own binding"
    );
    tx.push("session:c", &common::event("user_bound"))
        .await
        .unwrap();
    let committed = tx.commit().await.unwrap();
    assert_eq!(committed.len(), 1, "the events to broadcast");
    assert!(db.delivered("msg_1").await.unwrap());
    assert!(
        db.begin_webhook("msg_1").await.unwrap().is_none(),
        "a processed id is not processed again"
    );
    let stored = db.flow("flow-1").await.unwrap().unwrap();
    assert_eq!(stored.completed_steps, vec![StepName::Compliance]);
    assert_eq!(
        stored.user_id.as_deref(),
        Some("user-1"),
        "a later update without a user keeps it"
    );
    assert_eq!(
        db.bound_user("session:c").await.unwrap().as_deref(),
        Some("user-2")
    );
    assert_eq!(
        db.events_after("session:c", 0, 10).await.unwrap(),
        committed
    );

    // Pruning (issue 12): what is older than the cut-offs goes, the rest stays.
    // (Millisecond timestamps: a pause on each side of the cut-off keeps them apart.)
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let kept_after = dots_proxy::db::now_ms();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    db.push("session:p", &common::event("user_updated"))
        .await
        .unwrap();
    let tx = db.begin_webhook("msg_prune").await.unwrap().unwrap();
    tx.commit().await.unwrap();
    let (events, ids) = db.prune(kept_after, kept_after).await.unwrap();
    assert!(
        events >= 1 && ids >= 1,
        "older records deleted: {events} events, {ids} ids"
    );
    assert!(
        db.events_after("session:c", 0, 10)
            .await
            .unwrap()
            .is_empty(),
        "old events gone"
    );
    assert!(
        !db.delivered("msg_1").await.unwrap(),
        "old webhook ids gone"
    );
    assert_eq!(
        db.events_after("session:p", 0, 10).await.unwrap().len(),
        1,
        "new events kept"
    );
    assert!(
        db.delivered("msg_prune").await.unwrap(),
        "new webhook ids kept"
    );

    // The event log.
    let a1 = db
        .push("session:a", &common::event("step_completed"))
        .await
        .unwrap();
    let b1 = db
        .push("session:b", &common::event("step_completed"))
        .await
        .unwrap();
    let a2 = db
        .push("session:a", &common::event("flow_completed"))
        .await
        .unwrap();
    // Issue 15: each identity's events are numbered 1, 2, 3… (gap-safe replay).
    assert_eq!(
        (a1.seq, b1.seq, a2.seq),
        (1, 1, 2),
        "numbered per identity, from 1, with no gap"
    );
    let after = db.events_after("session:a", a1.seq, 10).await.unwrap();
    assert_eq!(after, vec![a2.clone()], "only this identity's later events");
    assert_eq!(db.events_after("session:a", 0, 1).await.unwrap(), vec![a1]);

    // Payments: the first reservation of a reference wins.
    let first = PaymentRow {
        reference: "order-1".into(),
        idempotency_key: "k-1".into(),
        user_id: "user-1".into(),
        amount: 500,
        transfer_id: None,
    };
    assert_eq!(db.reserve_payment(&first).await.unwrap(), first);
    let second = PaymentRow {
        idempotency_key: "k-2".into(),
        amount: 900,
        ..first.clone()
    };
    assert_eq!(
        db.reserve_payment(&second).await.unwrap(),
        first,
        "the stored key is reused"
    );
    db.complete_payment("order-1", "transfer-1").await.unwrap();
    assert_eq!(
        db.payment("order-1")
            .await
            .unwrap()
            .unwrap()
            .transfer_id
            .as_deref(),
        Some("transfer-1"),
        "a paid reference knows its transfer (issue 12)"
    );
    assert_eq!(
        db.reserve_payment(&second)
            .await
            .unwrap()
            .transfer_id
            .as_deref(),
        Some("transfer-1"),
        "and a later reservation sees it"
    );
}

/// Two instances (two handles on one database) get the same webhook at the same time: the
/// database lets exactly one apply it (issue 12: not only the in-process lock).
async fn concurrent_duplicates_take_effect_once(a: Db, b: Db) {
    let apply = |db: Db| async move {
        let Some(mut tx) = db.begin_webhook("msg_concurrent").await.unwrap() else {
            return false;
        };
        tx.push("session:dup", &common::event("step_completed"))
            .await
            .unwrap();
        // Hold the transaction open while the other instance tries.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        tx.commit().await.unwrap();
        true
    };
    let (first, second) = tokio::join!(tokio::spawn(apply(a.clone())), tokio::spawn(apply(b)));
    let applied = [first.unwrap(), second.unwrap()];
    assert_eq!(
        applied.iter().filter(|a| **a).count(),
        1,
        "one instance applied it: {applied:?}"
    );
    assert_eq!(
        a.events_after("session:dup", 0, 10).await.unwrap().len(),
        1,
        "one effect"
    );
}

#[tokio::test]
async fn sqlite_meets_the_contract() {
    let path = common::temp_db_path();
    contract(
        Db::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap(),
    )
    .await;
    // Reopening applies the migrations again without harm and keeps the data.
    let reopened = Db::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    assert_eq!(
        reopened.bound_user("session:a").await.unwrap().as_deref(),
        Some("user-1")
    );
    let other = Db::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    concurrent_duplicates_take_effect_once(reopened, other).await;
}

#[tokio::test]
async fn in_memory_sqlite_meets_the_contract() {
    // One database per connection in SQLite: reads and writes must share the one.
    contract(Db::connect("sqlite::memory:").await.unwrap()).await;
}

#[tokio::test]
async fn concurrent_writes_all_land_on_sqlite() {
    // Writers queue on the one write connection instead of failing with "database is locked".
    let path = common::temp_db_path();
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    // 200 writers at once over four identities: each identity's numbers are exactly 1..=50.
    let writes = (0..200).map(|i| {
        let db = db.clone();
        tokio::spawn(async move {
            let identity = format!("session:{}", i % 4);
            db.touch_identity(&identity).await.unwrap();
            db.push(&identity, &common::event("test")).await.unwrap()
        })
    });
    let mut seqs: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for write in writes {
        let row = write.await.unwrap();
        seqs.entry(row.identity).or_default().push(row.seq);
    }
    for (identity, mut numbers) in seqs {
        numbers.sort();
        assert_eq!(
            numbers,
            (1..=50).collect::<Vec<_>>(),
            "{identity}: every event stored once, numbered without a gap"
        );
    }
}

#[tokio::test]
async fn postgres_meets_the_contract() {
    // A fresh database per run.
    let Some(url) = common::fresh_postgres("dots_proxy_test").await else {
        return;
    };
    contract(Db::connect(&url).await.unwrap()).await;
    let reopened = Db::connect(&url).await.unwrap();
    assert_eq!(
        reopened.bound_user("session:a").await.unwrap().as_deref(),
        Some("user-1")
    );
    let other = Db::connect(&url).await.unwrap();
    concurrent_duplicates_take_effect_once(reopened, other).await;
}

/// Issue 25: the SQLite database and its WAL were created world-readable (0644) while the
/// session key beside them is 0600.
#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let path = common::temp_db_path();
    let db = Db::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    db.push("session:perm", &common::event("user_bound"))
        .await
        .unwrap();
    let wal = path.with_extension("sqlite-wal");
    for file in [&path, &wal] {
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{}: {mode:o}", file.display());
    }
}
