//! Checks across attributes of a `crossrepl_destination` configuration: whom it admits is said one way only.

use framework::Known;
use tfplugin::{AttributePath, Diagnostic, Diagnostics};

use super::model::DestinationModel;

/// Whether the attribute is set (a value, or unknown until apply).
fn set<T>(v: &Known<T>) -> bool {
    !v.is_null()
}

/// Every check across attributes (defaults filled in): exactly one of `source_account_id` and
/// `source_organization_id`; `source_bucket` with an account; nothing of one mode in the other.
pub fn validate(config: &DestinationModel) -> Diagnostics {
    let mut ds = Diagnostics::new();
    let error = |attr: &str, summary: &str, detail: &str| {
        Diagnostic::error(summary.to_string(), detail.to_string()).at(AttributePath::attr(attr))
    };
    match (set(&config.source_account_id), set(&config.source_organization_id)) {
        (false, false) => ds.push(error(
            "source_account_id",
            "Missing source",
            "Set source_account_id (and source_bucket) to admit one source's replication role, or \
             source_organization_id to admit the replication roles of every account of an AWS Organization.",
        )),
        (true, true) => ds.push(error(
            "source_organization_id",
            "Two kinds of source",
            "Set either source_account_id (one source's role) or source_organization_id (an organization's roles), \
             not both: use one crossrepl_destination for each.",
        )),
        (true, false) => {
            if !set(&config.source_bucket) {
                ds.push(error(
                    "source_bucket",
                    "Missing source bucket",
                    "With source_account_id, set source_bucket: the replication role's name is derived from it.",
                ));
            }
            if set(&config.source_role_name_pattern) {
                ds.push(error(
                    "source_role_name_pattern",
                    "Role name pattern without an organization",
                    "source_role_name_pattern belongs to organization mode (source_organization_id). To admit one \
                     role, name it with source_role_name.",
                ));
            }
        }
        (false, true) => {
            let given =
                [("source_bucket", set(&config.source_bucket)), ("source_role_name", set(&config.source_role_name))];
            for (attr, _) in given.into_iter().filter(|(_, is_set)| *is_set) {
                ds.push(error(
                    attr,
                    "Not used in organization mode",
                    "In organization mode every role named like source_role_name_pattern is admitted; remove this \
                     attribute, or set source_account_id instead of source_organization_id to admit one role.",
                ));
            }
        }
    }
    ds
}
