//! IAM and S3 resource-policy documents: the general model ([`document`]), semantic comparison ([`compare`]), and
//! the merge of one owner's statements into a document others share ([`merge`]) and the changes one owner makes to
//! such a document ([`edit`]). Nothing crossrepl-specific.

pub mod compare;
pub mod document;
pub mod edit;
pub mod merge;

pub use document::{
    Condition, DEFAULT_POLICY_VERSION, Effect, OneOrMany, POLICY_VERSION, PolicyDocument, PolicyError, Principal,
    PrincipalMap, Statement,
};

#[cfg(test)]
pub(crate) mod tests;
