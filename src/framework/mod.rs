//! A small provider framework on top of the protocol layer: schema building, plan helpers, the
//! [`Provider`] and [`Resource`] traits, and the server that drives them. It knows nothing of gRPC or AWS.

pub mod plan;
pub mod resource;
pub mod schema;
pub mod server;

pub use resource::{ApplyOutcome, Ctx, ReadOutcome, Resource};
pub use schema::{Attr, BlockSpec, ResourceSchema};
pub use server::{FrameworkServer, Provider, ProviderFunction};
pub use tfplugin::{AttributePath, Diagnostic, Diagnostics, FunctionError, StopToken, Type, Value};
