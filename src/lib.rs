//! crossrepl: an OpenTofu/Terraform provider that sets up cross-account Amazon S3 replication.
//!
//! Layers, each knowing only the one below: [`tfplugin`] (the wire), [`framework`] (schemas, plans, the
//! resource trait), [`provider`] (the `crossrepl` provider block), and [`aws`] (typed AWS calls).

pub mod aws;
pub mod docs;
pub mod framework;
pub mod functions;
pub mod policy;
pub mod provider;
pub mod replication;
pub mod resources;
pub mod retry;
pub mod validate;

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
