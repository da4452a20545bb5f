//! The domain: AWS names and ARNs as types, IAM policy documents, the documents crossrepl writes, and the
//! replication rules. Knows no protocol `Value` and no AWS SDK type.

pub mod arn;
pub mod batch;
pub mod canary;
pub mod grants;
pub mod policy;
pub mod replication;
