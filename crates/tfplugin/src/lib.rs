//! A thin server for the Terraform plugin protocol version 6 (tfplugin6), as OpenTofu and Terraform speak it.
//!
//! This crate knows the wire: the go-plugin handshake, AutoMTLS, the gRPC services, and the encoding of values
//! and schemas. It knows nothing of any cloud API. Providers implement [`ProviderServer`] with the
//! protocol-native types of this crate and never see gRPC.

pub mod codec;
mod convert;
pub mod diag;
mod grpc;
pub mod log;
pub mod path;
pub mod plugin;
pub mod proto;
mod router;
pub mod schema;
pub mod server;
mod services;
pub mod tls;
pub mod types;
pub mod value;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use path::{AttributePath, PathStep};
pub use plugin::{ServeConfig, ServeError, serve};
pub use schema::{
    Attribute, AttributeType, Block, Function, NestedAttributes, NestedBlock, Nesting, Parameter, Schema,
};
pub use server::{
    ActionProgress, ApplyRequest, ApplyResponse, ConfigureRequest, FunctionError, ImportResponse, ImportedResource,
    PlanRequest, PlanResponse, ProviderSchemas, ProviderServer, ReadRequest, ReadResponse, StopToken, Stopper,
    UpgradeRequest,
};
pub use types::Type;
pub use value::{Number, Value};
