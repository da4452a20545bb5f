//! Tests of the Provider service: stopping work in flight, naming undecodable values, the action RPCs.

use std::time::Duration;

use super::*;
use crate::convert::encode;
use crate::schema::{Attribute, AttributeType, Block, Schema};
use crate::server::{
    ActionProgress, ApplyRequest, ApplyResponse, ConfigureRequest, ImportResponse, PlanRequest, PlanResponse,
    ProviderSchemas, ReadRequest, ReadResponse, UpgradeRequest,
};
use crate::value::Value;

/// A provider whose apply waits until stopped, like a long wait on a remote API would.
struct Waiting;

fn schema() -> Schema {
    let id = Attribute {
        name: "id".into(),
        ty: AttributeType::Plain(Type::String),
        description: String::new(),
        required: false,
        optional: true,
        computed: false,
        sensitive: false,
        deprecated: false,
    };
    Schema { version: 0, block: Block { attributes: vec![id], ..Block::default() } }
}

#[tonic::async_trait]
impl ProviderServer for Waiting {
    fn schemas(&self) -> ProviderSchemas {
        ProviderSchemas {
            provider: schema(),
            resources: [("test_wait".to_string(), schema())].into(),
            functions: BTreeMap::new(),
            actions: [("test_act".to_string(), schema())].into(),
        }
    }
    async fn validate_provider_config(&self, _: Value) -> Diagnostics {
        Diagnostics::new()
    }
    async fn configure_provider(&self, _: ConfigureRequest, _: StopToken) -> Diagnostics {
        Diagnostics::new()
    }
    async fn validate_resource_config(&self, _: &str, _: Value) -> Diagnostics {
        Diagnostics::new()
    }
    async fn upgrade_resource_state(&self, _: UpgradeRequest) -> (Value, Diagnostics) {
        (Value::Null, Diagnostics::new())
    }
    async fn read_resource(&self, _: ReadRequest, _: StopToken) -> ReadResponse {
        ReadResponse::default()
    }
    async fn plan_resource_change(&self, _: PlanRequest, _: StopToken) -> PlanResponse {
        PlanResponse::default()
    }
    async fn apply_resource_change(&self, r: ApplyRequest, stop: StopToken) -> ApplyResponse {
        stop.stopped().await;
        ApplyResponse {
            new_state: r.planned_state,
            diagnostics: Diagnostic::error("Interrupted", "stopped while waiting").into(),
            ..Default::default()
        }
    }
    async fn import_resource_state(&self, _: &str, _: &str, _: StopToken) -> ImportResponse {
        ImportResponse::default()
    }
    async fn validate_action_config(&self, type_name: &str, config: Value) -> Diagnostics {
        match id_of(&config).as_str() {
            "bad" => Diagnostic::error("Bad id", format!("{type_name}: bad")).into(),
            _ => Diagnostics::new(),
        }
    }
    async fn plan_action(&self, type_name: &str, config: Value, _: StopToken) -> Diagnostics {
        Diagnostic::warning("Planned", format!("{type_name} {}", id_of(&config))).into()
    }
    async fn invoke_action(&self, _: &str, config: Value, progress: ActionProgress, stop: StopToken) -> Diagnostics {
        let id = id_of(&config);
        progress.report(format!("started {id}"));
        if id == "hang" {
            let _guard = DropFlag(&HANG_ENDED);
            stop.stopped().await;
        }
        progress.report(format!("done {id}"));
        if id == "fail" { Diagnostic::error("Failed", "as asked").into() } else { Diagnostics::new() }
    }
}

