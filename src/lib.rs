//! crossrepl: an OpenTofu/Terraform provider that sets up cross-account Amazon S3 replication.
//!
//! Layers, each knowing only the ones below it: the `tfplugin` crate (the wire), the `framework` crate (schemas,
//! validators, plan modifiers, typed models, the resource trait), [`domain`] (ARNs, policy documents, replication
//! rules: no protocol values, no AWS SDK), [`aws`] (one module per AWS service; SDK types stay there),
//! [`resources`] (one folder per resource), [`actions`] (one module per action), and [`provider`] (the `crossrepl` provider block), which only
//! `main.rs` and the docs use.

pub mod actions;
pub mod aws;
pub mod docs;
pub mod domain;
pub mod functions;
pub mod provider;
pub mod resources;
pub mod retry;

/// The provider's fully qualified source address, as documented for users.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/crossrepl/crossrepl";

/// An error with its whole cause chain on one line (the AWS SDK's top-level messages alone say little).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}
