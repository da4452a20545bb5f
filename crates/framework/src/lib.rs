//! A small provider framework on top of the protocol layer ([`tfplugin`]): schemas with declarative validators
//! and plan modifiers, typed models, the [`Provider`], [`Resource`] and [`Action`] traits, and the server that drives
//! them.
//! It knows nothing of gRPC, of AWS, or of any provider's name.

pub mod action;
pub mod model;
pub mod plan;
pub mod planmodifier;
pub mod resource;
pub mod schema;
pub mod server;
pub mod validator;

pub use action::{Action, AnyAction, erase_action};
pub use model::{AttrValue, Known, ModelError, Set};
pub use resource::{AnyResource, Ctx, Outcome, PlanRequest, Resource, check, erase};
pub use schema::{Attr, BlockSpec, PlanRules, ResourceSchema};
pub use server::{FrameworkServer, Provider, ProviderFunction};
pub use tfplugin::{ActionProgress, AttributePath, Diagnostic, Diagnostics, FunctionError, StopToken, Type, Value};