fn id_of(config: &Value) -> String {
    match config {
        Value::Object(m) => match m.get("id") {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

/// Set once the `hang` invocation's future is gone.
static HANG_ENDED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets its flag when dropped: the action's future was dropped (finished or aborted).
struct DropFlag(&'static std::sync::atomic::AtomicBool);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn stop_provider_ends_work_in_flight() {
    let svc = Arc::new(ProviderService::new(Arc::new(Waiting)));
    let ty = schema().block.value_type();
    let planned = encode(&Value::object([("id", Value::from("x"))]), &ty, "state").unwrap();
    let apply = {
        let svc = svc.clone();
        tokio::spawn(async move {
            let req = pb::apply_resource_change::Request {
                type_name: "test_wait".into(),
                planned_state: Some(planned),
                ..Default::default()
            };
            svc.apply_resource_change(Request::new(req)).await.unwrap().into_inner()
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!apply.is_finished(), "apply must wait until stopped");
    svc.stop_provider(Request::new(pb::stop_provider::Request {})).await.unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(2), apply).await.expect("apply ends promptly").unwrap();
    assert_eq!(resp.diagnostics[0].summary, "Interrupted");
    // The state of what exists is still returned with the error.
    assert!(resp.new_state.is_some());
    // Calls after the stop get a fresh token: they are not cancelled by the earlier stop.
    assert!(!svc.stop_token().is_stopped());
}

#[tokio::test]
async fn undecodable_values_name_the_problem() {
    let svc = ProviderService::new(Arc::new(Waiting));
    let req = pb::plan_resource_change::Request {
        type_name: "test_wait".into(),
        config: Some(pb::DynamicValue { msgpack: vec![0x81, 0xa2, b'i', b'd', 0x07], json: Vec::new() }),
        ..Default::default()
    };
    let resp = svc.plan_resource_change(Request::new(req)).await.unwrap().into_inner();
    assert_eq!(resp.diagnostics.len(), 1);
    assert!(resp.diagnostics[0].detail.contains("expected string"), "{:?}", resp.diagnostics[0]);
    assert!(resp.diagnostics[0].attribute.is_some());

    let unknown = pb::read_resource::Request { type_name: "nope".into(), ..Default::default() };
    let resp = svc.read_resource(Request::new(unknown)).await.unwrap().into_inner();
    assert!(resp.diagnostics[0].summary.contains("Unknown resource type"));
}

fn action_config(id: Value) -> Option<pb::DynamicValue> {
    Some(encode(&Value::object([("id", id)]), &schema().block.value_type(), "config").unwrap())
}

#[tokio::test]
async fn metadata_and_schema_list_the_actions() {
    let svc = ProviderService::new(Arc::new(Waiting));
    let meta = svc.get_metadata(Request::new(pb::get_metadata::Request {})).await.unwrap().into_inner();
    assert_eq!(meta.actions, [pb::get_metadata::ActionMetadata { type_name: "test_act".into() }]);
    let schemas = svc.get_provider_schema(Request::new(Default::default())).await.unwrap().into_inner();
    let action = schemas.action_schemas["test_act"].schema.as_ref().expect("the action's schema");
    assert_eq!(action.block.as_ref().unwrap().attributes[0].name, "id");
    // Actions are not resources.
    assert!(!schemas.resource_schemas.contains_key("test_act"));
}

#[tokio::test]
async fn validate_action_config_decodes_and_asks_the_provider() {
    let svc = ProviderService::new(Arc::new(Waiting));
    let validate = |type_name: &str, config| {
        let req = pb::validate_action_config::Request { type_name: type_name.into(), config };
        svc.validate_action_config(Request::new(req))
    };
    let ok = validate("test_act", action_config(Value::from("good"))).await.unwrap().into_inner();
    assert!(ok.diagnostics.is_empty(), "{:?}", ok.diagnostics);
    let bad = validate("test_act", action_config(Value::from("bad"))).await.unwrap().into_inner();
    assert_eq!(bad.diagnostics[0].detail, "test_act: bad");
    let undecodable = pb::DynamicValue { msgpack: vec![0x81, 0xa2, b'i', b'd', 0x07], json: Vec::new() };
    let resp = validate("test_act", Some(undecodable)).await.unwrap().into_inner();
    assert!(resp.diagnostics[0].detail.contains("expected string"), "{:?}", resp.diagnostics);
    let resp = validate("test_wait", action_config(Value::from("good"))).await.unwrap().into_inner();
    assert!(resp.diagnostics[0].summary.contains("Unknown action type"), "{:?}", resp.diagnostics);
}

#[tokio::test]
async fn plan_action_passes_unknown_values_to_the_provider() {
    let svc = ProviderService::new(Arc::new(Waiting));
    let req = pb::plan_action::Request {
        action_type: "test_act".into(),
        config: action_config(Value::from("x")),
        ..Default::default()
    };
    let resp = svc.plan_action(Request::new(req)).await.unwrap().into_inner();
    assert_eq!(resp.diagnostics[0].detail, "test_act x");
    assert!(resp.deferred.is_none());
    let req = pb::plan_action::Request {
        action_type: "test_act".into(),
        config: action_config(Value::Unknown),
        ..Default::default()
    };
    let resp = svc.plan_action(Request::new(req)).await.unwrap().into_inner();
    assert_eq!(resp.diagnostics[0].detail, "test_act ", "unknown values reach the provider's plan");
}

/// Every event of an invocation, as (progress message) or ("completed", its diagnostics' summaries).
async fn invoke_events(svc: &ProviderService<Waiting>, action_type: &str, id: Value) -> Vec<String> {
    use tokio_stream::StreamExt;
    let req =
        pb::invoke_action::Request { action_type: action_type.into(), config: action_config(id), ..Default::default() };
    let stream = svc.invoke_action(Request::new(req)).await.unwrap().into_inner();
    let events: Vec<_> = tokio::time::timeout(Duration::from_secs(2), stream.collect()).await.expect("the stream ends");
    events
        .into_iter()
        .map(|e| match e.unwrap().r#type.unwrap() {
            pb::invoke_action::event::Type::Progress(p) => p.message,
            pb::invoke_action::event::Type::Completed(c) => {
                let summaries: Vec<_> = c.diagnostics.iter().map(|d| d.summary.as_str()).collect();
                format!("completed {summaries:?}")
            }
        })
        .collect()
}

#[tokio::test]
async fn invoke_action_streams_progress_then_one_completion() {
    let svc = ProviderService::new(Arc::new(Waiting));
    assert_eq!(invoke_events(&svc, "test_act", Value::from("x")).await, ["started x", "done x", "completed []"]);
    assert_eq!(
        invoke_events(&svc, "test_act", Value::from("fail")).await,
        ["started fail", "done fail", r#"completed ["Failed"]"#]
    );
    // Refused before the provider runs: an unknown type, a value not known yet.
    let unknown_type = invoke_events(&svc, "test_wait", Value::from("x")).await;
    assert_eq!(unknown_type, [r#"completed ["Unknown action type \"test_wait\""]"#]);
    let unknown_value = invoke_events(&svc, "test_act", Value::Unknown).await;
    assert_eq!(unknown_value, [r#"completed ["Action configuration not known"]"#]);
}

#[tokio::test]
async fn closing_the_invoke_stream_ends_the_action() {
    use tokio_stream::StreamExt;
    let svc = ProviderService::new(Arc::new(Waiting));
    let req = pb::invoke_action::Request {
        action_type: "test_act".into(),
        config: action_config(Value::from("hang")),
        ..Default::default()
    };
    let mut stream = svc.invoke_action(Request::new(req)).await.unwrap().into_inner();
    let first = stream.next().await.unwrap().unwrap();
    assert!(matches!(first.r#type, Some(pb::invoke_action::event::Type::Progress(_))));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!HANG_ENDED.load(std::sync::atomic::Ordering::SeqCst), "the action waits until stopped");
    drop(stream);
    tokio::time::timeout(Duration::from_secs(2), async {
        while !HANG_ENDED.load(std::sync::atomic::Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the engine closing the stream aborts the action");
}
