//! Statements one owner manages inside a resource policy that others write too (a bucket policy, a key policy):
//! merged in by `Sid`, found, and taken out again, every other statement left as it is.

use super::document::{PolicyDocument, Statement};

/// `existing` with `ours` merged in: statements with one of our Sids are replaced in place, every other statement
/// is kept untouched and in order, the rest of ours is appended. Without `existing`, a new [`POLICY_VERSION`]
/// document. Statements of ours should carry Sids (one without a Sid is always appended).
pub fn merge_statements(existing: Option<PolicyDocument>, ours: &[Statement]) -> PolicyDocument {
    let mut doc = existing.unwrap_or_else(|| PolicyDocument::new(Vec::new()));
    let mut pending: Vec<Option<&Statement>> = ours.iter().map(Some).collect();
    let mut merged = Vec::with_capacity(doc.statements.len() + ours.len());
    for statement in doc.statements.drain(..) {
        let sid = statement.sid.as_deref();
        match ours.iter().position(|o| sid.is_some() && o.sid.as_deref() == sid) {
            None => merged.push(statement),
            // A second statement with one of our Sids is dropped: ours is already in place.
            Some(i) => merged.extend(pending[i].take().cloned()),
        }
    }
    merged.extend(pending.into_iter().flatten().cloned());
    doc.statements = merged;
    doc
}

/// `existing` without the statements whose Sid is in `sids`; `None` when nothing is left (delete the policy).
pub fn remove_statements(mut existing: PolicyDocument, sids: &[String]) -> Option<PolicyDocument> {
    existing.statements.retain(|s| !s.sid.as_ref().is_some_and(|sid| sids.contains(sid)));
    (!existing.statements.is_empty()).then_some(existing)
}

/// The statements of `doc` whose Sid is in `sids`, in document order.
pub fn find_statements<'a>(doc: &'a PolicyDocument, sids: &[String]) -> Vec<&'a Statement> {
    doc.statements.iter().filter(|s| s.sid.as_ref().is_some_and(|sid| sids.contains(sid))).collect()
}

/// Drift check: every statement of `ours` is in `doc` and semantically equal (a statement with a Sid must be the
/// only meaning of that Sid in `doc`; one without a Sid must have an equal statement anywhere).
pub fn statements_match(doc: &PolicyDocument, ours: &[Statement]) -> bool {
    ours.iter().all(|o| match &o.sid {
        Some(sid) => {
            let mut same_sid = doc.statements.iter().filter(|s| s.sid.as_ref() == Some(sid)).peekable();
            same_sid.peek().is_some() && same_sid.all(|s| s.semantically_equal(o))
        }
        None => doc.statements.iter().any(|s| s.semantically_equal(o)),
    })
}
