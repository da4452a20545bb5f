//! The action types (Terraform >= 1.14 `action` blocks): work run on demand, `terraform apply
//! -invoke=action.<type>.<name>`, or from a resource's `lifecycle.action_trigger`. Actions create nothing that
//! outlives them; OpenTofu, which has no actions, never sees them.

mod batch_replication;

pub use batch_replication::BatchReplication;
