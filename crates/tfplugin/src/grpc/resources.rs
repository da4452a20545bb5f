//! The managed resource lifecycle: upgrading stored state, reading, planning, applying and importing.
//!
//! Each RPC decodes its values against the resource type's schema, calls the provider, and encodes what it
//! returns; a value that does not decode or encode becomes an error diagnostic naming the problem.

use super::{ProviderService, diags, one};
use crate::convert::{self, decode, encode};
use crate::diag::Diagnostic;
use crate::proto::tfplugin6 as pb;
use crate::server::{ApplyRequest, PlanRequest, ProviderServer, ReadRequest, UpgradeRequest};

impl<P: ProviderServer> ProviderService<P> {
    /// `UpgradeResourceState`: hands the stored JSON state and its schema version to the provider.
    pub(super) async fn upgrade(
        &self,
        req: pb::upgrade_resource_state::Request,
    ) -> pb::upgrade_resource_state::Response {
        let fail = |d: Diagnostic| pb::upgrade_resource_state::Response { diagnostics: one(d), ..Default::default() };
        let ty = match self.resource_type(&req.type_name) {
            Ok(ty) => ty,
            Err(d) => return fail(d),
        };
        let raw = req.raw_state.unwrap_or_default();
        if raw.json.is_empty() && !raw.flatmap.is_empty() {
            return fail(Diagnostic::error(
                "Legacy state format not supported",
                "The stored state uses the pre-0.12 flatmap format, which this provider never wrote. Re-import the resource.",
            ));
        }
        let upgrade = UpgradeRequest { type_name: req.type_name, version: req.version, raw_json: raw.json };
        let (value, mut ds) = self.provider.upgrade_resource_state(upgrade).await;
        let upgraded_state = match encode(&value, ty, "upgraded state") {
            Ok(dv) => Some(dv),
            Err(d) => {
                ds.push(d);
                None
            }
        };
        pb::upgrade_resource_state::Response { upgraded_state, diagnostics: diags(ds) }
    }

    /// `ReadResource`: refreshes the state; on a decoding error the current state is handed back unchanged.
    pub(super) async fn read(&self, req: pb::read_resource::Request) -> pb::read_resource::Response {
        let fail = |d: Diagnostic, state: Option<pb::DynamicValue>| pb::read_resource::Response {
            new_state: state,
            diagnostics: one(d),
            ..Default::default()
        };
        let ty = match self.resource_type(&req.type_name) {
            Ok(ty) => ty,
            Err(d) => return fail(d, req.current_state),
        };
        let current_state = match decode(req.current_state.as_ref(), ty, "current state") {
            Ok(v) => v,
            Err(d) => return fail(d, req.current_state),
        };
        let read = ReadRequest { type_name: req.type_name, current_state, private: req.private };
        let resp = self.provider.read_resource(read, self.stop_token()).await;
        let mut ds = resp.diagnostics;
        let new_state = encode(&resp.new_state, ty, "refreshed state").map_err(|d| ds.push(d)).ok();
        pb::read_resource::Response { new_state, diagnostics: diags(ds), private: resp.private, ..Default::default() }
    }

    /// `PlanResourceChange`: a plan with errors carries no planned state.
    pub(super) async fn plan(&self, req: pb::plan_resource_change::Request) -> pb::plan_resource_change::Response {
        let fail = |d: Diagnostic| pb::plan_resource_change::Response { diagnostics: one(d), ..Default::default() };
        let ty = match self.resource_type(&req.type_name) {
            Ok(ty) => ty,
            Err(d) => return fail(d),
        };
        let decoded = (|| {
            Ok::<_, Diagnostic>((
                decode(req.prior_state.as_ref(), ty, "prior state")?,
                decode(req.proposed_new_state.as_ref(), ty, "proposed new state")?,
                decode(req.config.as_ref(), ty, "resource configuration")?,
            ))
        })();
        let (prior_state, proposed_new_state, config) = match decoded {
            Ok(v) => v,
            Err(d) => return fail(d),
        };
        let plan = PlanRequest {
            type_name: req.type_name,
            prior_state,
            proposed_new_state,
            config,
            prior_private: req.prior_private,
        };
        let resp = self.provider.plan_resource_change(plan, self.stop_token()).await;
        let mut ds = resp.diagnostics;
        let planned_state = if ds.has_errors() {
            None
        } else {
            encode(&resp.planned_state, ty, "planned state").map_err(|d| ds.push(d)).ok()
        };
        pb::plan_resource_change::Response {
            planned_state,
            requires_replace: resp.requires_replace.into_iter().map(convert::attribute_path).collect(),
            planned_private: resp.planned_private,
            diagnostics: diags(ds),
            ..Default::default()
        }
    }

    /// `ApplyResourceChange`: on a decoding error the prior state is handed back unchanged.
    pub(super) async fn apply(&self, req: pb::apply_resource_change::Request) -> pb::apply_resource_change::Response {
        let fail = |d: Diagnostic, state: Option<pb::DynamicValue>| pb::apply_resource_change::Response {
            new_state: state,
            diagnostics: one(d),
            ..Default::default()
        };
        let ty = match self.resource_type(&req.type_name) {
            Ok(ty) => ty,
            Err(d) => return fail(d, req.prior_state),
        };
        let decoded = (|| {
            Ok::<_, Diagnostic>((
                decode(req.prior_state.as_ref(), ty, "prior state")?,
                decode(req.planned_state.as_ref(), ty, "planned state")?,
                decode(req.config.as_ref(), ty, "resource configuration")?,
            ))
        })();
        let (prior_state, planned_state, config) = match decoded {
            Ok(v) => v,
            Err(d) => return fail(d, req.prior_state),
        };
        let apply = ApplyRequest {
            type_name: req.type_name,
            prior_state,
            planned_state,
            config,
            planned_private: req.planned_private,
        };
        let resp = self.provider.apply_resource_change(apply, self.stop_token()).await;
        let mut ds = resp.diagnostics;
        // The new state is returned even on error: it records whatever was really created.
        let new_state = encode(&resp.new_state, ty, "new state").map_err(|d| ds.push(d)).ok();
        pb::apply_resource_change::Response {
            new_state,
            private: resp.private,
            diagnostics: diags(ds),
            ..Default::default()
        }
    }

    /// `ImportResourceState`: each imported resource is encoded against its own type.
    pub(super) async fn import(&self, req: pb::import_resource_state::Request) -> pb::import_resource_state::Response {
        if let Err(d) = self.resource_type(&req.type_name) {
            return pb::import_resource_state::Response { diagnostics: one(d), ..Default::default() };
        }
        let resp = self.provider.import_resource_state(&req.type_name, &req.id, self.stop_token()).await;
        let mut ds = resp.diagnostics;
        let mut imported_resources = Vec::new();
        for r in resp.resources {
            let state = self.resource_type(&r.type_name).and_then(|ty| encode(&r.state, ty, "imported state"));
            match state {
                Ok(dv) => imported_resources.push(pb::import_resource_state::ImportedResource {
                    type_name: r.type_name,
                    state: Some(dv),
                    private: r.private,
                    identity: None,
                }),
                Err(d) => ds.push(d),
            }
        }
        pb::import_resource_state::Response { imported_resources, diagnostics: diags(ds), ..Default::default() }
    }
}
