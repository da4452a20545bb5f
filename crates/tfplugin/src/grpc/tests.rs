//! Tests of the Provider service: stopping work in flight, naming undecodable values.

use std::time::Duration;

use super::*;
use crate::convert::encode;
use crate::schema::{Attribute, AttributeType, Block, Schema};
use crate::server::{
    ApplyRequest, ApplyResponse, ConfigureRequest, ImportResponse, PlanRequest, PlanResponse, ProviderSchemas,
    ReadRequest, ReadResponse, UpgradeRequest,
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
