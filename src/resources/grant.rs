//! A destination's grant: what a `crossrepl_destination` admits and what its bucket demands of replicas. The
//! destination computes it; a source hands it over (`destination.grant = crossrepl_destination.<name>.grant`), so
//! that what the source account cannot see (the destination account's bucket policy, Object Lock, default
//! encryption) is checked at plan time, with no dependency cycle: the destination is still applied first.

use framework::{Attr, Known, Set};

framework::model! {
    /// The `grant` object, on both resources.
    pub struct GrantModel {
        /// The destination bucket's ARN.
        pub bucket_arn: Known<String>,
        /// The replication role the destination bucket policy admits (null in organization mode).
        pub role_arn: Known<String>,
        /// Organization mode: the organization whose replication roles the destination admits.
        pub organization_id: Known<String>,
        /// Organization mode: the `ArnLike` pattern of the admitted roles.
        pub role_arn_pattern: Known<String>,
        /// Whether the destination lets the role make it the owner of replicas.
        pub owner_override: Known<bool>,
        /// Whether the destination bucket has Object Lock enabled.
        pub object_lock: Known<bool>,
        /// The destination bucket's default SSE-KMS key, when it has one.
        pub default_kms_key_arn: Known<String>,
        /// Keys of the destination account whose key policies admit the role.
        pub replica_kms_key_arns: Known<Set<Known<String>>>,
    }
}

/// The grant's attributes: read-only on `crossrepl_destination` (`computed`), optional on `crossrepl_source`.
pub fn attributes(computed: bool) -> Vec<Attr> {
    let mark = |a: Attr| if computed { a.computed() } else { a };
    vec![
        mark(Attr::string("bucket_arn").describe("ARN of the destination bucket.")),
        mark(
            Attr::string("role_arn").describe(
                "ARN of the replication role the destination bucket policy admits; null in organization mode.",
            ),
        ),
        mark(
            Attr::string("organization_id")
                .describe("Organization mode: the AWS Organization whose replication roles the destination admits."),
        ),
        mark(Attr::string("role_arn_pattern").describe(
            "Organization mode: the pattern (`ArnLike`) the admitted roles' ARNs match, e.g. \
             `arn:aws:iam::*:role/crossrepl-*`.",
        )),
        mark(Attr::bool("owner_override").describe(
            "Whether the bucket policy lets the role make the destination account the owner of replicas \
             (`accept_owner_override`).",
        )),
        mark(Attr::bool("object_lock").describe("Whether the destination bucket has Object Lock enabled.")),
        mark(Attr::string("default_kms_key_arn").describe(
            "ARN of the destination bucket's default SSE-KMS key; null when its default encryption is SSE-S3. \
             Replicas of objects that are not SSE-KMS are encrypted with it.",
        )),
        mark(
            Attr::string_set("replica_kms_key_arns").describe(
                "Keys of the destination account whose key policies admit the role (`replica_kms_key_arns`).",
            ),
        ),
    ]
}
