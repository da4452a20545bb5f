//! Shared validators for resource attributes: each returns a message for a diagnostic, or `Ok`.

use tfplugin::{AttributePath, Diagnostic, Diagnostics, Value};

/// Runs `check` on the top-level string attribute `name` of `config` when it is known, adding an error with
/// `summary` that names the attribute when it fails.
pub fn string_attr(
    ds: &mut Diagnostics,
    config: &Value,
    name: &str,
    check: impl Fn(&str) -> Result<(), String>,
    summary: &str,
) {
    if let Some(v) = config.get(name).as_str()
        && let Err(msg) = check(v)
    {
        ds.push(Diagnostic::error(summary, msg).at(AttributePath::attr(name)));
    }
}

/// A 12-digit AWS account id.
pub fn account_id(v: &str) -> Result<(), String> {
    if v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("{v:?} is not an AWS account id (12 digits)."))
    }
}

/// An IAM role or policy name: 1 to 64 characters of letters, digits and `+=,.@_-`.
pub fn iam_name(v: &str) -> Result<(), String> {
    if (1..=64).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)) {
        Ok(())
    } else {
        Err(format!("{v:?} is not a valid IAM name: 1 to 64 characters of letters, digits and +=,.@_-"))
    }
}

/// An IAM path: `/` or `/segment/.../`, at most 512 characters.
pub fn iam_path(v: &str) -> Result<(), String> {
    let ok = v.len() <= 512
        && v.starts_with('/')
        && v.ends_with('/')
        && !v.contains("//")
        && v.chars().all(|c| c.is_ascii_graphic() && c != '*' && c != '?');
    if ok {
        Ok(())
    } else {
        Err(format!("{v:?} is not an IAM path: it starts and ends with `/`, like `/replication/`."))
    }
}

/// An IAM managed policy ARN (for permissions boundaries).
pub fn policy_arn(v: &str) -> Result<(), String> {
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && parts[2] == "iam"
        && parts[3].is_empty()
        && (parts[4] == "aws" || (parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit())))
        && parts[5].starts_with("policy/");
    if ok {
        Ok(())
    } else {
        Err(format!("{v:?} is not an IAM policy ARN such as `arn:aws:iam::123456789012:policy/name`."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators() {
        assert!(account_id("111111111111").is_ok());
        assert!(account_id("11111111111").is_err() && account_id("11111111111a").is_err());
        assert!(iam_name("crossrepl-acme.data").is_ok());
        assert!(iam_name("").is_err() && iam_name(&"a".repeat(65)).is_err() && iam_name("a b").is_err());
        assert!(iam_path("/").is_ok() && iam_path("/team/replication/").is_ok());
        assert!(iam_path("team/").is_err() && iam_path("/a//b/").is_err() && iam_path("/a").is_err());
        assert!(policy_arn("arn:aws:iam::aws:policy/Boundary").is_ok());
        assert!(policy_arn("arn:aws:iam::123456789012:policy/x/y").is_ok());
        assert!(policy_arn("arn:aws:iam::123456789012:role/x").is_err());
    }
}
