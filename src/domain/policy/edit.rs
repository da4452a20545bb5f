//! One owner's changes to a resource policy that others write too, each a pure function of the document, so that a
//! writer can make it again on whatever version of the policy it reads next (after another writer dropped it, or
//! over a read that is older than its own write).

use std::fmt::Debug;
use std::sync::Arc;

use super::document::{PolicyDocument, Statement};
use super::merge::{find_statements, merge_statements, remove_statements, statements_match};

/// One owner's change to a shared policy.
pub trait Edit: Debug + Send + Sync {
    /// What the change is about: a later edit with the same key replaces an earlier one in a writer's memory
    /// (a statement's Sid, a member of a shared statement).
    fn key(&self) -> String;
    /// `doc` with the change made; `None` when nothing is left (the policy is to be deleted).
    fn apply(&self, doc: Option<PolicyDocument>) -> Option<PolicyDocument>;
    /// Whether `doc` already shows the change.
    fn holds(&self, doc: Option<&PolicyDocument>) -> bool;
}

/// A shared handle to an edit.
pub type SharedEdit = Arc<dyn Edit>;

/// `doc` with every edit made, in order.
pub fn apply_all(doc: Option<PolicyDocument>, edits: &[SharedEdit]) -> Option<PolicyDocument> {
    edits.iter().fold(doc, |doc, e| e.apply(doc))
}

/// Whether `doc` shows every edit.
pub fn all_hold(doc: Option<&PolicyDocument>, edits: &[SharedEdit]) -> bool {
    edits.iter().all(|e| e.holds(doc))
}

fn sid_key(sid: &str) -> String {
    format!("sid:{sid}")
}

/// Holds one statement under its Sid, replacing whatever had that Sid, keeping everything else.
#[derive(Debug, Clone)]
pub struct PutStatement(pub Statement);

impl Edit for PutStatement {
    fn key(&self) -> String {
        sid_key(self.0.sid.as_deref().unwrap_or_default())
    }
    fn apply(&self, doc: Option<PolicyDocument>) -> Option<PolicyDocument> {
        Some(merge_statements(doc.filter(|d| !d.statements.is_empty()), std::slice::from_ref(&self.0)))
    }
    fn holds(&self, doc: Option<&PolicyDocument>) -> bool {
        doc.is_some_and(|d| statements_match(d, std::slice::from_ref(&self.0)))
    }
}

/// Takes out the statements with one Sid.
#[derive(Debug, Clone)]
pub struct RemoveStatement(pub String);

impl Edit for RemoveStatement {
    fn key(&self) -> String {
        sid_key(&self.0)
    }
    fn apply(&self, doc: Option<PolicyDocument>) -> Option<PolicyDocument> {
        doc.and_then(|d| remove_statements(d, std::slice::from_ref(&self.0)))
    }
    fn holds(&self, doc: Option<&PolicyDocument>) -> bool {
        doc.is_none_or(|d| find_statements(d, std::slice::from_ref(&self.0)).is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::Effect;

    fn statement(sid: &str, action: &str) -> Statement {
        Statement {
            sid: Some(sid.into()),
            action: Some(crate::domain::policy::OneOrMany::one(action.into())),
            ..Statement::new(Effect::Allow)
        }
    }

    #[test]
    fn put_and_remove_keep_everything_else_and_say_whether_they_hold() {
        let foreign = statement("Foreign", "s3:GetObject");
        let doc = Some(PolicyDocument::new(vec![foreign.clone(), statement("Ours", "s3:ListBucket")]));
        let put: SharedEdit = Arc::new(PutStatement(statement("Ours", "s3:ReplicateObject")));
        let remove: SharedEdit = Arc::new(RemoveStatement("Ours".into()));
        assert_eq!(put.key(), remove.key());
        // Put replaces the statement under our Sid in place; on no policy it makes one.
        assert!(!put.holds(doc.as_ref()));
        let put_doc = put.apply(doc.clone());
        assert!(put.holds(put_doc.as_ref()) && !remove.holds(put_doc.as_ref()));
        assert_eq!(put_doc.as_ref().unwrap().statements, [foreign.clone(), statement("Ours", "s3:ReplicateObject")]);
        assert!(put.holds(put.apply(None).as_ref()));
        // Remove keeps the foreign statement; removing the last statement leaves no policy.
        let removed = remove.apply(put_doc);
        assert!(remove.holds(removed.as_ref()));
        assert_eq!(removed.as_ref().unwrap().statements, [foreign]);
        let only_ours = Some(PolicyDocument::new(vec![statement("Ours", "s3:ListBucket")]));
        assert_eq!(remove.apply(only_ours), None);
        assert!(remove.holds(None) && !put.holds(None));
        assert_eq!(apply_all(None, &[put.clone(), remove.clone()]), None);
        assert!(all_hold(put.apply(None).as_ref(), &[put]));
    }
}
